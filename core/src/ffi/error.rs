//! The one public error. Each variant says what the app can do about it; the detail stays
//! in the message (already free of secrets) and in the logs.

use crate::appsync::GraphqlError;
use crate::error::Error;
use crate::rest::RestError;

#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum DialtoneError {
    /// The caller or the callee is already in a call: show "busy".
    #[error("busy: {message}")]
    Busy { message: String },
    /// No clientId yet (or it was deleted): call `register`.
    #[error("not registered: {message}")]
    NotRegistered { message: String },
    /// The backend could not be reached: retry later.
    #[error("network: {message}")]
    Network { message: String },
    /// The backend refused or failed the request.
    #[error("backend error {status}: {message}")]
    Backend { status: u16, message: String },
    /// Someone changed the record first: refresh and retry.
    #[error("conflict: {message}")]
    Conflict { message: String },
    /// The API key (or another credential) was refused: check the configuration.
    #[error("unauthorized: {message}")]
    Unauthorized { message: String },
    /// The arguments are wrong: fix the call.
    #[error("invalid input: {message}")]
    InvalidInput { message: String },
    /// Local storage (files, keychain) failed.
    #[error("storage: {message}")]
    Storage { message: String },
    /// A bug in Dialtone; please report it.
    #[error("internal: {message}")]
    Internal { message: String },
}

impl From<Error> for DialtoneError {
    fn from(e: Error) -> Self {
        tracing::debug!(target: "dialtone::ffi", "operation failed: {e}");
        let message = crate::logging::redact(&e.to_string());
        match e {
            Error::Rest(RestError::Busy(m)) => DialtoneError::Busy { message: m },
            Error::Rest(RestError::Network(_)) | Error::Graphql(GraphqlError::Network(_)) => {
                DialtoneError::Network { message }
            }
            Error::Rest(RestError::Backend { status, message: m }) => {
                DialtoneError::Backend { status, message: m }
            }
            Error::Rest(RestError::Decode(_)) | Error::Graphql(GraphqlError::Decode(_)) => {
                DialtoneError::Backend {
                    status: 200,
                    message,
                }
            }
            Error::Graphql(GraphqlError::Conflict { .. }) => DialtoneError::Conflict { message },
            Error::Graphql(GraphqlError::Unauthorized) => DialtoneError::Unauthorized { message },
            Error::Graphql(GraphqlError::Http { status, .. }) => {
                DialtoneError::Backend { status, message }
            }
            Error::Graphql(GraphqlError::Remote { .. }) => DialtoneError::Backend {
                status: 200,
                message,
            },
            Error::Store(_) | Error::Secret(_) => DialtoneError::Storage { message },
            Error::NotRegistered => DialtoneError::NotRegistered { message },
            Error::InvalidInput(m) => DialtoneError::InvalidInput { message: m },
        }
    }
}
