//! The impairment of one direction of one participant's link, as a pure function of the
//! packets offered to it and the time: random loss, bursty loss (Gilbert–Elliott: a good and
//! a bad state, `p` the chance to go bad, `r` the chance to recover, every packet lost while
//! bad), fixed delay, jitter (uniform, so packets can overtake each other), reordering (a share
//! of packets skips the fixed delay, as netem's `reorder`), duplication, a bandwidth cap with
//! a drop-tail queue, and blackouts (profiles whose phases cycle). Seeded: the same seed and
//! the same packets give the same outcome.

use std::time::{Duration, Instant};

/// One phase of a link's behaviour.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinkParams {
    /// Independent loss, 0.0–1.0.
    #[serde(default)]
    pub loss: f64,
    /// Gilbert–Elliott bursty loss, on top of `loss`.
    #[serde(default)]
    pub burst: Option<Burst>,
    #[serde(default)]
    pub delay_ms: u32,
    /// Each packet's extra delay is uniform in 0..=jitter_ms.
    #[serde(default)]
    pub jitter_ms: u32,
    /// Share of packets sent twice, 0.0–1.0.
    #[serde(default)]
    pub duplicate: f64,
    /// Share of packets that skip the fixed delay (and so overtake others), 0.0–1.0.
    #[serde(default)]
    pub reorder: f64,
    /// Bandwidth cap; `None` is unlimited.
    #[serde(default)]
    pub rate_kbps: Option<u32>,
    /// With a cap: packets that would wait longer than this in the queue are dropped.
    #[serde(default = "default_queue_ms")]
    pub queue_ms: u32,
    /// Nothing passes (a blackout).
    #[serde(default)]
    pub down: bool,
}

fn default_queue_ms() -> u32 {
    100
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Burst {
    /// Chance per packet to go from good to bad.
    pub p: f64,
    /// Chance per packet to go from bad back to good.
    pub r: f64,
}

impl Default for LinkParams {
    fn default() -> Self {
        Self {
            loss: 0.0,
            burst: None,
            delay_ms: 0,
            jitter_ms: 0,
            duplicate: 0.0,
            reorder: 0.0,
            rate_kbps: None,
            queue_ms: default_queue_ms(),
            down: false,
        }
    }
}

impl LinkParams {
    /// A link that changes nothing (the fast path skips it entirely).
    pub fn is_perfect(&self) -> bool {
        !self.down
            && self.loss == 0.0
            && self.burst.is_none()
            && self.delay_ms == 0
            && self.jitter_ms == 0
            && self.duplicate == 0.0
            && self.reorder == 0.0
            && self.rate_kbps.is_none()
    }

    /// Every value in range, or what is wrong with the first that is not.
    pub fn validate(&self) -> Result<(), String> {
        let share = |name: &str, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(format!("{name} must be between 0 and 1, not {v}"))
            }
        };
        share("loss", self.loss)?;
        share("duplicate", self.duplicate)?;
        share("reorder", self.reorder)?;
        if let Some(b) = self.burst {
            share("burst.p", b.p)?;
            share("burst.r", b.r)?;
            if b.r == 0.0 {
                return Err(
                    "burst.r must be above 0 (a link that never recovers is `down`)".into(),
                );
            }
        }
        if self.delay_ms > 10_000 || self.jitter_ms > 10_000 || self.queue_ms > 10_000 {
            return Err("delayMs, jitterMs and queueMs must be at most 10000".into());
        }
        if self.rate_kbps == Some(0) {
            return Err("rateKbps must be above 0 (a link that passes nothing is `down`)".into());
        }
        Ok(())
    }
}

/// A link's behaviour over time: the phases run in order and then start again (one phase:
/// constant).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Schedule {
    pub phases: Vec<(Duration, LinkParams)>,
}

impl Schedule {
    pub fn constant(params: LinkParams) -> Self {
        Self {
            phases: vec![(Duration::from_secs(3600), params)],
        }
    }

    pub fn is_perfect(&self) -> bool {
        self.phases.iter().all(|(_, p)| p.is_perfect())
    }

    fn at(&self, since_start: Duration) -> &LinkParams {
        let cycle: Duration = self.phases.iter().map(|(d, _)| *d).sum();
        let mut t = Duration::from_nanos((since_start.as_nanos() % cycle.as_nanos().max(1)) as u64);
        for (d, p) in &self.phases {
            if t < *d {
                return p;
            }
            t -= *d;
        }
        &self.phases[0].1
    }
}

/// SplitMix64: small, fast, and the same sequence for the same seed everywhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.unit() < p
    }
}

/// One direction of one participant's link.
#[derive(Debug, Clone)]
pub struct Link {
    schedule: Schedule,
    rng: Rng,
    started: Instant,
    bad: bool,
    /// With a cap: when the queue is next free to send.
    queue_free_at: Instant,
}

impl Link {
    pub fn new(schedule: Schedule, seed: u64, now: Instant) -> Self {
        Self {
            schedule,
            rng: Rng::new(seed),
            started: now,
            bad: false,
            queue_free_at: now,
        }
    }

    pub fn is_perfect(&self) -> bool {
        self.schedule.is_perfect()
    }

    /// A packet of `bytes` offered at `now`: when each copy of it comes out (none: lost; two:
    /// duplicated).
    pub fn offer(&mut self, now: Instant, bytes: usize) -> Vec<Instant> {
        let params = self
            .schedule
            .at(now.saturating_duration_since(self.started))
            .clone();
        if params.down {
            return Vec::new();
        }
        if let Some(b) = params.burst {
            // The state moves once per packet, then decides its fate.
            self.bad = if self.bad {
                !self.rng.chance(b.r)
            } else {
                self.rng.chance(b.p)
            };
            if self.bad {
                return Vec::new();
            }
        }
        if self.rng.chance(params.loss) {
            return Vec::new();
        }
        // The cap: serialise behind what is queued; drop what would wait too long.
        let mut out_at = now;
        if let Some(kbps) = params.rate_kbps {
            let start = self.queue_free_at.max(now);
            if start.saturating_duration_since(now) > Duration::from_millis(params.queue_ms as u64)
            {
                return Vec::new();
            }
            let send = Duration::from_secs_f64(bytes as f64 * 8.0 / (kbps as f64 * 1000.0));
            self.queue_free_at = start + send;
            out_at = self.queue_free_at;
        }
        let copies = if self.rng.chance(params.duplicate) {
            2
        } else {
            1
        };
        (0..copies)
            .map(|_| {
                let fixed = if self.rng.chance(params.reorder) {
                    0
                } else {
                    params.delay_ms as u64
                };
                let jitter = if params.jitter_ms > 0 {
                    (self.rng.unit() * (params.jitter_ms as f64 + 1.0)) as u64
                } else {
                    0
                };
                out_at + Duration::from_millis(fixed + jitter)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Packets of 160 bytes every 20 ms: for each, the delay of each copy that came out, in
    /// ms after it was offered (empty: lost).
    fn run(params: LinkParams, n: usize, seed: u64) -> Vec<Vec<u64>> {
        let t0 = Instant::now();
        let mut link = Link::new(Schedule::constant(params), seed, t0);
        (0..n)
            .map(|i| {
                let sent = t0 + Duration::from_millis(20 * i as u64);
                link.offer(sent, 160)
                    .iter()
                    .map(|at| at.duration_since(sent).as_millis() as u64)
                    .collect()
            })
            .collect()
    }

    fn share(out: &[Vec<u64>], f: impl Fn(&Vec<u64>) -> bool) -> f64 {
        out.iter().filter(|o| f(o)).count() as f64 / out.len() as f64
    }

    #[test]
    fn a_perfect_link_passes_everything_at_once() {
        assert!(run(LinkParams::default(), 1000, 1)
            .iter()
            .all(|o| o == &vec![0]));
        assert!(LinkParams::default().is_perfect());
    }

    #[test]
    fn random_loss_is_near_its_rate_and_repeatable_by_seed() {
        let params = LinkParams {
            loss: 0.05,
            ..Default::default()
        };
        let a = run(params.clone(), 100_000, 7);
        let lost = share(&a, |o| o.is_empty());
        assert!((0.045..0.055).contains(&lost), "{lost}");
        assert!(
            a == run(params.clone(), 100_000, 7),
            "same seed, same outcome"
        );
        assert!(
            a != run(params, 100_000, 8),
            "another seed, another outcome"
        );
    }

    #[test]
    fn gilbert_elliott_loss_has_its_rate_and_its_burst_length() {
        // p = 3 %, r = 25 %: loss p / (p + r) ≈ 10.7 %, mean burst 1 / r = 4 packets.
        let params = LinkParams {
            burst: Some(Burst { p: 0.03, r: 0.25 }),
            ..Default::default()
        };
        let out = run(params, 200_000, 3);
        let rate = share(&out, |o| o.is_empty());
        assert!((0.095..0.12).contains(&rate), "{rate}");
        let mut bursts = Vec::new();
        let mut len = 0;
        for o in &out {
            if o.is_empty() {
                len += 1;
            } else if len > 0 {
                bursts.push(len);
                len = 0;
            }
        }
        let mean = bursts.iter().sum::<usize>() as f64 / bursts.len() as f64;
        assert!((3.6..4.4).contains(&mean), "{mean}");
    }

    #[test]
    fn delay_jitter_reorder_and_duplication() {
        let params = LinkParams {
            delay_ms: 100,
            jitter_ms: 25,
            duplicate: 0.02,
            reorder: 0.05,
            ..Default::default()
        };
        let out = run(params, 50_000, 5);
        let dups = share(&out, |o| o.len() == 2);
        assert!((0.015..0.025).contains(&dups), "{dups}");
        assert!(out.iter().flatten().all(|d| *d <= 125));
        // Jitter spreads the delayed ones over 100..=125 ms; the reordered ones skip the 100.
        let skipped = share(&out, |o| o[0] < 100);
        assert!((0.04..0.06).contains(&skipped), "{skipped}");
        let delayed: Vec<u64> = out.iter().map(|o| o[0]).filter(|d| *d >= 100).collect();
        let mean = delayed.iter().sum::<u64>() as f64 / delayed.len() as f64;
        assert!((111.0..114.0).contains(&mean), "{mean}");
    }

    #[test]
    fn a_cap_serialises_and_drops_what_waits_too_long() {
        // 50 kbit/s, 100 ms of queue, offered 160-byte packets every 20 ms (64 kbit/s):
        // the queue fills, then about 22 % of packets are dropped.
        let params = LinkParams {
            rate_kbps: Some(50),
            queue_ms: 100,
            ..Default::default()
        };
        let out = run(params, 10_000, 1);
        let passed = share(&out, |o| !o.is_empty());
        assert!((0.76..0.80).contains(&passed), "{passed}");
        assert!(out.iter().flatten().all(|d| *d <= 126));
    }

    #[test]
    fn phases_cycle_and_a_down_phase_passes_nothing() {
        let t0 = Instant::now();
        let schedule = Schedule {
            phases: vec![
                (Duration::from_secs(1), LinkParams::default()),
                (
                    Duration::from_secs(1),
                    LinkParams {
                        down: true,
                        ..Default::default()
                    },
                ),
            ],
        };
        let mut link = Link::new(schedule, 1, t0);
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        assert_eq!(link.offer(at(500), 100).len(), 1);
        assert!(link.offer(at(1500), 100).is_empty());
        assert_eq!(link.offer(at(2500), 100).len(), 1);
        assert!(link.offer(at(3999), 100).is_empty());
    }

    #[test]
    fn bad_values_are_refused_clearly() {
        let bad = LinkParams {
            loss: 1.5,
            ..Default::default()
        };
        assert_eq!(
            bad.validate().unwrap_err(),
            "loss must be between 0 and 1, not 1.5"
        );
        let never_recovers = LinkParams {
            burst: Some(Burst { p: 0.1, r: 0.0 }),
            ..Default::default()
        };
        assert!(never_recovers.validate().unwrap_err().contains("burst.r"));
        assert!(LinkParams {
            rate_kbps: Some(0),
            ..Default::default()
        }
        .validate()
        .is_err());
    }
}
