//! Everything the mock backend remembers, in one place behind one lock: device rows (the
//! Lambda's DeviceInfo table), Person rows (AppSync's table, tombstones included), media
//! sessions, the extended profile's call records, and the push outbox. Every collection is bounded, and every operation checks
//! its input fully before it changes anything, so a rejected request leaves no trace.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde_json::{json, Value};

use crate::time::{iso8601, now_ms};

pub const MAX_DEVICES: usize = 10_000;
pub const MAX_PERSONS: usize = 10_000;
pub const MAX_PUSHES_PER_DEVICE: usize = 64;
pub const MAX_SESSIONS: usize = 5_000;
pub const MAX_FIELD_LEN: usize = 256;
pub const MAX_TOKEN_LEN: usize = 4_096;
pub const MAX_CALLS: usize = 5_000;
/// How many calls' time lines, and how many pushes, the console keeps (oldest go first).
pub const MAX_CALL_LOGS: usize = 200;
pub const MAX_PUSH_LOG: usize = 200;
/// Entries per call time line; a call that keeps renewing its token cannot grow it forever.
pub const MAX_TIMELINE: usize = 64;

/// A call as the console shows it, for both profiles (the seed has no call records, only
/// media sessions): who called whom, where it stands, why it ended, and its time line of REST
/// actions, events and media joins.
#[derive(Debug, Clone)]
pub struct CallLog {
    pub session_id: String,
    pub call_id: Option<String>,
    pub caller: String,
    pub callee: String,
    pub started_ms: i64,
    /// `ringing`, `answered` or `ended`.
    pub state: &'static str,
    /// `declined`, `cancelled`, `ended by <clientId>`, `timed out`…; set when it ends.
    pub end_reason: Option<String>,
    pub timeline: Vec<(i64, String)>,
}

#[derive(Debug, Clone)]
pub struct Device {
    pub id: String,
    pub notify_type: String,
    pub device_token: String,
    pub session_id: Option<String>,
    pub participant_id: Option<String>,
    pub participant_token: Option<String>,
    /// Extended profile: the bearer secret issued at register (never shown in `to_json`).
    pub secret: Option<String>,
    /// Extended profile: the installation this clientId belongs to. A register that presents
    /// an existing client's secret joins its installation, whose members may delete each other.
    pub owner: String,
    /// When it registered (for the console).
    pub registered_ms: i64,
    /// Registration order (`State::next_seq`): two registrations in the same millisecond
    /// still list oldest first.
    pub registered_seq: u64,
    /// Extended profile: the room it is a member of (a member is busy for calls).
    pub room_id: Option<String>,
}

impl Device {
    pub fn in_session(&self) -> bool {
        self.session_id.as_deref().is_some_and(|s| !s.is_empty())
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "notifyType": self.notify_type,
            "deviceToken": self.device_token,
            "sessionId": self.session_id,
            "participantId": self.participant_id,
            "participantToken": self.participant_token,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PersonRow {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub client_id: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
    pub deleted: bool,
    pub last_changed_at: i64,
    /// Insertion order: the mock's stand-in for DynamoDB's scan order, used by paging.
    pub seq: u64,
}

impl PersonRow {
    /// The full AppSync `Person` object; selections are projected from it.
    pub fn to_json(&self) -> Value {
        json!({
            "__typename": "Person",
            "id": self.id,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "clientId": self.client_id,
            "createdAt": iso8601(self.created_at),
            "updatedAt": iso8601(self.updated_at),
            "_version": self.version,
            "_deleted": if self.deleted { Value::Bool(true) } else { Value::Null },
            "_lastChangedAt": self.last_changed_at,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    /// clientId → participantId
    pub participants: Vec<(String, String)>,
}

/// Where an extended-profile call stands on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallPhase {
    Ringing,
    Answered,
    Ended,
}

/// The extended profile's call record: what the seed lacks (a call id and its state).
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub id: String,
    pub caller: String,
    pub callee: String,
    pub caller_name: String,
    pub session_id: String,
    pub phase: CallPhase,
    pub created_ms: i64,
    /// The latest event sent about this call after `ringing` (`answered`, or how it ended)
    /// and when: replayed to a party whose event channel reconnects, so what it missed
    /// during an outage still reaches it.
    pub last_event: Option<(serde_json::Value, i64)>,
    /// A room invite (`ringRoom`): the room it invites to. Its session is the room's, which
    /// the invite's end never touches.
    pub room_id: Option<String>,
}

/// How long after a call ends its final event is still replayed on connect.
pub const REPLAY_ENDED_FOR_MS: i64 = 60_000;

impl CallRecord {
    /// What a party's event channel is told about this call when it connects: `ringing`
    /// for a callee while it rings; afterwards the latest event (`answered`, or the end
    /// within `REPLAY_ENDED_FOR_MS`).
    pub fn replay_for(&self, client_id: &str, now_ms: i64) -> Option<serde_json::Value> {
        if client_id != self.caller && client_id != self.callee {
            return None;
        }
        match (&self.phase, &self.last_event) {
            (CallPhase::Ringing, _) if client_id == self.callee => {
                Some(crate::events::ringing_event(self))
            }
            (CallPhase::Answered, Some((ev, _))) => Some(ev.clone()),
            (CallPhase::Ended, Some((ev, at))) if now_ms - at <= REPLAY_ENDED_FOR_MS => {
                Some(ev.clone())
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Push {
    pub id: String,
    pub device_token: String,
    pub notify_type: String,
    pub sent_at_ms: i64,
    /// "normal" as Pinpoint sends it in the seed; "high" in the extended profile.
    pub priority: &'static str,
    /// What the device receives: the FCM data map or the APNs payload.
    pub body: Value,
}

impl Push {
    pub fn to_json(&self) -> Value {
        let (platform, key) = if self.notify_type == "APNS" {
            ("apns", "payload")
        } else {
            ("fcm", "data")
        };
        let mut v = json!({
            "id": self.id,
            "deviceToken": self.device_token,
            "notifyType": self.notify_type,
            "platform": platform,
            "priority": self.priority,
            "ttlSeconds": 30,
            "sentAtMs": self.sent_at_ms,
        });
        if platform == "apns" {
            v["apnsPushType"] = json!("voip");
        }
        v[key] = self.body.clone();
        v
    }
}

#[derive(Default)]
pub struct State {
    pub devices: HashMap<String, Device>,
    pub persons: BTreeMap<String, PersonRow>,
    pub sessions: HashMap<String, Session>,
    pub outbox: HashMap<String, VecDeque<Push>>,
    pub calls: HashMap<String, CallRecord>,
    /// Extended profile: rooms by id (`rooms`).
    pub rooms: HashMap<String, crate::rooms::Room>,
    /// The console's view of recent calls, oldest first (bounded by `MAX_CALL_LOGS`).
    pub call_logs: VecDeque<CallLog>,
    /// Every push recorded, oldest first (bounded by `MAX_PUSH_LOG`); unlike the outbox it is
    /// not drained when a device takes its pushes.
    pub push_log: VecDeque<Push>,
    next_seq: u64,
}

impl State {
    pub fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// The caller's display name as the Lambda finds it: the live Person with that clientId.
    pub fn person_name_for_client(&self, client_id: &str) -> Option<(String, String)> {
        self.persons
            .values()
            .filter(|p| p.client_id == client_id && !p.deleted)
            .max_by_key(|p| p.last_changed_at)
            .map(|p| (p.first_name.clone(), p.last_name.clone()))
    }

    /// The live call (ringing or answered) of a media session, if the extended profile made one.
    pub fn call_for_session(&self, session_id: &str) -> Option<&CallRecord> {
        self.calls
            .values()
            .find(|c| c.session_id == session_id && c.phase != CallPhase::Ended)
    }

    /// Keeps the call table bounded: ended calls go first, oldest first.
    pub fn make_room_for_call(&mut self) -> bool {
        if self.calls.len() < MAX_CALLS {
            return true;
        }
        let oldest_ended = self
            .calls
            .values()
            .filter(|c| c.phase == CallPhase::Ended)
            .min_by_key(|c| c.created_ms)
            .map(|c| c.id.clone());
        match oldest_ended {
            Some(id) => {
                self.calls.remove(&id);
                true
            }
            None => false,
        }
    }

    /// Blanks a device row's session fields, as endCall does.
    pub fn blank_row(&mut self, client_id: &str) {
        if let Some(row) = self.devices.get_mut(client_id) {
            row.session_id = Some(String::new());
            row.participant_id = Some(String::new());
            row.participant_token = Some(String::new());
        }
    }

    pub fn enqueue_push(
        &mut self,
        device_token: &str,
        notify_type: &str,
        priority: &'static str,
        body: Value,
    ) {
        tracing::info!(
            target: "dialtone_mock::push",
            "push recorded: {notify_type} priority {priority} to device {}",
            crate::redact::fingerprint(device_token)
        );
        let queue = self.outbox.entry(device_token.to_string()).or_default();
        if queue.len() >= MAX_PUSHES_PER_DEVICE {
            // An offline phone's oldest notifications are the first FCM/APNs collapse too.
            queue.pop_front();
        }
        let push = Push {
            id: uuid::Uuid::new_v4().to_string(),
            device_token: device_token.to_string(),
            notify_type: notify_type.to_string(),
            sent_at_ms: now_ms(),
            priority,
            body,
        };
        if self.push_log.len() >= MAX_PUSH_LOG {
            self.push_log.pop_front();
        }
        self.push_log.push_back(push.clone());
        queue.push_back(push);
    }

    /// Starts the console's time line of a call (its media session).
    pub fn open_call_log(
        &mut self,
        session_id: &str,
        caller: &str,
        callee: &str,
        call_id: Option<&str>,
    ) {
        if self.call_logs.len() >= MAX_CALL_LOGS {
            self.call_logs.pop_front();
        }
        self.call_logs.push_back(CallLog {
            session_id: session_id.to_string(),
            call_id: call_id.map(str::to_string),
            caller: caller.to_string(),
            callee: callee.to_string(),
            started_ms: now_ms(),
            state: "ringing",
            end_reason: None,
            timeline: Vec::new(),
        });
    }

    /// Adds a line to a call's time line (ignored for a session the console never saw).
    pub fn note_call(&mut self, session_id: &str, what: impl Into<String>) {
        if let Some(log) = self
            .call_logs
            .iter_mut()
            .rev()
            .find(|l| l.session_id == session_id)
        {
            if log.timeline.len() < MAX_TIMELINE {
                log.timeline.push((now_ms(), what.into()));
            }
        }
    }

    /// Moves a call's console state (`answered`, `ended`), with the reason when it ends.
    pub fn set_call_state(
        &mut self,
        session_id: &str,
        state: &'static str,
        reason: Option<String>,
    ) {
        if let Some(log) = self
            .call_logs
            .iter_mut()
            .rev()
            .find(|l| l.session_id == session_id)
        {
            if log.state != "ended" {
                log.state = state;
                log.end_reason = reason;
            }
        }
    }

    pub fn take_pushes(&mut self, device_token: &str) -> Vec<Push> {
        self.outbox
            .remove(device_token)
            .map(Vec::from)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod replay_tests {
    use super::*;

    fn call(phase: CallPhase, last: Option<(&str, i64)>) -> CallRecord {
        CallRecord {
            id: "c1".into(),
            caller: "alice".into(),
            callee: "bob".into(),
            caller_name: "Alice A".into(),
            session_id: "s1".into(),
            phase,
            created_ms: 1_000,
            last_event: last.map(|(kind, at)| {
                (
                    serde_json::json!({"type": kind, "callId": "c1", "by": "alice"}),
                    at,
                )
            }),
            room_id: None,
        }
    }

    fn kind(v: Option<serde_json::Value>) -> Option<String> {
        v.and_then(|v| v["type"].as_str().map(str::to_string))
    }

    #[test]
    fn a_reconnecting_party_gets_what_it_may_have_missed_and_nobody_else_does() {
        let ringing = call(CallPhase::Ringing, None);
        assert_eq!(
            kind(ringing.replay_for("bob", 2_000)).as_deref(),
            Some("ringing")
        );
        assert_eq!(kind(ringing.replay_for("alice", 2_000)), None);
        assert_eq!(kind(ringing.replay_for("carol", 2_000)), None);

        let answered = call(CallPhase::Answered, Some(("answered", 2_000)));
        for party in ["alice", "bob"] {
            assert_eq!(
                kind(answered.replay_for(party, 900_000)).as_deref(),
                Some("answered")
            );
        }
        assert_eq!(kind(answered.replay_for("carol", 2_000)), None);

        let cancelled = call(CallPhase::Ended, Some(("cancelled", 2_000)));
        assert_eq!(
            kind(cancelled.replay_for("bob", 2_000 + REPLAY_ENDED_FOR_MS)).as_deref(),
            Some("cancelled")
        );
        assert_eq!(
            kind(cancelled.replay_for("bob", 2_001 + REPLAY_ENDED_FOR_MS)),
            None
        );
    }
}
