//! Who is speaking in a room, loudest first, this device included (pure, table-tested). Each
//! reading lists every member with its level and whether it speaks (`media::speech`'s rule
//! for remote streams); the list is the speaking members by level, loudest first. A changed
//! list is reported at once if the last report is at least `MIN_GAP` old, else held and
//! reported by the first reading after the gap (the latest list wins): changes are coalesced,
//! never more often than every 500 ms, and a list that changed back in between is not
//! reported at all.

use std::time::{Duration, Instant};

/// The shortest time between two reports.
pub const MIN_GAP: Duration = Duration::from_millis(500);

#[derive(Debug, Default)]
pub struct ActiveSpeakers {
    reported: Vec<String>,
    last_report: Option<Instant>,
}

/// One member's reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading<'a> {
    pub id: &'a str,
    pub level: f32,
    pub speaking: bool,
}

impl ActiveSpeakers {
    /// The list to report now, if there is one to report.
    pub fn update(&mut self, readings: &[Reading<'_>], now: Instant) -> Option<Vec<String>> {
        let mut speaking: Vec<&Reading<'_>> = readings.iter().filter(|r| r.speaking).collect();
        // Loudest first; equal levels keep the readings' order (stable sort).
        speaking.sort_by(|a, b| b.level.total_cmp(&a.level));
        let list: Vec<String> = speaking.iter().map(|r| r.id.to_string()).collect();
        if list == self.reported {
            return None;
        }
        if self
            .last_report
            .is_some_and(|t| now.saturating_duration_since(t) < MIN_GAP)
        {
            return None;
        }
        self.reported = list.clone();
        self.last_report = Some(now);
        Some(list)
    }

    /// The list last reported.
    pub fn current(&self) -> &[String] {
        &self.reported
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(id: &str, level: f32, speaking: bool) -> Reading<'_> {
        Reading {
            id,
            level,
            speaking,
        }
    }

    #[test]
    fn loudest_first_and_coalesced_to_one_report_per_half_second() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut s = ActiveSpeakers::default();
        // Nobody speaks: the empty list is what is reported already.
        assert_eq!(s.update(&[r("a", 0.0, false)], ms(0)), None);
        assert_eq!(
            s.update(
                &[r("a", 0.1, true), r("b", 0.3, true), r("c", 0.5, false)],
                ms(100)
            ),
            Some(vec!["b".to_string(), "a".to_string()])
        );
        // A change 200 ms later waits…
        assert_eq!(
            s.update(&[r("a", 0.4, true), r("b", 0.3, true)], ms(300)),
            None
        );
        // …and changes back before the gap is over: nothing to report.
        assert_eq!(
            s.update(&[r("a", 0.1, true), r("b", 0.3, true)], ms(500)),
            None
        );
        // A change that holds past the gap is reported by the first reading after it.
        assert_eq!(
            s.update(&[r("a", 0.4, true), r("b", 0.3, true)], ms(550)),
            None
        );
        assert_eq!(
            s.update(&[r("a", 0.4, true), r("b", 0.3, true)], ms(600)),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(s.current(), ["a", "b"]);
        assert_eq!(s.update(&[], ms(1_200)), Some(vec![]));
    }
}
