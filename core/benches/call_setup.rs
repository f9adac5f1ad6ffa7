//! Call-setup and memory benchmark (prints figures; not a test). Run:
//!   cargo bench -p dialtone --bench call_setup            (30 calls, 100 memory cycles)
//!   cargo bench -p dialtone --bench call_setup -- 5 10    (calls, memory cycles)
//!
//! Setup is measured from `start_call` to two-way audio decoded on both phones, split into
//! steps on the caller's side (REST, WebSocket, publish negotiation, ICE+DTLS, first audio).
//! The floor is two bare webrtc-rs peers in one process, same settings, no signaling.
//! Memory is the process RSS before and after the call cycles, and the heap really in use
//! (a counting allocator: RSS also moves with the allocator's own keeping).
// Tests spawn directly; the core spawns through its `task` module (core/clippy.toml).
#![allow(clippy::disallowed_methods)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use dialtone::testing::codec::Encoder;
use dialtone::testing::peer::{self, IcePolicy, PeerEvent, OPUS_PAYLOAD_TYPE};
use dialtone::testing::PushKind;
use dialtone::testing::Source;
use dialtone::testing::{Endpoints, Engine};
use dialtone::testing::{FRAME_SAMPLES, FRAME_TIMESTAMP_STEP};
use dialtone_mock::{MockServer, Profile};
use rtc::peer_connection::sdp::RTCSessionDescription;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::TrackRemoteEvent;

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/heap.rs"]
mod heap;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

struct Sample {
    total: f64,
    rest: f64,
    socket: f64,
    publish: f64,
    ice_dtls: f64,
    first_audio_caller: f64,
}

async fn one_call(
    m: &MockServer,
    alice: &Arc<Engine>,
    bob: &Arc<Engine>,
    bob_id: &str,
    bob_push: &str,
) -> Sample {
    let t0 = Instant::now();
    let placed = alice.start_call(bob_id).await.expect("start_call");
    let rest_and_join = t0.elapsed();
    let token = common::push_token(m, bob_push).await;
    let joined = bob.join_call(&token).await.expect("join_call");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let a = placed.timings().and_then(|t| t.first_audio);
        let b = joined.timings().and_then(|t| t.first_audio);
        if let (Some(_), Some(_)) = (a, b) {
            break;
        }
        assert!(Instant::now() < deadline, "no two-way audio within 10 s");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let at = placed.timings().unwrap();
    let bt = joined.timings().unwrap();
    let both = at.first_audio.unwrap().max(bt.first_audio.unwrap());
    let started = at.started.unwrap();
    let sample = Sample {
        total: ms(both - t0),
        rest: ms(started - t0),
        socket: ms(at.socket_open.unwrap() - started),
        publish: ms(at.published.unwrap() - at.socket_open.unwrap()),
        ice_dtls: at
            .dtls_connected
            .map(|d| ms(d.saturating_duration_since(at.published.unwrap())))
            .unwrap_or(f64::NAN),
        first_audio_caller: ms(at.first_audio.unwrap() - started),
    };
    let _ = rest_and_join;
    alice.end_call().await.unwrap();
    bob.end_call().await.unwrap();
    sample
}

/// Call cycles before the memory baseline is taken.
const WARM_CYCLES: usize = 20;

async fn floor_once() -> f64 {
    let t0 = Instant::now();
    let (a, mut a_rx) = peer::build_with(&IcePolicy::loopback(), false)
        .await
        .unwrap();
    let (b, mut b_rx) = peer::build_with(&IcePolicy::loopback(), false)
        .await
        .unwrap();
    let track = peer::audio_track("floor", 42);
    a.add_track(track.clone()).await.unwrap();
    let offer = a.create_offer(None).await.unwrap();
    a.set_local_description(offer).await.unwrap();
    while !matches!(a_rx.recv().await, Some(PeerEvent::GatheringComplete)) {}
    let offer = a.local_description().await.unwrap();
    b.set_remote_description(RTCSessionDescription::offer(offer.sdp).unwrap())
        .await
        .unwrap();
    let answer = b.create_answer(None).await.unwrap();
    b.set_local_description(answer).await.unwrap();
    let remote = loop {
        match b_rx.recv().await {
            Some(PeerEvent::GatheringComplete) => break None,
            Some(PeerEvent::Track(t)) => break Some(t),
            Some(_) => {}
            None => panic!("peer B gone"),
        }
    };
    let answer = b.local_description().await.unwrap();
    a.set_remote_description(RTCSessionDescription::answer(answer.sdp).unwrap())
        .await
        .unwrap();
    let sender = tokio::spawn(async move {
        let mut enc = Encoder::new().unwrap();
        let pcm = [0i16; FRAME_SAMPLES];
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        for i in 0u32.. {
            tick.tick().await;
            let payload = Bytes::copy_from_slice(enc.encode(&pcm).unwrap());
            let header = rtc::rtp::Header {
                version: 2,
                payload_type: OPUS_PAYLOAD_TYPE,
                sequence_number: i as u16,
                timestamp: i * FRAME_TIMESTAMP_STEP,
                ssrc: 42,
                ..Default::default()
            };
            if track
                .write_rtp(rtc::rtp::Packet { header, payload })
                .await
                .is_err()
            {
                return;
            }
        }
    });
    let remote = match remote {
        Some(t) => t,
        None => loop {
            if let Some(PeerEvent::Track(t)) = b_rx.recv().await {
                break t;
            }
        },
    };
    while let Some(ev) = remote.poll().await {
        if matches!(ev, TrackRemoteEvent::OnRtpPacket(_)) {
            break;
        }
    }
    let elapsed = ms(t0.elapsed());
    sender.abort();
    let _ = a.close().await;
    let _ = b.close().await;
    elapsed
}

fn summary(name: &str, mut v: Vec<f64>) {
    v.retain(|x| x.is_finite());
    v.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{name:<34} p50 {:>7.1} ms   p95 {:>7.1} ms   (n={})",
        percentile(&v, 0.5),
        percentile(&v, 0.95),
        v.len()
    );
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let calls = args.first().copied().unwrap_or(30);
    let cycles = args.get(1).copied().unwrap_or(100);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let m = common::mock_on(Profile::Seed).await;
        let dir = tempfile::tempdir().unwrap();
        let endpoints = Endpoints::mock(&m.base_url(), dialtone_mock::DEFAULT_API_KEY).unwrap();
        let rt = tokio::runtime::Handle::current();
        let alice = Engine::open(endpoints.clone(), &dir.path().join("a"), rt.clone()).unwrap();
        let bob = Engine::open(endpoints, &dir.path().join("b"), rt).unwrap();
        alice.register(PushKind::Fcm, "bench-a").await.unwrap();
        let bob_id = bob.register(PushKind::Fcm, "bench-b").await.unwrap();
        alice.audio().set_source(Source::Tone(440.0));
        bob.audio().set_source(Source::Tone(880.0));

        // One warm-up call: first-use costs (TLS config, codec tables) are not setup time.
        one_call(&m, &alice, &bob, &bob_id, "bench-b").await;
        let mut samples = Vec::new();
        for _ in 0..calls {
            samples.push(one_call(&m, &alice, &bob, &bob_id, "bench-b").await);
        }
        let mut floor = Vec::new();
        for _ in 0..calls {
            floor.push(floor_once().await);
        }
        println!("call setup on loopback, {calls} calls (start_call → two-way audio decoded on both phones)");
        summary("total: two-way audio", samples.iter().map(|s| s.total).collect());
        summary("  caller REST initiateCall", samples.iter().map(|s| s.rest).collect());
        summary("  caller WebSocket open", samples.iter().map(|s| s.socket).collect());
        summary("  caller publish negotiation", samples.iter().map(|s| s.publish).collect());
        summary("  caller ICE + DTLS", samples.iter().map(|s| s.ice_dtls).collect());
        summary("  caller join → first audio", samples.iter().map(|s| s.first_audio_caller).collect());
        summary("floor: bare peers → first RTP", floor);

        // The call table's retained calls and the allocator's arenas fill during the first
        // cycles; growth is measured from there, with the first figure printed too.
        let start = common::rss_kib();
        for _ in 0..WARM_CYCLES {
            one_call(&m, &alice, &bob, &bob_id, "bench-b").await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = common::rss_kib();
        let heap_before = heap::heap_kib();
        let mut halfway = 0;
        for i in 0..cycles {
            one_call(&m, &alice, &bob, &bob_id, "bench-b").await;
            if i + 1 == cycles / 2 {
                halfway = common::rss_kib();
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let after = common::rss_kib();
        let heap_after = heap::heap_kib();
        println!(
            "memory: RSS {start} KiB at the start, {before} KiB after {WARM_CYCLES} warm-up cycles, {halfway} KiB halfway, {after} KiB after {cycles} more: growth {} KiB",
            after as i64 - before as i64
        );
        println!(
            "heap in use: {heap_before} KiB after the warm-up, {heap_after} KiB after {cycles} more: growth {} KiB",
            heap_after as i64 - heap_before as i64
        );
        m.shutdown().await;
    });
}
