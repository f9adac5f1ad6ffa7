//! Reconnect pacing shared by the long-lived sockets (AppSync real-time, the event
//! channel): exponential from 250 ms to 30 s, each wait jittered to between half and all
//! of it, so many phones coming back after an outage do not reconnect in step.

use std::time::Duration;

const FIRST: Duration = Duration::from_millis(250);
const MAX: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            next: FIRST,
            max: MAX,
        }
    }
}

impl Backoff {
    /// A connection worked: the next failure waits briefly again.
    pub fn reset(&mut self) {
        self.next = FIRST;
    }

    /// The un-jittered wait before the next attempt (for logs).
    pub fn peek(&self) -> Duration {
        self.next
    }

    /// Waits before the next attempt and doubles the wait after it.
    pub async fn wait(&mut self) {
        tokio::time::sleep(jitter(self.next)).await;
        self.next = (self.next * 2).min(self.max);
    }
}

pub fn jitter(d: Duration) -> Duration {
    d.mul_f64(jitter_factor())
}

/// A factor in [0.5, 1] to spread a wait by (the media recovery machines take it as an input,
/// so they stay pure).
pub fn jitter_factor() -> f64 {
    // uuid's RNG saves a dependency.
    0.5 + (uuid::Uuid::new_v4().as_u128() % 1000) as f64 / 2000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_half_to_full() {
        let d = Duration::from_millis(1000);
        for _ in 0..200 {
            let j = jitter(d);
            assert!(j >= d / 2 && j <= d, "{j:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn doubles_up_to_the_cap_and_resets() {
        let mut b = Backoff::default();
        for _ in 0..10 {
            b.wait().await;
        }
        assert_eq!(b.peek(), MAX);
        b.reset();
        assert_eq!(b.peek(), FIRST);
    }
}
