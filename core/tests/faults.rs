//! Real outages, made by the kernel: inside a network namespace whose only interface is
//! loopback (`scripts/test-faults.sh` runs this there; it refuses to run anywhere else),
//! nftables rules drop UDP, or UDP and TCP, for a while in the middle of a call. Each
//! scenario asserts the outage was real (the far end stops hearing the tone), then that the
//! audio resumes (the tone is detected again) and how long after the outage ended it did,
//! or, past the recovery budget, that both calls end once as connection lost and the mock's media
//! session goes away. Ignored by `cargo test`; run by `scripts/test-faults.sh`.
//! `DIALTONE_FAULTS_LOG=1` prints the SDK's and the mock's debug log with milliseconds, for a
//! timeline of a recovery; `DIALTONE_FAULTS_ONLY_SECS=15` runs only that UDP + TCP outage.

use std::process::Command;
use std::time::{Duration, Instant};

use dialtone::{CallEndReason, CallState};
use dialtone_mock::{MockConfig, MockServer, Profile};
mod common;
use common::{connected_call_with, ended, eventually, hears};

const TONES: [f32; 2] = [440.0, 880.0];

/// Refuses to touch a firewall that is not a throw-away namespace's.
fn in_private_namespace() {
    assert_eq!(
        std::env::var("DIALTONE_FAULTS_NETNS").as_deref(),
        Ok("1"),
        "run through scripts/test-faults.sh (a loopback-only network namespace)"
    );
    // Netlink, not /sys (sysfs shows the namespace it was mounted in).
    let out = Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .expect("ip runs");
    let interfaces: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            l.split(": ")
                .nth(1)
                .map(|n| n.split('@').next().unwrap_or(n).to_string())
        })
        .collect();
    assert_eq!(interfaces, ["lo"], "only loopback in this namespace");
}

fn nft(args: &str) {
    let out = Command::new("nft")
        .args(args.split(' '))
        .output()
        .expect("nft runs");
    assert!(
        out.status.success(),
        "nft {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Drops the given protocols on loopback until dropped.
struct Blackout;

impl Blackout {
    fn start(protocols: &[&str]) -> Blackout {
        nft("add table inet dialtone_fault");
        for (chain, hook) in [("in", "input"), ("out", "output")] {
            let out = Command::new("nft")
                .args(["add", "chain", "inet", "dialtone_fault", chain])
                .arg(format!(
                    "{{ type filter hook {hook} priority 0; policy accept; }}"
                ))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            for p in protocols {
                nft(&format!(
                    "add rule inet dialtone_fault {chain} meta l4proto {p} drop"
                ));
            }
        }
        Blackout
    }
}

impl Drop for Blackout {
    fn drop(&mut self) {
        let _ = Command::new("nft")
            .args(["delete", "table", "inet", "dialtone_fault"])
            .status();
    }
}

/// Log lines with milliseconds since the process started, for `DIALTONE_FAULTS_LOG`.
struct Timeline;

fn since_start() -> u128 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis()
}

/// A mark on the timeline, when `DIALTONE_FAULTS_LOG` asks for one.
fn timeline(what: &str) {
    if std::env::var_os("DIALTONE_FAULTS_LOG").is_some() {
        eprintln!("[t {:>6}] {what}", since_start());
    }
}

impl dialtone::LogSink for Timeline {
    fn log(&self, _level: dialtone::LogLevel, target: String, line: String) {
        if target.starts_with("dialtone") {
            eprintln!("[t {:>6}] {target}: {line}", since_start());
        }
    }
}

async fn mock() -> MockServer {
    // `DIALTONE_FAULTS_LOG=1`: the SDK's and the mock's debug log on stderr, for a timeline.
    if std::env::var_os("DIALTONE_FAULTS_LOG").is_some() {
        dialtone::init_logging(
            dialtone::LogLevel::Debug,
            Some(std::sync::Arc::new(Timeline)),
        );
    }
    common::start_mock(MockConfig {
        heartbeat_interval: Duration::from_millis(200),
        profile: Profile::Seed,
        signaling_grace: Duration::from_secs(60),
        ..MockConfig::default()
    })
    .await
}

/// An outage of `secs` on `protocols` mid-call; returns the time from its end to audio again
/// both ways.
async fn outage(protocols: &[&str], secs: u64) -> Duration {
    in_private_namespace();
    let m = mock().await;
    let c = connected_call_with(&m, Some(30)).await;
    hears(&c).await;
    let blackout = Blackout::start(protocols);
    timeline("outage starts");
    tokio::time::sleep(Duration::from_secs(secs)).await;
    assert_eq!(
        c.bob.detected_remote_tone(TONES.to_vec()),
        None,
        "the outage silenced the call"
    );
    drop(blackout);
    timeline("outage ends");
    let ended_at = Instant::now();
    let deadline = ended_at + Duration::from_secs(30);
    loop {
        let bob = c.bob.detected_remote_tone(TONES.to_vec()) == Some(440.0);
        let alice = c.alice.detected_remote_tone(TONES.to_vec()) == Some(880.0);
        if bob && alice {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "audio did not resume within 30 s of a {secs} s {protocols:?} outage (Alice {:?}, Bob {:?})",
            c.alice_events.states(),
            c.bob_events.states()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let recovered = ended_at.elapsed();
    for events in [&c.alice_events, &c.bob_events] {
        assert!(
            !events
                .states()
                .iter()
                .any(|s| matches!(s, CallState::Ended { .. })),
            "{:?}",
            events.states()
        );
    }
    eprintln!(
        "[faults] {secs:>2} s {:<9} outage: audio both ways {:>5} ms after it ended",
        protocols.join("+"),
        recovered.as_millis()
    );
    c.alice.end_call().await.unwrap();
    c.bob.end_call().await.unwrap();
    recovered
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a loopback-only network namespace: scripts/test-faults.sh"]
async fn udp_blackouts_of_2_5_and_15_s() {
    for secs in [2, 5, 15] {
        outage(&["udp"], secs).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a loopback-only network namespace: scripts/test-faults.sh"]
async fn udp_and_tcp_blackouts_of_5_and_15_s_kill_the_signaling_socket_too() {
    let only: Option<u64> = std::env::var("DIALTONE_FAULTS_ONLY_SECS")
        .ok()
        .and_then(|s| s.parse().ok());
    for secs in [5, 15].into_iter().filter(|s| only.is_none_or(|o| o == *s)) {
        outage(&["udp", "tcp"], secs).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a loopback-only network namespace: scripts/test-faults.sh"]
async fn an_outage_longer_than_the_budget_ends_both_calls_once_and_releases_the_session() {
    in_private_namespace();
    let m = common::start_mock(MockConfig {
        heartbeat_interval: Duration::from_millis(200),
        profile: Profile::Seed,
        signaling_grace: Duration::from_secs(3),
        ..MockConfig::default()
    })
    .await;
    let c = connected_call_with(&m, Some(3)).await;
    hears(&c).await;
    let blackout = Blackout::start(&["udp", "tcp"]);
    eventually("Alice's call to end as connection lost", 20, || {
        c.alice_events.saw(ended(CallEndReason::ConnectionLost))
    })
    .await;
    eventually("Bob's call to end as connection lost", 20, || {
        c.bob_events.saw(ended(CallEndReason::ConnectionLost))
    })
    .await;
    drop(blackout);
    for events in [&c.alice_events, &c.bob_events] {
        let ends = events
            .states()
            .iter()
            .filter(|s| matches!(s, CallState::Ended { .. }))
            .count();
        assert_eq!(ends, 1, "one end: {:?}", events.states());
    }
    eventually("the mock to release the media session", 30, || {
        m.media_counts() == (0, 0)
    })
    .await;
}

/// A network change (as a phone leaving Wi-Fi reports it) during an outage that leaves the
/// signaling socket stalled, not closed: `network_changed()` probes the socket, so the call
/// shows `Reconnecting` within the probe's 1.5 s instead of after 6 s of silence, and the
/// audio comes back when the network does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a loopback-only network namespace: scripts/test-faults.sh"]
async fn a_network_change_probes_a_stalled_socket_at_once() {
    in_private_namespace();
    let m = mock().await;
    let c = connected_call_with(&m, Some(30)).await;
    hears(&c).await;
    let blackout = Blackout::start(&["udp", "tcp"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let changed_at = Instant::now();
    let alice = c.alice.clone();
    // The ICE restart it starts waits on the socket; the probe ends that wait.
    let restart = tokio::spawn(async move { alice.network_changed().await });
    eventually("Alice's call to show Reconnecting", 10, || {
        c.alice_events.states().contains(&CallState::Reconnecting)
    })
    .await;
    let noticed = changed_at.elapsed();
    eprintln!(
        "[faults] network change during a stall: Reconnecting {} ms after it",
        noticed.as_millis()
    );
    assert!(
        noticed < Duration::from_millis(4000),
        "noticed after {noticed:?}: the probe, not the 6 s silence or ICE's 5 s, found it"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    drop(blackout);
    hears(&c).await;
    let _ = restart.await;
    c.alice.end_call().await.unwrap();
    c.bob.end_call().await.unwrap();
}
