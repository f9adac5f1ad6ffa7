//! Sums the call's remote voices into the one frame the app plays, every 20 ms: each voice's
//! frame is added into a wide (32-bit) accumulator, so two loud voices never wrap; a limiter
//! then brings the sum back under full scale. A voice leaving is faded out over its last
//! frame instead of stopping mid-waveform (a click). Pure: no clock, no lock, no allocation.
//!
//! The limiter works per frame: when the sum would clip, the gain for the frame is the most
//! that keeps its peak under `CEILING`, reached by a ramp across the frame from the last frame's gain (so the gain never
//! jumps), and it recovers by at most `RELEASE_PER_FRAME` a frame (≈ 0.5 dB, 6 dB in a quarter
//! of a second) once the sum is quiet again. A sample the ramp has not yet brought under the
//! ceiling is clipped: the only clipping left is within the first frame of a sudden peak. A sum
//! that never exceeds full scale (one voice, or quiet voices) passes through unchanged: a 1:1
//! call hears exactly what its one decoder made.

use crate::media::{Frame, FRAME_SAMPLES};

/// A sum whose peak is over this would clip: the limiter engages.
const CLIP: f32 = 32_768.0;
/// The peak the limiter then keeps the mix under (−0.3 dBFS).
pub const CEILING: f32 = 31_650.0;
/// How far the gain may rise back towards 1 per frame.
pub const RELEASE_PER_FRAME: f32 = 0.06;

pub struct Mixer {
    acc: [i32; FRAME_SAMPLES],
    /// Voices added to this frame.
    inputs: usize,
    /// The limiter's gain at the end of the last frame (1.0 = not limiting).
    gain: f32,
}

impl Default for Mixer {
    fn default() -> Self {
        Self {
            acc: [0; FRAME_SAMPLES],
            inputs: 0,
            gain: 1.0,
        }
    }
}

impl Mixer {
    /// Starts the next frame's sum.
    pub fn start(&mut self) {
        self.acc.fill(0);
        self.inputs = 0;
    }

    /// Adds one voice's frame.
    pub fn add(&mut self, frame: &Frame) {
        for (a, &s) in self.acc.iter_mut().zip(frame.iter()) {
            *a += s as i32;
        }
        self.inputs += 1;
    }

    /// Adds a voice's last frame, faded linearly from full to nothing across the frame.
    pub fn add_fading_out(&mut self, frame: &Frame) {
        let n = FRAME_SAMPLES as i32;
        for (i, (a, &s)) in self.acc.iter_mut().zip(frame.iter()).enumerate() {
            *a += s as i32 * (n - 1 - i as i32) / n;
        }
        self.inputs += 1;
    }

    /// How many voices this frame's sum holds.
    #[cfg(test)]
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// The limiter's gain now.
    #[cfg(test)]
    pub fn gain(&self) -> f32 {
        self.gain
    }

    /// Writes the limited sum into `out`. Returns false (and writes silence) when no voice
    /// was added: every voice buffering, paused or gone.
    pub fn finish(&mut self, out: &mut Frame) -> bool {
        if self.inputs == 0 {
            out.fill(0);
            // Nothing to limit: the gain recovers as it would over a quiet frame.
            self.gain = (self.gain + RELEASE_PER_FRAME).min(1.0);
            return false;
        }
        let peak = self.acc.iter().map(|a| a.unsigned_abs()).max().unwrap_or(0) as f32;
        // Limiting starts only where the sum would clip (no single voice can), and then
        // aims a little under full scale.
        let wanted = if peak > CLIP { CEILING / peak } else { 1.0 };
        let end = if wanted < self.gain {
            wanted
        } else {
            (self.gain + RELEASE_PER_FRAME).min(wanted)
        };
        let start = self.gain;
        if start == 1.0 && end == 1.0 {
            for (o, &a) in out.iter_mut().zip(self.acc.iter()) {
                *o = a.clamp(i16::MIN as i32, i16::MAX as i32) as i16;
            }
        } else {
            let step = (end - start) / FRAME_SAMPLES as f32;
            for (i, (o, &a)) in out.iter_mut().zip(self.acc.iter()).enumerate() {
                let g = start + step * (i + 1) as f32;
                *o = (a as f32 * g).clamp(i16::MIN as f32, i16::MAX as f32) as i16;
            }
        }
        self.gain = end;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::tone::{relative_power, ToneGenerator};

    fn tone(freq: f32, amplitude: f32, gen: &mut Option<ToneGenerator>) -> Frame {
        let g = gen.get_or_insert_with(|| ToneGenerator::new(freq, amplitude));
        let mut f = [0; FRAME_SAMPLES];
        g.fill(&mut f);
        f
    }

    #[test]
    fn one_voice_passes_through_unchanged() {
        let mut m = Mixer::default();
        let mut gen = None;
        for _ in 0..10 {
            let f = tone(440.0, 0.99, &mut gen);
            m.start();
            m.add(&f);
            let mut out = [0; FRAME_SAMPLES];
            assert!(m.finish(&mut out));
            assert_eq!(out, f, "a single voice, even at full scale, is not touched");
        }
        assert_eq!(m.gain(), 1.0);
    }

    #[test]
    fn no_voice_is_silence_and_says_so() {
        let mut m = Mixer::default();
        m.start();
        let mut out = [7; FRAME_SAMPLES];
        assert!(!m.finish(&mut out));
        assert!(out.iter().all(|&s| s == 0));
    }

    #[test]
    fn two_voices_are_both_in_the_sum() {
        let (mut a, mut b) = (None, None);
        let mut m = Mixer::default();
        let mut out = [0; FRAME_SAMPLES];
        for _ in 0..5 {
            m.start();
            m.add(&tone(440.0, 0.3, &mut a));
            m.add(&tone(880.0, 0.3, &mut b));
            assert_eq!(m.inputs(), 2);
            assert!(m.finish(&mut out));
        }
        let (p440, p880) = (relative_power(&out, 440.0), relative_power(&out, 880.0));
        assert!(p440 > 0.2 && p880 > 0.2, "{p440} {p880}");
        assert_eq!(m.gain(), 1.0, "0.6 of full scale needs no limiting");
    }

    #[test]
    fn loud_voices_are_limited_without_wrapping_and_the_gain_recovers() {
        let mut m = Mixer::default();
        let mut out = [0; FRAME_SAMPLES];
        let loud = [30_000i16; FRAME_SAMPLES];
        let negative = [-30_000i16; FRAME_SAMPLES];
        // Three full-scale voices: an i16 sum would wrap to a negative value.
        for frame in 0..20 {
            m.start();
            for _ in 0..3 {
                m.add(if frame % 2 == 0 { &loud } else { &negative });
            }
            assert!(m.finish(&mut out));
            let sign = if frame % 2 == 0 { 1 } else { -1 };
            assert!(
                out.iter().all(|&s| s as i32 * sign > 0),
                "frame {frame}: the sum kept its sign"
            );
            assert!(out[FRAME_SAMPLES - 1].unsigned_abs() as f32 <= CEILING + 1.0);
        }
        let limited = m.gain();
        assert!((limited - CEILING / 90_000.0).abs() < 0.01, "{limited}");
        // Quiet again: the gain climbs back by at most `RELEASE_PER_FRAME` a frame, without
        // a jump within a frame.
        let mut previous = limited;
        let quiet = [1_000i16; FRAME_SAMPLES];
        for _ in 0..30 {
            m.start();
            m.add(&quiet);
            m.finish(&mut out);
            assert!(m.gain() - previous <= RELEASE_PER_FRAME + 1e-6);
            assert!(out.windows(2).all(|w| (w[0] - w[1]).abs() <= 2));
            previous = m.gain();
        }
        assert_eq!(m.gain(), 1.0);
        assert_eq!(out, quiet);
    }

    #[test]
    fn a_leaving_voice_fades_to_nothing_within_its_last_frame() {
        let mut m = Mixer::default();
        let voice = [20_000i16; FRAME_SAMPLES];
        m.start();
        m.add_fading_out(&voice);
        let mut out = [0; FRAME_SAMPLES];
        assert!(m.finish(&mut out));
        assert!(out[0] > 19_900);
        assert_eq!(out[FRAME_SAMPLES - 1], 0);
        assert!(out.windows(2).all(|w| w[0] >= w[1]), "a ramp down, no step");
    }
}
