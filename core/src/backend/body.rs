//! What the backend clients report when a request got no HTTP response, and the cap on a
//! response body (a misbehaving server cannot make the phone buffer an unbounded answer).

pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// A transport failure, kept as the HTTP client's typed error (it never carries the URL).
pub type NetworkError = crate::error::Cause<crate::backend::http::HttpError>;

pub fn network_error(e: crate::backend::http::HttpError) -> NetworkError {
    crate::error::Cause(std::sync::Arc::new(e))
}
