//! The named link profiles, after Signal's call simulator (RingRTC `call_sim`,
//! `NetworkProfile`) so results can be set beside that project's. Each is documented with
//! its numbers in the README ("Link conditioner").

use std::time::Duration;

use super::model::{Burst, LinkParams, Schedule};

pub const NAMES: [&str; 6] = [
    "perfect",
    "moderate",
    "international",
    "spiky",
    "bursty-20",
    "limited-50",
];

/// The profile called `name`, or a clear error naming the ones there are.
pub fn named(name: &str) -> Result<Schedule, String> {
    let constant = |p: LinkParams| Ok(Schedule::constant(p));
    match name {
        "perfect" => constant(LinkParams::default()),
        "moderate" => constant(LinkParams {
            delay_ms: 100,
            jitter_ms: 25,
            loss: 0.05,
            ..Default::default()
        }),
        "international" => constant(LinkParams {
            delay_ms: 250,
            jitter_ms: 100,
            burst: Some(Burst { p: 0.03, r: 0.25 }),
            duplicate: 0.02,
            reorder: 0.05,
            rate_kbps: Some(300),
            ..Default::default()
        }),
        // 10 s good, 10 s of bursty loss with 100 ms delay, 10 s good; then again.
        "spiky" => Ok(Schedule {
            phases: vec![
                (Duration::from_secs(10), LinkParams::default()),
                (
                    Duration::from_secs(10),
                    LinkParams {
                        delay_ms: 100,
                        burst: Some(Burst { p: 0.11, r: 0.25 }),
                        ..Default::default()
                    },
                ),
                (Duration::from_secs(10), LinkParams::default()),
            ],
        }),
        // 20 % loss in bursts of 3 packets on average: p / (p + r) = 0.2 with r = 1/3.
        "bursty-20" => constant(LinkParams {
            burst: Some(Burst {
                p: 1.0 / 12.0,
                r: 1.0 / 3.0,
            }),
            ..Default::default()
        }),
        "limited-50" => constant(LinkParams {
            rate_kbps: Some(50),
            queue_ms: 100,
            ..Default::default()
        }),
        other => Err(format!(
            "unknown link profile {other:?}; there are: {}",
            NAMES.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_profile_exists_and_is_valid() {
        for name in NAMES {
            let s = named(name).unwrap();
            for (_, p) in &s.phases {
                p.validate().unwrap();
            }
            assert_eq!(s.is_perfect(), name == "perfect", "{name}");
        }
        assert!(named("lunar").unwrap_err().contains("perfect, moderate"));
    }
}
