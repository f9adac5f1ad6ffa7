//! Rooms on the wire, client side (docs/extended-profile.md, "Rooms"): the REST actions
//! (`createRoom`, `enterRoom`, `leaveRoom`, `getRoom`, `setMuted`, `renewToken` with a
//! `roomID`) and the `/ws` room events (`room`, `enter`, `leave`, `muted`), typed. What a
//! room does with them is `rooms/`'s business. Written from the contract, not from the mock.

use serde_json::{json, Value};

use super::rest::{RestClient, RestError};

/// The longest id or name taken from the server; longer ones are refused.
const MAX_FIELD: usize = 1024;
/// The most members a reply or event may list (the contract's cap is 16).
pub const MAX_MEMBERS: usize = 64;

/// One member as the server lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    /// Its media participant's id (the key of its stream in `streamMetadata`).
    pub connection_id: String,
    pub client_id: Option<String>,
    pub name: Option<String>,
    pub muted: Option<bool>,
    pub joined_at_ms: Option<i64>,
    /// Its connection is lost and may come back (`connection: "reconnecting"`).
    pub reconnecting: bool,
}

/// The member list at `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub room_id: String,
    pub members: Vec<MemberRow>,
    pub seq: u64,
}

/// What `enterRoom` gives: a participant token for the room's session, this device's
/// connection id, and the member list (this device included).
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    pub snapshot: Snapshot,
    pub token: String,
    pub connection_id: String,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("snapshot", &self.snapshot)
            .field("token", &"[redacted]")
            .field("connection_id", &self.connection_id)
            .finish()
    }
}

/// Why a member left, as the server says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveReason {
    Left,
    Lost,
    Removed,
}

/// A room event from `/ws`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomEvent {
    /// On connect: the list as it is.
    Snapshot(Snapshot),
    Enter {
        room_id: String,
        seq: u64,
        member: MemberRow,
    },
    Leave {
        room_id: String,
        seq: u64,
        connection_id: String,
        reason: LeaveReason,
    },
    Muted {
        room_id: String,
        seq: u64,
        connection_id: String,
        muted: bool,
    },
    /// A member's connection was lost (`reconnecting`) or came back.
    Connection {
        room_id: String,
        seq: u64,
        connection_id: String,
        reconnecting: bool,
    },
}

impl RoomEvent {
    pub fn room_id(&self) -> &str {
        match self {
            RoomEvent::Snapshot(s) => &s.room_id,
            RoomEvent::Enter { room_id, .. }
            | RoomEvent::Leave { room_id, .. }
            | RoomEvent::Muted { room_id, .. }
            | RoomEvent::Connection { room_id, .. } => room_id,
        }
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.is_empty() && s.len() <= MAX_FIELD => Some(s.clone()),
        _ => None,
    }
}

fn required(v: &Value, key: &str, what: &str) -> Result<String, String> {
    text(v, key).ok_or_else(|| format!("{what} has no {key}"))
}

fn seq(v: &Value, what: &str) -> Result<u64, String> {
    v.get("seq")
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("{what} has no seq"))
}

fn member(v: &Value) -> Result<MemberRow, String> {
    Ok(MemberRow {
        connection_id: required(v, "connectionID", "a member")?,
        client_id: text(v, "clientId"),
        name: text(v, "name"),
        muted: v.get("muted").and_then(Value::as_bool),
        joined_at_ms: v.get("joinedAt").and_then(Value::as_i64),
        reconnecting: v.get("connection").and_then(Value::as_str) == Some("reconnecting"),
    })
}

fn snapshot(v: &Value, what: &str) -> Result<Snapshot, String> {
    let members = match v.get("members") {
        Some(Value::Array(list)) if list.len() <= MAX_MEMBERS => {
            list.iter().map(member).collect::<Result<Vec<_>, _>>()?
        }
        Some(Value::Array(_)) => return Err(format!("{what} lists over {MAX_MEMBERS} members")),
        _ => return Err(format!("{what} has no members")),
    };
    Ok(Snapshot {
        room_id: required(v, "roomID", what)?,
        members,
        seq: seq(v, what)?,
    })
}

/// Parses a `/ws` message of type `kind` if it is a room event: `None` when it is not one,
/// an error when it is one with a missing or wrong field. Pure: fuzzed.
pub fn parse_event(kind: &str, v: &Value) -> Option<Result<RoomEvent, String>> {
    let parsed = match kind {
        "room" => snapshot(v, "room").map(RoomEvent::Snapshot),
        "enter" => (|| {
            Ok(RoomEvent::Enter {
                room_id: required(v, "roomID", "enter")?,
                seq: seq(v, "enter")?,
                member: member(v)?,
            })
        })(),
        "leave" => (|| {
            Ok(RoomEvent::Leave {
                room_id: required(v, "roomID", "leave")?,
                seq: seq(v, "leave")?,
                connection_id: required(v, "connectionID", "leave")?,
                // A reason this client does not know yet is a plain leave.
                reason: match v.get("reason").and_then(Value::as_str) {
                    Some("lost") => LeaveReason::Lost,
                    Some("removed") => LeaveReason::Removed,
                    _ => LeaveReason::Left,
                },
            })
        })(),
        "muted" => (|| {
            Ok(RoomEvent::Muted {
                room_id: required(v, "roomID", "muted")?,
                seq: seq(v, "muted")?,
                connection_id: required(v, "connectionID", "muted")?,
                muted: v
                    .get("muted")
                    .and_then(Value::as_bool)
                    .ok_or("muted has no muted")?,
            })
        })(),
        "connection" => (|| {
            Ok(RoomEvent::Connection {
                room_id: required(v, "roomID", "connection")?,
                seq: seq(v, "connection")?,
                connection_id: required(v, "connectionID", "connection")?,
                reconnecting: match v.get("state").and_then(Value::as_str) {
                    Some("reconnecting") => true,
                    Some("connected") => false,
                    _ => return Err("connection has no state".to_string()),
                },
            })
        })(),
        _ => return None,
    };
    Some(parsed)
}

/// The room errors of the contract, typed; "Unknown action!" means a backend without rooms.
fn room_error(e: RestError) -> RestError {
    match e {
        RestError::Backend { message, .. } if message.contains("Unknown action") => {
            RestError::RoomsUnavailable
        }
        other => other,
    }
}

impl RestClient {
    async fn room_call(
        &self,
        action: &str,
        client_id: &str,
        secret: &str,
        fields: Value,
    ) -> Result<Value, RestError> {
        let mut body = json!({"action": action, "clientId": client_id});
        if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), fields) {
            b.extend(extra);
        }
        self.call(body, Some(secret)).await.map_err(room_error)
    }

    /// `createRoom` → the new room's id.
    pub async fn create_room(&self, client_id: &str, secret: &str) -> Result<String, RestError> {
        let v = self
            .room_call("createRoom", client_id, secret, json!({}))
            .await?;
        text(&v, "roomID").ok_or_else(|| RestError::Decode("createRoom reply has no roomID".into()))
    }

    /// `call_id`: the invite being answered, if this is an answer.
    pub async fn enter_room(
        &self,
        client_id: &str,
        secret: &str,
        room_id: &str,
        call_id: Option<&str>,
    ) -> Result<Entry, RestError> {
        let mut fields = json!({"roomID": room_id});
        if let Some(c) = call_id {
            fields["callId"] = json!(c);
        }
        let v = self
            .room_call("enterRoom", client_id, secret, fields)
            .await?;
        let decode = |e: String| RestError::Decode(format!("enterRoom reply: {e}"));
        Ok(Entry {
            snapshot: snapshot(&v, "enterRoom reply").map_err(decode)?,
            token: required(&v, "token", "enterRoom reply").map_err(decode)?,
            connection_id: required(&v, "connectionID", "enterRoom reply").map_err(decode)?,
        })
    }

    pub async fn leave_room(
        &self,
        client_id: &str,
        secret: &str,
        room_id: &str,
    ) -> Result<(), RestError> {
        self.room_call("leaveRoom", client_id, secret, json!({"roomID": room_id}))
            .await
            .map(|_| ())
    }

    pub async fn get_room(
        &self,
        client_id: &str,
        secret: &str,
        room_id: &str,
    ) -> Result<Snapshot, RestError> {
        let v = self
            .room_call("getRoom", client_id, secret, json!({"roomID": room_id}))
            .await?;
        snapshot(&v, "getRoom reply").map_err(RestError::Decode)
    }

    pub async fn set_room_muted(
        &self,
        client_id: &str,
        secret: &str,
        room_id: &str,
        muted: bool,
    ) -> Result<(), RestError> {
        self.room_call(
            "setMuted",
            client_id,
            secret,
            json!({"roomID": room_id, "muted": muted}),
        )
        .await
        .map(|_| ())
    }

    /// `ringRoom`: rings `callee_ids` into the room; the invites made, `(calleeId, callId)`.
    pub async fn ring_room(
        &self,
        client_id: &str,
        secret: &str,
        room_id: &str,
        callee_ids: &[String],
    ) -> Result<Vec<(String, String)>, RestError> {
        let v = self
            .room_call(
                "ringRoom",
                client_id,
                secret,
                json!({"roomID": room_id, "calleeIds": callee_ids}),
            )
            .await?;
        let Some(Value::Array(list)) = v.get("invites") else {
            return Err(RestError::Decode("ringRoom reply has no invites".into()));
        };
        list.iter()
            .take(MAX_MEMBERS)
            .map(|i| match (text(i, "calleeId"), text(i, "callId")) {
                (Some(a), Some(b)) => Ok((a, b)),
                _ => Err(RestError::Decode(
                    "an invite has no calleeId or callId".into(),
                )),
            })
            .collect()
    }

    /// A fresh participant token for this device's member of the room.
    pub async fn renew_room_token(
        &self,
        client_id: &str,
        secret: &str,
        room_id: &str,
    ) -> Result<String, RestError> {
        let v = self
            .room_call("renewToken", client_id, secret, json!({"roomID": room_id}))
            .await?;
        text(&v, "token").ok_or_else(|| RestError::Decode("renewToken reply has no token".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_events_parse_with_clear_errors() {
        let v = json!({"type": "enter", "roomID": "r", "connectionID": "c", "clientId": "a", "name": "Ada L", "muted": false, "joinedAt": 5, "seq": 3});
        assert_eq!(
            parse_event("enter", &v),
            Some(Ok(RoomEvent::Enter {
                room_id: "r".into(),
                seq: 3,
                member: MemberRow {
                    connection_id: "c".into(),
                    client_id: Some("a".into()),
                    name: Some("Ada L".into()),
                    muted: Some(false),
                    joined_at_ms: Some(5),
                    reconnecting: false,
                },
            }))
        );
        let v = json!({"roomID": "r", "connectionID": "c", "reason": "teleported", "seq": 4});
        assert!(matches!(
            parse_event("leave", &v),
            Some(Ok(RoomEvent::Leave {
                reason: LeaveReason::Left,
                ..
            }))
        ));
        let no_seq = json!({"roomID": "r", "connectionID": "c", "muted": true});
        assert_eq!(
            parse_event("muted", &no_seq),
            Some(Err("muted has no seq".into()))
        );
        let bad_member = json!({"roomID": "r", "seq": 1, "members": [{"clientId": "a"}]});
        assert_eq!(
            parse_event("room", &bad_member),
            Some(Err("a member has no connectionID".into()))
        );
        assert_eq!(parse_event("ringing", &json!({})), None);
        let v = json!({"roomID": "r", "connectionID": "c", "state": "reconnecting", "seq": 7});
        assert!(matches!(
            parse_event("connection", &v),
            Some(Ok(RoomEvent::Connection {
                reconnecting: true,
                seq: 7,
                ..
            }))
        ));
        let v = json!({"roomID": "r", "connectionID": "c", "state": "gone", "seq": 7});
        assert_eq!(
            parse_event("connection", &v),
            Some(Err("connection has no state".into()))
        );
    }
}
