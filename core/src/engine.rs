//! One client's owner of the subsystems: it opens the stores, builds the backend clients,
//! the `persons::sync::PersonSync` and the `calls::CallManager`, and does what changes who
//! the device is (registration, push-token moves, the user's own Person, clean-up). It runs
//! the extended backend's `/ws` event channel, whose call events go to the manager. Calls
//! live in `calls/`, the Person list in `persons/`. The profile is told
//! apart by the client secret `register` returned (docs/adr/0006). It knows nothing of
//! UniFFI, whose thin layer in `ffi` converts types and runs these methods on the runtime.

use std::path::Path;
use std::sync::{Arc, Mutex, Weak};

use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::account::identity::{Identity, IdentityStore, PushKind};
use crate::account::secrets::SecretStore;
use crate::backend::appsync::{AppSyncClient, GraphqlError, PersonRecord};
pub use crate::backend::endpoints::Endpoints;
use crate::backend::event_channel::{self, ChannelConfig, ChannelEvent, ServerEvent};
use crate::backend::realtime::RealtimeConfig;
use crate::backend::rest::{RestClient, RestError};
use crate::calls::actor::Ports;
use crate::calls::events::Hub;
use crate::calls::platform::RestCallBackend;
use crate::calls::{CallHandle, CallManager, PushOutcome};
use crate::error::{Error, Result};
use crate::media::adapter::WebRtcMedia;
use crate::media::audio_bridge::AudioBridge;
use crate::persons::store::PersonStore;
use crate::persons::sync::PersonSync;
use crate::rooms::{RoomHandle, RoomPorts, Rooms};

pub const MAX_NAME_LEN: usize = 256;
pub const MAX_PUSH_TOKEN_LEN: usize = 4_096;
pub const MAX_DELETE_IDS: usize = 100;

pub struct Engine {
    me: Weak<Engine>,
    endpoints: Endpoints,
    rest: RestClient,
    appsync: AppSyncClient,
    persons: Arc<PersonStore>,
    persons_sync: Arc<PersonSync>,
    identity: Arc<IdentityStore>,
    /// Serialises the operations that change who this device is (register, token moves, profile).
    identity_ops: tokio::sync::Mutex<()>,
    /// The event channel's tasks and the clientId they run for.
    channel: Mutex<(Option<String>, Vec<AbortHandle>)>,
    channel_up: tokio::sync::watch::Sender<bool>,
    calls: Arc<CallManager>,
    rooms: Arc<Rooms>,
    /// Media for rooms (calls hold their own port to the same connector).
    media: Arc<dyn crate::media::link::MediaConnector>,
    audio: Arc<AudioBridge>,
    /// How long a call's lost signaling socket may take to come back (ms).
    recovery_budget_ms: Arc<std::sync::atomic::AtomicU64>,
    /// Opens the event channel's sockets (the TLS configuration and proxy rules).
    connector: crate::backend::websocket::Connector,
}

impl Engine {
    /// `rt`: the runtime the engine's tasks (calls, channels, live sync) run on.
    pub fn open(
        endpoints: Endpoints,
        data_dir: &Path,
        rt: tokio::runtime::Handle,
    ) -> Result<Arc<Self>> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            Error::InvalidInput(format!(
                "data directory {} cannot be created: {e}",
                data_dir.display()
            ))
        })?;
        let persons = Arc::new(PersonStore::open(data_dir)?);
        let identity = Arc::new(IdentityStore::new(SecretStore::open(data_dir)?));
        // Read once now, so later reads hit the cache. A store that cannot be read yet (iOS
        // before the first unlock since boot) is not fatal: the next read tries again.
        if let Err(e) = identity.load() {
            tracing::warn!(target: "dialtone::engine", "the identity cannot be read yet: {e}");
        }
        // One TLS configuration for every connection; one HTTP client (one connection pool)
        // for REST and AppSync; one WebSocket connector for the three sockets.
        let tls = crate::backend::tls::client_config(&endpoints.extra_roots)?;
        let http =
            crate::backend::http::HttpClient::new(tls.clone(), std::time::Duration::from_secs(20))
                .map_err(|e| crate::backend::tls::TlsError(e.to_string()))?;
        let connector = crate::backend::websocket::Connector::new(tls);
        let rest = RestClient::new(http.clone(), &endpoints.rest_url);
        let appsync = AppSyncClient::new(http, &endpoints.graphql_url, &endpoints.graphql_api_key);
        let audio = Arc::new(AudioBridge::new());
        let recovery_budget_ms = Arc::new(std::sync::atomic::AtomicU64::new(
            crate::media::signaling_link::DEFAULT_BUDGET.as_millis() as u64,
        ));
        let media: Arc<dyn crate::media::link::MediaConnector> = Arc::new(WebRtcMedia {
            gateway: crate::media::session::SignalingGateway {
                url: endpoints.signaling_url.clone(),
                connector: connector.clone(),
            },
            audio: audio.clone(),
            recovery_budget_ms: recovery_budget_ms.clone(),
        });
        let calls = Arc::new(CallManager::new(
            Ports {
                backend: Arc::new(RestCallBackend {
                    rest: rest.clone(),
                    identity: identity.clone(),
                }),
                media: media.clone(),
                hub: Arc::new(Hub::default()),
            },
            rt.clone(),
        ));
        let rooms = Arc::new(Rooms::new(rt.clone()));
        let weak_rooms = Arc::downgrade(&rooms);
        calls
            .set_busy_elsewhere(move || weak_rooms.upgrade().is_some_and(|r| r.active().is_some()));
        let persons_sync = Arc::new(PersonSync::new(
            appsync.clone(),
            persons.clone(),
            RealtimeConfig {
                url: endpoints.realtime_url.clone(),
                graphql_host: endpoints.graphql_host(),
                api_key: endpoints.graphql_api_key.clone(),
                connector: connector.clone(),
            },
        ));
        Ok(Arc::new_cyclic(|me| Self {
            persons_sync,
            me: me.clone(),
            rest,
            appsync,
            endpoints,
            persons,
            identity,
            identity_ops: tokio::sync::Mutex::new(()),
            channel: Mutex::new((None, Vec::new())),
            channel_up: tokio::sync::watch::channel(false).0,
            calls,
            rooms,
            media,
            audio,
            recovery_budget_ms,
            connector,
        }))
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
            let client_id = current.client_id.clone();
            match self.move_to_token(current, kind, token).await {
                // The backend no longer knows the old clientId: register afresh.
                Err(Error::Rest(RestError::UnknownClient(_)))
                    if self.identity.forget(&client_id)? => {}
                other => return other,
            }
        }
        let row = self.rest.register(kind.notify_type(), token, None).await?;
        self.identity.save(&Identity {
            client_id: row.id.clone(),
            push_kind: kind,
            push_token: token.into(),
            // After the backend forgot this device, its Person is still the user's.
            person_id: self.identity.take_forgotten_person(),
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
    pub async fn sync_persons(&self) -> Result<Arc<Vec<PersonRecord>>> {
        self.persons_sync.sync_persons().await
    }

    /// Stops live updates (they restart with the next `sync_persons`).
    pub fn stop_live(&self) {
        self.persons_sync.stop_live();
    }

    fn now_ms() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
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
        let mut channel = crate::sync::lock(&self.channel);
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
            connector: self.connector.clone(),
        };
        let runner = crate::task::spawn(event_channel::run(cfg, tx));
        let weak = self.me.clone();
        let client_id = identity.client_id.clone();
        let consumer = crate::task::spawn(async move {
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
                    ChannelEvent::Event(ev) => engine.on_server_event(ev),
                    ChannelEvent::Refused(why) => engine.channel_refused(&client_id, &why),
                }
            }
        });
        *channel = (
            Some(identity.client_id),
            vec![runner.abort_handle(), consumer.abort_handle()],
        );
    }

    /// The event channel's server refused `client_id`'s secret: the backend does not know
    /// this device any more (restarted, wiped, or the id was deleted). Forget the identity
    /// so `register` makes it a client again (which starts a new channel).
    fn channel_refused(&self, client_id: &str, why: &str) {
        self.channel_up.send_replace(false);
        let mut channel = crate::sync::lock(&self.channel);
        if channel.0.as_deref() == Some(client_id) {
            channel.0 = None;
        }
        drop(channel);
        if let Ok(true) = self.identity.forget(client_id) {
            tracing::warn!(target: "dialtone::engine", "the event channel refused this device ({why}); it must register again");
        }
    }

    fn stop_channel(&self) {
        let mut channel = crate::sync::lock(&self.channel);
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

    fn on_server_event(&self, ev: ServerEvent) {
        if let ServerEvent::Room(ev) = ev {
            return self.rooms.on_event(ev);
        }
        let Ok(Some(me)) = self.identity.load() else {
            return;
        };
        self.invite_news(&ev, &me.client_id);
        self.calls
            .on_server_event(ev, &me.client_id, Self::now_ms());
    }

    // ---- Calls (owned by `calls::CallManager`) ----

    pub fn calls(&self) -> &Arc<CallManager> {
        &self.calls
    }

    /// Places a call. On the extended backend the event channel is given a moment to be
    /// up first, so the call's `answered`/`declined` events are not missed.
    pub async fn start_call(&self, callee_client_id: &str) -> Result<Arc<CallHandle>> {
        let identity = self.require_identity()?;
        if let Some(room) = self.rooms.active() {
            return Err(RestError::Busy(format!("this device is in room {}", room.id())).into());
        }
        if callee_client_id.trim() == identity.client_id {
            return Err(Error::InvalidInput("a device cannot call itself".into()));
        }
        if identity.client_secret.is_some() {
            self.ensure_channel();
            self.wait_channel(std::time::Duration::from_secs(2)).await;
        }
        self.calls.start_call(callee_client_id).await
    }

    /// A room invite's news (rung, answered, declined…) to the room it rings into, when
    /// this device is in that room; the invited device's own call hears it through the
    /// `CallManager`.
    fn invite_news(&self, ev: &ServerEvent, me: &str) {
        use crate::rooms::InviteState;
        let (end, state) = match ev {
            ServerEvent::Ringing {
                call_id,
                callee_id: Some(callee),
                room: Some((room_id, _)),
                ..
            } => {
                if callee != me {
                    self.rooms.on_invite(
                        room_id,
                        callee.clone(),
                        call_id.clone(),
                        InviteState::Ringing,
                    );
                }
                return;
            }
            ServerEvent::Answered(e) => (e, InviteState::Joined),
            ServerEvent::Declined(e) => (e, InviteState::Declined),
            ServerEvent::Busy(e) => (e, InviteState::Busy),
            ServerEvent::Missed(e) => (e, InviteState::Missed),
            ServerEvent::Cancelled(e) => (e, InviteState::Cancelled),
            _ => return,
        };
        if let (Some(room_id), Some(callee)) = (&end.room_id, &end.callee_id) {
            self.rooms
                .on_invite(room_id, callee.clone(), end.call_id.clone(), state);
        }
    }

    // ---- Rooms (owned by `rooms::Rooms`) ----

    /// The ports a room needs: the extended backend's REST client for this device, and media.
    fn room_ports(&self) -> Result<RoomPorts> {
        let identity = self.require_identity()?;
        let Some(secret) = identity.client_secret else {
            return Err(RestError::RoomsUnavailable.into());
        };
        Ok(RoomPorts {
            rest: self.rest.clone(),
            media: self.media.clone(),
            client_id: identity.client_id,
            secret,
            presence: crate::rooms::Presence::Server,
        })
    }

    /// Makes a room and enters it.
    pub async fn create_room(&self) -> Result<Arc<RoomHandle>> {
        let ports = self.room_ports()?;
        self.check_free_for_room()?;
        let room_id = ports
            .rest
            .create_room(&ports.client_id, &ports.secret)
            .await?;
        self.enter_room(&room_id).await
    }

    /// Enters a room by id. The event channel is given a moment to be up first, so the
    /// room's presence events are not missed.
    pub async fn enter_room(&self, room_id: &str) -> Result<Arc<RoomHandle>> {
        let room_id = room_id.trim();
        if room_id.is_empty() || room_id.len() > 256 {
            return Err(Error::InvalidInput(
                "a room id is 1 to 256 characters".into(),
            ));
        }
        self.enter_with(room_id, None).await
    }

    /// Enters `room_id` (answering the invite `answering`, if any), with the event channel
    /// given a moment to be up first so the room's presence events are not missed.
    async fn enter_with(&self, room_id: &str, answering: Option<&str>) -> Result<Arc<RoomHandle>> {
        let ports = self.room_ports()?;
        self.check_free_for_room()?;
        self.ensure_channel();
        self.wait_channel(std::time::Duration::from_secs(2)).await;
        self.rooms
            .enter(ports, crate::rooms::Source::Enter { room_id, answering })
            .await
    }

    /// Joins the N-party media session a participant token admits to (an app's own server
    /// made it, on any backend) as a room whose members are the streams the gateway names:
    /// each stream's alias is its publisher's clientId, named from the Person list. Leaving
    /// sends v3 `leave` and closes; it never calls `endCall`.
    pub async fn join_session(&self, participant_token: &str) -> Result<Arc<RoomHandle>> {
        let token = participant_token.trim();
        if token.is_empty() || token.len() > crate::calls::manager::MAX_TOKEN_LEN {
            return Err(Error::InvalidInput(
                "the participant token is empty or too long".into(),
            ));
        }
        if crate::media::link::decode_claims(token)
            .and_then(|c| c.tid)
            .is_none()
        {
            return Err(Error::InvalidInput(
                "the participant token names no session".into(),
            ));
        }
        self.check_free_for_room()?;
        let client_id = self
            .identity
            .load()?
            .map(|i| i.client_id)
            .unwrap_or_default();
        let persons = self.persons.clone();
        let ports = RoomPorts {
            rest: self.rest.clone(),
            media: self.media.clone(),
            client_id,
            secret: String::new(),
            presence: crate::rooms::Presence::Media {
                names: Arc::new(move |client_id: &str| {
                    persons
                        .visible()
                        .iter()
                        .find(|p| p.client_id == client_id)
                        .map(|p| {
                            format!("{} {}", p.first_name, p.last_name)
                                .trim()
                                .to_string()
                        })
                }),
            },
        };
        self.rooms
            .enter(ports, crate::rooms::Source::Token(token))
            .await
    }

    /// Answers a room invite (an incoming call whose invite names a room): enters that room
    /// with the invite's call id, so the ringer's room hears it was answered. The invite's
    /// `Call` then ends (the server's `answered` for it: answered here, into the room).
    pub async fn answer_room(&self, call_id: &str) -> Result<Arc<RoomHandle>> {
        let call = self.calls.require(call_id)?;
        let Some(room_id) = call.remote().room_id.clone() else {
            return Err(Error::InvalidInput(
                "this call is not a room invite: answer it as a call".into(),
            ));
        };
        self.enter_with(&room_id, Some(call.id())).await
    }

    /// One call or one room at a time.
    fn check_free_for_room(&self) -> Result<()> {
        if self.calls.active().is_some() {
            return Err(RestError::Busy("this device is in a call".into()).into());
        }
        Ok(())
    }

    /// The room this device is in, if any.
    pub fn active_room(&self) -> Option<Arc<RoomHandle>> {
        self.rooms.active()
    }

    /// Joins the media session a participant token admits to, outside the call flow (the
    /// app got the token elsewhere).
    pub async fn join_call(&self, participant_token: &str) -> Result<Arc<CallHandle>> {
        self.calls.join_with_token(participant_token).await
    }

    /// The push path: no network; the only storage read is the cached identity.
    pub fn handle_push(&self, raw: &str) -> Result<(PushOutcome, Option<Arc<CallHandle>>)> {
        self.calls.handle_push(raw, Self::now_ms())
    }

    /// How long a call may take to recover a lost signaling connection before it ends
    /// (30 s by default); applies to calls joined from now on.
    pub fn set_recovery_budget(&self, budget: std::time::Duration) {
        self.recovery_budget_ms.store(
            budget.as_millis().min(u64::MAX as u128) as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// The device's network changed (Wi-Fi ↔ cellular): every call probes its signaling
    /// socket and restarts ICE now, and the live connections (event channel, real-time
    /// subscription) reconnect at once instead of waiting for their keep-alives to time out.
    /// Needs a tokio runtime context.
    pub fn network_changed(&self) {
        self.calls.network_changed();
        let running = crate::sync::lock(&self.channel).0.is_some();
        if running {
            self.stop_channel();
            self.ensure_channel();
        }
        self.persons_sync.reconnect_live();
    }

    pub fn audio(&self) -> &Arc<AudioBridge> {
        &self.audio
    }

    /// Hangs up every call that holds the device; with none, ends this device's leg at the
    /// backend (`endCall`), which is safe when nothing is active.
    pub async fn end_call(&self) -> Result<()> {
        let identity = self.require_identity()?;
        if !self.calls.hangup_all().await? {
            let r = self
                .rest
                .end_call(&identity.client_id, None, identity.client_secret.as_deref())
                .await;
            crate::calls::platform::forget_if_unknown(&self.identity, &identity.client_id, r)?;
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
                tracing::info!(target: "dialtone::engine", "this device's clientId was deleted; it must register again");
            }
        }
        Ok(deleted)
    }
}

impl Engine {
    /// Stops everything the engine runs: live sync, the event channel, every call and
    /// every subscription. The client calls it when the app drops it.
    pub fn shutdown(&self) {
        self.stop_live();
        self.stop_channel();
        self.calls.shutdown();
        self.rooms.shutdown();
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shutdown();
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
    fn bad_urls_and_names_are_invalid_input() {
        assert!(validate_name("  ", "first name").is_err());
        assert!(validate_name("a\u{7}b", "first name").is_err());
        assert_eq!(validate_name(" Ada ", "first name").unwrap(), "Ada");
        assert!(validate_push_token(&"x".repeat(MAX_PUSH_TOKEN_LEN + 1)).is_err());
    }
}
