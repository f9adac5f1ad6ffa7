//! Where the app's audio meets the call: the app pushes captured PCM (microphone) and pulls
//! PCM to play (speaker), in any chunk size; the call takes and gives exact 20 ms frames.
//! Both sides are fixed-capacity rings allocated once. Also holds mute, the test-tone source
//! and the last half second of received audio for level and frequency checks.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;

use crate::media::tone::{relative_power, ToneGenerator};
use crate::media::{Frame, FRAME_SAMPLES, SAMPLE_RATE};

/// Half a second each way: enough to ride out scheduling hiccups, small enough that a
/// stalled app costs little latency (the oldest audio is dropped first).
pub const RING_SAMPLES: usize = SAMPLE_RATE as usize / 2;
const RECENT_FRAMES: usize = 25;

struct Ring {
    buf: Box<[i16]>,
    start: usize,
    len: usize,
}

impl Ring {
    fn new(capacity: usize) -> Self {
        Self {
            buf: vec![0; capacity].into_boxed_slice(),
            start: 0,
            len: 0,
        }
    }

    fn push(&mut self, samples: &[i16]) {
        let cap = self.buf.len();
        // More than fits: only the newest `cap` samples matter.
        let samples = &samples[samples.len().saturating_sub(cap)..];
        for &s in samples {
            if self.len == cap {
                self.start = (self.start + 1) % cap;
                self.len -= 1;
            }
            let idx = (self.start + self.len) % cap;
            self.buf[idx] = s;
            self.len += 1;
        }
    }

    /// Fills `out` completely if enough samples are buffered; returns whether it did.
    fn take_exact(&mut self, out: &mut [i16]) -> bool {
        if self.len < out.len() {
            return false;
        }
        self.take_into(out);
        true
    }

    /// Takes up to `out.len()` samples; the rest of `out` is silence. Returns samples taken.
    fn take_into(&mut self, out: &mut [i16]) -> usize {
        let n = self.len.min(out.len());
        let cap = self.buf.len();
        for (i, o) in out.iter_mut().enumerate().take(n) {
            *o = self.buf[(self.start + i) % cap];
        }
        out[n..].fill(0);
        self.start = (self.start + n) % cap;
        self.len -= n;
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
    capture: Mutex<Ring>,
    playback: Mutex<Ring>,
    source: Mutex<(Source, Option<ToneGenerator>)>,
    muted: AtomicBool,
    recent: Mutex<(Vec<Frame>, usize)>,
    local_level: AtomicU32,
    remote_level: AtomicU32,
}

impl Default for AudioBridge {
    fn default() -> Self {
        Self::new()
    }
}

impl AudioBridge {
    pub fn new() -> Self {
        Self {
            capture: Mutex::new(Ring::new(RING_SAMPLES)),
            playback: Mutex::new(Ring::new(RING_SAMPLES)),
            source: Mutex::new((Source::App, None)),
            muted: AtomicBool::new(false),
            recent: Mutex::new((vec![[0; FRAME_SAMPLES]; RECENT_FRAMES], 0)),
            local_level: AtomicU32::new(0),
            remote_level: AtomicU32::new(0),
        }
    }

    pub fn set_source(&self, source: Source) {
        let tone = match source {
            Source::Tone(f) => Some(ToneGenerator::new(f, 0.3)),
            Source::App => None,
        };
        *self.source.lock().expect("source lock") = (source, tone);
    }

    pub fn set_muted(&self, muted: bool) {
        self.muted.store(muted, Ordering::Relaxed);
    }

    pub fn is_muted(&self) -> bool {
        self.muted.load(Ordering::Relaxed)
    }

    /// The app's microphone samples (48 kHz mono), any amount at a time.
    pub fn push_capture(&self, samples: &[i16]) {
        self.capture.lock().expect("capture lock").push(samples);
    }

    /// Fills `out` with samples to play; silence where none are buffered. Returns how many
    /// were real audio.
    pub fn pull_playback(&self, out: &mut [i16]) -> usize {
        self.playback.lock().expect("playback lock").take_into(out)
    }

    /// The next frame to send (called by the send clock every 20 ms).
    pub(crate) fn next_capture_frame(&self, out: &mut Frame) {
        {
            let mut source = self.source.lock().expect("source lock");
            match &mut source.1 {
                Some(tone) => tone.fill(out),
                None => {
                    if !self.capture.lock().expect("capture lock").take_exact(out) {
                        out.fill(0);
                    }
                }
            }
        }
        if self.is_muted() {
            out.fill(0);
        }
        self.local_level
            .store(crate::media::level(out).to_bits(), Ordering::Relaxed);
    }

    /// A decoded frame from the far end (called by the playout clock every 20 ms).
    pub(crate) fn deliver_playback_frame(&self, frame: &Frame) {
        self.playback.lock().expect("playback lock").push(frame);
        self.remote_level
            .store(crate::media::level(frame).to_bits(), Ordering::Relaxed);
        let mut recent = self.recent.lock().expect("recent lock");
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
        let recent = self.recent.lock().expect("recent lock");
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

    /// Forgets received audio (a new call starts clean).
    pub(crate) fn reset_remote(&self) {
        let mut recent = self.recent.lock().expect("recent lock");
        recent.1 = 0;
        self.playback
            .lock()
            .expect("playback lock")
            .take_into(&mut []);
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
        bridge.next_capture_frame(&mut frame);
        assert!(frame.iter().all(|&s| s == 0), "no capture yet: silence");
        bridge.push_capture(&vec![7; FRAME_SAMPLES / 2]);
        bridge.push_capture(&vec![8; FRAME_SAMPLES]);
        bridge.next_capture_frame(&mut frame);
        assert_eq!(frame[0], 7);
        assert_eq!(frame[FRAME_SAMPLES - 1], 8);
        bridge.push_capture(&vec![3; RING_SAMPLES + 10]);
        bridge.next_capture_frame(&mut frame);
        assert_eq!(frame[0], 3);
    }

    #[test]
    fn mute_sends_silence_and_tone_source_is_detectable() {
        let a = AudioBridge::new();
        a.set_source(Source::Tone(880.0));
        let b = AudioBridge::new();
        let mut frame = [0i16; FRAME_SAMPLES];
        for _ in 0..RECENT_FRAMES {
            a.next_capture_frame(&mut frame);
            b.deliver_playback_frame(&frame);
        }
        assert!(a.local_level() > 0.1);
        assert_eq!(b.dominant_remote_frequency(&[440.0, 880.0]), Some(880.0));
        a.set_muted(true);
        a.next_capture_frame(&mut frame);
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
        assert_eq!(b.pull_playback(&mut out), FRAME_SAMPLES);
        assert_eq!(out[0], 5);
        assert_eq!(out[FRAME_SAMPLES + 5], 0);
    }
}
