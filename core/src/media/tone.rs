//! Test tones: a sine generator (a PCM source for tests and the demo) and a detector that
//! tells which of a few candidate frequencies dominates the received audio (Goertzel).

use std::f32::consts::TAU;

use super::SAMPLE_RATE;

pub struct ToneGenerator {
    step: f32,
    phase: f32,
    amplitude: f32,
}

impl ToneGenerator {
    /// `amplitude` is a fraction of full scale.
    pub fn new(freq_hz: f32, amplitude: f32) -> Self {
        Self {
            step: TAU * freq_hz / SAMPLE_RATE as f32,
            phase: 0.0,
            amplitude: amplitude.clamp(0.0, 1.0),
        }
    }

    pub fn fill(&mut self, out: &mut [i16]) {
        for s in out.iter_mut() {
            *s = (self.phase.sin() * self.amplitude * i16::MAX as f32) as i16;
            self.phase = (self.phase + self.step) % TAU;
        }
    }
}

/// Power of `freq_hz` in `samples`, normalised by the block's energy: near 0.5 for a pure
/// tone at that frequency, near 0 when it is absent.
pub fn relative_power(samples: &[i16], freq_hz: f32) -> f32 {
    let n = samples.len() as f32;
    if samples.is_empty() {
        return 0.0;
    }
    let coeff = 2.0 * (TAU * freq_hz / SAMPLE_RATE as f32).cos();
    let (mut s1, mut s2, mut energy) = (0.0f32, 0.0f32, 0.0f32);
    for &x in samples {
        let x = x as f32 / i16::MAX as f32;
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
        energy += x * x;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    if energy <= f32::EPSILON {
        return 0.0;
    }
    power / (energy * n)
}

/// Counts, frame by frame, which candidate frequency dominates.
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
pub struct ToneDetector {
    candidates: Vec<f32>,
    hits: Vec<u32>,
    frames: u32,
}

#[cfg_attr(not(feature = "testing"), allow(dead_code))]
impl ToneDetector {
    pub fn new(candidates: &[f32]) -> Self {
        Self {
            candidates: candidates.to_vec(),
            hits: vec![0; candidates.len()],
            frames: 0,
        }
    }

    pub fn push(&mut self, frame: &[i16]) {
        self.frames += 1;
        if super::level(frame) < 0.01 {
            return;
        }
        let mut best = (0.0f32, None);
        for (i, &f) in self.candidates.iter().enumerate() {
            let p = relative_power(frame, f);
            if p > best.0 {
                best = (p, Some(i));
            }
        }
        if let (p, Some(i)) = best {
            if p > 0.25 {
                self.hits[i] += 1;
            }
        }
    }

    /// The candidate that dominated at least a third of the frames seen, if any.
    pub fn detected(&self) -> Option<f32> {
        let (i, &hits) = self.hits.iter().enumerate().max_by_key(|(_, h)| **h)?;
        (self.frames > 0 && hits * 3 >= self.frames).then(|| self.candidates[i])
    }

    pub fn frames(&self) -> u32 {
        self.frames
    }

    pub fn reset(&mut self) {
        self.hits.iter_mut().for_each(|h| *h = 0);
        self.frames = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::FRAME_SAMPLES;

    #[test]
    fn detects_the_generated_frequency_and_not_the_other() {
        for (freq, other) in [(440.0, 880.0), (880.0, 440.0)] {
            let mut gen = ToneGenerator::new(freq, 0.3);
            let mut frame = [0i16; FRAME_SAMPLES];
            gen.fill(&mut frame);
            assert!(relative_power(&frame, freq) > 0.4, "{freq}");
            assert!(relative_power(&frame, other) < 0.05, "{other}");
            let mut det = ToneDetector::new(&[440.0, 880.0]);
            for _ in 0..10 {
                gen.fill(&mut frame);
                det.push(&frame);
            }
            assert_eq!(det.detected(), Some(freq));
        }
    }

    #[test]
    fn silence_detects_nothing() {
        let mut det = ToneDetector::new(&[440.0]);
        for _ in 0..10 {
            det.push(&[0; FRAME_SAMPLES]);
        }
        assert_eq!(det.detected(), None);
    }
}
