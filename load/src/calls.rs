//! Many concurrent two-party calls through the mock's SFU, over real WebRTC: each call is two
//! full clients (the core's `Engine`: REST, v3 signaling, webrtc-rs, Opus tones), placed a
//! few at a time, held for the steady phase, then hung up. The figures are the SFU's own
//! (every forwarded copy's outcome and delay) and what the receivers counted.

use std::time::{Duration, Instant};

use dialtone::testing::{CallUpdate, Endpoints, Engine, PushKind, Source, UpdateKind};
use dialtone_mock::forwarding::ForwardingReport;
use dialtone_mock::MockServer;
use futures_util::stream::{self, StreamExt};

pub struct Options {
    pub calls: usize,
    pub seconds: u64,
}

pub struct Report {
    pub calls: usize,
    pub connected: usize,
    pub setup: Duration,
    pub steady: Duration,
    pub sfu: ForwardingReport,
    /// Packets every receiver counted, and those it counted as lost (sequence gaps).
    pub received: u64,
    pub lost_at_receivers: u64,
    pub cpu_share: f64,
    pub rss_mib: f64,
    pub left_over: (usize, usize),
}

/// How many calls are being set up at once.
const SETUP_AT_ONCE: usize = 4;

pub async fn run(m: &MockServer, opts: &Options) -> Result<Report, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let endpoints = Endpoints::mock(&m.base_url(), dialtone_mock::DEFAULT_API_KEY)
        .map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Handle::current();
    let mut engines = Vec::new();
    for i in 0..opts.calls * 2 {
        let e = Engine::open(
            endpoints.clone(),
            &dir.path().join(i.to_string()),
            rt.clone(),
        )
        .map_err(|e| format!("client {i}: {e}"))?;
        e.audio()
            .set_source(Source::Tone(if i % 2 == 0 { 440.0 } else { 880.0 }));
        engines.push(e);
    }
    let ids: Vec<String> = stream::iter(engines.iter().enumerate())
        .map(|(i, e)| async move { e.register(PushKind::Fcm, &format!("load-{i}")).await })
        .buffered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(|e| format!("register: {e}"))?;

    let started = Instant::now();
    let placed = stream::iter(0..opts.calls)
        .map(|c| {
            let (caller, callee) = (&engines[2 * c], &engines[2 * c + 1]);
            let callee_id = ids[2 * c + 1].clone();
            async move {
                let a = caller
                    .start_call(&callee_id)
                    .await
                    .map_err(|e| e.to_string())?;
                let token = m
                    .with_state(|s| {
                        s.devices
                            .get(&callee_id)
                            .and_then(|d| d.participant_token.clone())
                    })
                    .unwrap_or_default();
                let b = callee.join_call(&token).await.map_err(|e| e.to_string())?;
                Ok::<_, String>((a, b))
            }
        })
        .buffer_unordered(SETUP_AT_ONCE)
        .collect::<Vec<_>>()
        .await;
    let mut handles = Vec::new();
    for p in placed {
        handles.push(p.map_err(|e| format!("a call could not be set up: {e}"))?);
    }
    // Every call hears both ways before the steady phase starts.
    let deadline = Instant::now() + Duration::from_secs(30 + opts.calls as u64 / 2);
    let connected = loop {
        let n = handles
            .iter()
            .filter(|(a, b)| {
                a.timings().and_then(|t| t.first_audio).is_some()
                    && b.timings().and_then(|t| t.first_audio).is_some()
            })
            .count();
        if n == handles.len() || Instant::now() > deadline {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let setup = started.elapsed();
    if connected < handles.len() {
        return Err(format!(
            "only {connected} of {} calls had two-way audio after {setup:?}",
            handles.len()
        ));
    }

    // The steady phase: nothing but media.
    let queues: Vec<_> = engines.iter().map(|e| e.calls().subscribe()).collect();
    m.reset_forwarding();
    let (cpu0, t0) = (crate::process::cpu_time(), Instant::now());
    tokio::time::sleep(Duration::from_secs(opts.seconds)).await;
    let sfu = m.forwarding();
    let steady = t0.elapsed();
    let cpu_share = (crate::process::cpu_time() - cpu0).as_secs_f64() / steady.as_secs_f64();
    let rss_mib = crate::process::rss_mib();
    let (mut received, mut lost_at_receivers) = (0, 0);
    for q in &queues {
        let mut last = None;
        while let Some(CallUpdate { kind, .. }) = q.pop_now() {
            if let UpdateKind::Stats(s) = kind {
                last = Some(s);
            }
        }
        if let Some(s) = last {
            received += s.packets_received;
            lost_at_receivers += s.packets_lost;
        }
    }

    for e in &engines {
        let _ = e.end_call().await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while m.media_counts() != (0, 0) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let left_over = m.media_counts();
    for e in &engines {
        e.shutdown();
    }
    Ok(Report {
        calls: opts.calls,
        connected,
        setup,
        steady,
        sfu,
        received,
        lost_at_receivers,
        cpu_share,
        rss_mib,
        left_over,
    })
}

impl Report {
    pub fn print(&self) {
        let s = &self.sfu;
        let per_s = |n: u64| n as f64 / self.steady.as_secs_f64();
        println!(
            "{} concurrent two-party calls ({} with two-way audio, set up in {:.1} s), steady for {:.0} s",
            self.calls,
            self.connected,
            self.setup.as_secs_f64(),
            self.steady.as_secs_f64()
        );
        println!(
            "  SFU: {} packets in ({:.0}/s), {} copies out of {} expected: {} lost",
            s.packets_in,
            per_s(s.packets_in),
            s.copies_written,
            s.copies_expected,
            s.copies_lost
        );
        println!(
            "  SFU forwarding delay per copy (read → written, 5 µs buckets): p50 ≤ {} µs, p99 ≤ {} µs, p99.9 ≤ {} µs, max {:.2} ms",
            s.p50_us,
            s.p99_us,
            s.p999_us,
            s.max_us as f64 / 1e3
        );
        println!(
            "  receivers: {} packets, {} counted lost (sequence gaps, whole call)",
            self.received, self.lost_at_receivers
        );
        println!(
            "  whole process (mock + {} clients): {:.0}% of one core, RSS {:.0} MiB; after hang-up the SFU holds {:?}",
            self.calls * 2,
            self.cpu_share * 100.0,
            self.rss_mib,
            self.left_over
        );
    }

    /// What must hold whatever the machine: no copy lost, everything released.
    pub fn check(&self) -> Result<(), String> {
        if self.sfu.copies_lost > 0 {
            return Err(format!("the SFU lost {} copies", self.sfu.copies_lost));
        }
        if self.sfu.packets_in == 0 {
            return Err("nothing was forwarded".into());
        }
        if self.left_over != (0, 0) {
            return Err(format!("the SFU still holds {:?}", self.left_over));
        }
        Ok(())
    }
}
