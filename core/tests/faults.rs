//! Real outages, made by the kernel: inside a network namespace whose only interface is
//! loopback (`scripts/test-faults.sh` runs this there; it refuses to run anywhere else),
//! nftables rules drop UDP, or UDP and TCP, for a while in the middle of a call. Each
//! scenario asserts the outage was real (the far end stops hearing the tone), then that the
//! audio resumes (the tone is detected again) and how long after the outage ended it did,
//! or, past the recovery budget, that both calls end once as connection lost and the mock's media
//! session goes away. Call setup on a lossy link: random UDP loss (10 %, then 20 %) while 20
//! calls are placed and answered; every call must connect, and the answer-to-audio times are
//! printed. Ignored by `cargo test`; run by `scripts/test-faults.sh`.
//! `DIALTONE_FAULTS_LOG=1` prints the SDK's and the mock's debug log with milliseconds, for a
//! timeline of a recovery (`=all`: every library's, the DTLS handshakes included);
//! `DIALTONE_FAULTS_ONLY_SECS=15` runs only that UDP + TCP outage; `DIALTONE_LOSS_CALLS=N`
//! places N calls per loss level.
// Tests spawn directly; the core spawns through its `task` module (core/clippy.toml).
#![allow(clippy::disallowed_methods)]

use std::process::Command;
use std::time::{Duration, Instant};

use dialtone::testing::{Endpoints, Engine, PushKind, Source};
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

/// Drops packets on loopback (rules in a table of its own) until dropped.
struct Blackout;

impl Blackout {
    /// Drops every packet of the given protocols, both ways.
    fn start(protocols: &[&str]) -> Blackout {
        nft("add table inet dialtone_fault");
        for (chain, hook) in [("in", "input"), ("out", "output")] {
            Self::chain(chain, hook);
            for p in protocols {
                nft(&format!(
                    "add rule inet dialtone_fault {chain} meta l4proto {p} drop"
                ));
            }
        }
        Blackout
    }

    /// Drops `percent` % of UDP packets, at random, each way (every packet on loopback
    /// passes the input hook once: a path through the SFU loses on both of its hops). On
    /// input, as a lossy network would, the sender is not told (a drop on output fails its
    /// `sendmsg` with EPERM).
    fn udp_loss(percent: u32) -> Blackout {
        nft("add table inet dialtone_fault");
        Self::chain("in", "input");
        nft(&format!(
            "add rule inet dialtone_fault in meta l4proto udp numgen random mod 100 < {percent} drop"
        ));
        Blackout
    }

    fn chain(name: &str, hook: &str) {
        let out = Command::new("nft")
            .args(["add", "chain", "inet", "dialtone_fault", name])
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
        if target.starts_with("dialtone")
            || std::env::var("DIALTONE_FAULTS_LOG").as_deref() == Ok("all")
        {
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

/// One call placed and answered with `percent` % of UDP lost: the time from the answer
/// (the callee joins with its token) to audio decoded on both phones, or `None` if the call
/// failed to be placed or answered, or no audio flowed both ways within 10 s.
async fn call_under_loss(
    m: &MockServer,
    alice: &std::sync::Arc<Engine>,
    bob: &std::sync::Arc<Engine>,
    bob_id: &str,
) -> Option<Duration> {
    let placed = tokio::time::timeout(Duration::from_secs(10), alice.start_call(bob_id)).await;
    let Ok(Ok(placed)) = placed else {
        eprintln!(
            "[faults]   placing failed: {:?}",
            placed.map(|r| r.err().map(|e| e.to_string()))
        );
        let _ = alice.end_call().await;
        return None;
    };
    let token = common::push_token(m, "loss-b").await;
    timeline("answer");
    let answered_at = Instant::now();
    let joined = tokio::time::timeout(Duration::from_secs(10), bob.join_call(&token)).await;
    let result = match joined {
        Ok(Ok(joined)) => loop {
            let a = placed.timings().and_then(|t| t.first_audio);
            let b = joined.timings().and_then(|t| t.first_audio);
            if let (Some(a), Some(b)) = (a, b) {
                break Some(a.max(b).saturating_duration_since(answered_at));
            }
            if answered_at.elapsed() > Duration::from_secs(10) {
                let steps = |t: Option<dialtone::testing::Timings>| {
                    let t = t.unwrap_or_default();
                    let at = |i: Option<Instant>| {
                        i.zip(t.started)
                            .map(|(i, s)| format!("{}", i.saturating_duration_since(s).as_millis()))
                            .unwrap_or_else(|| "-".into())
                    };
                    format!(
                        "socket {} published {} ice {} dtls {} audio {}",
                        at(t.socket_open),
                        at(t.published),
                        at(t.ice_connected),
                        at(t.dtls_connected),
                        at(t.first_audio)
                    )
                };
                eprintln!(
                    "[faults]   no audio within 10 s (ms after each join): caller {}; callee {}",
                    steps(placed.timings()),
                    steps(joined.timings())
                );
                break None;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        },
        other => {
            eprintln!(
                "[faults]   answering failed: {:?}",
                other.map(|r| r.err().map(|e| e.to_string()))
            );
            None
        }
    };
    let _ = alice.end_call().await;
    let _ = bob.end_call().await;
    result
}

/// Call setup on a lossy link: `DIALTONE_LOSS_CALLS` calls (20 by default) at 10 % and at
/// 20 % UDP loss (ICE checks, DTLS flights, RTP and the data channel's SCTP all suffer it).
/// Prints how many connected and the answer-to-audio times; every call must connect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a loopback-only network namespace: scripts/test-faults.sh"]
async fn calls_connect_on_a_link_losing_10_and_20_percent_of_udp() {
    in_private_namespace();
    let calls: usize = std::env::var("DIALTONE_LOSS_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let m = mock().await;
    timeline("calls under loss");
    let dir = tempfile::tempdir().unwrap();
    let endpoints = Endpoints::mock(&m.base_url(), dialtone_mock::DEFAULT_API_KEY).unwrap();
    let rt = tokio::runtime::Handle::current();
    let alice = Engine::open(endpoints.clone(), &dir.path().join("a"), rt.clone()).unwrap();
    let bob = Engine::open(endpoints, &dir.path().join("b"), rt).unwrap();
    alice.register(PushKind::Fcm, "loss-a").await.unwrap();
    let bob_id = bob.register(PushKind::Fcm, "loss-b").await.unwrap();
    alice.audio().set_source(Source::Tone(440.0));
    bob.audio().set_source(Source::Tone(880.0));
    let mut failures = Vec::new();
    // `DIALTONE_LOSS_PERCENTS=30,40` probes heavier loss (a bench run, not CI's).
    let percents: Vec<u32> = std::env::var("DIALTONE_LOSS_PERCENTS")
        .ok()
        .map(|v| v.split(',').filter_map(|p| p.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10, 20]);
    for percent in percents {
        let loss = Blackout::udp_loss(percent);
        let mut times = Vec::new();
        let mut failed = 0;
        for _ in 0..calls {
            match call_under_loss(&m, &alice, &bob, &bob_id).await {
                Some(t) => times.push(t.as_secs_f64() * 1e3),
                None => failed += 1,
            }
        }
        drop(loss);
        times.sort_by(f64::total_cmp);
        let pct = |p: f64| {
            times
                .get(((times.len() as f64 - 1.0) * p).round() as usize)
                .copied()
                .unwrap_or(f64::NAN)
        };
        eprintln!(
            "[faults] {percent:>2} % UDP loss: {}/{calls} calls connected; answer → two-way audio p50 {:.0} ms, p90 {:.0} ms, max {:.0} ms",
            times.len(),
            pct(0.5),
            pct(0.9),
            pct(1.0)
        );
        if failed > 0 {
            failures.push(format!(
                "{failed} of {calls} calls failed at {percent} % loss"
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}
