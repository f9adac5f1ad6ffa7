//! Reading HTTP response bodies with a size cap, so a misbehaving server cannot make the
//! phone buffer an unbounded answer.

pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// A transport failure, kept as reqwest's typed error (its URL stripped: URLs can carry
/// ids). Compared by its message, so the errors holding it can be compared in tests.
#[derive(Debug)]
pub struct NetworkError(pub reqwest::Error);

impl NetworkError {
    pub fn new(e: reqwest::Error) -> Self {
        NetworkError(e.without_url())
    }
}

impl std::fmt::Display for NetworkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for NetworkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl PartialEq for NetworkError {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
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
