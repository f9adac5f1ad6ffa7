//! Where the app's audio meets the call: the app pushes captured PCM (microphone) and pulls
//! PCM to play (speaker), in any chunk size; the call takes and gives exact 20 ms frames.
//! Both sides are lock-free single-producer single-consumer rings allocated once, so the
//! app's audio thread (`push_capture`, `pull_playback`) never takes a lock or allocates.
//! Also holds mute, the test-tone source and the last half second of received audio for
//! level and frequency checks (those take locks, off the audio thread).

use std::sync::atomic::{AtomicBool, AtomicI16, AtomicU32, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::sync::lock;

use crate::media::drift;
use crate::media::tone::{relative_power, ToneGenerator};
use crate::media::{Frame, FRAME_SAMPLES, SAMPLE_RATE};

/// Half a second each way: enough to ride out scheduling hiccups and an app that moves
/// audio in large chunks.
pub const RING_SAMPLES: usize = SAMPLE_RATE as usize / 2;
/// A ring holding more than this (150 ms) when its consumer comes has fallen behind: the
/// app's audio device started after the call did, or a side stalled. The excess is dropped
/// at once, back to the drift compensation's target. Left to the compensation (0.5 % a
/// frame), 100 ms of excess would take 20 s to drain, all of it heard as delay. An app
/// moving audio in chunks up to 100 ms never reaches this level.
const STALE_LEVEL: usize = 150 * SAMPLE_RATE as usize / 1000;
const RECENT_FRAMES: usize = 25;

/// A single-producer single-consumer ring of samples, lock-free and allocation-free after
/// construction: the producer only moves `tail`, the consumer only moves `head`, and every
/// slot is an atomic, so even a misuse (two producers at once) garbles audio but is never
/// undefined behaviour. When full, the producer drops what does not fit; the consumer
/// skips to the newest audio when it finds the ring full, so a stall costs latency once,
/// not forever.
struct Ring {
    buf: Box<[AtomicI16]>,
    head: AtomicUsize,
    tail: AtomicUsize,
}

impl Ring {
    fn new(capacity: usize) -> Self {
        Self {
            buf: (0..capacity).map(|_| AtomicI16::new(0)).collect(),
            head: AtomicUsize::new(0),
            tail: AtomicUsize::new(0),
        }
    }

    fn len(&self) -> usize {
        let tail = self.tail.load(Ordering::Acquire);
        let head = self.head.load(Ordering::Acquire);
        tail.wrapping_sub(head).min(self.buf.len())
    }

    /// Producer side. Returns how many samples were stored.
    fn push(&self, samples: &[i16]) -> usize {
        let cap = self.buf.len();
        let tail = self.tail.load(Ordering::Relaxed);
        let head = self.head.load(Ordering::Acquire);
        let free = cap - tail.wrapping_sub(head).min(cap);
        let n = free.min(samples.len());
        for (i, &s) in samples[..n].iter().enumerate() {
            self.buf[tail.wrapping_add(i) % cap].store(s, Ordering::Relaxed);
        }
        self.tail.store(tail.wrapping_add(n), Ordering::Release);
        n
    }

    /// Consumer side: a ring holding more than `stale` has fallen behind (its consumer
    /// started late or stalled); keep only the newest `keep`.
    fn trim(&self, stale: usize, keep: usize) {
        if self.len() > stale {
            let tail = self.tail.load(Ordering::Acquire);
            self.head.store(
                tail.wrapping_sub(keep.min(self.buf.len())),
                Ordering::Release,
            );
        }
    }

    /// Consumer side: fills `out` completely if enough samples are buffered.
    fn take_exact(&self, out: &mut [i16]) -> bool {
        if self.len() < out.len() {
            return false;
        }
        self.take_into(out);
        true
    }

    /// Consumer side: takes up to `out.len()` samples; the rest of `out` is silence.
    /// Returns how many were real audio.
    fn take_into(&self, out: &mut [i16]) -> usize {
        let cap = self.buf.len();
        let head = self.head.load(Ordering::Relaxed);
        let n = self.len().min(out.len());
        for (i, o) in out.iter_mut().enumerate().take(n) {
            *o = self.buf[head.wrapping_add(i) % cap].load(Ordering::Relaxed);
        }
        out[n..].fill(0);
        self.head.store(head.wrapping_add(n), Ordering::Release);
        n
    }
}

/// What the call sends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Source {
    /// PCM the app pushes with `push_capture`.
    App,
    /// A generated sine at this frequency (tests, demo, "can you hear me" checks).
    Tone(f32),
}

pub struct AudioBridge {
    capture: Ring,
    playback: Ring,
    source: Mutex<(Source, Option<ToneGenerator>)>,
    /// The app allows DTX (`DialtoneClient::set_dtx_enabled`); sent only if the far end
    /// also asks for it.
    dtx_allowed: AtomicBool,
    recent: Mutex<(Vec<Frame>, usize)>,
    local_level: AtomicU32,
    remote_level: AtomicU32,
    /// Room for a frame plus the drift adjustment, one per clock (`media::drift`); locked
    /// only by the call's own clocks, never by the app's audio thread.
    capture_scratch: Mutex<drift::Scratch>,
    playback_scratch: Mutex<drift::Scratch>,
}

impl Default for AudioBridge {
    fn default() -> Self {
        Self::new()
    }
}

impl AudioBridge {
    pub fn new() -> Self {
        Self {
            capture: Ring::new(RING_SAMPLES),
            playback: Ring::new(RING_SAMPLES),
            source: Mutex::new((Source::App, None)),
            dtx_allowed: AtomicBool::new(true),
            recent: Mutex::new((vec![[0; FRAME_SAMPLES]; RECENT_FRAMES], 0)),
            local_level: AtomicU32::new(0),
            remote_level: AtomicU32::new(0),
            capture_scratch: Mutex::new([0; FRAME_SAMPLES + drift::MAX_STEP]),
            playback_scratch: Mutex::new([0; FRAME_SAMPLES + drift::MAX_STEP]),
        }
    }

    pub fn set_source(&self, source: Source) {
        let tone = match source {
            Source::Tone(f) => Some(ToneGenerator::new(f, 0.3)),
            Source::App => None,
        };
        *lock(&self.source) = (source, tone);
    }

    pub fn set_dtx_allowed(&self, allowed: bool) {
        self.dtx_allowed.store(allowed, Ordering::Relaxed);
    }

    pub fn dtx_allowed(&self) -> bool {
        self.dtx_allowed.load(Ordering::Relaxed)
    }

    /// The app's microphone samples (48 kHz mono), any amount at a time, from one thread.
    /// No lock, no allocation.
    pub fn push_capture(&self, samples: &[i16]) {
        self.capture.push(samples);
    }

    /// Fills `out` with samples to play, from one thread; silence where none are buffered.
    /// Returns how many were real audio. No lock, no allocation.
    pub fn pull_playback(&self, out: &mut [i16]) -> usize {
        self.playback
            .trim(STALE_LEVEL, drift::TARGET_LEVEL + out.len());
        self.playback.take_into(out)
    }

    /// The next frame to send (called by the send clock every 20 ms); silence while the
    /// call sending it is `muted` (the call owns its mute, not the bridge).
    pub(crate) fn next_capture_frame(&self, out: &mut Frame, muted: bool) {
        {
            let mut source = lock(&self.source);
            match &mut source.1 {
                Some(tone) => tone.fill(out),
                None => {
                    self.capture
                        .trim(STALE_LEVEL, drift::TARGET_LEVEL + FRAME_SAMPLES);
                    // A few samples more or fewer than a frame, so the ring stays near its
                    // target whatever the device clock's drift.
                    let want = drift::samples_to_take(self.capture.len());
                    let mut scratch = lock(&self.capture_scratch);
                    if self.capture.take_exact(&mut scratch[..want]) {
                        drift::resample(&scratch[..want], out);
                    } else {
                        out.fill(0);
                    }
                }
            }
        }
        if muted {
            out.fill(0);
        }
        self.local_level
            .store(crate::media::level(out).to_bits(), Ordering::Relaxed);
    }

    /// A decoded frame from the far end (called by the playout clock every 20 ms).
    pub(crate) fn deliver_playback_frame(&self, frame: &Frame) {
        {
            let give = drift::samples_to_give(self.playback.len());
            let mut scratch = lock(&self.playback_scratch);
            drift::resample(frame, &mut scratch[..give]);
            self.playback.push(&scratch[..give]);
        }
        self.remote_level
            .store(crate::media::level(frame).to_bits(), Ordering::Relaxed);
        let mut recent = lock(&self.recent);
        let idx = recent.1 % RECENT_FRAMES;
        recent.0[idx].copy_from_slice(frame);
        recent.1 += 1;
    }

    pub fn local_level(&self) -> f32 {
        f32::from_bits(self.local_level.load(Ordering::Relaxed))
    }

    pub fn remote_level(&self) -> f32 {
        f32::from_bits(self.remote_level.load(Ordering::Relaxed))
    }

    /// Which of `candidates` dominates the last half second of received audio, if any.
    pub fn dominant_remote_frequency(&self, candidates: &[f32]) -> Option<f32> {
        let recent = lock(&self.recent);
        let frames = recent.1.min(RECENT_FRAMES);
        if frames == 0 {
            return None;
        }
        let mut votes = vec![0usize; candidates.len()];
        for frame in recent.0.iter().take(frames) {
            if crate::media::level(frame) < 0.01 {
                continue;
            }
            let best = candidates
                .iter()
                .enumerate()
                .map(|(i, f)| (i, relative_power(frame, *f)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((i, p)) = best {
                if p > 0.25 {
                    votes[i] += 1;
                }
            }
        }
        let (i, v) = votes.iter().enumerate().max_by_key(|(_, v)| **v)?;
        (*v * 2 >= frames).then(|| candidates[i])
    }

    /// Every one of `candidates` present in at least half of the last half second's voiced
    /// frames (a mix of several tones has each at a share of the power: a pure one is near
    /// 0.5, each of k equal tones near 0.5/k; a candidate counts over half its share were
    /// they all sounding, and never needs more than 0.1).
    pub fn remote_frequencies(&self, candidates: &[f32]) -> Vec<f32> {
        let recent = lock(&self.recent);
        let frames = recent.1.min(RECENT_FRAMES);
        let voiced: Vec<&Frame> = recent
            .0
            .iter()
            .take(frames)
            .filter(|f| crate::media::level(&f[..]) >= 0.01)
            .collect();
        if voiced.len() * 2 < frames.max(1) {
            return Vec::new();
        }
        // A lone sine measures 0.5 (`relative_power`); k equal tones 0.5/k each. A tone counts
        // at half its share if every candidate sounded (0.1 up to 2 candidates, as before).
        let threshold = (0.25 / candidates.len().max(1) as f32).min(0.1);
        candidates
            .iter()
            .copied()
            .filter(|&f| {
                let hits = voiced
                    .iter()
                    .filter(|fr| relative_power(&fr[..], f) > threshold)
                    .count();
                hits * 2 >= voiced.len()
            })
            .collect()
    }

    /// Poisons the received-audio lock, as a panic on the playout clock would (tests).
    #[cfg(test)]
    pub(crate) fn poison_for_test(&self) {
        let recent = &self.recent;
        let _ = std::thread::scope(|s| {
            s.spawn(|| {
                let _held = recent.lock();
                panic!("a bug while the lock is held");
            })
            .join()
        });
    }

    /// Forgets received audio (a new call starts clean).
    pub(crate) fn reset_remote(&self) {
        lock(&self.recent).1 = 0;
        self.remote_level.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_ring_hands_out_exact_frames_and_drops_oldest_when_full() {
        let bridge = AudioBridge::new();
        let mut frame = [1i16; FRAME_SAMPLES];
        bridge.next_capture_frame(&mut frame, false);
        assert!(frame.iter().all(|&s| s == 0), "no capture yet: silence");
        bridge.push_capture(&vec![7; FRAME_SAMPLES / 2]);
        bridge.push_capture(&vec![8; FRAME_SAMPLES]);
        bridge.next_capture_frame(&mut frame, false);
        assert_eq!(frame[0], 7);
        assert_eq!(frame[FRAME_SAMPLES - 1], 8);
        // More than fits: what fits is kept, the rest dropped, and the send clock skips to
        // the newest audio instead of lagging half a second behind: back to its target.
        bridge.push_capture(&vec![3; RING_SAMPLES + 10]);
        assert_eq!(bridge.capture.len(), RING_SAMPLES);
        bridge.next_capture_frame(&mut frame, false);
        assert_eq!(frame[0], 3);
        assert_eq!(bridge.capture.len(), drift::TARGET_LEVEL);
    }

    #[test]
    fn an_app_that_starts_pulling_late_hears_the_newest_audio_not_a_backlog() {
        let b = AudioBridge::new();
        // The call has played out 300 ms before the app's audio device started.
        for i in 0..15 {
            b.deliver_playback_frame(&[i; FRAME_SAMPLES]);
        }
        assert!(b.playback.len() > STALE_LEVEL);
        let mut out = [0i16; FRAME_SAMPLES];
        assert_eq!(b.pull_playback(&mut out), FRAME_SAMPLES);
        // What is left is the target (40 ms), ending with the newest frame.
        assert_eq!(b.playback.len(), drift::TARGET_LEVEL);
        assert_eq!(
            out[0], 11,
            "the first frame played is about 60 ms old, not 300"
        );
        // Below the stale level nothing is dropped (an app moving 100 ms chunks).
        let b = AudioBridge::new();
        for _ in 0..7 {
            b.deliver_playback_frame(&[1; FRAME_SAMPLES]);
        }
        let before = b.playback.len();
        assert!(before < STALE_LEVEL);
        let mut chunk = vec![0i16; 4800];
        assert_eq!(b.pull_playback(&mut chunk), 4800);
        assert_eq!(b.playback.len(), before - 4800);
    }

    #[test]
    fn the_rings_wrap_and_keep_order_across_threads() {
        let ring = std::sync::Arc::new(Ring::new(1000));
        let producer = ring.clone();
        let t = std::thread::spawn(move || {
            let mut next = 0i16;
            while next < 20_000 {
                let chunk: Vec<i16> = (next..next.saturating_add(37).min(20_000)).collect();
                let n = producer.push(&chunk);
                next += n as i16;
                if n == 0 {
                    std::thread::yield_now();
                }
            }
        });
        let mut expect = 0i16;
        let mut out = [0i16; 50];
        while expect < 20_000 {
            let n = ring.take_into(&mut out);
            for &s in &out[..n] {
                assert_eq!(s, expect);
                expect += 1;
            }
        }
        t.join().unwrap();
    }

    #[test]
    fn mute_sends_silence_and_tone_source_is_detectable() {
        let a = AudioBridge::new();
        a.set_source(Source::Tone(880.0));
        let b = AudioBridge::new();
        let mut frame = [0i16; FRAME_SAMPLES];
        for _ in 0..RECENT_FRAMES {
            a.next_capture_frame(&mut frame, false);
            b.deliver_playback_frame(&frame);
        }
        assert!(a.local_level() > 0.1);
        assert_eq!(b.dominant_remote_frequency(&[440.0, 880.0]), Some(880.0));
        assert_eq!(b.remote_frequencies(&[440.0, 660.0, 880.0]), [880.0]);
        // A mix of two tones: both are heard, the third candidate is not.
        let (mut t440, mut t660) = (
            ToneGenerator::new(440.0, 0.3),
            ToneGenerator::new(660.0, 0.3),
        );
        let (mut x, mut y) = ([0i16; FRAME_SAMPLES], [0i16; FRAME_SAMPLES]);
        for _ in 0..RECENT_FRAMES {
            t440.fill(&mut x);
            t660.fill(&mut y);
            for (x, y) in x.iter_mut().zip(y.iter()) {
                *x += *y;
            }
            b.deliver_playback_frame(&x);
        }
        assert_eq!(b.remote_frequencies(&[440.0, 660.0, 880.0]), [440.0, 660.0]);
        a.next_capture_frame(&mut frame, true);
        assert!(frame.iter().all(|&s| s == 0));
        assert_eq!(a.local_level(), 0.0);
        for _ in 0..RECENT_FRAMES {
            b.deliver_playback_frame(&frame);
        }
        assert_eq!(b.dominant_remote_frequency(&[440.0, 880.0]), None);
    }

    #[test]
    fn playback_pull_pads_with_silence() {
        let b = AudioBridge::new();
        b.deliver_playback_frame(&[5; FRAME_SAMPLES]);
        let mut out = vec![9i16; FRAME_SAMPLES + 10];
        // An empty ring is below its target: the first frame is stretched by the most the
        // drift compensation does (0.5 %).
        assert_eq!(b.pull_playback(&mut out), FRAME_SAMPLES + drift::MAX_STEP);
        assert_eq!(out[0], 5);
        assert_eq!(out[FRAME_SAMPLES + 5], 0);
    }
}
