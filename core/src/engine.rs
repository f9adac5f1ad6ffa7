//! The client's behaviour, in plain async Rust: registration and push-token moves, the
//! user's own Person, Person sync (base, delta, live through the real-time subscription),
//! and the REST call actions. It owns the protocol clients and the stores; it knows nothing
//! of UniFFI, whose thin layer in `ffi` converts types and runs these methods on the runtime.

use std::path::Path;
use std::sync::{Arc, Mutex, Weak};

use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::appsync::{AppSyncClient, GraphqlError, PersonRecord};
use crate::audio_bridge::AudioBridge;
use crate::call_media::{MediaEvent, MediaSession};
use crate::call_state::{CallState, Effect, EndReason, Input};
use crate::error::{Error, Result};
use crate::identity::{Identity, IdentityStore, PushKind};
use crate::incoming::{IncomingCalls, PushOutcome};
use crate::peer::IcePolicy;
use crate::persons::PersonStore;
use crate::realtime::{self, RealtimeConfig, RealtimeEvent};
use crate::rest::RestClient;
use crate::secrets::SecretStore;

pub const MAX_NAME_LEN: usize = 256;
pub const MAX_PUSH_TOKEN_LEN: usize = 4_096;
pub const MAX_DELETE_IDS: usize = 100;

/// Where the backend lives. The same code path serves AWS and the mock: only these differ.
#[derive(Clone, PartialEq)]
pub struct Endpoints {
    pub rest_url: String,
    pub graphql_url: String,
    pub graphql_api_key: String,
    pub realtime_url: String,
    pub signaling_url: String,
}

impl std::fmt::Debug for Endpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoints")
            .field("rest_url", &self.rest_url)
            .field("graphql_url", &self.graphql_url)
            .field("graphql_api_key", &"[redacted]")
            .field("realtime_url", &self.realtime_url)
            .field("signaling_url", &self.signaling_url)
            .finish()
    }
}

impl Endpoints {
    /// The real backend. AppSync's real-time host is derived from the GraphQL URL the way
    /// AWS names it (`appsync-api` → `appsync-realtime-api`); a custom domain keeps its host.
    pub fn aws(
        rest_url: &str,
        graphql_url: &str,
        api_key: &str,
        signaling_url: &str,
    ) -> Result<Self> {
        let gql = check_url(graphql_url, &["https", "http"], "GraphQL URL")?;
        check_url(rest_url, &["https", "http"], "REST URL")?;
        check_url(signaling_url, &["wss", "ws"], "signaling URL")?;
        if api_key.trim().is_empty() {
            return Err(Error::InvalidInput("the GraphQL API key is empty".into()));
        }
        let host = gql
            .host_str()
            .unwrap_or_default()
            .replace("appsync-api", "appsync-realtime-api");
        let scheme = if gql.scheme() == "https" { "wss" } else { "ws" };
        let port = gql.port().map(|p| format!(":{p}")).unwrap_or_default();
        Ok(Self {
            rest_url: rest_url.to_string(),
            graphql_url: graphql_url.to_string(),
            graphql_api_key: api_key.to_string(),
            realtime_url: format!("{scheme}://{host}{port}{}", gql.path()),
            signaling_url: signaling_url.to_string(),
        })
    }

    /// The bundled mock server at `http://127.0.0.1:PORT`, with its fixed paths.
    pub fn mock(base_url: &str, api_key: &str) -> Result<Self> {
        let base = check_url(base_url, &["http", "https"], "mock base URL")?;
        let root = base.as_str().trim_end_matches('/').to_string();
        let ws_root = root.replacen("http", "ws", 1);
        Ok(Self {
            rest_url: format!("{root}/api"),
            graphql_url: format!("{root}/graphql"),
            graphql_api_key: api_key.to_string(),
            realtime_url: format!("{ws_root}/graphql/realtime"),
            signaling_url: format!("{ws_root}/v3/"),
        })
    }

    fn graphql_host(&self) -> String {
        url::Url::parse(&self.graphql_url)
            .ok()
            .and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_string(),
                })
            })
            .unwrap_or_default()
    }
}

fn check_url(raw: &str, schemes: &[&str], what: &str) -> Result<url::Url> {
    let url =
        url::Url::parse(raw).map_err(|e| Error::InvalidInput(format!("{what} {raw:?}: {e}")))?;
    if !schemes.contains(&url.scheme()) || url.host_str().is_none() {
        return Err(Error::InvalidInput(format!(
            "{what} must be a {} URL with a host",
            schemes.join("/")
        )));
    }
    Ok(url)
}

/// The participant token and what can be read from it, for a call this device placed.
#[derive(Clone, PartialEq)]
pub struct OutgoingCall {
    pub callee_client_id: String,
    pub participant_token: String,
    pub participant_id: Option<String>,
    pub session_id: Option<String>,
    pub expires_at_ms: Option<i64>,
}

pub struct Engine {
    endpoints: Endpoints,
    rest: RestClient,
    appsync: AppSyncClient,
    persons: Arc<PersonStore>,
    identity: IdentityStore,
    /// Serialises the operations that change who this device is (register, token moves, profile).
    identity_ops: tokio::sync::Mutex<()>,
    sync_lock: tokio::sync::Mutex<()>,
    live: Mutex<Vec<AbortHandle>>,
    active_call: Mutex<Option<OutgoingCall>>,
    media: tokio::sync::Mutex<Option<MediaSession>>,
    audio: Arc<AudioBridge>,
    media_events: tokio::sync::broadcast::Sender<CallUpdate>,
    incoming: IncomingCalls,
    ring_timeout: Mutex<std::time::Duration>,
    ring_timers: Mutex<std::collections::HashMap<String, AbortHandle>>,
}

/// What observers of calls hear: media events of the joined session, and the end of
/// incoming calls that never got that far (declined, missed, busy, failed to join).
#[derive(Debug, Clone, PartialEq)]
pub enum CallUpdate {
    Media(MediaEvent),
    IncomingEnded { call_id: String, reason: EndReason },
}

pub const DEFAULT_RING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(45);

impl Engine {
    pub fn open(endpoints: Endpoints, data_dir: &Path) -> Result<Arc<Self>> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            Error::InvalidInput(format!(
                "data directory {} cannot be created: {e}",
                data_dir.display()
            ))
        })?;
        let persons = Arc::new(PersonStore::open(data_dir)?);
        let identity = IdentityStore::new(SecretStore::open(data_dir)?);
        // Read once now, so later reads (including the push path) hit the cache.
        identity.load()?;
        Ok(Arc::new(Self {
            rest: RestClient::new(&endpoints.rest_url),
            appsync: AppSyncClient::new(&endpoints.graphql_url, &endpoints.graphql_api_key),
            endpoints,
            persons,
            identity,
            identity_ops: tokio::sync::Mutex::new(()),
            sync_lock: tokio::sync::Mutex::new(()),
            live: Mutex::new(Vec::new()),
            active_call: Mutex::new(None),
            media: tokio::sync::Mutex::new(None),
            audio: Arc::new(AudioBridge::new()),
            media_events: tokio::sync::broadcast::channel(256).0,
            incoming: IncomingCalls::default(),
            ring_timeout: Mutex::new(DEFAULT_RING_TIMEOUT),
            ring_timers: Mutex::new(std::collections::HashMap::new()),
        }))
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    pub fn identity(&self) -> Result<Option<Identity>> {
        Ok(self.identity.load()?)
    }

    fn require_identity(&self) -> Result<Identity> {
        self.identity.load()?.ok_or(Error::NotRegistered)
    }

    pub fn persons_store(&self) -> &Arc<PersonStore> {
        &self.persons
    }

    /// Registers the push token and returns the clientId. The same kind and token keep their
    /// clientId without a round trip; a new token moves the device (see `update_push_token`).
    pub async fn register(&self, kind: PushKind, token: &str) -> Result<String> {
        validate_push_token(token)?;
        let _guard = self.identity_ops.lock().await;
        if let Some(current) = self.identity.load()? {
            if current.push_kind == kind && current.push_token == token {
                return Ok(current.client_id);
            }
            return self.move_to_token(current, kind, token).await;
        }
        let row = self.rest.register(kind.notify_type(), token).await?;
        self.identity.save(&Identity {
            client_id: row.id.clone(),
            push_kind: kind,
            push_token: token.into(),
            person_id: None,
        })?;
        tracing::info!(target: "dialtone::engine", "registered for {kind:?} pushes");
        Ok(row.id)
    }

    /// Re-registers with a new push token, moves the user's Person to the new clientId and
    /// deletes the old clientId.
    pub async fn update_push_token(&self, kind: PushKind, token: &str) -> Result<String> {
        validate_push_token(token)?;
        let _guard = self.identity_ops.lock().await;
        let current = self.require_identity()?;
        if current.push_kind == kind && current.push_token == token {
            return Ok(current.client_id);
        }
        self.move_to_token(current, kind, token).await
    }

    async fn move_to_token(
        &self,
        current: Identity,
        kind: PushKind,
        token: &str,
    ) -> Result<String> {
        let row = self.rest.register(kind.notify_type(), token).await?;
        let moved = Identity {
            client_id: row.id.clone(),
            push_kind: kind,
            push_token: token.into(),
            person_id: current.person_id.clone(),
        };
        // Saved before the follow-up steps: the new clientId is ours from here, whatever fails next.
        self.identity.save(&moved)?;
        if let Some(person_id) = &current.person_id {
            match self
                .update_own_person(person_id, json!({"clientId": row.id}))
                .await?
            {
                Some(rec) => {
                    self.persons.apply(vec![rec], None, false)?;
                }
                None => {
                    tracing::warn!(target: "dialtone::engine", "own Person is gone; save_profile will create it again")
                }
            }
        }
        self.rest
            .delete_client_ids(std::slice::from_ref(&current.client_id))
            .await?;
        tracing::info!(target: "dialtone::engine", "moved to a new push token");
        Ok(row.id)
    }

    /// Creates or updates the user's own Person, bound to this device's clientId.
    pub async fn save_profile(&self, first_name: &str, last_name: &str) -> Result<PersonRecord> {
        let first = validate_name(first_name, "first name")?;
        let last = validate_name(last_name, "last name")?;
        let _guard = self.identity_ops.lock().await;
        let mut identity = self.require_identity()?;
        let changes = json!({"firstName": first, "lastName": last, "clientId": identity.client_id});
        let existing = match &identity.person_id {
            Some(pid) => self.update_own_person(pid, changes).await?,
            None => None,
        };
        let record = match existing {
            Some(rec) => rec,
            None => {
                let rec = self
                    .appsync
                    .create_person(None, &first, &last, &identity.client_id)
                    .await?;
                identity.person_id = Some(rec.id.clone());
                self.identity.save(&identity)?;
                rec
            }
        };
        self.persons.apply(vec![record.clone()], None, false)?;
        Ok(record)
    }

    /// Updates the user's own Person. This device is its only writer, so on a version
    /// conflict it retries once at the server's version. `None` when the Person is gone.
    async fn update_own_person(
        &self,
        person_id: &str,
        changes: Value,
    ) -> Result<Option<PersonRecord>> {
        let version = match self.persons.get(person_id) {
            Some(rec) => rec.version,
            None => match self.appsync.get_person(person_id).await? {
                Some(rec) if !rec.deleted => rec.version,
                _ => return Ok(None),
            },
        };
        match self
            .appsync
            .update_person(person_id, version, changes.clone())
            .await
        {
            Ok(rec) => Ok(Some(rec)),
            Err(GraphqlError::Conflict {
                server: Some(server),
                ..
            }) if !server.deleted => Ok(Some(
                self.appsync
                    .update_person(person_id, server.version, changes)
                    .await?,
            )),
            Err(GraphqlError::Conflict { .. }) => Ok(None),
            Err(GraphqlError::Remote { error_type, .. })
                if error_type.contains("ConditionalCheckFailed") =>
            {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Brings the local list up to date (a base sync the first time, a delta after), then
    /// keeps it live through the real-time subscription.
    pub async fn sync_persons(self: &Arc<Self>) -> Result<Arc<Vec<PersonRecord>>> {
        self.sync_once().await?;
        self.ensure_live();
        Ok(self.persons.visible())
    }

    async fn sync_once(&self) -> Result<()> {
        let _guard = self.sync_lock.lock().await;
        let last = self.persons.last_sync();
        let (items, started_at) = self.appsync.sync_people(last).await?;
        let changed = self
            .persons
            .apply(items, Some(started_at), last.is_none())?;
        tracing::debug!(target: "dialtone::engine", "person sync ({}) changed={changed}", if last.is_none() { "base" } else { "delta" });
        Ok(())
    }

    fn ensure_live(self: &Arc<Self>) {
        let mut live = self.live.lock().expect("live lock");
        if !live.is_empty() {
            return;
        }
        let (tx, mut rx) = mpsc::channel(256);
        let cfg = RealtimeConfig {
            url: self.endpoints.realtime_url.clone(),
            graphql_host: self.endpoints.graphql_host(),
            api_key: self.endpoints.graphql_api_key.clone(),
        };
        let subscriber = tokio::spawn(realtime::run(cfg, tx));
        let weak: Weak<Engine> = Arc::downgrade(self);
        let consumer = tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                let Some(engine) = weak.upgrade() else { return };
                match event {
                    // Whatever changed while we were not subscribed comes in by delta sync.
                    RealtimeEvent::Connected => {
                        if let Err(e) = engine.sync_once().await {
                            tracing::warn!(target: "dialtone::engine", "catch-up sync failed: {e}");
                        }
                    }
                    RealtimeEvent::Change(_, record) => {
                        if let Err(e) = engine.persons.apply(vec![record], None, false) {
                            tracing::warn!(target: "dialtone::engine", "cannot store a live change: {e}");
                        }
                    }
                    RealtimeEvent::Disconnected(reason) => {
                        tracing::info!(target: "dialtone::engine", "live updates paused: {reason}");
                    }
                }
            }
        });
        live.push(subscriber.abort_handle());
        live.push(consumer.abort_handle());
    }

    /// Stops live updates (they restart with the next `sync_persons`).
    pub fn stop_live(&self) {
        for handle in self.live.lock().expect("live lock").drain(..) {
            handle.abort();
        }
    }

    pub async fn start_call(&self, callee_client_id: &str) -> Result<OutgoingCall> {
        let identity = self.require_identity()?;
        let callee = callee_client_id.trim();
        if callee.is_empty() || callee.len() > MAX_PUSH_TOKEN_LEN {
            return Err(Error::InvalidInput(
                "the callee clientId is empty or too long".into(),
            ));
        }
        if callee == identity.client_id {
            return Err(Error::InvalidInput("a device cannot call itself".into()));
        }
        let token = self.rest.initiate_call(&identity.client_id, callee).await?;
        let claims = crate::participant_token::decode_claims(&token);
        let call = OutgoingCall {
            callee_client_id: callee.to_string(),
            participant_id: claims.as_ref().and_then(|c| c.p.clone()),
            session_id: claims.as_ref().and_then(|c| c.tid.clone()),
            expires_at_ms: claims
                .as_ref()
                .and_then(|c| c.exp)
                .map(|s| s.saturating_mul(1000)),
            participant_token: token,
        };
        *self.active_call.lock().expect("call lock") = Some(call.clone());
        // The caller joins the media session at once; if it cannot, the backend session is
        // released again so neither side is left "busy".
        if let Err(e) = self.join_media(&call.participant_token).await {
            let _ = self.rest.end_call(&identity.client_id).await;
            *self.active_call.lock().expect("call lock") = None;
            return Err(e);
        }
        Ok(call)
    }

    /// Joins the media session a participant token admits to (the callee's path: the token
    /// comes from its push).
    pub async fn join_call(&self, participant_token: &str) -> Result<()> {
        if participant_token.trim().is_empty() || participant_token.len() > 16 * 1024 {
            return Err(Error::InvalidInput(
                "the participant token is empty or too long".into(),
            ));
        }
        self.join_media(participant_token).await
    }

    async fn join_media(&self, token: &str) -> Result<()> {
        let mut slot = self.media.lock().await;
        if let Some(old) = slot.take() {
            old.leave().await;
        }
        let host = url::Url::parse(&self.endpoints.signaling_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let fanout = self.media_events.clone();
        tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                let _ = fanout.send(CallUpdate::Media(ev));
            }
        });
        let session = MediaSession::join(
            &self.endpoints.signaling_url,
            token,
            IcePolicy::for_signaling_host(&host),
            self.audio.clone(),
            tx,
        )
        .await?;
        *slot = Some(session);
        Ok(())
    }

    /// The push path: parse, dedupe, check staleness, and return at once with an invite or
    /// a reasoned `Ignored`. No network; the only storage read is the cached identity.
    /// An invite that arrives during another call is declined as busy straight away (it is
    /// still returned, so iOS can report it to CallKit and end it, as PushKit requires).
    pub fn handle_push(&self, raw: &str) -> Result<PushOutcome> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let outcome = self
            .incoming
            .handle(raw, now)
            .map_err(|e| Error::InvalidInput(e.to_string()))?;
        if let PushOutcome::Invite(invite) = &outcome {
            let busy = self.media.try_lock().map(|m| m.is_some()).unwrap_or(true);
            if busy {
                // Seed profile: declining would be endCall on our own row, which would end
                // the call we are in; the caller's ring timeout ends this one instead.
                if self
                    .incoming
                    .apply(&invite.call_id, Input::LocalBusy)
                    .is_ok()
                {
                    self.announce_end(&invite.call_id, EndReason::Busy);
                }
            }
        }
        Ok(outcome)
    }

    pub fn set_ring_timeout(&self, timeout: std::time::Duration) {
        *self.ring_timeout.lock().expect("ring lock") = timeout;
    }

    pub fn incoming_state(&self, call_id: &str) -> Option<CallState> {
        self.incoming.state(call_id)
    }

    /// Runs the ring timer of an invite; the caller keeps the abort handle.
    pub async fn ring_timer(self: Arc<Self>, call_id: String) {
        let timeout = *self.ring_timeout.lock().expect("ring lock");
        tokio::time::sleep(timeout).await;
        self.ring_timers
            .lock()
            .expect("timers lock")
            .remove(&call_id);
        if let Err(e) = self.apply_incoming(&call_id, Input::RingTimeout).await {
            tracing::debug!(target: "dialtone::engine", "ring timeout after the call moved on: {e}");
        }
    }

    pub fn set_ring_timer(&self, call_id: &str, handle: AbortHandle) {
        if self.incoming.state(call_id) == Some(CallState::Ringing) {
            self.ring_timers
                .lock()
                .expect("timers lock")
                .insert(call_id.to_string(), handle);
        } else {
            handle.abort();
        }
    }

    /// Answers an invite: joins the media session with the token from its push.
    pub async fn answer(&self, call_id: &str) -> Result<()> {
        self.apply_incoming(call_id, Input::Answer).await
    }

    /// Declines an invite. Seed profile: `endCall` for this device, which ends the session
    /// so the caller hears the call end.
    pub async fn decline(&self, call_id: &str) -> Result<()> {
        self.apply_incoming(call_id, Input::Decline).await
    }

    async fn apply_incoming(&self, call_id: &str, input: Input) -> Result<()> {
        let (effects, push) = self
            .incoming
            .apply(call_id, input)
            .map_err(|e| Error::InvalidInput(e.to_string()))?;
        for effect in effects {
            match effect {
                Effect::JoinMedia => {
                    let token = push.token.clone().unwrap_or_default();
                    if let Err(e) = self.join_media(&token).await {
                        if let Ok((more, _)) = self
                            .incoming
                            .apply(call_id, Input::MediaFailed(e.to_string()))
                        {
                            for m in more {
                                if let Effect::Emit(CallState::Ended(r)) = m {
                                    self.announce_end(call_id, r);
                                }
                            }
                        }
                        self.leave_media().await;
                        return Err(e);
                    }
                }
                Effect::LeaveMedia => self.leave_media().await,
                Effect::EndCall | Effect::DeclineCall | Effect::CancelCall => {
                    // Seed profile: every one of these is endCall for this device's own leg.
                    let identity = self.require_identity()?;
                    self.rest.end_call(&identity.client_id).await?;
                }
                Effect::StopRingTimer => {
                    if let Some(t) = self
                        .ring_timers
                        .lock()
                        .expect("timers lock")
                        .remove(call_id)
                    {
                        t.abort();
                    }
                }
                Effect::StartRingTimer => {}
                Effect::Emit(CallState::Ended(reason)) => self.announce_end(call_id, reason),
                Effect::Emit(_) => {}
            }
        }
        Ok(())
    }

    fn announce_end(&self, call_id: &str, reason: EndReason) {
        let _ = self.media_events.send(CallUpdate::IncomingEnded {
            call_id: call_id.to_string(),
            reason,
        });
    }

    /// The device's network changed (Wi-Fi ↔ cellular): restart ICE rather than wait for
    /// the connection to fail.
    pub async fn network_changed(&self) -> Result<()> {
        if let Some(session) = self.media.lock().await.as_ref() {
            session.restart_ice().await?;
        }
        Ok(())
    }

    /// Leaves the media session, if any (the first half of a hangup).
    pub async fn leave_media(&self) {
        if let Some(session) = self.media.lock().await.take() {
            session.leave().await;
        }
    }

    pub fn audio(&self) -> &Arc<AudioBridge> {
        &self.audio
    }

    pub fn media_events(&self) -> tokio::sync::broadcast::Receiver<CallUpdate> {
        self.media_events.subscribe()
    }

    /// Setup milestones of the current media session (benchmarks).
    pub async fn media_timings(&self) -> Option<crate::call_media::Timings> {
        self.media
            .lock()
            .await
            .as_ref()
            .map(|m| m.timings.lock().expect("timings lock").clone())
    }

    pub fn active_call(&self) -> Option<OutgoingCall> {
        self.active_call.lock().expect("call lock").clone()
    }

    /// Ends this device's call leg (the seed's `endCall` for our own clientId).
    pub async fn end_call(&self) -> Result<()> {
        let identity = self.require_identity()?;
        for call_id in self.incoming.answered() {
            let _ = self.incoming.apply(&call_id, Input::Hangup);
        }
        self.leave_media().await;
        self.rest.end_call(&identity.client_id).await?;
        *self.active_call.lock().expect("call lock") = None;
        Ok(())
    }

    /// Bulk clean-up. Person records stay. If our own clientId is among the deleted, this
    /// device forgets its identity and must register again.
    pub async fn delete_client_ids(&self, ids: &[String]) -> Result<Vec<String>> {
        if ids.is_empty() || ids.len() > MAX_DELETE_IDS {
            return Err(Error::InvalidInput(format!(
                "give between 1 and {MAX_DELETE_IDS} clientIds"
            )));
        }
        if ids.iter().any(|id| id.trim().is_empty()) {
            return Err(Error::InvalidInput("a clientId is empty".into()));
        }
        let deleted = self.rest.delete_client_ids(ids).await?;
        let _guard = self.identity_ops.lock().await;
        if let Some(identity) = self.identity.load()? {
            if deleted.contains(&identity.client_id) {
                self.identity.clear()?;
                *self.active_call.lock().expect("call lock") = None;
                tracing::info!(target: "dialtone::engine", "this device's clientId was deleted; it must register again");
            }
        }
        Ok(deleted)
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop_live();
    }
}

fn validate_push_token(token: &str) -> Result<()> {
    if token.trim().is_empty() {
        return Err(Error::InvalidInput("the push token is empty".into()));
    }
    if token.len() > MAX_PUSH_TOKEN_LEN {
        return Err(Error::InvalidInput(format!(
            "the push token is longer than {MAX_PUSH_TOKEN_LEN} bytes"
        )));
    }
    Ok(())
}

fn validate_name(name: &str, what: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::InvalidInput(format!("the {what} is empty")));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(Error::InvalidInput(format!(
            "the {what} is longer than {MAX_NAME_LEN} bytes"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::InvalidInput(format!(
            "the {what} contains control characters"
        )));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_endpoints_derive_the_realtime_host() {
        let e = Endpoints::aws(
            "https://abc.execute-api.us-east-1.amazonaws.com/staging/api",
            "https://xyz.appsync-api.us-east-1.amazonaws.com/graphql",
            "da2-key",
            "wss://device.webrtc.bandwidth.com/v3/",
        )
        .unwrap();
        assert_eq!(
            e.realtime_url,
            "wss://xyz.appsync-realtime-api.us-east-1.amazonaws.com/graphql"
        );
        assert_eq!(e.graphql_host(), "xyz.appsync-api.us-east-1.amazonaws.com");
        assert!(!format!("{e:?}").contains("da2-key"));
    }

    #[test]
    fn mock_endpoints_use_the_fixed_paths() {
        let e = Endpoints::mock("http://127.0.0.1:4000/", "k").unwrap();
        assert_eq!(e.rest_url, "http://127.0.0.1:4000/api");
        assert_eq!(e.realtime_url, "ws://127.0.0.1:4000/graphql/realtime");
        assert_eq!(e.signaling_url, "ws://127.0.0.1:4000/v3/");
        assert_eq!(e.graphql_host(), "127.0.0.1:4000");
    }

    #[test]
    fn bad_urls_and_names_are_invalid_input() {
        assert!(matches!(
            Endpoints::mock("not a url", "k"),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            Endpoints::aws("ftp://x", "https://y/graphql", "k", "wss://z"),
            Err(Error::InvalidInput(_))
        ));
        assert!(validate_name("  ", "first name").is_err());
        assert!(validate_name("a\u{7}b", "first name").is_err());
        assert_eq!(validate_name(" Ada ", "first name").unwrap(), "Ada");
        assert!(validate_push_token(&"x".repeat(MAX_PUSH_TOKEN_LEN + 1)).is_err());
    }
}
