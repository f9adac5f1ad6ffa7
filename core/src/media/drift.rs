//! Clock drift between the app's audio device and the call's 20 ms clocks. The device's
//! sample clock and the host's monotonic clock are never quite equal (0.1–0.5 % is common):
//! left alone, the capture ring would slowly fill (growing mouth-to-ear delay, then a jump
//! when it overflows) or run dry (a missing frame every few seconds), and the playback ring
//! likewise. The call's clocks stay in charge (ADR 0009) and each ring is held near a target
//! level: per 20 ms frame the call takes from (or gives to) the ring a few samples more or
//! fewer than 960, resampled to exactly one frame by linear interpolation — at most 0.5 %,
//! a pitch change nobody hears. Fixed buffers only: nothing allocated per frame.

use super::FRAME_SAMPLES;

/// At most this many samples more or fewer per frame (0.5 %: the drift to absorb).
pub const MAX_STEP: usize = 5;
/// The ring level the compensation holds: two frames (40 ms).
pub const TARGET_LEVEL: usize = 2 * FRAME_SAMPLES;
/// Within this of the target, nothing is adjusted (the app's own chunking moves the level).
const DEAD_BAND: usize = FRAME_SAMPLES;

/// How many samples to take from a ring holding `level` to make one frame: more when the
/// ring is above its target (the producer runs fast), fewer when below. (`level` is counted
/// before the take, so the band sits a frame higher than the playback side's.)
pub fn samples_to_take(level: usize) -> usize {
    FRAME_SAMPLES + step(level.saturating_sub(TARGET_LEVEL + DEAD_BAND))
        - step(TARGET_LEVEL.saturating_sub(level))
}

/// How many samples to put into a ring holding `level` for one frame: fewer when the ring is
/// above its target (the consumer runs slow), more when below.
pub fn samples_to_give(level: usize) -> usize {
    FRAME_SAMPLES - step(level.saturating_sub(TARGET_LEVEL + DEAD_BAND))
        + step((TARGET_LEVEL.saturating_sub(DEAD_BAND)).saturating_sub(level))
}

/// One sample of adjustment per 96 samples (2 ms) of error, up to `MAX_STEP`.
fn step(error: usize) -> usize {
    (error / 96 + usize::from(error > 0)).min(MAX_STEP)
}

/// Resamples `input` (any length near a frame) to exactly `out.len()` samples, by linear
/// interpolation between the first and last sample.
pub fn resample(input: &[i16], out: &mut [i16]) {
    if input.len() == out.len() {
        out.copy_from_slice(input);
        return;
    }
    if input.is_empty() {
        out.fill(0);
        return;
    }
    let last = (input.len() - 1) as f64;
    let scale = if out.len() > 1 {
        last / (out.len() - 1) as f64
    } else {
        0.0
    };
    for (i, o) in out.iter_mut().enumerate() {
        let x = i as f64 * scale;
        let j = x.floor() as usize;
        let frac = x - j as f64;
        let a = input[j] as f64;
        let b = input[(j + 1).min(input.len() - 1)] as f64;
        *o = (a + (b - a) * frac).round() as i16;
    }
}

/// A frame plus room for the adjustment: the scratch space both directions use.
pub type Scratch = [i16; FRAME_SAMPLES + MAX_STEP];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_the_target_a_frame_is_a_frame() {
        for level in [TARGET_LEVEL, TARGET_LEVEL + DEAD_BAND] {
            assert_eq!(samples_to_take(level), FRAME_SAMPLES);
        }
        for level in [
            TARGET_LEVEL - DEAD_BAND,
            TARGET_LEVEL,
            TARGET_LEVEL + DEAD_BAND,
        ] {
            assert_eq!(samples_to_give(level), FRAME_SAMPLES);
        }
        assert_eq!(samples_to_take(0), FRAME_SAMPLES - MAX_STEP);
        assert_eq!(samples_to_take(24_000), FRAME_SAMPLES + MAX_STEP);
        assert_eq!(samples_to_give(24_000), FRAME_SAMPLES - MAX_STEP);
        assert_eq!(samples_to_give(0), FRAME_SAMPLES + MAX_STEP);
    }

    #[test]
    fn resampling_keeps_the_ends_and_a_tone() {
        let input: Vec<i16> = (0..965).map(|i| (i * 10) as i16).collect();
        let mut out = [0i16; FRAME_SAMPLES];
        resample(&input, &mut out);
        assert_eq!((out[0], out[FRAME_SAMPLES - 1]), (0, 9640));
        let mut tone = [0i16; FRAME_SAMPLES + 3];
        crate::media::tone::ToneGenerator::new(440.0, 0.5).fill(&mut tone);
        resample(&tone, &mut out);
        assert!(crate::media::tone::relative_power(&out, 440.0) > 0.4);
    }

    /// Ten simulated minutes with the device 0.5 % fast and 0.5 % slow, both rings: the
    /// level (the added delay) stays within a few frames of the target, the consumer never
    /// runs dry, and nothing overflows.
    #[test]
    fn a_device_clock_half_a_percent_off_never_drifts_away() {
        for ppm in [5_000i64, -5_000] {
            // Capture: the device produces 960 × (1 + drift) samples per 20 ms, in 10 ms
            // chunks; the call takes `samples_to_take` per frame.
            let mut level: i64 = 0;
            let mut produced_frac = 0i64;
            let mut max_level = 0;
            for frame in 0..30_000 {
                for _ in 0..2 {
                    produced_frac += 480 * (1_000_000 + ppm);
                    level += produced_frac / 1_000_000;
                    produced_frac %= 1_000_000;
                }
                if frame < 2 {
                    continue; // the first frames fill the ring
                }
                let take = samples_to_take(level as usize) as i64;
                assert!(
                    level >= take,
                    "capture ran dry at frame {frame} ({ppm} ppm)"
                );
                level -= take;
                max_level = max_level.max(level);
            }
            assert!(
                max_level < 5 * FRAME_SAMPLES as i64,
                "{ppm} ppm: {max_level}"
            );

            // Playback: the call gives `samples_to_give` per frame; the device takes
            // 960 × (1 + drift) per 20 ms in 10 ms chunks.
            let mut level: i64 = TARGET_LEVEL as i64;
            let mut consumed_frac = 0i64;
            let mut max_level = 0;
            for frame in 0..30_000 {
                level += samples_to_give(level as usize) as i64;
                for _ in 0..2 {
                    consumed_frac += 480 * (1_000_000 + ppm);
                    let want = consumed_frac / 1_000_000;
                    consumed_frac %= 1_000_000;
                    assert!(
                        level >= want,
                        "playback ran dry at frame {frame} ({ppm} ppm)"
                    );
                    level -= want;
                }
                max_level = max_level.max(level);
            }
            assert!(
                max_level < 5 * FRAME_SAMPLES as i64,
                "{ppm} ppm: {max_level}"
            );
        }
    }
}
