//! A good call logs no warning. Two phones (and the mock, in this process) make a whole call
//! on a perfect loopback link: every WARN or ERROR line the SDK's log sees (ours, webrtc-rs's,
//! the mock's) is collected, and none may appear but three that webrtc-rs 0.21 writes
//! whatever its peer does (see `WEBRTC_RS_INTERNAL`). Causes removed
//! so far, each of which this test would catch coming back: RTP written before the SRTP keys
//! exist (the client's send clock and the mock's forwarding wait for the connection), a
//! negotiated data channel opened twice (the mock's first heartbeat PING waits an interval).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dialtone::{LogLevel, LogSink};
use dialtone_mock::{MockConfig, Profile};
mod common;
use common::{connected_call, eventually};

/// Lines webrtc-rs 0.21 writes on connections whatever the peer does, with their causes inside
/// it; the connection comes up either way, and how many appear depends on scheduling (a
/// loaded machine sees more), so they are not counted:
/// - it starts an answering connection's ICE checks in `set_remote_description`, before
///   `set_local_description` has gathered a local candidate, so its first round has no pair
///   (`rtc` `peer_connection/mod.rs` `start_transports`);
/// - an offering agent drops every check that arrives before the answer gave it the remote
///   credentials, where RFC 8445 §7.3 has it answer with its own (`rtc-ice` `agent/mod.rs`);
///   the answering side checks at once, so on loopback its first checks beat the answer;
/// - the DTLS side that finishes its handshake first may send SRTP before the other has
///   derived its keys; the receiver drops those packets (`rtc` `handler/srtp.rs`). Neither
///   the client nor the mock sends before its own connection is up.
const WEBRTC_RS_INTERNAL: [&str; 3] = [
    "pingAllCandidates called with no candidate pairs",
    "IceHandler.handle_read got error: password is empty",
    "SrtpHandler.handle_read got error: remote_srtp_context is not set yet",
];

#[derive(Default)]
struct Collect(Mutex<Vec<String>>);

impl LogSink for Collect {
    fn log(&self, level: LogLevel, target: String, message: String) {
        if matches!(level, LogLevel::Warn | LogLevel::Error) {
            self.0
                .lock()
                .unwrap()
                .push(format!("{level:?} {target}: {message}"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_call_logs_no_warning_of_its_own() {
    let sink = Arc::new(Collect::default());
    dialtone::init_logging(LogLevel::Warn, Some(sink.clone()));
    let m = common::start_mock(MockConfig {
        heartbeat_interval: Duration::from_millis(200),
        profile: Profile::Extended,
        ..MockConfig::default()
    })
    .await;
    let c = connected_call(&m).await;
    common::hears(&c).await;
    // Long enough for heartbeats, stats and a few level reports.
    tokio::time::sleep(Duration::from_secs(2)).await;
    c.alice_call.hangup().await.unwrap();
    eventually("Bob's call to end", 15, || {
        c.bob_events.saw(common::state_is_ended)
    })
    .await;
    eventually("the SFU to forget the session", 5, || {
        m.media_counts() == (0, 0)
    })
    .await;
    let lines = sink.0.lock().unwrap().clone();
    let unexplained: Vec<&String> = lines
        .iter()
        .filter(|l| !WEBRTC_RS_INTERNAL.iter().any(|known| l.contains(known)))
        .collect();
    assert!(
        unexplained.is_empty(),
        "a good call logged warnings:\n{unexplained:#?}"
    );
}
