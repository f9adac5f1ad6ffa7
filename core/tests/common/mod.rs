//! Helpers the integration tests and the benchmark share: reading the mock's push outbox
//! as a phone would receive it, recording call events, and waiting for a condition.
#![allow(dead_code)]

use std::sync::Mutex;
use std::time::Duration;

use std::sync::Arc;

use dialtone::{
    AudioSource, BackendConfig, Call, CallEndReason, CallEvent, CallListener, CallState,
    DialtoneClient, IncomingCallListener, PushKind, PushToken,
};
use dialtone_mock::{MockConfig, MockServer, Profile};
use serde_json::Value;

pub mod devtools;

/// Records the call events a client reports (every state change, and the last
/// `PERIODIC_KEPT` levels and stats: a long call must not grow the record), and the ids of
/// the incoming calls it was offered.
#[derive(Default)]
pub struct Events(Mutex<Vec<CallEvent>>, Mutex<Vec<String>>);

/// A minute of levels and stats (one of each a second).
const PERIODIC_KEPT: usize = 120;

fn periodic(e: &CallEvent) -> bool {
    matches!(e, CallEvent::Stats { .. } | CallEvent::AudioLevel { .. })
}

impl CallListener for Events {
    fn on_call_event(&self, event: CallEvent) {
        let mut events = self.0.lock().unwrap();
        if periodic(&event) && events.iter().filter(|e| periodic(e)).count() >= PERIODIC_KEPT {
            if let Some(oldest) = events.iter().position(periodic) {
                events.remove(oldest);
            }
        }
        events.push(event);
    }
}

impl IncomingCallListener for Events {
    fn on_incoming_call(&self, call: Arc<Call>) {
        self.1.lock().unwrap().push(call.id());
    }
}

impl Events {
    pub fn saw(&self, pred: impl Fn(&CallEvent) -> bool) -> bool {
        self.0.lock().unwrap().iter().any(pred)
    }

    /// Whether the incoming call `id` was offered to the app.
    pub fn rang(&self, id: &str) -> bool {
        self.1.lock().unwrap().iter().any(|c| c == id)
    }

    pub fn offered_any(&self) -> bool {
        !self.1.lock().unwrap().is_empty()
    }

    /// The last event `f` picks something from.
    pub fn last<T>(&self, f: impl Fn(&CallEvent) -> Option<T>) -> Option<T> {
        self.0.lock().unwrap().iter().rev().find_map(f)
    }

    /// The states reported, in order.
    pub fn states(&self) -> Vec<CallState> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                CallEvent::StateChanged { state, .. } => Some(state.clone()),
                _ => None,
            })
            .collect()
    }
}

/// A state change of any call to `state`.
pub fn state_is(state: CallState) -> impl Fn(&CallEvent) -> bool {
    move |e| matches!(e, CallEvent::StateChanged { state: s, .. } if *s == state)
}

/// Any call ending, for any reason.
pub fn state_is_ended(e: &CallEvent) -> bool {
    matches!(
        e,
        CallEvent::StateChanged {
            state: CallState::Ended { .. },
            ..
        }
    )
}

/// Any call ending for `reason`.
pub fn ended(reason: CallEndReason) -> impl Fn(&CallEvent) -> bool {
    state_is(CallState::Ended { reason })
}

/// The call `id` ending for `reason`.
pub fn call_ended(id: &str, reason: CallEndReason) -> impl Fn(&CallEvent) -> bool + '_ {
    move |e| {
        *e == CallEvent::StateChanged {
            call_id: id.to_string(),
            state: CallState::Ended { reason },
        }
    }
}

/// The one way the tests, the benchmarks and the demo start the mock: on 127.0.0.1 at a
/// free port, with ring as the process's TLS provider (the test's own reqwest shares the
/// core's ring-only rustls). Stop it with `shutdown()`, or let it drop.
pub async fn start_mock(config: MockConfig) -> MockServer {
    let _ = rustls::crypto::ring::default_provider().install_default();
    MockServer::start(std::net::SocketAddr::from(([127, 0, 0, 1], 0)), config)
        .await
        .expect("the mock starts on loopback")
}

/// The mock with its defaults, on `profile`.
pub async fn mock_on(profile: Profile) -> MockServer {
    start_mock(MockConfig {
        profile,
        ..MockConfig::default()
    })
    .await
}

/// Polls `f` every 20 ms for up to `secs` seconds; panics naming `what` if it never holds.
pub async fn eventually(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    for _ in 0..secs * 50 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

/// The pushes waiting for `device_token` (long-polls up to 3 s for the first one).
pub async fn pushes(m: &MockServer, device_token: &str) -> Vec<Value> {
    let url = format!(
        "{}/mock/pushes?deviceToken={device_token}&waitMs=3000",
        m.base_url()
    );
    let v: Value = control(m)
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["pushes"].as_array().cloned().unwrap_or_default()
}

async fn next_push(m: &MockServer, device_token: &str) -> Value {
    pushes(m, device_token)
        .await
        .into_iter()
        .next()
        .expect("a push arrives")
}

/// The deep link of a push as the mock's outbox shows it (FCM or APNs).
fn deep_link(push: &Value) -> &str {
    push["data"]["pinpoint.deeplink"]
        .as_str()
        .or_else(|| push["payload"]["data"]["pinpoint"]["deeplink"].as_str())
        .expect("the push carries a deep link")
}

/// Waits until each phone of a connected call hears the other's tone (Alice 440 Hz, Bob
/// 880 Hz).
pub async fn hears(c: &TwoPhoneCall) {
    const TONES: [f32; 2] = [440.0, 880.0];
    eventually("Bob to hear Alice", 15, || {
        c.bob.detected_remote_tone(TONES.to_vec()) == Some(440.0)
    })
    .await;
    eventually("Alice to hear Bob", 15, || {
        c.alice.detected_remote_tone(TONES.to_vec()) == Some(880.0)
    })
    .await;
}

/// The callee's participant token from the deep link of its next push (FCM or APNs).
pub async fn push_token(m: &MockServer, device_token: &str) -> String {
    let push = next_push(m, device_token).await;
    deep_link(&push)
        .split("tok=")
        .nth(1)
        .expect("the deep link carries a token")
        .to_string()
}

/// Answers the call announced by `device_token`'s next push as an app would: with the
/// token in its deep link (seed), or by its call id (extended: the push carries none; the
/// event channel may have announced the call first, making the push a duplicate).
pub async fn answer_next_push(m: &MockServer, phone: &DialtoneClient, device_token: &str) {
    let push = next_push(m, device_token).await;
    if let Some(token) = deep_link(&push).split("tok=").nth(1) {
        phone.join_call(token.to_string()).await.unwrap();
        return;
    }
    let data = match push["platform"].as_str() {
        Some("apns") => push["payload"].to_string(),
        _ => push["data"].to_string(),
    };
    let call_id = match phone.handle_push(data).unwrap() {
        dialtone::PushOutcome::Invite { invite } => invite.call_id,
        dialtone::PushOutcome::Ignored {
            call_id: Some(id), ..
        } => id,
        other => panic!("expected an invite, got {other:?}"),
    };
    phone.answer(call_id).await.unwrap();
}

/// The latest Person list a client reported (`observe_persons`).
#[derive(Default)]
pub struct LatestPersons(pub Mutex<Vec<dialtone::Person>>);

impl dialtone::PersonsListener for LatestPersons {
    fn on_persons_changed(&self, persons: Vec<dialtone::Person>) {
        *self.0.lock().unwrap() = persons;
    }
}

impl LatestPersons {
    pub fn has_first_name(&self, name: &str) -> bool {
        self.0.lock().unwrap().iter().any(|p| p.first_name == name)
    }
}

/// The test's own HTTP client for the mock's control endpoints (`/mock/...`): it trusts the
/// mock's certificate when the mock serves TLS. Not the SDK's client.
pub fn control(m: &MockServer) -> reqwest::Client {
    // Never through a proxy a test set for the SDK (core/tests/proxy.rs counts its tunnels).
    let mut b = reqwest::Client::builder().no_proxy();
    if let Some(pem) = m.certificate_pem() {
        b = b.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap());
    }
    b.build().unwrap()
}

/// The configuration a phone of `m` uses: the mock's URL, and its certificate trusted when
/// it serves TLS (as an app does for a development backend).
pub fn config(m: &MockServer) -> Arc<BackendConfig> {
    let config = BackendConfig::mock(m.base_url(), None).unwrap();
    match m.certificate_pem() {
        Some(pem) => config.with_trusted_roots(pem).unwrap(),
        None => config,
    }
}

/// A client of `m` keeping its data in `dir`.
pub fn phone(m: &MockServer, dir: &tempfile::TempDir) -> Arc<DialtoneClient> {
    DialtoneClient::new(config(m), dir.path().display().to_string()).unwrap()
}

pub struct TwoPhoneCall {
    pub alice: Arc<DialtoneClient>,
    pub bob: Arc<DialtoneClient>,
    pub alice_events: Arc<Events>,
    pub bob_events: Arc<Events>,
    pub _handles: Vec<Arc<dialtone::TaskHandle>>,
    pub session_id: String,
    /// Alice's placed call.
    pub alice_call: Arc<Call>,
    pub _dirs: (tempfile::TempDir, tempfile::TempDir),
}

/// Two phones of `m` in a connected call: Alice (440 Hz) placed it, Bob (880 Hz) answered
/// his push (`answer_next_push`); both calls are `Connected`.
pub async fn connected_call(m: &MockServer) -> TwoPhoneCall {
    connected_call_with(m, None).await
}

/// `recovery_budget`: both phones' connection recovery budget, in seconds.
pub async fn connected_call_with(m: &MockServer, recovery_budget: Option<u32>) -> TwoPhoneCall {
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let alice = phone(m, &dirs.0);
    let bob = phone(m, &dirs.1);
    if let Some(seconds) = recovery_budget {
        alice.set_connection_recovery_budget(seconds);
        bob.set_connection_recovery_budget(seconds);
    }
    alice
        .register(PushToken {
            kind: PushKind::Fcm,
            token: "alice-fcm".into(),
        })
        .await
        .unwrap();
    let bob_id = bob
        .register(PushToken {
            kind: PushKind::Fcm,
            token: "bob-fcm".into(),
        })
        .await
        .unwrap();
    alice
        .save_profile("Alice".into(), "A".into())
        .await
        .unwrap();
    alice.set_audio_source(AudioSource::Tone {
        frequency_hz: 440.0,
    });
    bob.set_audio_source(AudioSource::Tone {
        frequency_hz: 880.0,
    });
    let (alice_events, bob_events) = (Arc::new(Events::default()), Arc::new(Events::default()));
    let handles = vec![
        alice.observe_call(alice_events.clone()).unwrap(),
        bob.observe_call(bob_events.clone()).unwrap(),
    ];

    let call = alice.start_call(bob_id, None).await.unwrap();
    answer_next_push(m, &bob, "bob-fcm").await;
    // Bob's media can flow before Alice hears (over the event channel) that he answered:
    // a recovery test that cut the connection while her call still rang would never see
    // it reconnect. Both calls are Connected before a test starts.
    for (who, events) in [("Alice's", &alice_events), ("Bob's", &bob_events)] {
        eventually(&format!("{who} call to be Connected"), 20, || {
            events.states().contains(&CallState::Connected)
        })
        .await;
    }
    TwoPhoneCall {
        alice,
        bob,
        alice_events,
        bob_events,
        _handles: handles,
        session_id: call.outgoing().unwrap().session_id.unwrap(),
        alice_call: call,
        _dirs: dirs,
    }
}

/// A connected call on `m` (its certificate trusted when it serves TLS), a live Person
/// update seen by the callee, a hang-up, and then both clients dropped: every socket the
/// phones opened ends with the client's 1000.
pub async fn whole_call(m: &MockServer) {
    let c = connected_call(m).await;
    hears(&c).await;

    // A live Person update over the real-time socket.
    let seen = Arc::new(LatestPersons::default());
    let handle = c.bob.observe_persons(seen.clone());
    c.bob.sync_persons().await.unwrap();
    c.alice
        .save_profile("Alicia".into(), "A".into())
        .await
        .unwrap();
    eventually("Bob to see Alicia live", 15, || {
        seen.has_first_name("Alicia")
    })
    .await;

    c.alice_call.hangup().await.unwrap();
    for (who, events) in [("Alice", &c.alice_events), ("Bob", &c.bob_events)] {
        eventually(&format!("{who}'s call to end"), 15, || {
            events.saw(state_is_ended)
        })
        .await;
    }
    handle.cancel();
    drop(c);
    // Both phones' signaling and (extended) event channel, Bob's real-time subscription.
    let want: &[&str] = match m.profile() {
        Profile::Extended => &["signaling", "signaling", "realtime", "events", "events"],
        Profile::Seed => &["signaling", "signaling", "realtime"],
    };
    let closed = || {
        let ends = m.socket_ends();
        want.iter().all(|kind| {
            ends.iter().filter(|(k, _)| k == kind).count()
                >= want.iter().filter(|k| *k == kind).count()
        })
    };
    for _ in 0..750 {
        if closed() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(closed(), "every socket closed: {:?}", m.socket_ends());
    // Let sockets still closing finish, then nothing may have ended without a Close.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ends = m.socket_ends();
    assert!(
        ends.iter().all(|(_, code)| *code == Some(1000)),
        "every socket closes with 1000: {ends:?}"
    );
}

/// A headless Chromium, killed however the test or benchmark ends.
pub struct Browser(pub std::process::Child);

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts headless Chromium (`DIALTONE_CHROMIUM`, or `chromium`) on `url` with WebRTC on
/// loopback (real addresses, no mDNS names) and autoplay allowed; each console line that
/// contains `marker` goes to `on_line` (the text after the marker), from a thread of its
/// own. Run it in a loopback-only network namespace (scripts/test-browser.sh).
pub fn chromium(
    profile_dir: &std::path::Path,
    url: &str,
    marker: &'static str,
    on_line: impl Fn(String) + Send + 'static,
) -> Browser {
    chromium_with(profile_dir, url, &[], move |line| {
        if let Some(at) = line.find(marker) {
            let msg = line[at + marker.len()..]
                .trim_end_matches(|c| c != '"')
                .trim_end_matches('"');
            on_line(msg.to_string());
        }
    })
}

/// [`chromium`] with `extra` flags, every stderr line to `on_line` as it is.
pub fn chromium_with(
    profile_dir: &std::path::Path,
    url: &str,
    extra: &[&str],
    on_line: impl Fn(String) + Send + 'static,
) -> Browser {
    use std::io::BufRead;
    let exe = std::env::var("DIALTONE_CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let mut child = std::process::Command::new(exe)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--autoplay-policy=no-user-gesture-required",
            "--disable-background-timer-throttling",
            "--disable-renderer-backgrounding",
            "--allow-loopback-in-peer-connection",
            "--disable-features=WebRtcHideLocalIpsWithMdns",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .args(extra)
        .arg(format!("--user-data-dir={}", profile_dir.display()))
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start chromium (DIALTONE_CHROMIUM)");
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            on_line(line);
        }
    });
    Browser(child)
}

/// POSTs `body` to the mock's REST API, as the seed's web sample does; the reply's JSON.
pub async fn api(m: &MockServer, body: Value) -> Value {
    control(m)
        .post(format!("{}/api", m.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The lines a browser page reported as errors (they start with "error").
pub fn browser_errors(lines: &Mutex<Vec<String>>) -> Vec<String> {
    lines
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.starts_with("error"))
        .cloned()
        .collect()
}

/// A mono 16-bit PCM WAV file of `samples` at `rate` Hz.
pub fn write_wav(path: &std::path::Path, rate: u32, samples: &[i16]) {
    let data = samples.len() as u32 * 2;
    let mut out = Vec::with_capacity(44 + data as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    std::fs::write(path, out).unwrap();
}

/// This process's resident memory (Linux), for the benchmarks' memory figures.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
