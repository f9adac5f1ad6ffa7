//! How much the jitter buffer should hold, from how unevenly packets arrive. Each packet's
//! delay relative to its send time (RTP timestamp) is kept for the last `WINDOW` packets, in
//! a fixed ring (nothing allocated per packet). The target grows at once to cover a packet
//! that comes later than it covers (its delay above the window's earliest, plus one frame of
//! margin), and shrinks toward what covers the window's 95th percentile by one frame at most
//! every `SHRINK_EVERY` packets, so a burst of jitter is not forgotten the moment it ends.

/// Two seconds of 20 ms packets.
const WINDOW: usize = 100;
/// One frame less at most once a second.
const SHRINK_EVERY: u32 = 50;
pub const MIN_TARGET: usize = 2;
pub const MAX_TARGET: usize = 12;

pub struct DelayEstimator {
    /// Relative delay of each recent packet, ms.
    ring: [f64; WINDOW],
    len: usize,
    at: usize,
    target: usize,
    since_change: u32,
    /// Sorted copy of the window, reused.
    scratch: [f64; WINDOW],
}

impl Default for DelayEstimator {
    fn default() -> Self {
        Self {
            ring: [0.0; WINDOW],
            len: 0,
            at: 0,
            target: MIN_TARGET,
            since_change: 0,
            scratch: [0.0; WINDOW],
        }
    }
}

impl DelayEstimator {
    /// A packet arrived at `arrival_ms` (any fixed origin) carrying `rtp_timestamp` (48 kHz).
    /// Returns the target, in 20 ms frames.
    pub fn on_packet(&mut self, arrival_ms: f64, rtp_timestamp: u32) -> usize {
        let sent_ms = rtp_timestamp as f64 / 48.0;
        // Arrival minus send time: constant on a smooth path, whatever the clocks' origins.
        // (A timestamp wrap every ~24.8 h shifts it once: the window absorbs it in 2 s.)
        self.ring[self.at] = arrival_ms - sent_ms;
        self.at = (self.at + 1) % WINDOW;
        self.len = (self.len + 1).min(WINDOW);
        let window = &mut self.scratch[..self.len];
        window.copy_from_slice(&self.ring[..self.len]);
        window.sort_unstable_by(f64::total_cmp);
        let floor = window[0];
        let p95 = window[((self.len - 1) as f64 * 0.95).round() as usize];
        let frames =
            |late_ms: f64| ((late_ms / 20.0).ceil() as usize + 1).clamp(MIN_TARGET, MAX_TARGET);
        // Up: as soon as one packet comes later than the target covers. Down: toward what
        // covers 95 % of the window.
        let latest = self.ring[(self.at + WINDOW - 1) % WINDOW];
        let needed_now = frames(latest - floor);
        let wanted = frames(p95 - floor);
        self.since_change = self.since_change.saturating_add(1);
        if needed_now > self.target {
            self.target = needed_now;
            self.since_change = 0;
        } else if wanted < self.target && self.since_change >= SHRINK_EVERY {
            self.target -= 1;
            self.since_change = 0;
        }
        self.target
    }

    #[cfg(test)]
    pub fn target(&self) -> usize {
        self.target
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Packets sent every 20 ms, delayed by `extra(i)` ms; returns the target after each.
    fn feed(e: &mut DelayEstimator, from: u32, n: u32, extra: impl Fn(u32) -> f64) -> Vec<usize> {
        (from..from + n)
            .map(|i| e.on_packet(1_000.0 + 20.0 * i as f64 + extra(i), i * 960))
            .collect()
    }

    #[test]
    fn a_smooth_path_keeps_the_minimum() {
        let mut e = DelayEstimator::default();
        let t = feed(&mut e, 0, 500, |_| 0.0);
        assert!(t.iter().all(|t| *t == MIN_TARGET));
    }

    #[test]
    fn jitter_makes_it_grow_at_once_and_its_end_makes_it_shrink_slowly() {
        let mut e = DelayEstimator::default();
        feed(&mut e, 0, 100, |_| 0.0);
        // Every 4th packet 90 ms late: the target covers it within a few packets.
        let up = feed(&mut e, 100, 100, |i| if i % 4 == 0 { 90.0 } else { 0.0 });
        let reached = up
            .iter()
            .position(|t| *t >= 5)
            .expect("grows to cover 90 ms");
        assert!(reached < 10, "after {reached} packets: {up:?}");
        assert_eq!(e.target(), 6, "ceil(90 / 20) + 1");
        // Smooth again: one frame less per second at most, back to the minimum.
        let down = feed(&mut e, 200, 500, |_| 0.0);
        let first_drop = down.iter().position(|t| *t < 6).unwrap();
        assert!(first_drop >= 50, "held a while: {first_drop}");
        assert_eq!(*down.last().unwrap(), MIN_TARGET);
        for w in down.windows(2) {
            assert!(w[0] - w[1] <= 1, "one frame at a time");
        }
    }

    #[test]
    fn a_huge_delay_is_capped() {
        let mut e = DelayEstimator::default();
        let t = feed(&mut e, 0, 100, |i| if i % 2 == 0 { 2_000.0 } else { 0.0 });
        assert_eq!(*t.last().unwrap(), MAX_TARGET);
    }
}
