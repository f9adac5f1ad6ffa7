//! Incoming-call pushes as the OS hands them over: an FCM data map (`Map<String,String>`,
//! as `onMessageReceived` gives it) or an APNs / PushKit dictionary, both as JSON. Reads the
//! seed's fields (title, body, `pinpoint.deeplink` with the callee's token) and the extended
//! profile's additive ones (`callId`, `callerId`, `callerName`, `sentAt`). Pure and
//! synchronous: no I/O, so the push callback can report to CallKit at once.

use serde_json::{Map, Value};

/// APNs allows 5 KiB for VoIP pushes, FCM 4 KiB of data: anything larger is not ours.
pub const MAX_PUSH_BYTES: usize = 5 * 1024;
/// Pinpoint sends call pushes with a 30 s TTL.
pub const PUSH_TTL_MS: i64 = 30_000;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PushError {
    #[error("the push is larger than {MAX_PUSH_BYTES} bytes")]
    TooLarge,
    #[error("the push is not valid JSON: {0}")]
    Malformed(String),
    #[error("not a call push")]
    NotACallPush,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Platform {
    Fcm,
    Apns,
    /// Not a push: a `ringing` event on the extended backend's event channel.
    EventChannel,
}

/// What a call push says. `token` is a secret; it is never logged.
#[derive(Clone, PartialEq)]
pub struct CallPush {
    pub platform: Platform,
    pub token: Option<String>,
    pub call_id: Option<String>,
    pub caller_id: Option<String>,
    pub caller_name: Option<String>,
    pub sent_at_ms: Option<i64>,
    /// A room invite (extended profile, `ringRoom`): the room, and how many were in it.
    pub room_id: Option<String>,
    pub member_count: Option<u32>,
}

impl std::fmt::Debug for CallPush {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallPush")
            .field("platform", &self.platform)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("call_id", &self.call_id)
            .field("caller_id", &self.caller_id)
            .field("caller_name", &self.caller_name)
            .field("sent_at_ms", &self.sent_at_ms)
            .field("room_id", &self.room_id)
            .field("member_count", &self.member_count)
            .finish()
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn token_from_deeplink(link: &str) -> Option<String> {
    let url = crate::backend::urls::parse(link).ok()?;
    if !url.path().ends_with("/incomingCall") {
        return None;
    }
    url.query_pairs()
        .find(|(k, _)| k == "tok")
        .map(|(_, v)| v.into_owned())
        .filter(|t| !t.is_empty())
}

/// "Alice Smith is calling you" → "Alice Smith".
fn caller_from_body(body: &str) -> Option<String> {
    body.strip_suffix(" is calling you")
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
}

pub fn parse(raw: &str) -> Result<CallPush, PushError> {
    if raw.len() > MAX_PUSH_BYTES {
        return Err(PushError::TooLarge);
    }
    let v: Value = serde_json::from_str(raw).map_err(|e| PushError::Malformed(e.to_string()))?;
    let Value::Object(obj) = v else {
        return Err(PushError::Malformed("the push is not a JSON object".into()));
    };
    if obj.contains_key("aps") || obj.get("data").is_some_and(Value::is_object) {
        parse_apns(&obj)
    } else {
        parse_fcm(&obj)
    }
}

fn parse_fcm(map: &Map<String, Value>) -> Result<CallPush, PushError> {
    let token = text(map.get("pinpoint.deeplink"))
        .as_deref()
        .and_then(token_from_deeplink);
    let call_id = text(map.get("callId"));
    if token.is_none() && call_id.is_none() {
        return Err(PushError::NotACallPush);
    }
    Ok(CallPush {
        platform: Platform::Fcm,
        token,
        call_id,
        caller_id: text(map.get("callerId")),
        caller_name: text(map.get("callerName")).or_else(|| {
            text(map.get("pinpoint.notification.body"))
                .as_deref()
                .and_then(caller_from_body)
        }),
        sent_at_ms: text(map.get("sentAt")).and_then(|s| s.parse().ok()),
        room_id: text(map.get("roomID")),
        member_count: text(map.get("memberCount")).and_then(|s| s.parse().ok()),
    })
}

fn parse_apns(obj: &Map<String, Value>) -> Result<CallPush, PushError> {
    let data = obj.get("data").and_then(Value::as_object);
    let field = |k: &str| text(data.and_then(|d| d.get(k))).or_else(|| text(obj.get(k)));
    let token = data
        .and_then(|d| d.get("pinpoint"))
        .and_then(|p| text(p.get("deeplink")))
        .as_deref()
        .and_then(token_from_deeplink);
    let call_id = field("callId");
    if token.is_none() && call_id.is_none() {
        return Err(PushError::NotACallPush);
    }
    let body = obj
        .get("aps")
        .and_then(|a| a.get("alert"))
        .and_then(|a| match a {
            Value::String(s) => Some(s.clone()),
            other => text(other.get("body")),
        });
    Ok(CallPush {
        platform: Platform::Apns,
        token,
        call_id,
        caller_id: field("callerId"),
        caller_name: field("callerName").or_else(|| body.as_deref().and_then(caller_from_body)),
        sent_at_ms: field("sentAt").and_then(|s| s.parse().ok()),
        room_id: field("roomID"),
        member_count: field("memberCount").and_then(|s| s.parse().ok()),
    })
}

/// A stable call id for CallKit: the extended profile's `callId`, or (seed profile, which
/// has none) a UUID derived from the token, so the same push twice gives the same id.
pub fn call_id(push: &CallPush) -> Option<String> {
    if let Some(id) = push
        .call_id
        .as_deref()
        .and_then(|c| uuid::Uuid::parse_str(c).ok())
    {
        return Some(id.to_string());
    }
    let token = push.token.as_deref()?;
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.as_ref()[..16]);
    Some(
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string(),
    )
}

/// Whether the push is too old to ring: `sentAt` plus the TTL (extended profile), or the
/// token's `exp` (seed profile, which sends no timestamp).
pub fn is_stale(push: &CallPush, now_ms: i64) -> bool {
    if let Some(sent) = push.sent_at_ms {
        return now_ms - sent > PUSH_TTL_MS;
    }
    push.token
        .as_deref()
        .and_then(crate::media::link::decode_claims)
        .and_then(|c| c.exp)
        .is_some_and(|exp| exp.saturating_mul(1000) <= now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn jwt(exp: i64) -> String {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            b64.encode(br#"{"alg":"HS256"}"#),
            b64.encode(format!(r#"{{"v":"v3","exp":{exp}}}"#))
        )
    }

    #[test]
    fn parses_the_seed_fcm_map() {
        let raw = serde_json::json!({
            "pinpoint.notification.title": "Incoming Call",
            "pinpoint.notification.body": "Alice Smith is calling you",
            "pinpoint.deeplink": format!("https://my.app.com/incomingCall?tok={}", jwt(99)),
        })
        .to_string();
        let p = parse(&raw).unwrap();
        assert_eq!(p.platform, Platform::Fcm);
        assert_eq!(p.caller_name.as_deref(), Some("Alice Smith"));
        assert_eq!(p.token, Some(jwt(99)));
        assert!(!format!("{p:?}").contains(&jwt(99)));
    }

    #[test]
    fn parses_the_seed_apns_payload_and_extended_fields() {
        let raw = serde_json::json!({
            "aps": {"alert": {"title": "Incoming Call", "body": "Bob Jones is calling you"}},
            "data": {"pinpoint": {"deeplink": "https://my.app.com/incomingCall?tok=abc.def.ghi"},
                     "callId": "0b9f3f4e-8d7c-4a62-9d9e-0e8f2b1c3a45", "sentAt": "1700000000000"},
        })
        .to_string();
        let p = parse(&raw).unwrap();
        assert_eq!(p.platform, Platform::Apns);
        assert_eq!(p.caller_name.as_deref(), Some("Bob Jones"));
        assert_eq!(p.token.as_deref(), Some("abc.def.ghi"));
        assert_eq!(
            call_id(&p).as_deref(),
            Some("0b9f3f4e-8d7c-4a62-9d9e-0e8f2b1c3a45")
        );
        assert_eq!(p.sent_at_ms, Some(1_700_000_000_000));
    }

    #[test]
    fn seed_call_ids_are_stable_per_token_and_differ_between_tokens() {
        let a = CallPush {
            platform: Platform::Fcm,
            token: Some("t1".into()),
            call_id: None,
            caller_id: None,
            caller_name: None,
            sent_at_ms: None,
            room_id: None,
            member_count: None,
        };
        let b = CallPush {
            token: Some("t2".into()),
            ..a.clone()
        };
        assert_eq!(call_id(&a), call_id(&a.clone()));
        assert_ne!(call_id(&a), call_id(&b));
        assert!(uuid::Uuid::parse_str(&call_id(&a).unwrap()).is_ok());
    }

    #[test]
    fn staleness_from_sent_at_or_token_expiry() {
        let base = CallPush {
            platform: Platform::Fcm,
            token: Some(jwt(100)),
            call_id: None,
            caller_id: None,
            caller_name: None,
            sent_at_ms: None,
            room_id: None,
            member_count: None,
        };
        assert!(!is_stale(&base, 99_000));
        assert!(is_stale(&base, 100_000));
        let sent = CallPush {
            sent_at_ms: Some(1_000),
            ..base
        };
        assert!(!is_stale(&sent, 31_000));
        assert!(is_stale(&sent, 31_001));
    }

    #[test]
    fn a_room_invite_names_its_room_on_both_platforms() {
        let fcm = serde_json::json!({
            "pinpoint.deeplink": "https://my.app.com/incomingCall?callId=c",
            "callId": "7f0c1b9e-2f4c-4c57-9d1e-6a1c1f7a2b10",
            "roomID": "room-1",
            "memberCount": "3",
        });
        let p = parse(&fcm.to_string()).unwrap();
        assert_eq!(
            (p.room_id.as_deref(), p.member_count),
            (Some("room-1"), Some(3))
        );
        let apns = serde_json::json!({"aps": {}, "data": {"callId": "c", "roomID": "room-2", "memberCount": "x"}});
        let p = parse(&apns.to_string()).unwrap();
        assert_eq!(
            (p.room_id.as_deref(), p.member_count),
            (Some("room-2"), None)
        );
    }

    #[test]
    fn bad_pushes_get_clear_errors() {
        assert!(matches!(parse("{not json"), Err(PushError::Malformed(_))));
        assert!(matches!(parse("[1]"), Err(PushError::Malformed(_))));
        assert_eq!(
            parse(&"x".repeat(MAX_PUSH_BYTES + 1)),
            Err(PushError::TooLarge)
        );
        assert_eq!(
            parse(r#"{"pinpoint.notification.title":"Sale!"}"#),
            Err(PushError::NotACallPush)
        );
        assert_eq!(
            parse(r#"{"pinpoint.deeplink":"https://my.app.com/promo?tok=x"}"#),
            Err(PushError::NotACallPush)
        );
        assert_eq!(
            parse(r#"{"aps":{"alert":"hi"}}"#),
            Err(PushError::NotACallPush)
        );
    }
}
