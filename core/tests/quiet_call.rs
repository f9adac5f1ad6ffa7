//! A good call logs no warning. Two phones (and the mock, in this process) make a whole call
//! on a perfect loopback link: every WARN or ERROR line the SDK's log sees (ours, webrtc-rs's,
//! the mock's) is collected, and none may appear but one that webrtc-rs 0.21 may write
//! whatever its peer does (see `WEBRTC_RS_INTERNAL`). Causes removed, each of which this test
//! would catch coming back: RTP written before the SRTP keys exist (the client's send clock
//! and the mock's forwarding wait for the connection), a negotiated data channel opened twice
//! (the mock's first heartbeat PING waits an interval), ICE checks refused for arriving before
//! the answer and check rounds with no local candidate (`third_party/rtc-ice`, PATCHES.md).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dialtone::{LogLevel, LogSink};
use dialtone_mock::{MockConfig, Profile};
mod common;
use common::{connected_call, eventually};

/// The one line webrtc-rs 0.21 may write whatever its peer does: the DTLS side that finishes
/// its handshake first may send SRTP before the other has derived its keys, and the receiver
/// drops those packets (`rtc` `handler/srtp.rs`). Neither the client nor the mock sends before
/// its own connection is up; how many appear depends on scheduling (a loaded machine sees
/// some, an idle one none), so it is not counted.
const WEBRTC_RS_INTERNAL: [&str; 1] =
    ["SrtpHandler.handle_read got error: remote_srtp_context is not set yet"];

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
