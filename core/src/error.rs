//! The core's internal error: every failure with its full detail, for logs and for the
//! mapping to the one public error (`ffi::DialtoneError`), which says what an app can do.

use crate::account::secrets::SecretError;
use crate::backend::appsync::GraphqlError;
use crate::backend::rest::RestError;
use crate::media::link::MediaError;
use crate::persons::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Rest(#[from] RestError),
    #[error(transparent)]
    Graphql(#[from] GraphqlError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Media(#[from] MediaError),
    /// The action is not possible in the call's state (answer after cancel, hangup twice).
    #[error(transparent)]
    Illegal(#[from] crate::calls::machine::Illegal),
    /// The call is over or unknown on this device.
    #[error("{0}")]
    CallUnavailable(String),
    #[error(transparent)]
    Tls(#[from] crate::backend::tls::TlsError),
    #[error("this device is not registered: call register first")]
    NotRegistered,
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

pub type Result<T> = std::result::Result<T, Error>;
