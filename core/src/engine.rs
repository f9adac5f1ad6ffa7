//! The client's behaviour, in plain async Rust: registration and push-token moves, the
//! user's own Person, Person sync (base, delta, live through the real-time subscription),
//! and calls: every call, outgoing or incoming, runs through one `call_state` machine whose
//! effects (REST actions, joining or leaving media, ring timers, events) are performed here.
//! It tells the backend's profile apart by the client secret `register` returned: with one
//! (extended) it sends Bearer auth, uses call ids, answerCall/declineCall/cancelCall and the
//! `/ws` event channel; without (the seed) it does with endCall and the media session alone.
//! It owns the protocol clients and the stores; it knows nothing of UniFFI, whose thin layer
//! in `ffi` converts types and runs these methods on the runtime.

use std::path::Path;
use std::sync::{Arc, Mutex, Weak};

use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::appsync::{AppSyncClient, GraphqlError, PersonRecord};
use crate::audio_bridge::AudioBridge;
use crate::call_media::{MediaEnd, MediaEvent, MediaSession};
use crate::call_state::{Call, CallState, Effect, EndReason, Input};
use crate::error::{Error, Result};
use crate::event_channel::{self, ChannelConfig, ChannelEvent, ServerEvent};
use crate::identity::{Identity, IdentityStore, PushKind};
use crate::incoming::{IncomingCalls, Invite, PushOutcome};
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
    /// The extended backend's call-event channel (`/ws`); the seed backend has none.
    pub events_url: Option<String>,
}

impl std::fmt::Debug for Endpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoints")
            .field("rest_url", &self.rest_url)
            .field("graphql_url", &self.graphql_url)
            .field("graphql_api_key", &"[redacted]")
            .field("realtime_url", &self.realtime_url)
            .field("signaling_url", &self.signaling_url)
            .field("events_url", &self.events_url)
            .finish()
    }
}

impl Endpoints {
    /// The real backend. AppSync's real-time host is derived from the GraphQL URL the way
    /// AWS names it (`appsync-api` → `appsync-realtime-api`); a custom domain keeps its host.
    /// `events_url`: the `/ws` event channel, for a deployment with the extensions.
    pub fn aws(
        rest_url: &str,
        graphql_url: &str,
        api_key: &str,
        signaling_url: &str,
        events_url: Option<&str>,
    ) -> Result<Self> {
        let gql = check_url(graphql_url, &["https", "http"], "GraphQL URL")?;
        check_url(rest_url, &["https", "http"], "REST URL")?;
        check_url(signaling_url, &["wss", "ws"], "signaling URL")?;
        if let Some(e) = events_url {
            check_url(e, &["wss", "ws"], "event channel URL")?;
        }
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
            events_url: events_url.map(str::to_string),
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
            // Used only once `register` shows the mock runs its extended profile.
            events_url: Some(format!("{ws_root}/ws")),
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
    /// The extended backend's call id; `None` on the seed backend.
    pub call_id: Option<String>,
    pub participant_token: String,
    pub participant_id: Option<String>,
    pub session_id: Option<String>,
    pub expires_at_ms: Option<i64>,
}

/// The call this device placed, with its state machine and ring timer.
struct Outgoing {
    info: OutgoingCall,
    call: Call,
    timer: Option<AbortHandle>,
}

/// Which call an input is for.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    Outgoing,
    Incoming(String),
}

pub struct Engine {
    me: Weak<Engine>,
    endpoints: Endpoints,
    rest: RestClient,
    appsync: AppSyncClient,
    persons: Arc<PersonStore>,
    identity: IdentityStore,
    /// Serialises the operations that change who this device is (register, token moves, profile).
    identity_ops: tokio::sync::Mutex<()>,
    sync_lock: tokio::sync::Mutex<()>,
    live: Mutex<Vec<AbortHandle>>,
    /// The event channel's tasks and the clientId they run for.
    channel: Mutex<(Option<String>, Vec<AbortHandle>)>,
    channel_up: tokio::sync::watch::Sender<bool>,
    outgoing: Mutex<Option<Outgoing>>,
    /// Why the joined media session is being left, for its `Ended` event.
    pending_end: Mutex<Option<EndReason>>,
    media: tokio::sync::Mutex<Option<MediaSession>>,
    audio: Arc<AudioBridge>,
    media_events: tokio::sync::broadcast::Sender<CallUpdate>,
    incoming: IncomingCalls,
    ring_timeout: Mutex<std::time::Duration>,
    ring_timers: Mutex<std::collections::HashMap<String, AbortHandle>>,
}

/// What observers of calls hear: media events of the joined session (never its end, which
/// is `Ended`, once per session, with the call's reason), the callee ringing for a call this
/// device placed, invites from the event channel, and the end of incoming calls that never
/// got media (declined, missed, busy, cancelled, answered elsewhere, failed to join).
#[derive(Debug, Clone, PartialEq)]
pub enum CallUpdate {
    Media(MediaEvent),
    Ringing,
    Ended(EndReason),
    Invite(Invite),
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
        Ok(Arc::new_cyclic(|me| Self {
            me: me.clone(),
            rest: RestClient::new(&endpoints.rest_url),
            appsync: AppSyncClient::new(&endpoints.graphql_url, &endpoints.graphql_api_key),
            endpoints,
            persons,
            identity,
            identity_ops: tokio::sync::Mutex::new(()),
            sync_lock: tokio::sync::Mutex::new(()),
            live: Mutex::new(Vec::new()),
            channel: Mutex::new((None, Vec::new())),
            channel_up: tokio::sync::watch::channel(false).0,
            outgoing: Mutex::new(None),
            pending_end: Mutex::new(None),
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
        let row = self.rest.register(kind.notify_type(), token, None).await?;
        self.identity.save(&Identity {
            client_id: row.id.clone(),
            push_kind: kind,
            push_token: token.into(),
            person_id: None,
            client_secret: row.client_secret.clone(),
        })?;
        tracing::info!(target: "dialtone::engine", "registered for {kind:?} pushes ({} backend)", if row.client_secret.is_some() { "extended" } else { "seed" });
        self.ensure_channel();
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
        let row = self
            .rest
            .register(kind.notify_type(), token, current.client_secret.as_deref())
            .await?;
        let moved = Identity {
            client_id: row.id.clone(),
            push_kind: kind,
            push_token: token.into(),
            person_id: current.person_id.clone(),
            client_secret: row.client_secret.clone(),
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
            .delete_client_ids(
                std::slice::from_ref(&current.client_id),
                moved.client_secret.as_deref(),
            )
            .await?;
        tracing::info!(target: "dialtone::engine", "moved to a new push token");
        self.ensure_channel();
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

    fn now_ms() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }

    /// Whether this device is in a call (placed or answered) that has not ended.
    fn in_call(&self) -> bool {
        let placed = self
            .outgoing
            .lock()
            .expect("call lock")
            .as_ref()
            .is_some_and(|o| !matches!(o.call.state, CallState::Ended(_)));
        let media = self.media.try_lock().map(|m| m.is_some()).unwrap_or(true);
        placed || media || !self.incoming.answered().is_empty()
    }

    // ---- The event channel (extended backend only) ----

    /// Starts the event channel if the backend has one and this device holds a client
    /// secret; restarts it for a new clientId. Needs a tokio runtime context.
    pub fn ensure_channel(&self) {
        let Some(url) = self.endpoints.events_url.clone() else {
            return;
        };
        let Ok(Some(identity)) = self.identity.load() else {
            return;
        };
        let Some(secret) = identity.client_secret.clone() else {
            return;
        };
        let mut channel = self.channel.lock().expect("channel lock");
        if channel.0.as_deref() == Some(identity.client_id.as_str()) {
            return;
        }
        for t in channel.1.drain(..) {
            t.abort();
        }
        self.channel_up.send_replace(false);
        let (tx, mut rx) = mpsc::channel(64);
        let cfg = ChannelConfig {
            url,
            client_id: identity.client_id.clone(),
            secret,
        };
        let runner = tokio::spawn(event_channel::run(cfg, tx));
        let weak = self.me.clone();
        let consumer = tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                let Some(engine) = weak.upgrade() else { return };
                match event {
                    ChannelEvent::Up => {
                        engine.channel_up.send_replace(true);
                    }
                    ChannelEvent::Down(reason) => {
                        engine.channel_up.send_replace(false);
                        tracing::debug!(target: "dialtone::engine", "event channel down: {reason}");
                    }
                    ChannelEvent::Event(ev) => engine.on_server_event(ev).await,
                }
            }
        });
        *channel = (
            Some(identity.client_id),
            vec![runner.abort_handle(), consumer.abort_handle()],
        );
    }

    fn stop_channel(&self) {
        let mut channel = self.channel.lock().expect("channel lock");
        for t in channel.1.drain(..) {
            t.abort();
        }
        channel.0 = None;
        self.channel_up.send_replace(false);
    }

    /// Whether the event channel is connected (always false on the seed backend).
    pub fn event_channel_connected(&self) -> bool {
        *self.channel_up.borrow()
    }

    /// Waits up to `limit` for the event channel, so a call's events are not missed.
    async fn wait_channel(&self, limit: std::time::Duration) {
        let mut rx = self.channel_up.subscribe();
        let _ = tokio::time::timeout(limit, rx.wait_for(|up| *up)).await;
    }

    async fn on_server_event(&self, ev: ServerEvent) {
        let Ok(Some(me)) = self.identity.load() else {
            return;
        };
        let (call_id, input) = match ev {
            ServerEvent::Ringing {
                call_id,
                caller_id,
                callee_id,
                caller_name,
                sent_at_ms,
            } => {
                if callee_id.as_deref() != Some(me.client_id.as_str()) {
                    return; // our own call ringing on the other side
                }
                let ring = *self.ring_timeout.lock().expect("ring lock");
                let now = Self::now_ms();
                if sent_at_ms.is_some_and(|t| now - t > ring.as_millis() as i64) {
                    return;
                }
                let outcome =
                    self.incoming
                        .handle_ringing(&call_id, caller_id, caller_name, sent_at_ms, now);
                if let PushOutcome::Invite(invite) = outcome {
                    let _ = self.media_events.send(CallUpdate::Invite(invite.clone()));
                    self.screen_busy(&invite.call_id);
                    if let Some(engine) = self.me.upgrade() {
                        tokio::spawn(engine.start_invite(invite.call_id));
                    }
                }
                return;
            }
            ServerEvent::Answered { call_id, .. } => (call_id, Input::RemoteAnswered),
            ServerEvent::Declined { call_id } => (call_id, Input::RemoteDeclined),
            ServerEvent::Busy { call_id } => (call_id, Input::RemoteBusy),
            ServerEvent::Cancelled { call_id } => (call_id, Input::RemoteCancelled),
            ServerEvent::Ended { call_id } => (call_id, Input::RemoteHangup),
            other => {
                tracing::debug!(target: "dialtone::engine", "ignoring event {other:?}");
                return;
            }
        };
        let placed = self
            .outgoing
            .lock()
            .expect("call lock")
            .as_ref()
            .is_some_and(|o| o.info.call_id.as_deref() == Some(call_id.as_str()));
        let result = if placed {
            self.apply(Target::Outgoing, input).await
        } else {
            // For an invite still ringing here, an answer is another device's, and an end
            // is the caller giving up.
            let input = match (self.incoming.state(&call_id), input) {
                (Some(CallState::Ringing), Input::RemoteAnswered) => Input::AnsweredElsewhere,
                (Some(CallState::Ringing), Input::RemoteHangup) => Input::RemoteCancelled,
                (Some(_), i) => i,
                (None, _) => return,
            };
            self.apply(Target::Incoming(call_id), input).await
        };
        if let Err(e) = result {
            tracing::debug!(target: "dialtone::engine", "call event not applied: {e}");
        }
    }

    // ---- Outgoing calls ----

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
        if self.in_call() {
            return Err(Error::InvalidInput(
                "this device is already in a call: end it first".into(),
            ));
        }
        if identity.client_secret.is_some() {
            self.ensure_channel();
            self.wait_channel(std::time::Duration::from_secs(2)).await;
        }
        let initiated = self
            .rest
            .initiate_call(
                &identity.client_id,
                callee,
                identity.client_secret.as_deref(),
            )
            .await?;
        let claims = crate::participant_token::decode_claims(&initiated.token);
        let info = OutgoingCall {
            callee_client_id: callee.to_string(),
            call_id: initiated.call_id,
            participant_id: claims.as_ref().and_then(|c| c.p.clone()),
            session_id: claims.as_ref().and_then(|c| c.tid.clone()),
            expires_at_ms: claims
                .as_ref()
                .and_then(|c| c.exp)
                .map(|s| s.saturating_mul(1000)),
            participant_token: initiated.token,
        };
        *self.outgoing.lock().expect("call lock") = Some(Outgoing {
            info: info.clone(),
            call: Call::outgoing(),
            timer: None,
        });
        // Dialed: ring timer, and the caller joins the media session at once. If it cannot,
        // the machine's failure effects release the backend session again.
        self.apply(Target::Outgoing, Input::Dialed).await?;
        Ok(info)
    }

    /// Runs the ring timer of the call this device placed.
    async fn outgoing_ring_timer(self: Arc<Self>) {
        let timeout = *self.ring_timeout.lock().expect("ring lock");
        tokio::time::sleep(timeout).await;
        if let Err(e) = self.apply(Target::Outgoing, Input::RingTimeout).await {
            tracing::debug!(target: "dialtone::engine", "ring timeout after the call moved on: {e}");
        }
    }

    /// Joins the media session a participant token admits to, outside any call state (the
    /// app got the token elsewhere).
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
        *self.pending_end.lock().expect("end lock") = None;
        let host = url::Url::parse(&self.endpoints.signaling_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let fanout = self.media_events.clone();
        let weak = self.me.clone();
        tokio::spawn(async move {
            let mut ended = false;
            while let Some(ev) = rx.recv().await {
                match ev {
                    MediaEvent::Ended(end) => {
                        // One `Ended` per session, with the call's reason when it has one.
                        if std::mem::replace(&mut ended, true) {
                            continue;
                        }
                        let Some(engine) = weak.upgrade() else { return };
                        let pending = engine.pending_end.lock().expect("end lock").take();
                        let reason = pending.clone().unwrap_or(match end {
                            MediaEnd::Left => EndReason::LocalHangup,
                            MediaEnd::SignalingClosed => EndReason::RemoteHangup,
                            MediaEnd::ConnectionFailed => {
                                EndReason::Failed("the media connection was lost".into())
                            }
                        });
                        let _ = fanout.send(CallUpdate::Ended(reason));
                        if pending.is_none() && end != MediaEnd::Left {
                            // The media went on its own: the call's machine releases the rest.
                            let input = match end {
                                MediaEnd::SignalingClosed => Input::RemoteHangup,
                                _ => Input::MediaFailed("the media connection was lost".into()),
                            };
                            engine.apply_current(input).await;
                        }
                    }
                    MediaEvent::Connected => {
                        let _ = fanout.send(CallUpdate::Media(MediaEvent::Connected));
                        if let Some(engine) = weak.upgrade() {
                            engine.apply_current(Input::MediaConnected).await;
                        }
                    }
                    other => {
                        let _ = fanout.send(CallUpdate::Media(other));
                    }
                }
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

    /// Applies an input to whichever call holds the media: the placed one, or an answered one.
    async fn apply_current(&self, input: Input) {
        let placed = self
            .outgoing
            .lock()
            .expect("call lock")
            .as_ref()
            .is_some_and(|o| !matches!(o.call.state, CallState::Ended(_)));
        let target = if placed {
            Some(Target::Outgoing)
        } else {
            self.incoming
                .answered()
                .into_iter()
                .next()
                .map(Target::Incoming)
        };
        if let Some(t) = target {
            if let Err(e) = self.apply(t, input).await {
                tracing::debug!(target: "dialtone::engine", "media event not applied: {e}");
            }
        }
    }

    // ---- Incoming calls ----

    /// The push path: parse, dedupe, check staleness, and return at once with an invite or
    /// a reasoned `Ignored`. No network; the only storage read is the cached identity.
    /// An invite that arrives during another call is marked busy straight away (it is still
    /// returned, so iOS can report it to CallKit and end it, as PushKit requires); the
    /// owner then runs `start_invite`, which declines it or starts its ring timer.
    pub fn handle_push(&self, raw: &str) -> Result<PushOutcome> {
        let outcome = self
            .incoming
            .handle(raw, Self::now_ms())
            .map_err(|e| Error::InvalidInput(e.to_string()))?;
        if let PushOutcome::Invite(invite) = &outcome {
            self.screen_busy(&invite.call_id);
        }
        Ok(outcome)
    }

    /// An invite during another call ends as busy at once, without waiting for the network.
    fn screen_busy(&self, call_id: &str) {
        if self.in_call() && self.incoming.apply(call_id, Input::LocalBusy).is_ok() {
            self.announce_end(call_id, EndReason::Busy);
        }
    }

    /// The async half of a new invite: the extended backend hears a busy decline; a ringing
    /// invite gets its ring timer.
    pub async fn start_invite(self: Arc<Self>, call_id: String) {
        match self.incoming.state(&call_id) {
            Some(CallState::Ended(EndReason::Busy)) => {
                // Seed profile: declining would be endCall on our own row, which would end
                // the call we are in; the caller's ring timeout ends this one instead.
                let identity = self.identity.load().ok().flatten();
                if let Some((me, secret)) =
                    identity.and_then(|i| i.client_secret.map(|s| (i.client_id, s)))
                {
                    if let Err(e) = self.rest.decline_call(&me, &call_id, true, &secret).await {
                        tracing::debug!(target: "dialtone::engine", "busy decline not sent: {e}");
                    }
                }
            }
            Some(CallState::Ringing) => {
                let timer = tokio::spawn(self.clone().ring_timer(call_id.clone()));
                self.set_ring_timer(&call_id, timer.abort_handle());
            }
            _ => {}
        }
    }

    /// How long a call rings (incoming: before it is missed; outgoing: before it is given up).
    pub fn set_ring_timeout(&self, timeout: std::time::Duration) {
        *self.ring_timeout.lock().expect("ring lock") = timeout;
    }

    /// Runs the ring timer of an invite; the caller keeps the abort handle.
    async fn ring_timer(self: Arc<Self>, call_id: String) {
        let timeout = *self.ring_timeout.lock().expect("ring lock");
        tokio::time::sleep(timeout).await;
        self.ring_timers
            .lock()
            .expect("timers lock")
            .remove(&call_id);
        if let Err(e) = self
            .apply(Target::Incoming(call_id), Input::RingTimeout)
            .await
        {
            tracing::debug!(target: "dialtone::engine", "ring timeout after the call moved on: {e}");
        }
    }

    fn set_ring_timer(&self, call_id: &str, handle: AbortHandle) {
        if self.incoming.state(call_id) == Some(CallState::Ringing) {
            self.ring_timers
                .lock()
                .expect("timers lock")
                .insert(call_id.to_string(), handle);
        } else {
            handle.abort();
        }
    }

    /// Answers an invite: joins its media session, with the token from its push (seed) or
    /// the one `answerCall` returns (extended: the push carries none).
    pub async fn answer(&self, call_id: &str) -> Result<()> {
        if self.incoming.state(call_id) == Some(CallState::Ringing) && self.in_call() {
            return Err(Error::InvalidInput(
                "this device is already in a call: end it first".into(),
            ));
        }
        self.apply(Target::Incoming(call_id.to_string()), Input::Answer)
            .await
    }

    /// Declines an invite (extended: `declineCall`; seed: `endCall` for this device, which
    /// ends the session so the caller hears the call end).
    pub async fn decline(&self, call_id: &str) -> Result<()> {
        self.apply(Target::Incoming(call_id.to_string()), Input::Decline)
            .await
    }

    // ---- The one place effects are performed ----

    /// Applies `input` to a call's state machine and performs the effects, in order. An
    /// illegal input is `InvalidInput` and changes nothing.
    fn apply(&self, target: Target, input: Input) -> BoxedResult<'_> {
        Box::pin(async move {
            let (before, effects) = self.transition(&target, &input)?;
            // A call that gets media ends through the session's `Ended`; one still ringing
            // never will, so its end is announced as `IncomingEnded`.
            let announce = before == CallState::Ringing;
            self.perform(target, input, effects, announce).await
        })
    }

    /// The state change alone: (state before, effects to perform).
    fn transition(&self, target: &Target, input: &Input) -> Result<(CallState, Vec<Effect>)> {
        match target {
            Target::Outgoing => {
                let mut slot = self.outgoing.lock().expect("call lock");
                let out = slot
                    .as_mut()
                    .ok_or_else(|| Error::InvalidInput("there is no outgoing call".into()))?;
                let before = out.call.state.clone();
                let effects = out
                    .call
                    .apply(input.clone())
                    .map_err(|e| Error::InvalidInput(e.to_string()))?;
                Ok((before, effects))
            }
            Target::Incoming(id) => {
                let before = self.incoming.state(id);
                let (effects, _) = self
                    .incoming
                    .apply(id, input.clone())
                    .map_err(|e| Error::InvalidInput(e.to_string()))?;
                Ok((before.unwrap_or(CallState::Ringing), effects))
            }
        }
    }

    /// Performs a transition's effects. `announce_end`: an incoming call's end is reported as
    /// `IncomingEnded` (no media session will report it). Boxed: effects spawn timers and
    /// media tasks that come back here, and the explicit type keeps that cycle `Send`.
    fn perform(
        &self,
        target: Target,
        input: Input,
        effects: Vec<Effect>,
        announce_end: bool,
    ) -> BoxedResult<'_> {
        Box::pin(self.perform_now(target, input, effects, announce_end))
    }

    async fn perform_now(
        &self,
        target: Target,
        input: Input,
        effects: Vec<Effect>,
        announce_end: bool,
    ) -> Result<()> {
        // The reason travels ahead of LeaveMedia, so the session's `Ended` carries it.
        if let Some(reason) = effects.iter().find_map(|e| match e {
            Effect::Emit(CallState::Ended(r)) => Some(r.clone()),
            _ => None,
        }) {
            if effects.contains(&Effect::LeaveMedia) {
                *self.pending_end.lock().expect("end lock") = Some(reason);
            }
        }
        let identity = self.identity.load()?;
        let secret = identity.as_ref().and_then(|i| i.client_secret.clone());
        let me = identity.as_ref().map(|i| i.client_id.clone());
        let call_id = match &target {
            Target::Outgoing => self
                .outgoing
                .lock()
                .expect("call lock")
                .as_ref()
                .and_then(|o| o.info.call_id.clone()),
            Target::Incoming(id) => Some(id.clone()),
        };
        let mut first_error: Option<Error> = None;
        for effect in effects {
            let step: Result<()> = match effect {
                Effect::JoinMedia => {
                    let joined = self
                        .join_for(&target, me.as_deref(), secret.as_deref())
                        .await;
                    if let Err(e) = joined {
                        // The machine records the failure and releases what it must; no
                        // session was joined, so the end of an incoming call is announced.
                        let failed = Input::MediaFailed(e.to_string());
                        if let Ok((_, more)) = self.transition(&target, &failed) {
                            let _ = self.perform(target.clone(), failed, more, true).await;
                        }
                        return Err(e);
                    }
                    Ok(())
                }
                Effect::LeaveMedia => {
                    self.leave_media().await;
                    Ok(())
                }
                Effect::EndCall => self.rest_end_call(me.as_deref(), secret.as_deref()).await,
                Effect::DeclineCall => match (&secret, me.as_deref(), &call_id) {
                    // Extended: a decline the caller hears; a callee timeout is left to the
                    // caller's own ring timer (it ends as missed there, not as declined).
                    (Some(secret), Some(me), Some(id)) => {
                        if input == Input::RingTimeout {
                            Ok(())
                        } else {
                            let busy = input == Input::LocalBusy;
                            ignore_gone(self.rest.decline_call(me, id, busy, secret).await)
                        }
                    }
                    _ if input == Input::LocalBusy => Ok(()),
                    _ => self.rest_end_call(me.as_deref(), None).await,
                },
                Effect::CancelCall => match (&secret, me.as_deref(), &call_id) {
                    (Some(secret), Some(me), Some(id)) => {
                        ignore_gone(self.rest.cancel_call(me, id, secret).await)
                    }
                    _ => self.rest_end_call(me.as_deref(), None).await,
                },
                Effect::StartRingTimer => {
                    if target == Target::Outgoing {
                        if let Some(engine) = self.me.upgrade() {
                            let t = tokio::spawn(engine.outgoing_ring_timer());
                            if let Some(o) = self.outgoing.lock().expect("call lock").as_mut() {
                                o.timer = Some(t.abort_handle());
                            }
                        }
                    }
                    Ok(())
                }
                Effect::StopRingTimer => {
                    let timer = match &target {
                        Target::Outgoing => self
                            .outgoing
                            .lock()
                            .expect("call lock")
                            .as_mut()
                            .and_then(|o| o.timer.take()),
                        Target::Incoming(id) => {
                            self.ring_timers.lock().expect("timers lock").remove(id)
                        }
                    };
                    if let Some(t) = timer {
                        t.abort();
                    }
                    Ok(())
                }
                Effect::Emit(CallState::Ringing) if target == Target::Outgoing => {
                    let _ = self.media_events.send(CallUpdate::Ringing);
                    Ok(())
                }
                Effect::Emit(CallState::Ended(reason)) => {
                    if let (Target::Incoming(id), true) = (&target, announce_end) {
                        self.announce_end(id, reason);
                    }
                    Ok(())
                }
                Effect::Emit(_) => Ok(()),
            };
            if let Err(e) = step {
                tracing::warn!(target: "dialtone::engine", "call effect failed: {e}");
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    async fn join_for(
        &self,
        target: &Target,
        me: Option<&str>,
        secret: Option<&str>,
    ) -> Result<()> {
        let token = match target {
            Target::Outgoing => self
                .outgoing
                .lock()
                .expect("call lock")
                .as_ref()
                .map(|o| o.info.participant_token.clone())
                .unwrap_or_default(),
            Target::Incoming(id) => {
                let pushed = self
                    .incoming
                    .push(id)
                    .and_then(|p| p.token)
                    .filter(|t| !t.is_empty());
                match (pushed, me, secret) {
                    (Some(t), _, _) => t,
                    (None, Some(me), Some(secret)) => self.rest.answer_call(me, id, secret).await?,
                    (None, _, _) => return Err(Error::InvalidInput(
                        "the invite carries no participant token and the backend has no answerCall"
                            .into(),
                    )),
                }
            }
        };
        self.join_media(&token).await
    }

    async fn rest_end_call(&self, me: Option<&str>, secret: Option<&str>) -> Result<()> {
        let me = me.ok_or(Error::NotRegistered)?;
        Ok(self.rest.end_call(me, secret).await?)
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

    /// Leaves the media session, if any.
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

    /// The call this device placed, while it has not ended.
    pub fn active_call(&self) -> Option<OutgoingCall> {
        self.outgoing
            .lock()
            .expect("call lock")
            .as_ref()
            .filter(|o| !matches!(o.call.state, CallState::Ended(_)))
            .map(|o| o.info.clone())
    }

    /// Hangs up: the placed or answered call through its machine (a placed call still
    /// ringing is cancelled), or, outside any call state, leaves the media and ends this
    /// device's leg. Safe to call when nothing is active.
    pub async fn end_call(&self) -> Result<()> {
        let identity = self.require_identity()?;
        let mut handled = false;
        if self.active_call().is_some() {
            handled = true;
            self.apply(Target::Outgoing, Input::Hangup).await?;
        }
        for call_id in self.incoming.answered() {
            handled = true;
            self.apply(Target::Incoming(call_id), Input::Hangup).await?;
        }
        if !handled {
            *self.pending_end.lock().expect("end lock") = Some(EndReason::LocalHangup);
            self.leave_media().await;
            self.rest
                .end_call(&identity.client_id, identity.client_secret.as_deref())
                .await?;
        }
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
        let secret = self.identity.load()?.and_then(|i| i.client_secret);
        let deleted = self.rest.delete_client_ids(ids, secret.as_deref()).await?;
        let _guard = self.identity_ops.lock().await;
        if let Some(identity) = self.identity.load()? {
            if deleted.contains(&identity.client_id) {
                self.identity.clear()?;
                self.stop_channel();
                *self.outgoing.lock().expect("call lock") = None;
                tracing::info!(target: "dialtone::engine", "this device's clientId was deleted; it must register again");
            }
        }
        Ok(deleted)
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop_live();
        self.stop_channel();
    }
}

type BoxedResult<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>>;

/// A cancel or decline that finds the call already over has nothing left to do.
fn ignore_gone(r: std::result::Result<(), crate::rest::RestError>) -> Result<()> {
    match r {
        Err(crate::rest::RestError::CallGone { .. }) => Ok(()),
        other => Ok(other?),
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
            None,
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
            Endpoints::aws("ftp://x", "https://y/graphql", "k", "wss://z", None),
            Err(Error::InvalidInput(_))
        ));
        assert!(validate_name("  ", "first name").is_err());
        assert!(validate_name("a\u{7}b", "first name").is_err());
        assert_eq!(validate_name(" Ada ", "first name").unwrap(), "Ada");
        assert!(validate_push_token(&"x".repeat(MAX_PUSH_TOKEN_LEN + 1)).is_err());
    }
}
