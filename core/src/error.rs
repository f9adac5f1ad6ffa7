//! The core's internal error: every failure with its full detail, for logs and for the
//! mapping to the one public error (`ffi::DialtoneError`), which says what an app can do.

use std::sync::Arc;

use crate::account::secrets::SecretError;
use crate::backend::appsync::GraphqlError;
use crate::backend::rest::RestError;
use crate::media::session::MediaError;
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

/// A library's error kept as the cause of one of ours: shared (errors are cloned to every
/// waiter) and compared by its message, so the errors holding it stay `Clone + PartialEq`.
#[derive(Debug)]
pub struct Cause<E>(pub Arc<E>);

impl<E> Clone for Cause<E> {
    fn clone(&self) -> Self {
        Cause(self.0.clone())
    }
}

impl<E: std::fmt::Display> std::fmt::Display for Cause<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: std::error::Error + 'static> std::error::Error for Cause<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_ref())
    }
}

impl<E: std::fmt::Display> PartialEq for Cause<E> {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}
