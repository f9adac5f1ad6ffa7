//! `dialtone-mock`: one loopback process that speaks every surface of Dialtone's real backend
//! (BACKEND.md): the REST Lambda at `/api`, AppSync at `/graphql` and `/graphql/realtime`,
//! Pinpoint's pushes recorded in an outbox at `/mock/pushes`, Bandwidth's v3 signaling
//! gateway at `/v3/` with a small SFU behind it, and `/health`. In the extended profile
//! (the default) it also serves the additive fixes of BACKEND.md §6: client secrets and
//! Bearer auth, call ids and call state, `declineCall`/`cancelCall`/`answerCall`, token-free
//! high-priority pushes, and the `/ws` event channel. `Profile::Seed` is exactly the seed.
//!
//! It shares no code with the client core on purpose: each side implements its half of the
//! wire contract, so a misreading on one side is caught by the other's tests.
//!
//! Tests embed it with [`MockServer::start`]; the `dialtone-mock` binary wraps the same call.

pub mod appsync;
pub mod console;
pub mod events;
pub mod forwarding;
pub mod gateway;
pub mod graphql;
pub mod link;
pub mod outbox;
pub mod realtime;
pub mod redact;
pub mod rest;
pub mod rooms;
pub mod sfu;
pub mod state;
pub mod time;
pub mod tls;
pub mod tokens;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::{broadcast, oneshot, watch, Notify};

use crate::graphql::PersonEvent;
use crate::state::State;
use crate::tokens::TokenIssuer;

/// The GraphQL key the mock accepts unless told otherwise. A development key, not a secret.
pub const DEFAULT_API_KEY: &str = "da2-dialtonemockdevelopmentkey0001";
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Which backend the mock is: exactly the seed, or the seed plus the additive extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Seed,
    Extended,
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "seed" => Ok(Profile::Seed),
            "extended" => Ok(Profile::Extended),
            other => Err(format!(
                "profile must be \"seed\" or \"extended\", not {other:?}"
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct MockConfig {
    pub profile: Profile,
    pub api_key: String,
    /// How often the real-time endpoint sends `ka` (AppSync: about a minute).
    pub keep_alive_interval: Duration,
    /// The `connectionTimeoutMs` announced in `connection_ack` (AppSync: 300000).
    pub connection_timeout_ms: u64,
    /// The address WebRTC binds and advertises. Loopback unless a real phone on the LAN
    /// must reach the mock (`--ice-ip`).
    pub ice_ip: std::net::IpAddr,
    /// How often the gateway sends PING on a participant's `__heartbeat__` channel.
    pub heartbeat_interval: Duration,
    /// How long a `/ws` socket may stay unauthenticated.
    pub ws_auth_timeout: Duration,
    /// How long a `/ws` socket may stay silent (clients ping well within it).
    pub ws_idle_timeout: Duration,
    /// How long a participant whose signaling socket was lost (not closed: no `leave`, no
    /// Close frame) keeps its media while it reconnects with the same token and `uniqueId`.
    pub signaling_grace: Duration,
    /// How long a participant token is valid (Bandwidth's: an hour). Tests shorten it to
    /// make a resume meet an expired token.
    pub participant_token_lifetime: Duration,
    /// A link profile every participant gets both ways (`link::profiles`); `None`: perfect.
    pub link: Option<String>,
    /// Extended profile: the most members a room holds (`--room-cap`, at most 16), how long
    /// an unentered room lives, and how long a member may take to open its signaling socket.
    pub room_cap: usize,
    pub room_ttl: Duration,
    pub room_media_deadline: Duration,
    /// How long a room invite rings before it is `missed`.
    pub invite_ttl: Duration,
    /// Serve HTTPS and WSS instead of HTTP and WS (`--tls`, [`tls`]).
    pub tls: Option<tls::Tls>,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            api_key: DEFAULT_API_KEY.to_string(),
            keep_alive_interval: Duration::from_secs(60),
            connection_timeout_ms: 300_000,
            ice_ip: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            heartbeat_interval: Duration::from_secs(5),
            profile: Profile::Extended,
            ws_auth_timeout: Duration::from_secs(5),
            ws_idle_timeout: Duration::from_secs(60),
            signaling_grace: Duration::from_secs(30),
            participant_token_lifetime: Duration::from_secs(3_600),
            link: None,
            tls: None,
            room_cap: rooms::DEFAULT_ROOM_CAP,
            room_ttl: rooms::DEFAULT_ROOM_TTL,
            room_media_deadline: rooms::DEFAULT_MEDIA_DEADLINE,
            invite_ttl: rooms::DEFAULT_INVITE_TTL,
        }
    }
}

pub struct Inner {
    pub state: Mutex<State>,
    pub tokens: TokenIssuer,
    pub account_id: String,
    pub api_key: String,
    pub config: MockConfig,
    pub outbox_changed: Notify,
    pub person_events: broadcast::Sender<PersonEvent>,
    pub realtime_drop: watch::Sender<u64>,
    pub sfu: Arc<sfu::Sfu>,
    pub events: events::Hub,
    /// The outage hook of `set_signaling_available`.
    pub signaling_down: std::sync::atomic::AtomicBool,
    /// The outage hook of `set_live_channels_available`.
    pub live_channels_down: std::sync::atomic::AtomicBool,
    /// Bumped whenever what the console shows may have changed (after every request, socket
    /// open and close); the console's event stream waits on it instead of polling.
    pub changed: console::Changes,
    /// Open AppSync real-time connections (they carry an API key, not a clientId).
    pub realtime_connections: std::sync::atomic::AtomicUsize,
    /// How the clients' WebSockets ended, newest last (bounded): which socket, and the
    /// close code the client sent (`None`: the connection ended without a Close, 1006).
    pub socket_ends: Mutex<std::collections::VecDeque<(&'static str, Option<u16>)>>,
}

/// How many socket ends `socket_ends` keeps.
const MAX_SOCKET_ENDS: usize = 256;

impl Inner {
    /// Notes how a client's `socket` (realtime, events, signaling) ended: the close code the
    /// client sent, or `None` when the connection ended without a Close frame (1006).
    pub fn socket_ended(&self, socket: &'static str, code: Option<u16>) {
        match code {
            Some(code) => {
                tracing::info!(target: "dialtone_mock::ws", "{socket} socket: the client closed with {code}")
            }
            None => {
                tracing::info!(target: "dialtone_mock::ws", "{socket} socket: ended without a Close from the client (1006)")
            }
        }
        let mut ends = self.socket_ends.lock().expect("socket ends lock");
        if ends.len() == MAX_SOCKET_ENDS {
            ends.pop_front();
        }
        ends.push_back((socket, code));
    }

    /// Adds a line to a call's console time line, taking the state lock.
    pub fn note_call(&self, session_id: &str, what: impl Into<String>) {
        self.state
            .lock()
            .expect("state lock")
            .note_call(session_id, what);
        self.touch();
    }

    /// Tells the console something changed.
    pub fn touch(&self) {
        self.changed.touch();
    }
}

pub type Shared = Arc<Inner>;

/// A running mock. Dropping it stops the server.
pub struct MockServer {
    addr: SocketAddr,
    shared: Shared,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl MockServer {
    /// Binds `addr` (port 0 picks a free one) on the current tokio runtime and starts serving.
    pub async fn start(addr: SocketAddr, config: MockConfig) -> std::io::Result<MockServer> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let link = config.link.clone();
        let shared = new_shared(config);
        // Rooms' presence follows the media participants.
        let (departures, mut departed) = tokio::sync::mpsc::unbounded_channel();
        shared.sfu.on_departure(departures);
        let weak = Arc::downgrade(&shared);
        tokio::spawn(async move {
            while let Some(d) = departed.recv().await {
                let Some(shared) = weak.upgrade() else { break };
                rooms::media_departed(&shared, &d);
            }
        });
        if let Some(name) = link {
            let setting = link::Setting::profile(&name, 1)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
            shared.sfu.set_link(&link::Request {
                participant: None,
                directions: vec![link::Direction::Up, link::Direction::Down],
                setting,
            });
        }
        let app = router(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = match shared.config.tls.as_ref().map(|t| t.config.clone()) {
            Some(tls) => tokio::spawn(tls::serve(listener, app, tls, rx)),
            None => tokio::spawn(async move {
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = rx.await;
                    })
                    .await;
            }),
        };
        Ok(MockServer {
            addr,
            shared,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// The certificate it serves with TLS (PEM), for a client to trust.
    pub fn certificate_pem(&self) -> Option<String> {
        self.shared
            .config
            .tls
            .as_ref()
            .map(|t| t.certificate_pem.clone())
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, or `https://…` with TLS.
    pub fn base_url(&self) -> String {
        let scheme = if self.shared.config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// Closes every real-time connection, as a network change or an AppSync deploy would.
    pub fn drop_realtime_connections(&self) {
        self.shared.realtime_drop.send_modify(|n| *n += 1);
    }

    /// Sets the link conditioner as `POST /mock/link` does (same body, same errors).
    pub fn set_link(&self, body: &Value) -> Result<(), String> {
        let req = link::parse_request(body)?;
        self.shared.sfu.set_link(&req);
        Ok(())
    }

    /// The SFU's forwarding since the start or the last `reset_forwarding`: packets in,
    /// copies out, copies lost, and the delay of each copy (p50/p99/max).
    pub fn forwarding(&self) -> forwarding::ForwardingReport {
        self.shared.sfu.forwarding.report()
    }

    pub fn reset_forwarding(&self) {
        self.shared.sfu.forwarding.reset();
    }

    /// (media sessions, participants) the SFU holds: a finished call leaves (0, 0).
    pub fn media_counts(&self) -> (usize, usize) {
        self.shared.sfu.counts()
    }

    /// Heartbeat PONGs the gateway has received from a participant.
    pub fn heartbeat_pongs(&self, session_id: &str, participant_id: &str) -> Option<u64> {
        self.shared
            .sfu
            .participant(session_id, participant_id)
            .map(|p| p.pongs())
    }

    /// Signs arbitrary claims with the mock's key: tests use it for expired or wrong-version tokens.
    pub fn issue_token(&self, claims: &tokens::Claims) -> String {
        self.shared.tokens.issue(claims)
    }

    /// Adds a participant to a live session (as Bandwidth's `addParticipantToSession` would
    /// for an app server) and returns its participant token, or `None` when the session is
    /// over. A test's third phone joins with it and publishes a second stream into the call;
    /// the `clientId` it is listed under is `label`.
    pub fn add_participant(&self, session_id: &str, label: &str) -> Option<String> {
        add_participant(&self.shared, session_id, label)
    }

    /// A new session with `participants` participants (as an app server would make with
    /// Bandwidth's `createSession` and `createParticipant`), for seed-path tests of N-party
    /// sessions: its id and one token per participant (listed as `p1`, `p2`, …).
    pub fn create_session(&self, participants: usize) -> (String, Vec<String>) {
        create_session(&self.shared, participants)
    }

    /// The m-lines of a participant's subscribing connection (its latest offer), if it has one.
    pub async fn subscriber_m_lines(
        &self,
        session_id: &str,
        participant_id: &str,
    ) -> Option<usize> {
        self.shared
            .sfu
            .subscriber_m_lines(session_id, participant_id)
            .await
    }

    /// The media session of a room (tests).
    pub fn room_session(&self, room_id: &str) -> Option<String> {
        self.with_state(|st| st.rooms.get(room_id).map(|r| r.session_id.clone()))
    }

    /// Drops the media side of a session (its signaling sockets and peer connections), as a
    /// gateway failure would, without touching the REST state.
    pub async fn drop_media_session(&self, session_id: &str) {
        self.shared.sfu.end_session(session_id).await;
    }

    pub fn profile(&self) -> Profile {
        self.shared.config.profile
    }

    /// Open `/ws` connections of a clientId.
    /// How many event-channel connections were ever authenticated, all clients together.
    pub fn event_channels_opened(&self) -> u64 {
        self.shared.events.opened()
    }

    pub fn event_connections(&self, client_id: &str) -> usize {
        self.shared.events.count(client_id)
    }

    /// Closes every `/ws` connection, as a network change would.
    /// Cuts every participant's signaling socket without a Close frame, as a network outage
    /// would: the participants keep their media for `signaling_grace`.
    pub fn cut_signaling(&self) {
        self.shared.sfu.cut_all();
    }

    /// While false, the gateway answers every signaling upgrade with 503 (a gateway that is
    /// down): clients retry until their recovery budget runs out.
    pub fn set_signaling_available(&self, available: bool) {
        self.shared
            .signaling_down
            .store(!available, std::sync::atomic::Ordering::SeqCst);
    }

    /// While false, the event channel (`/ws`) and the AppSync real-time endpoint answer
    /// every upgrade with 503 (an outage of the push-less live paths); turning them off also
    /// cuts the connections already open. Clients retry with backoff and catch up after.
    pub fn set_live_channels_available(&self, available: bool) {
        self.shared
            .live_channels_down
            .store(!available, std::sync::atomic::Ordering::SeqCst);
        if !available {
            self.drop_event_channels();
            self.drop_realtime_connections();
        }
    }

    pub fn drop_event_channels(&self) {
        self.shared.events.drop_all();
    }

    /// Read access to the state, for tests that check what the backend holds.
    /// How the clients' WebSockets ended, oldest first: `("realtime" | "events" |
    /// "signaling", the client's close code, or None for an end without a Close)`.
    pub fn socket_ends(&self) -> Vec<(&'static str, Option<u16>)> {
        self.shared
            .socket_ends
            .lock()
            .expect("socket ends lock")
            .iter()
            .copied()
            .collect()
    }

    pub fn with_state<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.shared.state.lock().expect("state lock"))
    }

    pub async fn shutdown(mut self) {
        self.stop();
        self.drop_realtime_connections();
        self.drop_event_channels();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.drop_realtime_connections();
        self.drop_event_channels();
        self.stop();
    }
}

/// The state every handler shares, for one mock.
fn new_shared(config: MockConfig) -> Shared {
    let changed = console::Changes::default();
    let (events, _) = broadcast::channel(1024);
    Arc::new(Inner {
        state: Mutex::new(State::default()),
        tokens: TokenIssuer::random(),
        account_id: "mock-account".to_string(),
        api_key: config.api_key.clone(),
        config: config.clone(),
        outbox_changed: Notify::new(),
        person_events: events,
        realtime_drop: watch::channel(0).0,
        sfu: sfu::Sfu::new(config.ice_ip, config.heartbeat_interval, changed.clone()),
        events: events::Hub::default(),
        signaling_down: Default::default(),
        live_channels_down: Default::default(),
        changed,
        realtime_connections: Default::default(),
        socket_ends: Default::default(),
    })
}

/// Logs every request: method, path without its query, status and latency (`info`), and
/// tells the console that state may have changed.
async fn request_log(
    axum::extract::State(shared): axum::extract::State<Shared>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    tracing::info!(
        target: "dialtone_mock::http",
        "{method} {path} {} {:.1} ms",
        resp.status().as_u16(),
        started.elapsed().as_secs_f64() * 1e3
    );
    // The console's own reads change nothing; everything else may have.
    if !console::reads_only(&path) {
        shared.touch();
    }
    resp
}

/// `GET /mock/link`: the link conditioner's settings.
async fn link_get(axum::extract::State(s): axum::extract::State<Shared>) -> Json<Value> {
    Json(s.sfu.links_json())
}

/// `POST /mock/link`: set a profile or explicit numbers, for a participant or all, one way
/// or both (`link::parse_request`); a bad value is a 400 that says which.
async fn link_post(
    axum::extract::State(s): axum::extract::State<Shared>,
    body: axum::body::Bytes,
) -> (axum::http::StatusCode, Json<Value>) {
    let parsed = serde_json::from_slice::<Value>(&body)
        .map_err(|e| format!("the body is not JSON: {e}"))
        .and_then(|v| link::parse_request(&v));
    match parsed {
        Ok(req) => {
            s.sfu.set_link(&req);
            tracing::info!(target: "dialtone_mock::link", "link set to {} for {}", req.setting.name, req.participant.as_deref().unwrap_or("every participant"));
            (axum::http::StatusCode::OK, Json(s.sfu.links_json()))
        }
        Err(e) => (
            axum::http::StatusCode::BAD_REQUEST,
            Json(json!({"error": e})),
        ),
    }
}

fn add_participant(shared: &Shared, session_id: &str, label: &str) -> Option<String> {
    let participant_id = uuid::Uuid::new_v4().to_string();
    {
        let mut st = shared.state.lock().expect("state lock");
        st.sessions
            .get_mut(session_id)?
            .participants
            .push((label.to_string(), participant_id.clone()));
    }
    Some(shared.tokens.issue(&tokens::Claims {
        a: shared.account_id.clone(),
        p: participant_id,
        v: "v3".into(),
        exp: time::now_ms() / 1000 + shared.config.participant_token_lifetime.as_secs() as i64,
        tid: session_id.to_string(),
        iss: "mock:00".into(),
    }))
}

/// The most participants a v3 session holds (Bandwidth's limit).
const MAX_SESSION_PARTICIPANTS: usize = 20;

fn create_session(shared: &Shared, participants: usize) -> (String, Vec<String>) {
    let session_id = uuid::Uuid::new_v4().to_string();
    shared.state.lock().expect("state lock").sessions.insert(
        session_id.clone(),
        state::Session {
            id: session_id.clone(),
            participants: Vec::new(),
        },
    );
    let tokens = (1..=participants.min(MAX_SESSION_PARTICIPANTS))
        .filter_map(|i| add_participant(shared, &session_id, &format!("p{i}")))
        .collect();
    (session_id, tokens)
}

/// `POST /mock/sessions {"participants": N}` → `{"sessionId", "tokens": [...]}`: an N-party
/// session for tests (1 to 20 participants).
async fn sessions_post(
    axum::extract::State(s): axum::extract::State<Shared>,
    body: axum::body::Bytes,
) -> (axum::http::StatusCode, Json<Value>) {
    let n = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("participants").and_then(Value::as_u64));
    match n {
        Some(n @ 1..=20) => {
            let (session_id, tokens) = create_session(&s, n as usize);
            tracing::info!(target: "dialtone_mock::rest", "session {session_id} made with {n} participants (test hook)");
            (
                axum::http::StatusCode::OK,
                Json(json!({"sessionId": session_id, "tokens": tokens})),
            )
        }
        _ => (
            axum::http::StatusCode::BAD_REQUEST,
            Json(json!({"error": "expected {\"participants\": N}, N from 1 to 20"})),
        ),
    }
}

fn router(shared: Shared) -> Router {
    let extended = shared.config.profile == Profile::Extended;
    let app = Router::new()
        .route("/api", post(rest::handle))
        .route("/graphql", post(appsync::handle))
        .route("/graphql/realtime", get(realtime::upgrade))
        .route("/v3/", get(gateway::upgrade))
        .route("/v3", get(gateway::upgrade))
        .route("/mock/pushes", get(outbox::take))
        .route("/mock/link", get(link_get).post(link_post))
        .route("/mock/sessions", post(sessions_post))
        .route(
            "/mock/realtime/drop",
            post(
                |axum::extract::State(s): axum::extract::State<Shared>| async move {
                    s.realtime_drop.send_modify(|n| *n += 1);
                    Json(json!({"dropped": true}))
                },
            ),
        )
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }));
    // The seed has no event channel: its path is a plain 404 there.
    let app = if extended {
        app.route("/ws", get(events::upgrade))
    } else {
        app
    };
    app.layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .merge(console::routes())
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            request_log,
        ))
        .with_state(shared)
}

/// Entry points for the fuzz targets in `fuzz/`: the mock's readers of REST bodies, GraphQL
/// documents and WebSocket messages, driven without sockets (the HTTP ones through the real
/// router, in-process). Not part of the mock's interface.
pub mod fuzzing {
    use std::collections::HashMap;

    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::{new_shared, router, MockConfig, Profile, Router, Shared};

    pub struct Harness {
        shared: Shared,
        router: Router,
    }

    impl Harness {
        /// Must be made inside a tokio runtime (the SFU's tasks start with it).
        pub fn new(profile: Profile) -> Harness {
            let shared = new_shared(MockConfig {
                profile,
                ..MockConfig::default()
            });
            let router = router(shared.clone());
            // One client whose secret the fuzz inputs may present, so the extended actions
            // (rooms among them) are reached past their authorization.
            let seq = shared.state.lock().expect("state lock").next_seq();
            shared.state.lock().expect("state lock").devices.insert(
                FUZZ_CLIENT.to_string(),
                crate::state::Device {
                    id: FUZZ_CLIENT.to_string(),
                    notify_type: "GCM".into(),
                    device_token: "fuzz-token".into(),
                    session_id: None,
                    participant_id: None,
                    participant_token: None,
                    secret: Some(FUZZ_SECRET.into()),
                    owner: FUZZ_CLIENT.into(),
                    registered_ms: 0,
                    registered_seq: seq,
                    room_id: None,
                },
            );
            Harness { shared, router }
        }

        /// The API key requests must carry.
        pub fn api_key(&self) -> &str {
            &self.shared.api_key
        }

        /// POSTs `body` to `path` through the router; the status it answers.
        pub async fn post(&self, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> u16 {
            let mut req = Request::post(path);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            let Ok(req) = req.body(Body::from(body)) else {
                return 400;
            };
            match self.router.clone().oneshot(req).await {
                Ok(resp) => resp.status().as_u16(),
                Err(never) => match never {},
            }
        }

        /// A real-time connection's messages, in order; the replies.
        pub fn realtime(&self, messages: &[&str]) -> Vec<serde_json::Value> {
            let mut initialised = false;
            let mut subs = HashMap::new();
            messages
                .iter()
                .map(|m| {
                    crate::realtime::client_message(&self.shared, &mut initialised, &mut subs, m)
                })
                .collect()
        }
    }

    /// One runtime and one harness per profile for the whole fuzzing process.
    pub fn harness(profile: Profile) -> &'static (tokio::runtime::Runtime, Harness) {
        static SEED: std::sync::OnceLock<(tokio::runtime::Runtime, Harness)> =
            std::sync::OnceLock::new();
        static EXTENDED: std::sync::OnceLock<(tokio::runtime::Runtime, Harness)> =
            std::sync::OnceLock::new();
        let cell = match profile {
            Profile::Seed => &SEED,
            Profile::Extended => &EXTENDED,
        };
        cell.get_or_init(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime");
            let h = rt.block_on(async { Harness::new(profile) });
            (rt, h)
        })
    }

    /// The clientId and secret of the harness's one registered client.
    pub const FUZZ_CLIENT: &str = "fuzz-client";
    pub const FUZZ_SECRET: &str = "fuzz-secret";

    /// The event channel's reply to one message from the harness's client (seed 002's room
    /// actions included, against the extended profile's state).
    pub fn event_channel(text: &str) -> String {
        let (rt, h) = harness(Profile::Extended);
        rt.block_on(async {
            let reply = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| crate::rooms::ws_action(&h.shared, FUZZ_CLIENT, 1, &v))
                .map_or_else(|| crate::events::answer(text), |v| v.to_string());
            // What the action spawned (media teardown) runs now, not later.
            tokio::task::yield_now().await;
            reply
        })
    }

    /// The v3 gateway's reading of one JSON-RPC message.
    pub fn gateway(text: &str) -> crate::gateway::Envelope {
        crate::gateway::envelope(text)
    }
}
