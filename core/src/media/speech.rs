//! Who is speaking, from decoded levels (Bandwidth's gateway says nothing of it, so the device
//! decides, the same on both profiles): a 200 ms window is voiced when its RMS level is above
//! −45 dBFS, and a voice is speaking while at least 2 of its last 3 windows were voiced, so a
//! breath or a click does not start it and a short pause does not stop it. Pure: fed one
//! frame's level every 20 ms by the voice that owns it.

/// Frames (20 ms) per window.
pub const WINDOW_FRAMES: u8 = 10;
/// −45 dBFS as an RMS level (full scale 1.0).
pub const THRESHOLD: f32 = 0.005_623_413;

#[derive(Debug, Clone, Default)]
pub struct Speech {
    /// Sum of squared frame levels in the window being filled, and its frame count.
    energy: f32,
    frames: u8,
    /// The last three windows, newest in bit 0: voiced or not.
    windows: u8,
    speaking: bool,
}

impl Speech {
    /// One frame's RMS level (0.0 to 1.0; 0.0 for a frame not played). Returns whether the
    /// speaking state changed with it (at a window's end only).
    pub fn push(&mut self, level: f32) -> bool {
        self.energy += level * level;
        self.frames += 1;
        if self.frames < WINDOW_FRAMES {
            return false;
        }
        let rms = (self.energy / self.frames as f32).sqrt();
        self.energy = 0.0;
        self.frames = 0;
        self.windows = ((self.windows << 1) | u8::from(rms > THRESHOLD)) & 0b111;
        let speaking = self.windows.count_ones() >= 2;
        let changed = speaking != self.speaking;
        self.speaking = speaking;
        changed
    }

    pub fn is_speaking(&self) -> bool {
        self.speaking
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds whole windows at `levels` (one level per window) and returns the state after each.
    fn run(levels: &[f32]) -> Vec<bool> {
        let mut s = Speech::default();
        levels
            .iter()
            .map(|&l| {
                for _ in 0..WINDOW_FRAMES {
                    s.push(l);
                }
                s.is_speaking()
            })
            .collect()
    }

    const LOUD: f32 = 0.05; // −26 dBFS
    const QUIET: f32 = 0.003; // −50 dBFS

    #[test]
    fn two_voiced_windows_of_three_start_and_keep_it() {
        let table: [(&[f32], &[bool]); 6] = [
            // One voiced window (a click) is not speech.
            (&[LOUD, QUIET, QUIET], &[false, false, false]),
            // Two in a row start it, at the second window's end.
            (&[LOUD, LOUD, QUIET], &[false, true, true]),
            // Two of three with a gap start it too.
            (&[LOUD, QUIET, LOUD], &[false, false, true]),
            // A one-window pause in speech keeps it; two quiet windows of three stop it.
            (
                &[LOUD, LOUD, QUIET, LOUD, QUIET, QUIET],
                &[false, true, true, true, false, false],
            ),
            // Below the threshold is silence, however long.
            (&[QUIET; 5], &[false; 5]),
            // Just over and just under −45 dBFS.
            (
                &[0.0057, 0.0057, 0.0055, 0.0055],
                &[false, true, true, false],
            ),
        ];
        for (levels, expect) in table {
            assert_eq!(run(levels), expect, "{levels:?}");
        }
    }

    #[test]
    fn a_window_is_its_rms_and_a_change_is_reported_once_at_a_window_end() {
        let mut s = Speech::default();
        // Half a window at a level that alone would be voiced, half silent: RMS 0.007 > 0.0056.
        let mut changes = 0;
        for round in 0..3 {
            for f in 0..WINDOW_FRAMES {
                let level = if f < WINDOW_FRAMES / 2 { 0.01 } else { 0.0 };
                if s.push(level) {
                    changes += 1;
                    assert_eq!((round, f), (1, WINDOW_FRAMES - 1));
                }
            }
        }
        assert!(s.is_speaking());
        assert_eq!(changes, 1);
    }
}
