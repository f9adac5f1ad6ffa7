//! A good call logs no warning. Two phones (and the mock, in this process) make a whole call
//! on a perfect loopback link: every WARN or ERROR line the SDK's log sees (ours, webrtc-rs's,
//! the mock's) is collected, and there must be none. Causes removed, each of which this test
//! would catch coming back: RTP written before the SRTP keys exist (the client's send clock
//! and the mock's forwarding wait for the connection; the mock answers DTLS passive, so a
//! publisher finishes its handshake after the SFU has its keys), a negotiated data channel
//! opened twice (the mock's first heartbeat PING waits an interval), ICE checks refused for
//! arriving before the answer and check rounds with no local candidate (`third_party/rtc-ice`,
//! PATCHES.md).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dialtone::{LogLevel, LogSink};
use dialtone_mock::{MockConfig, Profile};
mod common;
use common::{connected_call, eventually};

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
    assert!(lines.is_empty(), "a good call logged warnings:\n{lines:#?}");
}
