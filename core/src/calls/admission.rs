//! Admission of incoming calls: turning a push (or an event-channel `ringing`) into an
//! invite at once (no network, no disk), dropping duplicates and stale pushes. What happens
//! to an admitted invite is its call actor's business (`calls::manager`).

use std::collections::VecDeque;
use std::sync::Mutex;

use super::push::{self, CallPush, PushError};

/// How many recent call ids are remembered for dedupe.
const SEEN_CAPACITY: usize = 256;

#[derive(Debug, Clone, PartialEq)]
pub struct Invite {
    pub call_id: String,
    /// The caller's clientId, when the push carries it (extended profile).
    pub caller_id: Option<String>,
    pub caller_name: Option<String>,
    /// What CallKit / Telecom shows as the handle: the caller's clientId when the push
    /// carries it (extended profile), its name otherwise.
    pub handle: String,
    pub received_at_ms: i64,
    /// A room invite: the room it rings this device into, and how many were in it.
    pub room_id: Option<String>,
    pub member_count: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgnoreReason {
    NotACallPush,
    Duplicate,
    Expired,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PushOutcome {
    Invite(Invite),
    Ignored {
        reason: IgnoreReason,
        call_id: Option<String>,
    },
}

/// An invite the admission let through, with what its push said (the token stays here).
#[derive(Debug, Clone, PartialEq)]
pub struct Admitted {
    pub invite: Invite,
    pub push: CallPush,
}

/// What became of a push or a `ringing` event.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    Ring(Box<Admitted>),
    Ignored {
        reason: IgnoreReason,
        call_id: Option<String>,
    },
}

impl Admission {
    /// The app-facing outcome.
    pub fn outcome(&self) -> PushOutcome {
        match self {
            Admission::Ring(a) => PushOutcome::Invite(a.invite.clone()),
            Admission::Ignored { reason, call_id } => PushOutcome::Ignored {
                reason: *reason,
                call_id: call_id.clone(),
            },
        }
    }
}

/// Remembers the recent call ids, so a call announced twice (push and event channel, or a
/// push redelivered) rings once. Bounded.
#[derive(Default)]
pub struct Admissions {
    seen: Mutex<VecDeque<String>>,
}

impl Admissions {
    /// The synchronous push path. Malformed payloads are errors; anything else rings or is
    /// a reasoned `Ignored`.
    pub fn handle(&self, raw: &str, now_ms: i64) -> Result<Admission, PushError> {
        let parsed = match push::parse(raw) {
            Ok(p) => p,
            Err(PushError::NotACallPush) => {
                return Ok(Admission::Ignored {
                    reason: IgnoreReason::NotACallPush,
                    call_id: None,
                })
            }
            Err(e) => return Err(e),
        };
        Ok(self.admit(parsed, now_ms))
    }

    /// A `ringing` event from the extended backend's event channel: the same dedupe as
    /// pushes (by call id), so a call announced both ways rings once.
    pub fn handle_ringing(
        &self,
        call_id: &str,
        caller_id: Option<String>,
        caller_name: Option<String>,
        sent_at_ms: Option<i64>,
        room: Option<(String, Option<u32>)>,
        now_ms: i64,
    ) -> Admission {
        let (room_id, member_count) = room.map_or((None, None), |(r, n)| (Some(r), n));
        self.admit(
            CallPush {
                platform: push::Platform::EventChannel,
                token: None,
                call_id: Some(call_id.to_string()),
                caller_id,
                caller_name,
                sent_at_ms,
                room_id,
                member_count,
            },
            now_ms,
        )
    }

    fn admit(&self, parsed: CallPush, now_ms: i64) -> Admission {
        let Some(call_id) = push::call_id(&parsed) else {
            return Admission::Ignored {
                reason: IgnoreReason::NotACallPush,
                call_id: None,
            };
        };
        {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            if seen.contains(&call_id) {
                return Admission::Ignored {
                    reason: IgnoreReason::Duplicate,
                    call_id: Some(call_id),
                };
            }
            if seen.len() == SEEN_CAPACITY {
                seen.pop_front();
            }
            seen.push_back(call_id.clone());
        }
        if push::is_stale(&parsed, now_ms) {
            // Too late to ring: never presented as ringing.
            return Admission::Ignored {
                reason: IgnoreReason::Expired,
                call_id: Some(call_id),
            };
        }
        let invite = Invite {
            call_id,
            caller_id: parsed.caller_id.clone(),
            caller_name: parsed.caller_name.clone(),
            handle: parsed
                .caller_id
                .clone()
                .or_else(|| parsed.caller_name.clone())
                .unwrap_or_else(|| "Unknown".into()),
            received_at_ms: now_ms,
            room_id: parsed.room_id.clone(),
            member_count: parsed.member_count,
        };
        Admission::Ring(Box::new(Admitted {
            invite,
            push: parsed,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fcm(tok: &str) -> String {
        serde_json::json!({
            "pinpoint.notification.body": "Ann Lee is calling you",
            "pinpoint.deeplink": format!("https://my.app.com/incomingCall?tok={tok}"),
        })
        .to_string()
    }

    fn rings(a: Admission) -> Admitted {
        match a {
            Admission::Ring(r) => *r,
            other => panic!("expected an invite, got {other:?}"),
        }
    }

    #[test]
    fn the_same_push_twice_gives_one_invite() {
        let calls = Admissions::default();
        let inv = rings(calls.handle(&fcm("a.b.c"), 0).unwrap()).invite;
        assert_eq!(inv.caller_name.as_deref(), Some("Ann Lee"));
        assert_eq!(inv.handle, "Ann Lee");
        assert_eq!(
            calls.handle(&fcm("a.b.c"), 5).unwrap(),
            Admission::Ignored {
                reason: IgnoreReason::Duplicate,
                call_id: Some(inv.call_id.clone())
            }
        );
    }

    #[test]
    fn a_stale_push_never_rings() {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let tok = format!("h.{}.s", b64.encode(br#"{"v":"v3","exp":10}"#));
        let calls = Admissions::default();
        assert!(matches!(
            calls.handle(&fcm(&tok), 20_000).unwrap(),
            Admission::Ignored {
                reason: IgnoreReason::Expired,
                call_id: Some(_),
            }
        ));
    }

    #[test]
    fn not_a_call_push_and_malformed_pushes() {
        let calls = Admissions::default();
        assert_eq!(
            calls
                .handle(r#"{"pinpoint.notification.title":"Sale"}"#, 0)
                .unwrap(),
            Admission::Ignored {
                reason: IgnoreReason::NotACallPush,
                call_id: None
            }
        );
        assert!(matches!(
            calls.handle("{oops", 0),
            Err(PushError::Malformed(_))
        ));
    }

    #[test]
    fn a_call_announced_by_push_and_by_the_event_channel_rings_once() {
        let calls = Admissions::default();
        let id = "0b6f1c1e-8f1a-4c55-9d0e-2f4f7a1b2c3d";
        let push = serde_json::json!({"callId": id, "callerId": "a", "callerName": "Ann Lee", "sentAt": "1000"});
        assert!(matches!(
            calls.handle(&push.to_string(), 2_000).unwrap(),
            Admission::Ring(_)
        ));
        assert_eq!(
            calls.handle_ringing(id, Some("a".into()), None, Some(1_000), None, 2_100),
            Admission::Ignored {
                reason: IgnoreReason::Duplicate,
                call_id: Some(id.into())
            }
        );
        // And the other way round.
        let other = "1b6f1c1e-8f1a-4c55-9d0e-2f4f7a1b2c3d";
        let inv = rings(calls.handle_ringing(
            other,
            Some("a".into()),
            Some("Ann Lee".into()),
            None,
            None,
            0,
        ))
        .invite;
        assert_eq!(inv.handle, "a");
        assert_eq!(inv.caller_id.as_deref(), Some("a"));
        let push = serde_json::json!({"callId": other, "sentAt": "0"});
        assert!(matches!(
            calls.handle(&push.to_string(), 10).unwrap(),
            Admission::Ignored {
                reason: IgnoreReason::Duplicate,
                ..
            }
        ));
    }
}
