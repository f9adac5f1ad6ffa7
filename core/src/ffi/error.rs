//! The one public error. Each variant says what the app can do about it; the detail stays
//! in `detail` (already free of secrets) and in the logs. (`detail`, not `message`: a
//! field named `message` would clash with `Throwable.message` in the generated Kotlin.)

use crate::backend::appsync::GraphqlError;
use crate::backend::rest::RestError;
use crate::error::Error;
use crate::media::link::MediaError;

#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum DialtoneError {
    /// The caller or the callee is already in a call: show "busy".
    #[error("busy: {detail}")]
    Busy { detail: String },
    /// No clientId yet (or it was deleted): call `register`.
    #[error("not registered: {detail}")]
    NotRegistered { detail: String },
    /// The backend could not be reached: retry later.
    #[error("network: {detail}")]
    Network { detail: String },
    /// The backend refused or failed the request.
    #[error("backend error {status}: {detail}")]
    Backend { status: u16, detail: String },
    /// The backend answered with something this SDK cannot read (a body that does not
    /// decode, a missing field): a deployment that does not match the SDK's contract.
    #[error("protocol: {detail}")]
    Protocol { detail: String },
    /// Someone changed the record first: refresh and retry.
    #[error("conflict: {detail}")]
    Conflict { detail: String },
    /// The API key (or another credential) was refused: check the configuration.
    #[error("unauthorized: {detail}")]
    Unauthorized { detail: String },
    /// The call is over, unknown to the backend, or was answered on another device.
    #[error("call unavailable: {detail}")]
    CallUnavailable { detail: String },
    /// The room is over or unknown to the backend.
    #[error("room unavailable: {detail}")]
    RoomUnavailable { detail: String },
    /// The room has as many members as it may.
    #[error("room full: {detail}")]
    RoomFull { detail: String },
    /// The backend has no rooms (the seed backend): 1:1 calls and `joinSession` only.
    #[error("rooms unavailable: {detail}")]
    RoomsUnavailable { detail: String },
    /// The arguments are wrong: fix the call.
    #[error("invalid input: {detail}")]
    InvalidInput { detail: String },
    /// The media gateway refused the participant token (invalid, expired, wrong version,
    /// or its session is over): the call cannot be joined with it.
    #[error("token refused: {detail}")]
    TokenRefused { detail: String },
    /// The media session could not be set up or was lost (signaling or WebRTC).
    #[error("media: {detail}")]
    Media { detail: String },
    /// Local storage (files, keychain) failed.
    #[error("storage: {detail}")]
    Storage { detail: String },
    /// The operation was cancelled by the app (what it had started was undone).
    #[error("cancelled: {detail}")]
    Cancelled { detail: String },
    /// A bug in Dialtone; please report it.
    #[error("internal: {detail}")]
    Internal { detail: String },
}

impl From<Error> for DialtoneError {
    fn from(e: Error) -> Self {
        tracing::debug!(target: "dialtone::ffi", "operation failed: {e}");
        let message = crate::logging::redact(&e.to_string());
        match e {
            Error::Rest(RestError::Busy(m)) => DialtoneError::Busy { detail: m },
            Error::Rest(RestError::UnknownClient(_)) => {
                DialtoneError::NotRegistered { detail: message }
            }
            Error::Rest(RestError::Unauthorized { .. }) => {
                DialtoneError::Unauthorized { detail: message }
            }
            Error::Rest(RestError::CallGone { .. }) => {
                DialtoneError::CallUnavailable { detail: message }
            }
            Error::Rest(RestError::RoomGone(m)) => DialtoneError::RoomUnavailable { detail: m },
            Error::Rest(RestError::RoomFull(m)) => DialtoneError::RoomFull { detail: m },
            Error::Rest(RestError::RoomsUnavailable) => {
                DialtoneError::RoomsUnavailable { detail: message }
            }
            Error::Rest(RestError::Network(_)) | Error::Graphql(GraphqlError::Network(_)) => {
                DialtoneError::Network { detail: message }
            }
            Error::Rest(RestError::Backend { status, message: m }) => {
                DialtoneError::Backend { status, detail: m }
            }
            Error::Rest(RestError::Decode(_)) | Error::Graphql(GraphqlError::Decode(_)) => {
                DialtoneError::Protocol { detail: message }
            }
            Error::Graphql(GraphqlError::Conflict { .. }) => {
                DialtoneError::Conflict { detail: message }
            }
            Error::Graphql(GraphqlError::Unauthorized) => {
                DialtoneError::Unauthorized { detail: message }
            }
            Error::Graphql(GraphqlError::Http { status, .. }) => DialtoneError::Backend {
                status,
                detail: message,
            },
            Error::Graphql(GraphqlError::Remote { .. }) => DialtoneError::Backend {
                status: 200,
                detail: message,
            },
            Error::Store(_) | Error::Secret(_) => DialtoneError::Storage { detail: message },
            Error::NotRegistered => DialtoneError::NotRegistered { detail: message },
            Error::Tls(_) => DialtoneError::Internal { detail: message },
            Error::Illegal(_) | Error::CallUnavailable(_) => {
                DialtoneError::CallUnavailable { detail: message }
            }
            Error::InvalidInput(m) => DialtoneError::InvalidInput { detail: m },
            Error::Media(MediaError::TokenRefused { .. }) => {
                DialtoneError::TokenRefused { detail: message }
            }
            Error::Media(_) => DialtoneError::Media { detail: message },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_keeps_its_kind() {
        let decode =
            DialtoneError::from(Error::Rest(RestError::Decode("reply is not JSON".into())));
        assert!(
            matches!(decode, DialtoneError::Protocol { .. }),
            "{decode:?}"
        );
        let forgotten =
            DialtoneError::from(Error::Rest(RestError::UnknownClient("HTTP 401".into())));
        assert!(
            matches!(&forgotten, DialtoneError::NotRegistered { detail } if detail.contains("does not know this device")),
            "{forgotten:?}"
        );
        let gql = DialtoneError::from(Error::Graphql(GraphqlError::Decode("no data".into())));
        assert!(matches!(gql, DialtoneError::Protocol { .. }), "{gql:?}");
        let illegal = DialtoneError::from(Error::Illegal(crate::calls::machine::Illegal {
            state: crate::calls::CallState::Ended(crate::calls::EndReason::Cancelled),
            input: crate::calls::machine::Input::Answer,
        }));
        assert!(
            matches!(illegal, DialtoneError::CallUnavailable { .. }),
            "{illegal:?}"
        );
        // The cause chain is kept inside the core: a webrtc-rs error is the media error's
        // source, and a transport failure the connect error's.
        let e = MediaError::from(webrtc::error::Error::ErrConnectionClosed);
        let cause = std::error::Error::source(&e).expect("a typed cause");
        assert_eq!(
            cause.to_string(),
            webrtc::error::Error::ErrConnectionClosed.to_string()
        );
        let connect = MediaError::Connect(crate::backend::websocket::ConnectError::Timeout(
            std::time::Duration::from_secs(1),
        ));
        assert!(std::error::Error::source(&connect).is_some());
        assert!(DialtoneError::from(Error::Media(connect))
            .to_string()
            .contains("timed out"));
    }
}
