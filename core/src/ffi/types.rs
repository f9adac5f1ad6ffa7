//! Records and enums as the apps see them: immutable data, converted from the engine's.

use crate::account::identity;
use crate::backend::appsync::PersonRecord;

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PushKind {
    /// Firebase Cloud Messaging (Android).
    Fcm,
    /// Apple Push Notification service, regular pushes.
    Apns,
    /// Apple PushKit VoIP pushes (what incoming calls use on iOS).
    ApnsVoip,
}

impl From<PushKind> for identity::PushKind {
    fn from(k: PushKind) -> Self {
        match k {
            PushKind::Fcm => identity::PushKind::Fcm,
            PushKind::Apns => identity::PushKind::Apns,
            PushKind::ApnsVoip => identity::PushKind::ApnsVoip,
        }
    }
}

#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct PushToken {
    pub kind: PushKind,
    pub token: String,
}

impl std::fmt::Debug for PushToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushToken")
            .field("kind", &self.kind)
            .field("token", &"[redacted]")
            .finish()
    }
}

/// Someone one can call.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Person {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    /// The clientId to pass to `start_call`.
    pub client_id: String,
    /// This is the user's own Person (bound to this device's clientId).
    pub is_self: bool,
}

impl Person {
    pub(crate) fn from_record(r: &PersonRecord, own_client_id: Option<&str>) -> Self {
        Person {
            id: r.id.clone(),
            first_name: r.first_name.clone(),
            last_name: r.last_name.clone(),
            client_id: r.client_id.clone(),
            is_self: own_client_id == Some(r.client_id.as_str()),
        }
    }
}

/// A call this device placed: what the backend returned for it.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct OutgoingCall {
    pub callee_client_id: String,
    /// The backend's call id (extended backend); `None` on the seed backend.
    pub call_id: Option<String>,
    /// The bearer token that admits this device to the media session. A secret.
    pub participant_token: String,
    pub participant_id: Option<String>,
    pub session_id: Option<String>,
    pub expires_at_ms: Option<i64>,
}

impl std::fmt::Debug for OutgoingCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingCall")
            .field("callee_client_id", &self.callee_client_id)
            .field("call_id", &self.call_id)
            .field("participant_token", &"[redacted]")
            .field("participant_id", &self.participant_id)
            .field("session_id", &self.session_id)
            .field("expires_at_ms", &self.expires_at_ms)
            .finish()
    }
}

impl From<crate::calls::OutgoingCall> for OutgoingCall {
    fn from(c: crate::calls::OutgoingCall) -> Self {
        OutgoingCall {
            callee_client_id: c.callee_client_id,
            call_id: c.call_id,
            participant_token: c.participant_token,
            participant_id: c.participant_id,
            session_id: c.session_id,
            expires_at_ms: c.expires_at_ms,
        }
    }
}
