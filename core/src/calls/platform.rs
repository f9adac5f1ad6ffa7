//! The two narrow ports a call needs from the outside world, and their real adapters:
//! `CallBackend` (the REST actions of one call, with this device's identity and auth) and
//! `MediaConnector` / `MediaLink` (joining, restoring and leaving a media session). The call
//! actor sees only these traits, so the whole call logic runs against a simulated backend
//! and media in tests (`calls::sim`), with tokio's paused clock, the way RingRTC's
//! `SimPlatform` stands in for the real one.

use std::sync::Arc;

use async_trait::async_trait;

use super::machine::Profile;
use crate::account::identity::IdentityStore;
use crate::backend::rest::{RestClient, RestError};
use crate::error::{Error, Result};

/// What `initiateCall` gave the caller, and what can be read from its participant token.
#[derive(Clone, PartialEq)]
pub struct OutgoingCall {
    pub callee_client_id: String,
    /// The extended backend's call id; `None` on the seed backend.
    pub call_id: Option<String>,
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
            .finish()
    }
}

/// Who a call acts as: this device's registration when the call began, kept for the call's
/// whole life. Every REST action of the call goes out as this clientId with this secret, so
/// an action that runs late (a slow leave, then `endCall`) after the device registered again
/// acts for the old registration, never for the new one (whose next call it would end).
#[derive(Clone, PartialEq)]
pub struct Registration {
    pub client_id: String,
    /// The extended backend's client secret; `None` on the seed backend.
    pub secret: Option<String>,
}

impl Registration {
    /// A client secret means the extended backend.
    pub fn profile(&self) -> Profile {
        match self.secret {
            Some(_) => Profile::Extended,
            None => Profile::Seed,
        }
    }

    fn extended_secret(&self) -> Result<&str> {
        self.secret.as_deref().ok_or_else(|| {
            Error::InvalidInput("this action needs the extended backend (a client secret)".into())
        })
    }
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("client_id", &self.client_id)
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// The REST actions of a call, each acting as the registration `me` the call was made under.
#[async_trait]
pub trait CallBackend: Send + Sync + 'static {
    /// This device's registration now (`None` before it registers): a new call keeps it.
    fn registration(&self) -> Option<Registration>;
    async fn initiate(&self, me: &Registration, callee_client_id: &str) -> Result<OutgoingCall>;
    /// Extended: take the call; returns the callee's participant token.
    async fn answer_call(&self, me: &Registration, call_id: &str) -> Result<String>;
    async fn decline_call(&self, me: &Registration, call_id: &str, busy: bool) -> Result<()>;
    async fn cancel_call(&self, me: &Registration, call_id: &str) -> Result<()>;
    /// Extended: a fresh participant token for this device's part of the call.
    async fn renew_token(&self, me: &Registration, call_id: &str) -> Result<String>;
    /// `endCall` for this device's leg; `call_id` (extended) ends only that call, so a late
    /// one cannot end the device's next call.
    async fn end_call(&self, me: &Registration, call_id: Option<&str>) -> Result<()>;
}

/// One call's hold on the backend: the port, bound to the registration the call was made
/// under. A call begun with no registration gets `NotRegistered` from every action.
#[derive(Clone)]
pub struct BoundBackend {
    port: Arc<dyn CallBackend>,
    me: Option<Registration>,
}

impl BoundBackend {
    pub fn new(port: Arc<dyn CallBackend>, me: Option<Registration>) -> BoundBackend {
        BoundBackend { port, me }
    }

    fn me(&self) -> Result<&Registration> {
        self.me.as_ref().ok_or(Error::NotRegistered)
    }

    /// The clientId the call acts as, if registered (the alias its stream is published with).
    pub fn client_id(&self) -> Option<&str> {
        self.me.as_ref().map(|r| r.client_id.as_str())
    }

    pub async fn initiate(&self, callee_client_id: &str) -> Result<OutgoingCall> {
        self.port.initiate(self.me()?, callee_client_id).await
    }

    pub async fn answer_call(&self, call_id: &str) -> Result<String> {
        self.port.answer_call(self.me()?, call_id).await
    }

    pub async fn decline_call(&self, call_id: &str, busy: bool) -> Result<()> {
        self.port.decline_call(self.me()?, call_id, busy).await
    }

    pub async fn cancel_call(&self, call_id: &str) -> Result<()> {
        self.port.cancel_call(self.me()?, call_id).await
    }

    pub async fn renew_token(&self, call_id: &str) -> Result<String> {
        self.port.renew_token(self.me()?, call_id).await
    }

    pub async fn end_call(&self, call_id: Option<&str>) -> Result<()> {
        self.port.end_call(self.me()?, call_id).await
    }
}

// ---- The real adapters ----

/// `CallBackend` over the REST Lambda, with the identity in secure storage.
pub struct RestCallBackend {
    pub rest: RestClient,
    pub identity: Arc<IdentityStore>,
}

impl RestCallBackend {
    fn noted<T>(
        &self,
        me: &Registration,
        r: std::result::Result<T, RestError>,
    ) -> std::result::Result<T, RestError> {
        forget_if_unknown(&self.identity, &me.client_id, r)
    }
}

/// A REST result for `me`: if the backend no longer knows this device, the stored identity
/// is forgotten, so the next `register` makes it a client again (`NotRegistered` says so).
pub(crate) fn forget_if_unknown<T>(
    identity: &IdentityStore,
    me: &str,
    r: std::result::Result<T, RestError>,
) -> std::result::Result<T, RestError> {
    if let Err(RestError::UnknownClient(why)) = &r {
        if let Ok(true) = identity.forget(me) {
            tracing::warn!(target: "dialtone::engine", "the backend does not know this device ({why}); it must register again");
        }
    }
    r
}

/// A cancel or decline that finds the call already over has nothing left to do.
fn ignore_gone(r: std::result::Result<(), RestError>) -> Result<()> {
    match r {
        Err(RestError::CallGone { .. }) => Ok(()),
        other => Ok(other?),
    }
}

#[async_trait]
impl CallBackend for RestCallBackend {
    fn registration(&self) -> Option<Registration> {
        match self.identity.load() {
            Ok(Some(i)) => Some(Registration {
                client_id: i.client_id,
                secret: i.client_secret,
            }),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(target: "dialtone::calls", "cannot read this device's registration: {e}");
                None
            }
        }
    }

    async fn initiate(&self, me: &Registration, callee: &str) -> Result<OutgoingCall> {
        let initiated = self
            .rest
            .initiate_call(&me.client_id, callee, me.secret.as_deref())
            .await;
        let initiated = self.noted(me, initiated)?;
        let claims = crate::media::link::decode_claims(&initiated.token);
        Ok(OutgoingCall {
            callee_client_id: callee.to_string(),
            call_id: initiated.call_id,
            participant_id: claims.as_ref().and_then(|c| c.p.clone()),
            session_id: claims.as_ref().and_then(|c| c.tid.clone()),
            expires_at_ms: claims
                .as_ref()
                .and_then(|c| c.exp)
                .map(|s| s.saturating_mul(1000)),
            participant_token: initiated.token,
        })
    }

    async fn answer_call(&self, me: &Registration, call_id: &str) -> Result<String> {
        let secret = me.extended_secret()?;
        let r = self.rest.answer_call(&me.client_id, call_id, secret).await;
        Ok(self.noted(me, r)?)
    }

    async fn decline_call(&self, me: &Registration, call_id: &str, busy: bool) -> Result<()> {
        let secret = me.extended_secret()?;
        let r = self
            .rest
            .decline_call(&me.client_id, call_id, busy, secret)
            .await;
        ignore_gone(self.noted(me, r))
    }

    async fn cancel_call(&self, me: &Registration, call_id: &str) -> Result<()> {
        let secret = me.extended_secret()?;
        let r = self.rest.cancel_call(&me.client_id, call_id, secret).await;
        ignore_gone(self.noted(me, r))
    }

    async fn renew_token(&self, me: &Registration, call_id: &str) -> Result<String> {
        let secret = me.extended_secret()?;
        let r = self.rest.renew_token(&me.client_id, call_id, secret).await;
        Ok(self.noted(me, r)?)
    }

    async fn end_call(&self, me: &Registration, call_id: Option<&str>) -> Result<()> {
        let r = self
            .rest
            .end_call(&me.client_id, call_id, me.secret.as_deref())
            .await;
        ignore_gone(self.noted(me, r))
    }
}
