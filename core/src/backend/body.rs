//! Reading HTTP response bodies with a size cap, so a misbehaving server cannot make the
//! phone buffer an unbounded answer.

pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// A transport failure, kept as reqwest's typed error (its URL stripped: URLs can carry ids).
pub type NetworkError = crate::error::Cause<reqwest::Error>;

pub fn network_error(e: reqwest::Error) -> NetworkError {
    crate::error::Cause(std::sync::Arc::new(e.without_url()))
}

#[derive(Debug)]
pub enum BodyError {
    TooLarge,
    Network(reqwest::Error),
}

pub async fn read_capped(mut resp: reqwest::Response) -> Result<Vec<u8>, BodyError> {
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Network)? {
        if buf.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(BodyError::TooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}
