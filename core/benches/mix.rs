//! The playout clock's work per 20 ms tick in a full room (prints figures; not a test): 15
//! remote voices, each with its own jitter buffer and Opus decoder, fed one packet a tick and
//! mixed. Budget: p99 ≤ 2 ms a tick (issue 24), a tenth of the tick.
//!   cargo bench -p dialtone --features testing --bench mix [-- VOICES]

use std::time::Instant;

use dialtone::testing::codec::Encoder;
use dialtone::testing::tone::ToneGenerator;
use dialtone::testing::{Mixer, Voices, FRAME_SAMPLES, FRAME_TIMESTAMP_STEP};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let voices_n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(15);
    // One second of each voice's tone, encoded once (the encoder is the far ends' cost).
    let packets: Vec<Vec<Vec<u8>>> = (0..voices_n)
        .map(|v| {
            let mut enc = Encoder::new().unwrap();
            let mut tone = ToneGenerator::new(300.0 + 97.0 * v as f32, 0.2);
            (0..50)
                .map(|_| {
                    let mut pcm = [0i16; FRAME_SAMPLES];
                    tone.fill(&mut pcm);
                    enc.encode(&pcm).unwrap().to_vec()
                })
                .collect()
        })
        .collect();
    let voices = Voices::default();
    let handles: Vec<_> = (0..voices_n)
        .map(|v| voices.add(&format!("stream-{v}")).unwrap())
        .collect();
    let mut mixer = Mixer::default();
    let (mut scratch, mut out) = ([0i16; FRAME_SAMPLES], [0i16; FRAME_SAMPLES]);
    let ticks = 3_000; // a minute of audio
    let warm = 100;
    let mut per_tick = Vec::with_capacity(ticks);
    let mut mix_only = Vec::with_capacity(ticks);
    for t in 0..ticks + warm {
        let started = Instant::now();
        for (v, voice) in handles.iter().enumerate() {
            let seq = (t as u16).wrapping_add(v as u16 * 1000);
            let ts = (t as u32).wrapping_mul(FRAME_TIMESTAMP_STEP);
            let at = t as f64 * 20.0 + (v % 5) as f64;
            voice
                .lock()
                .unwrap()
                .on_packet_at(seq, ts, &packets[v][t % 50], at);
        }
        let mixing = Instant::now();
        voices.mix_into(&mut mixer, &mut scratch);
        assert!(mixer.finish(&mut out) || t < 5);
        if t >= warm {
            mix_only.push(mixing.elapsed().as_secs_f64() * 1e3);
            per_tick.push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    for (what, mut s) in [
        ("receive + decode + mix", per_tick),
        ("decode + mix", mix_only),
    ] {
        s.sort_by(|a, b| a.total_cmp(b));
        println!(
            "{voices_n} voices, {what}, per 20 ms tick over {ticks} ticks: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms (budget p99 2 ms)",
            percentile(&s, 0.5),
            percentile(&s, 0.99),
            s[s.len() - 1]
        );
    }
}
