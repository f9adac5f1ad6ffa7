//! The link conditioner: impairment the SFU applies, per participant and per direction, to
//! what it forwards (`model`: the impairment of one link; `profiles`: the named ones).
//! A participant's uplink is what it publishes, before the SFU copies it; its downlink is
//! each copy the SFU sends it. Settings come from `--link`, `MockConfig::link` or
//! `POST /mock/link`, apply to links made from then on and to the participants named.

pub mod model;
pub mod profiles;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{json, Value};

use model::{Link, LinkParams, Schedule};

/// A participant's live link in one direction; `None` is a perfect one (the fast path).
pub type LinkSlot = Arc<Mutex<Option<Link>>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

/// What a link is set to: a profile's name (or "custom") and its schedule, seeded.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub name: String,
    pub schedule: Schedule,
    pub seed: u64,
}

impl Setting {
    pub fn profile(name: &str, seed: u64) -> Result<Setting, String> {
        Ok(Setting {
            name: name.to_string(),
            schedule: profiles::named(name)?,
            seed,
        })
    }

    /// A fresh live link for this setting (`None` when it changes nothing).
    pub fn start(&self, now: Instant) -> Option<Link> {
        (!self.schedule.is_perfect()).then(|| Link::new(self.schedule.clone(), self.seed, now))
    }

    fn to_json(&self) -> Value {
        json!({"profile": self.name, "seed": self.seed, "phases": self.schedule.phases.iter().map(|(d, p)| json!({"seconds": d.as_secs_f64(), "params": p})).collect::<Vec<_>>()})
    }
}

/// Every link setting of the SFU: the default for participants (each direction) and the
/// ones set for a participant by id.
#[derive(Debug, Default)]
pub struct Links {
    default: [Option<Setting>; 2],
    by_participant: HashMap<String, [Option<Setting>; 2]>,
}

fn index(d: Direction) -> usize {
    match d {
        Direction::Up => 0,
        Direction::Down => 1,
    }
}

impl Links {
    pub fn set_default(&mut self, d: Direction, s: Setting) {
        self.default[index(d)] = Some(s);
    }

    pub fn set_for(&mut self, participant: &str, d: Direction, s: Setting) {
        self.by_participant
            .entry(participant.to_string())
            .or_default()[index(d)] = Some(s);
    }

    /// The setting that applies to `participant`'s link in direction `d`.
    pub fn setting(&self, participant: &str, d: Direction) -> Option<&Setting> {
        self.by_participant
            .get(participant)
            .and_then(|s| s[index(d)].as_ref())
            .or(self.default[index(d)].as_ref())
    }

    pub fn to_json(&self) -> Value {
        let pair = |s: &[Option<Setting>; 2]| {
            json!({
                "up": s[0].as_ref().map(Setting::to_json),
                "down": s[1].as_ref().map(Setting::to_json),
            })
        };
        json!({
            "default": pair(&self.default),
            "participants": self.by_participant.iter().map(|(k, v)| (k.clone(), pair(v))).collect::<serde_json::Map<_, _>>(),
        })
    }
}

/// A `POST /mock/link` body, read and checked: which participant (all when absent), which
/// directions, and the setting.
#[derive(Debug)]
pub struct Request {
    pub participant: Option<String>,
    pub directions: Vec<Direction>,
    pub setting: Setting,
}

/// Reads `{"profile": NAME | "params": {…}, "participant"?: id, "direction"?: "up"|"down"|"both",
/// "seed"?: n}`; every mistake is a sentence for a 400.
pub fn parse_request(body: &Value) -> Result<Request, String> {
    let obj = body.as_object().ok_or("the body must be a JSON object")?;
    for key in obj.keys() {
        if !["profile", "params", "participant", "direction", "seed"].contains(&key.as_str()) {
            return Err(format!("unknown field {key:?}"));
        }
    }
    let seed = match obj.get("seed") {
        None => 1,
        Some(v) => v.as_u64().ok_or("seed must be a non-negative integer")?,
    };
    let setting = match (obj.get("profile"), obj.get("params")) {
        (Some(_), Some(_)) => return Err("give a profile or params, not both".into()),
        (None, None) => {
            return Err(format!(
                "give a profile ({}) or params",
                profiles::NAMES.join(", ")
            ))
        }
        (Some(p), None) => Setting::profile(p.as_str().ok_or("profile must be a string")?, seed)?,
        (None, Some(p)) => {
            let params: LinkParams =
                serde_json::from_value(p.clone()).map_err(|e| format!("params: {e}"))?;
            params.validate()?;
            Setting {
                name: "custom".into(),
                schedule: Schedule::constant(params),
                seed,
            }
        }
    };
    let directions = match obj.get("direction").map(|d| d.as_str()) {
        None | Some(Some("both")) => vec![Direction::Up, Direction::Down],
        Some(Some("up")) => vec![Direction::Up],
        Some(Some("down")) => vec![Direction::Down],
        Some(other) => {
            return Err(format!(
                "direction must be \"up\", \"down\" or \"both\", not {}",
                other
                    .map(|s| format!("{s:?}"))
                    .unwrap_or_else(|| "a non-string".into())
            ))
        }
    };
    let participant = match obj.get("participant") {
        None => None,
        Some(p) => Some(
            p.as_str()
                .ok_or("participant must be a string")?
                .to_string(),
        ),
    };
    Ok(Request {
        participant,
        directions,
        setting,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_and_every_mistake_is_named() {
        let r = parse_request(&json!({"profile": "moderate"})).unwrap();
        assert_eq!(r.directions, vec![Direction::Up, Direction::Down]);
        assert_eq!(r.setting.name, "moderate");
        assert!(r.participant.is_none());
        let r = parse_request(&json!({"params": {"loss": 0.1, "delayMs": 50}, "direction": "down", "participant": "p1", "seed": 9})).unwrap();
        assert_eq!((r.setting.name.as_str(), r.setting.seed), ("custom", 9));
        assert_eq!(r.directions, vec![Direction::Down]);
        for (body, says) in [
            (json!({}), "give a profile"),
            (json!({"profile": "lunar"}), "unknown link profile"),
            (json!({"profile": "moderate", "params": {}}), "not both"),
            (
                json!({"params": {"loss": 2.0}}),
                "loss must be between 0 and 1",
            ),
            (json!({"params": {"lossy": 0.1}}), "unknown field"),
            (
                json!({"profile": "moderate", "direction": "sideways"}),
                "direction must be",
            ),
            (
                json!({"profile": "moderate", "speed": 1}),
                "unknown field \"speed\"",
            ),
            (json!([1]), "JSON object"),
        ] {
            let e = parse_request(&body).unwrap_err();
            assert!(e.contains(says), "{body}: {e}");
        }
    }

    #[test]
    fn a_participants_own_setting_wins_over_the_default() {
        let mut links = Links::default();
        links.set_default(Direction::Down, Setting::profile("moderate", 1).unwrap());
        links.set_for(
            "p1",
            Direction::Down,
            Setting::profile("perfect", 1).unwrap(),
        );
        assert_eq!(
            links.setting("p1", Direction::Down).unwrap().name,
            "perfect"
        );
        assert_eq!(
            links.setting("p2", Direction::Down).unwrap().name,
            "moderate"
        );
        assert!(links.setting("p2", Direction::Up).is_none());
        assert!(Setting::profile("perfect", 1)
            .unwrap()
            .start(Instant::now())
            .is_none());
    }
}
