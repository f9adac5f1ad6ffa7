//! Soak benchmark: one long call whose two phones' audio devices run off the call's clock
//! (prints figures; not a test). Run:
//!   cargo bench -p dialtone --bench call_soak            (600 s)
//!   cargo bench -p dialtone --bench call_soak -- 60      (seconds)
//!
//! Alice's microphone clock runs 0.5 % fast (960 samples every 19.9 ms) and Bob's speaker
//! clock 0.5 % slow (960 samples every 20.1 ms), each on a thread of its own with an absolute
//! schedule, as an app's audio callbacks would. Alice sends a 40 ms 1 kHz burst every 2 s of
//! her own samples, silence between; Bob's side finds each burst's onset in what it plays.
//! Printed: mouth-to-ear per minute (it must not grow: the drift compensation of ADR 0009
//! holds both rings near 40 ms), bursts missing or broken by a gap (underruns), and the
//! process RSS at the start and the end, beside the heap the program really holds (a
//! counting allocator): a heap that grows is a leak; RSS that grows over a flat heap is the
//! allocator's own keeping.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dialtone::AudioSource;
use dialtone_mock::{MockConfig, Profile};

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/heap.rs"]
mod heap;
use heap::{blocks_by_class, heap_kib};

const RATE: f64 = 48_000.0;
const FRAME: usize = 960;
const BURST: usize = 1_920;
const EVERY: usize = 96_000;

/// Sleeps until `due` (a thread of its own: an audio callback's schedule).
fn sleep_until(due: Instant) {
    if let Some(wait) = due.checked_duration_since(Instant::now()) {
        std::thread::sleep(wait);
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let seconds: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(600);
    let m = common::start_mock(MockConfig {
        profile: Profile::Seed,
        ..MockConfig::default()
    })
    .await;
    let c = common::connected_call(&m).await;
    c.alice.set_audio_source(AudioSource::Microphone);
    c.bob.set_audio_source(AudioSource::Microphone);
    // The bursts are a steady tone, which Opus's voice detector takes for silence: with DTX
    // the frame after a burst goes out as DTX and is decoded as concealment that extends
    // the tone (heard here as a burst "broken by a gap"). DTX is for speech; this bench is
    // about the device clocks, so it sends every frame.
    c.alice.set_dtx_enabled(false);
    c.bob.set_dtx_enabled(false);
    let rss_start = common::rss_kib();
    let heap_start = heap_kib();
    let mut blocks_after_first_minute = Vec::new();
    let t0 = Instant::now() + Duration::from_millis(100);
    let stop = Arc::new(AtomicBool::new(false));

    // Alice's microphone, 0.5 % fast: frame k is captured at t0 + k · 19.9 ms.
    let sent: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let mic = {
        let (alice, sent, stop) = (c.alice.clone(), sent.clone(), stop.clone());
        std::thread::spawn(move || {
            let period = Duration::from_secs_f64(0.020 / 1.005);
            let mut bytes = vec![0u8; FRAME * 2];
            for k in 0usize.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let at = t0 + period * k as u32;
                sleep_until(at);
                for (i, b) in bytes.chunks_exact_mut(2).enumerate() {
                    let n = k * FRAME + i;
                    let s = if n % EVERY < BURST {
                        ((n as f64 * 2.0 * std::f64::consts::PI * 1000.0 / RATE).sin() * 8000.0)
                            as i16
                    } else {
                        0
                    };
                    b.copy_from_slice(&s.to_le_bytes());
                }
                if (k * FRAME).is_multiple_of(EVERY) {
                    sent.lock().unwrap().push(at);
                }
                alice.push_capture_pcm(&bytes);
            }
        })
    };

    // Bob's speaker, 0.5 % slow: frame k is played at t0 + k · 20.1 ms.
    let heard: Arc<Mutex<Vec<(Instant, bool)>>> = Arc::default();
    let speaker = {
        let (bob, heard, stop) = (c.bob.clone(), heard.clone(), stop.clone());
        std::thread::spawn(move || {
            let period = Duration::from_secs_f64(0.020 * 1.005);
            // Inside a burst: since when, and whether a silent gap broke it.
            let mut burst: Option<(Instant, usize, bool)> = None;
            for k in 0usize.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let at = t0 + period * k as u32;
                sleep_until(at);
                let played = bob.pull_playback_pcm(FRAME as u32);
                for (i, b) in played.chunks_exact(2).enumerate() {
                    let loud = i16::from_le_bytes([b[0], b[1]]).unsigned_abs() > 2000;
                    let when = at + Duration::from_secs_f64(i as f64 / RATE);
                    burst = match burst {
                        None if loud => Some((when, 0, false)),
                        None => None,
                        // A burst is over after 20 ms of silence; a silent stretch of more
                        // than 2 ms inside it (a sine crosses zero for far less) is a gap.
                        Some((start, quiet, broken)) if loud => {
                            Some((start, 0, broken || quiet > 96))
                        }
                        Some((start, quiet, broken)) if quiet + 1 > FRAME => {
                            heard.lock().unwrap().push((start, broken));
                            None
                        }
                        Some((start, quiet, broken)) => Some((start, quiet + 1, broken)),
                    };
                }
            }
        })
    };

    let minutes = seconds.div_ceil(60);
    for minute in 0..minutes {
        let span = (seconds - minute * 60).min(60);
        tokio::time::sleep(Duration::from_secs(span)).await;
        println!(
            "{:>4} s: RSS {} KiB, heap {} KiB, bursts heard {}",
            (minute * 60 + span),
            common::rss_kib(),
            heap_kib(),
            heard.lock().unwrap().len()
        );
        if minute == 0 {
            blocks_after_first_minute = blocks_by_class();
        }
    }
    let heap_end = heap_kib();
    let blocks_end = blocks_by_class();
    stop.store(true, Ordering::Relaxed);
    let _ = mic.join();
    let _ = speaker.join();
    let rss_end = common::rss_kib();
    let _ = c.alice.end_call().await;
    let _ = c.bob.end_call().await;

    // Each burst sent is matched with the first burst heard after it and before the next.
    let sent = sent.lock().unwrap().clone();
    let heard = heard.lock().unwrap().clone();
    let mut delays: Vec<(f64, f64)> = Vec::new();
    let (mut missing, mut broken) = (0usize, 0usize);
    for (i, s) in sent.iter().enumerate() {
        let next = sent.get(i + 1).copied();
        match heard
            .iter()
            .find(|(h, _)| h > s && next.is_none_or(|n| *h < n + Duration::from_millis(500)))
        {
            Some((h, gap)) => {
                delays.push((
                    s.duration_since(t0).as_secs_f64(),
                    h.duration_since(*s).as_secs_f64() * 1e3,
                ));
                broken += usize::from(*gap);
            }
            None => missing += 1,
        }
    }
    // The last burst may not have arrived before the end.
    missing = missing.saturating_sub(1);
    let mean = |from: f64, to: f64| {
        let v: Vec<f64> = delays
            .iter()
            .filter(|(t, _)| *t >= from && *t < to)
            .map(|(_, d)| *d)
            .collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    let total = seconds as f64;
    println!();
    println!(
        "{seconds} s call, Alice's microphone 0.5 % fast, Bob's speaker 0.5 % slow: {} bursts sent, {} heard",
        sent.len(),
        delays.len()
    );
    println!(
        "  mouth-to-ear: first minute {:.1} ms, last minute {:.1} ms (growth {:+.1} ms); max {:.1} ms",
        mean(0.0, 60.0),
        mean(total - 60.0, total),
        mean(total - 60.0, total) - mean(0.0, 60.0),
        delays.iter().map(|(_, d)| *d).fold(0.0, f64::max)
    );
    let per_minute: Vec<String> = (0..seconds.div_ceil(60))
        .map(|m| format!("{:.0}", mean(m as f64 * 60.0, (m as f64 + 1.0) * 60.0)))
        .collect();
    println!("  mouth-to-ear per minute, ms: {}", per_minute.join(", "));
    println!("  underruns: {missing} bursts missing, {broken} broken by a gap");
    println!(
        "  RSS {rss_start} KiB at the start, {rss_end} KiB at the end ({:+} KiB)",
        rss_end as i64 - rss_start as i64
    );
    println!(
        "  heap in use {heap_start} KiB at the start, {heap_end} KiB at the end ({:+} KiB)",
        heap_end as i64 - heap_start as i64
    );
    let grown: Vec<String> = blocks_end
        .iter()
        .zip(&blocks_after_first_minute)
        .enumerate()
        .filter(|(_, (end, first))| end != first)
        .map(|(c, (end, first))| {
            format!(
                "{}..{} B: {:+}",
                (1usize << c) >> 1,
                1usize << c,
                *end as i64 - *first as i64
            )
        })
        .collect();
    println!(
        "  live blocks by size since the first minute: {}",
        if grown.is_empty() {
            "unchanged".to_string()
        } else {
            grown.join(", ")
        }
    );
}
