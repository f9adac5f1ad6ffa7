//! The encoder's bitrate, adapted once a second to loss and to a queue building on the path,
//! after Google Congestion Control (draft-ietf-rmcat-gcc-02), which Chrome runs:
//! - **delay:** a standing queue (the path's one-way delay above its base, `QueueDelay`)
//!   means the sender is above what a bottleneck carries: the rate falls by 15 % (GCC's β)
//!   before the queue overflows into loss;
//! - **loss:** above 10 % the rate falls in proportion to the loss, below 2 % (and with no
//!   queue) it climbs back — by 8 % a second, or by 1 kbit/s only for ten seconds after a
//!   back-off for delay, so it settles just under the bottleneck instead of sawing into it;
//!   in between it holds.
//!
//! It starts at 40 kbit/s (libopus alone would pick about 51 kbit/s for 48 kHz mono, more
//! than a 50 kbit/s link carries with its headers; Chrome starts at 32 kbit/s).

/// Where every call starts, and the most it climbs to.
pub const START_BPS: u32 = 40_000;
/// The least it falls to: Opus still codes wideband speech (SILK) here.
pub const MIN_BPS: u32 = 12_000;
/// A queue this deep (ms) is a bottleneck the sender overruns: back off.
pub const QUEUE_HIGH_MS: f64 = 40.0;
/// Below this (ms) the path has room: the rate may climb.
pub const QUEUE_LOW_MS: f64 = 15.0;
/// Seconds after a back-off for delay during which the rate climbs by 1 kbit/s a second.
const CAREFUL_SECS: u32 = 10;

/// The loss-based rule alone: the next target from the previous one and the fraction of
/// packets (0.0–1.0) lost over the last interval.
pub fn next_bitrate(previous: u32, loss: f64) -> u32 {
    let loss = loss.clamp(0.0, 1.0);
    let next = if loss > 0.10 {
        (previous as f64 * (1.0 - 0.5 * loss)) as u32
    } else if loss < 0.02 {
        (previous as f64 * 1.08) as u32 + 1_000
    } else {
        previous
    };
    next.clamp(MIN_BPS, START_BPS)
}

/// The sender's target bitrate, updated once a second from loss and queueing delay.
pub struct RateController {
    rate: u32,
    /// Seconds since the last back-off for delay (saturating).
    since_backoff: u32,
}

impl Default for RateController {
    fn default() -> Self {
        Self {
            rate: START_BPS,
            since_backoff: u32::MAX,
        }
    }
}

impl RateController {
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// One interval's figures: the fraction of packets lost (0.0–1.0) and the standing queue
    /// in ms (`None` while unknown). Returns the new target in bit/s.
    pub fn update(&mut self, loss: f64, queue_ms: Option<f64>) -> u32 {
        self.since_backoff = self.since_backoff.saturating_add(1);
        let queue = queue_ms.unwrap_or(0.0);
        let next = if queue >= QUEUE_HIGH_MS {
            self.since_backoff = 0;
            (self.rate as f64 * 0.85) as u32
        } else {
            let by_loss = next_bitrate(self.rate, loss);
            if by_loss > self.rate && queue >= QUEUE_LOW_MS {
                self.rate
            } else if by_loss > self.rate && self.since_backoff < CAREFUL_SECS {
                self.rate + 1_000
            } else {
                by_loss
            }
        };
        self.rate = next.clamp(MIN_BPS, START_BPS);
        self.rate
    }
}

/// The standing queue on a path, from each packet's transit time (arrival minus RTP send
/// time, any fixed origin): the least transit of the last second above the least of the
/// last ten. Taking each second's minimum ignores jitter (a few early packets a second are
/// enough) and sees only a delay every packet suffers — a queue. Fixed arrays: nothing is
/// allocated per packet.
pub struct QueueDelay {
    interval_min: f64,
    mins: [f64; Self::WINDOW],
    len: usize,
    at: usize,
}

impl Default for QueueDelay {
    fn default() -> Self {
        Self {
            interval_min: f64::INFINITY,
            mins: [0.0; Self::WINDOW],
            len: 0,
            at: 0,
        }
    }
}

impl QueueDelay {
    /// Seconds of history for the path's base delay.
    const WINDOW: usize = 10;
    /// A jump this large (ms) is not a queue but a new clock origin (the far end restarted
    /// its stream): history starts again.
    const RESYNC_MS: f64 = 2_000.0;

    pub fn on_transit(&mut self, transit_ms: f64) {
        self.interval_min = self.interval_min.min(transit_ms);
    }

    /// Closes the interval (call once a second): the queue in ms, or `None` when no packet
    /// came in it.
    pub fn end_interval(&mut self) -> Option<f64> {
        let min = std::mem::replace(&mut self.interval_min, f64::INFINITY);
        if !min.is_finite() {
            return None;
        }
        let base = self.mins[..self.len].iter().copied().fold(min, f64::min);
        if (min - base).abs() > Self::RESYNC_MS {
            self.len = 0;
            self.at = 0;
        }
        self.mins[self.at] = min;
        self.at = (self.at + 1) % Self::WINDOW;
        self.len = (self.len + 1).min(Self::WINDOW);
        let base = self.mins[..self.len].iter().copied().fold(min, f64::min);
        Some(min - base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heavy_loss_lowers_the_rate_light_loss_holds_it_none_raises_it() {
        assert_eq!(next_bitrate(32_000, 0.20), 28_800, "× (1 − 0.5 · 0.2)");
        assert_eq!(
            next_bitrate(START_BPS, 0.0),
            START_BPS,
            "never above the start"
        );
        assert_eq!(next_bitrate(20_000, 0.05), 20_000, "2–10 %: hold");
        assert_eq!(next_bitrate(20_000, 0.0), 22_600, "× 1.08 + 1 kbit/s");
    }

    #[test]
    fn the_rate_stays_between_its_floor_and_its_start() {
        let mut c = RateController::default();
        for _ in 0..100 {
            c.update(0.6, None);
        }
        assert_eq!(c.rate(), MIN_BPS);
        for _ in 0..100 {
            c.update(0.0, Some(0.0));
        }
        assert_eq!(c.rate(), START_BPS);
    }

    /// A bottleneck of `cap` bit/s of payload with a 100 ms queue, fed by the controller for
    /// `secs` seconds: returns (rate, queue ms, loss) per second.
    fn bottleneck(cap: f64, secs: usize) -> Vec<(u32, f64, f64)> {
        let mut c = RateController::default();
        let (mut queue_bits, max_queue_bits) = (0.0f64, cap * 0.1);
        let (mut loss, mut queue_ms) = (0.0, None);
        (0..secs)
            .map(|_| {
                let rate = c.update(loss, queue_ms) as f64;
                let arriving = queue_bits + rate;
                let kept = arriving.min(cap + max_queue_bits);
                loss = (arriving - kept) / rate;
                queue_bits = (kept - cap).max(0.0);
                queue_ms = Some(queue_bits / cap * 1000.0);
                (rate as u32, queue_bits / cap * 1000.0, loss)
            })
            .collect()
    }

    /// The queue is seen before it overflows: the rate settles under the cap with the queue
    /// short and (after the first seconds) no loss, where the loss rule alone sat at the
    /// edge of overflow.
    #[test]
    fn a_capped_link_settles_the_rate_under_the_cap_with_a_short_queue() {
        let cap = 26_000.0;
        let run = bottleneck(cap, 120);
        let settled = &run[30..];
        assert!(
            settled
                .iter()
                .all(|(r, _, _)| *r as f64 <= cap * 1.1 && *r as f64 >= cap * 0.7),
            "{settled:?}"
        );
        let mean_queue = settled.iter().map(|(_, q, _)| q).sum::<f64>() / settled.len() as f64;
        assert!(mean_queue < QUEUE_HIGH_MS, "{mean_queue} ms: {settled:?}");
        let lost = settled.iter().filter(|(_, _, l)| *l > 0.0).count();
        assert!(lost <= 3, "{lost} seconds with loss: {settled:?}");
        // The loss rule alone keeps the queue full.
        let mut rate = START_BPS;
        let mut queue_bits = 0.0f64;
        for _ in 0..60 {
            let arriving = queue_bits + rate as f64;
            let kept = arriving.min(cap * 1.1);
            rate = next_bitrate(rate, (arriving - kept) / rate as f64);
            queue_bits = (kept - cap).max(0.0);
        }
        assert!(queue_bits / cap * 1000.0 > QUEUE_HIGH_MS);
    }

    #[test]
    fn the_queue_is_each_seconds_least_delay_above_the_base() {
        let mut q = QueueDelay::default();
        assert_eq!(q.end_interval(), None, "nothing arrived");
        // A 50 ms base with up to 100 ms of jitter: no queue.
        for s in 0..5 {
            for i in 0..50 {
                q.on_transit(50.0 + ((i * 37 + s * 11) % 100) as f64);
            }
            let queue = q.end_interval().unwrap();
            assert!(queue < 5.0, "jitter is not a queue: {queue}");
        }
        // Every packet 60 ms later: a queue.
        for i in 0..50 {
            q.on_transit(110.0 + (i % 30) as f64);
        }
        assert_eq!(q.end_interval(), Some(60.0));
        // Ten seconds on, the new delay is the base.
        for _ in 0..QueueDelay::WINDOW {
            q.on_transit(110.0);
            q.end_interval();
        }
        q.on_transit(110.0);
        assert_eq!(q.end_interval(), Some(0.0));
        // A new clock origin starts history again.
        q.on_transit(1e6);
        assert_eq!(q.end_interval(), Some(0.0));
    }
}
