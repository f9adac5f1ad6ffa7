//! Incoming calls on the device: turning a push into an invite at once (no network, no disk
//! beyond the cached identity), remembering which calls were already seen, and keeping each
//! invite's state machine until it ends. The async effects (joining media, REST, timers)
//! are performed by the engine.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::call_state::{Call, Illegal, Input};
use crate::push::{self, CallPush, PushError};

/// How many recent call ids are remembered for dedupe.
const SEEN_CAPACITY: usize = 256;
/// How many invites (ringing or recently ended) are kept.
const INVITES_CAPACITY: usize = 64;

#[derive(Debug, Clone, PartialEq)]
pub struct Invite {
    pub call_id: String,
    pub caller_name: Option<String>,
    /// What CallKit / Telecom shows as the handle: the caller's clientId when the push
    /// carries it (extended profile), its name otherwise.
    pub handle: String,
    pub received_at_ms: i64,
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

pub struct Pending {
    pub push: CallPush,
    pub call: Call,
}

#[derive(Default)]
pub struct IncomingCalls {
    seen: Mutex<VecDeque<String>>,
    invites: Mutex<HashMap<String, Pending>>,
    order: Mutex<VecDeque<String>>,
}

impl IncomingCalls {
    /// The synchronous push path. Malformed payloads are errors; anything else is an
    /// invite or a reasoned `Ignored`.
    pub fn handle(&self, raw: &str, now_ms: i64) -> Result<PushOutcome, PushError> {
        let parsed = match push::parse(raw) {
            Ok(p) => p,
            Err(PushError::NotACallPush) => {
                return Ok(PushOutcome::Ignored {
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
        now_ms: i64,
    ) -> PushOutcome {
        self.admit(
            CallPush {
                platform: push::Platform::EventChannel,
                token: None,
                call_id: Some(call_id.to_string()),
                caller_id,
                caller_name,
                sent_at_ms,
            },
            now_ms,
        )
    }

    fn admit(&self, parsed: CallPush, now_ms: i64) -> PushOutcome {
        let Some(call_id) = push::call_id(&parsed) else {
            return PushOutcome::Ignored {
                reason: IgnoreReason::NotACallPush,
                call_id: None,
            };
        };
        {
            let mut seen = self.seen.lock().expect("seen lock");
            if seen.contains(&call_id) {
                return PushOutcome::Ignored {
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
            // Too late to ring: remembered as missed, never presented as ringing.
            let mut call = Call::incoming();
            let _ = call.apply(Input::RingTimeout);
            self.keep(call_id.clone(), Pending { push: parsed, call });
            return PushOutcome::Ignored {
                reason: IgnoreReason::Expired,
                call_id: Some(call_id),
            };
        }
        let invite = Invite {
            call_id: call_id.clone(),
            caller_name: parsed.caller_name.clone(),
            handle: parsed
                .caller_id
                .clone()
                .or_else(|| parsed.caller_name.clone())
                .unwrap_or_else(|| "Unknown".into()),
            received_at_ms: now_ms,
        };
        self.keep(
            call_id,
            Pending {
                push: parsed,
                call: Call::incoming(),
            },
        );
        PushOutcome::Invite(invite)
    }

    fn keep(&self, call_id: String, pending: Pending) {
        let mut invites = self.invites.lock().expect("invites lock");
        let mut order = self.order.lock().expect("order lock");
        if order.len() == INVITES_CAPACITY {
            if let Some(old) = order.pop_front() {
                invites.remove(&old);
            }
        }
        order.push_back(call_id.clone());
        invites.insert(call_id, pending);
    }

    /// Applies an input to an invite's state machine; returns the effects and the push.
    pub fn apply(
        &self,
        call_id: &str,
        input: Input,
    ) -> Result<(Vec<crate::call_state::Effect>, CallPush), ApplyError> {
        let mut invites = self.invites.lock().expect("invites lock");
        let pending = invites.get_mut(call_id).ok_or(ApplyError::UnknownCall)?;
        let effects = pending.call.apply(input).map_err(ApplyError::Illegal)?;
        Ok((effects, pending.push.clone()))
    }

    /// What the push (or `ringing` event) of a call said.
    pub fn push(&self, call_id: &str) -> Option<CallPush> {
        self.invites
            .lock()
            .expect("invites lock")
            .get(call_id)
            .map(|p| p.push.clone())
    }

    pub fn state(&self, call_id: &str) -> Option<crate::call_state::CallState> {
        self.invites
            .lock()
            .expect("invites lock")
            .get(call_id)
            .map(|p| p.call.state.clone())
    }

    /// Call ids that were answered and have not ended.
    pub fn answered(&self) -> Vec<String> {
        use crate::call_state::CallState::{Connected, Connecting};
        self.invites
            .lock()
            .expect("invites lock")
            .iter()
            .filter(|(_, p)| matches!(p.call.state, Connecting | Connected))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Call ids that are still ringing.
    #[cfg(test)]
    pub fn ringing(&self) -> Vec<String> {
        self.invites
            .lock()
            .expect("invites lock")
            .iter()
            .filter(|(_, p)| p.call.state == crate::call_state::CallState::Ringing)
            .map(|(id, _)| id.clone())
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApplyError {
    #[error("no incoming call with that id")]
    UnknownCall,
    #[error(transparent)]
    Illegal(Illegal),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call_state::{CallState, EndReason};

    fn fcm(tok: &str) -> String {
        serde_json::json!({
            "pinpoint.notification.body": "Ann Lee is calling you",
            "pinpoint.deeplink": format!("https://my.app.com/incomingCall?tok={tok}"),
        })
        .to_string()
    }

    #[test]
    fn the_same_push_twice_gives_one_invite() {
        let calls = IncomingCalls::default();
        let PushOutcome::Invite(inv) = calls.handle(&fcm("a.b.c"), 0).unwrap() else {
            panic!()
        };
        assert_eq!(inv.caller_name.as_deref(), Some("Ann Lee"));
        assert_eq!(inv.handle, "Ann Lee");
        assert_eq!(
            calls.handle(&fcm("a.b.c"), 5).unwrap(),
            PushOutcome::Ignored {
                reason: IgnoreReason::Duplicate,
                call_id: Some(inv.call_id.clone())
            }
        );
        assert_eq!(calls.ringing(), vec![inv.call_id]);
    }

    #[test]
    fn a_stale_push_is_a_missed_call_and_never_rings() {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let tok = format!("h.{}.s", b64.encode(br#"{"v":"v3","exp":10}"#));
        let calls = IncomingCalls::default();
        let PushOutcome::Ignored {
            reason: IgnoreReason::Expired,
            call_id: Some(id),
        } = calls.handle(&fcm(&tok), 20_000).unwrap()
        else {
            panic!("expected Expired")
        };
        assert_eq!(calls.state(&id), Some(CallState::Ended(EndReason::Missed)));
        assert!(calls.ringing().is_empty());
    }

    #[test]
    fn not_a_call_push_and_malformed_pushes() {
        let calls = IncomingCalls::default();
        assert_eq!(
            calls
                .handle(r#"{"pinpoint.notification.title":"Sale"}"#, 0)
                .unwrap(),
            PushOutcome::Ignored {
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
        let calls = IncomingCalls::default();
        let id = "0b6f1c1e-8f1a-4c55-9d0e-2f4f7a1b2c3d";
        let push = serde_json::json!({"callId": id, "callerId": "a", "callerName": "Ann Lee", "sentAt": "1000"});
        assert!(matches!(
            calls.handle(&push.to_string(), 2_000).unwrap(),
            PushOutcome::Invite(_)
        ));
        assert_eq!(
            calls.handle_ringing(id, Some("a".into()), None, Some(1_000), 2_100),
            PushOutcome::Ignored {
                reason: IgnoreReason::Duplicate,
                call_id: Some(id.into())
            }
        );
        // And the other way round.
        let other = "1b6f1c1e-8f1a-4c55-9d0e-2f4f7a1b2c3d";
        let PushOutcome::Invite(inv) =
            calls.handle_ringing(other, Some("a".into()), Some("Ann Lee".into()), None, 0)
        else {
            panic!()
        };
        assert_eq!(inv.handle, "a");
        let push = serde_json::json!({"callId": other, "sentAt": "0"});
        assert!(matches!(
            calls.handle(&push.to_string(), 10).unwrap(),
            PushOutcome::Ignored {
                reason: IgnoreReason::Duplicate,
                ..
            }
        ));
    }

    #[test]
    fn answer_after_decline_is_illegal_and_unknown_ids_are_errors() {
        let calls = IncomingCalls::default();
        let PushOutcome::Invite(inv) = calls.handle(&fcm("x.y.z"), 0).unwrap() else {
            panic!()
        };
        calls.apply(&inv.call_id, Input::Decline).unwrap();
        assert!(matches!(
            calls.apply(&inv.call_id, Input::Answer),
            Err(ApplyError::Illegal(_))
        ));
        assert_eq!(
            calls.apply("nope", Input::Answer).err(),
            Some(ApplyError::UnknownCall)
        );
    }
}
