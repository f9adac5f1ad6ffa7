//! The encoder's bitrate, adapted to the loss the far end reports, after the loss-based half
//! of Google Congestion Control (draft-ietf-rmcat-gcc-02, section 6), which Chrome runs:
//! above 10 % loss the rate falls in proportion to the loss (a queue overflowing at a
//! bandwidth cap is loss too), below 2 % it climbs back by 8 % a report, in between it holds.
//! It starts at 40 kbit/s (libopus alone would pick about 51 kbit/s for 48 kHz mono, more
//! than a 50 kbit/s link carries with its headers; Chrome starts at 32 kbit/s).

/// Where every call starts, and the most it climbs to.
pub const START_BPS: u32 = 40_000;
/// The least it falls to: Opus still codes wideband speech (SILK) here.
pub const MIN_BPS: u32 = 12_000;

/// The next target bitrate from the previous one and the fraction of packets (0.0–1.0) lost
/// over the last report's interval.
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
        let mut rate = START_BPS;
        for _ in 0..100 {
            rate = next_bitrate(rate, 0.6);
        }
        assert_eq!(rate, MIN_BPS);
        for _ in 0..100 {
            rate = next_bitrate(rate, 0.0);
        }
        assert_eq!(rate, START_BPS);
    }

    /// A 50 kbit/s cap that a sender above it overflows: the loss it causes brings the rate
    /// under the cap, and it settles there.
    #[test]
    fn a_capped_link_settles_the_rate_under_the_cap() {
        let cap = 26_000.0;
        let mut rate = START_BPS;
        for _ in 0..60 {
            let loss = (1.0 - cap / rate as f64).max(0.0);
            rate = next_bitrate(rate, loss);
        }
        assert!(rate as f64 <= cap * 1.1, "{rate}");
        assert!(rate as f64 >= cap * 0.7, "{rate}");
    }
}
