//! Rooms, the extended profile's group calls (docs/extended-profile.md, "Rooms"): a room is
//! one N-party media session, as Bandwidth's v3 platform makes them, plus the member list
//! the server keeps for it. Every change of the list (`enter`, `leave`, `muted`) takes the
//! room's next `seq` and goes on `/ws` to every connection of every member (the one leaving
//! included), so a client that holds a snapshot applies what follows it in order and asks
//! `getRoom` when it sees a gap. Presence follows the member's media participant: it is
//! present from `enterRoom` until it leaves the room (REST, or `endCall`), its signaling
//! socket leaves or closes, the socket is lost past the gateway's grace, no socket opens
//! within the media deadline, or its clientId is deleted. A member that entered through
//! `/ws` `enterroom` (seed 002's own flow) is present while that connection is open.
//! A room never ends its session for one member's exit; it goes when its last member does,
//! or when nobody enters it within its time to live.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::events::event;
use crate::rest::{coded, Reply};
use crate::state::{CallPhase, CallRecord, Session, State, MAX_SESSIONS};
use crate::time::now_ms;
use crate::tokens::Claims;
use crate::Shared;

/// Members a room holds unless the mock is started with `--room-cap`.
pub const DEFAULT_ROOM_CAP: usize = 8;
/// The largest cap: Bandwidth's sessions hold 20, which leaves room for rejoins.
pub const MAX_ROOM_CAP: usize = 16;
/// Rooms the mock keeps at once.
pub const MAX_ROOMS: usize = 1_000;

/// Why a member left, as `leave` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveReason {
    /// It left: `leaveRoom`, `endCall`, its signaling `leave` or Close, its `/ws` Close.
    Left,
    /// Its connection was lost and did not come back (or never came).
    Lost,
    /// Its clientId was deleted.
    Removed,
}

impl LeaveReason {
    pub fn as_str(self) -> &'static str {
        match self {
            LeaveReason::Left => "left",
            LeaveReason::Lost => "lost",
            LeaveReason::Removed => "removed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Member {
    pub client_id: String,
    /// Its media participant's id (Bandwidth's `participantId`), which also keys its stream
    /// in `streamMetadata`.
    pub connection_id: String,
    pub name: Option<String>,
    pub muted: bool,
    pub joined_ms: i64,
    /// The `/ws` connection it entered through (seed 002's `enterroom`), if it did.
    pub ws_conn: Option<u64>,
    /// Its signaling socket is lost and may come back (within the gateway's grace).
    pub reconnecting: bool,
}

impl Member {
    fn to_json(&self, room_id: &str) -> Value {
        json!({
            "roomID": room_id,
            "connectionID": self.connection_id,
            "clientId": self.client_id,
            "name": self.name,
            "muted": self.muted,
            "joinedAt": self.joined_ms,
            "connection": if self.reconnecting { "reconnecting" } else { "connected" },
        })
    }
}

#[derive(Debug, Clone)]
pub struct Room {
    pub id: String,
    pub session_id: String,
    pub creator: String,
    pub created_ms: i64,
    /// The number of the last change; a snapshot carries it.
    pub seq: u64,
    /// In the order they entered.
    pub members: Vec<Member>,
    /// The console's presence time line (bounded): enters, leaves, mutes, invites.
    pub timeline: Vec<(i64, String)>,
}

impl Room {
    /// Adds a line to the time line, dropping the oldest past `MAX_TIMELINE`.
    fn note(&mut self, what: impl Into<String>) {
        if self.timeline.len() >= crate::state::MAX_TIMELINE {
            self.timeline.remove(0);
        }
        self.timeline.push((now_ms(), what.into()));
    }

    fn members_json(&self) -> Value {
        Value::Array(self.members.iter().map(|m| m.to_json(&self.id)).collect())
    }

    /// What a client holding nothing needs: `{roomID, members, seq}`.
    pub fn snapshot(&self) -> Value {
        json!({"roomID": self.id, "members": self.members_json(), "seq": self.seq})
    }

    fn is_member(&self, client_id: &str) -> bool {
        self.members.iter().any(|m| m.client_id == client_id)
    }
}

fn not_found(room_id: &str) -> Reply {
    coded(
        StatusCode::INTERNAL_SERVER_ERROR,
        "ROOM_NOT_FOUND",
        format!("ERROR :: No room {room_id}"),
    )
}

fn not_member() -> Reply {
    coded(
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
        "this client is not a member of the room",
    )
}

/// Sends `ev` to every connection of every member, and of `also` (one that just left).
fn fan_out(shared: &Shared, room: &Room, ev: &Value, also: Option<&str>) {
    for m in &room.members {
        shared.events.notify(&m.client_id, ev);
    }
    if let Some(c) = also {
        if !room.is_member(c) {
            shared.events.notify(c, ev);
        }
    }
}

/// `createRoom {clientId}` → `{roomID}`: an empty room with its media session. It is deleted
/// if nobody enters it within the configured time to live.
pub fn create(shared: &Shared, st: &mut State, client_id: &str) -> Result<Value, Reply> {
    if !st.devices.contains_key(client_id) {
        return Err(crate::rest::thrown(format!(
            "ERROR :: No device registered for clientId {client_id}"
        )));
    }
    if st.rooms.len() >= MAX_ROOMS || st.sessions.len() >= MAX_SESSIONS {
        return Err(crate::rest::thrown("ERROR :: Too many media sessions"));
    }
    let room = Room {
        id: uuid::Uuid::new_v4().to_string(),
        session_id: uuid::Uuid::new_v4().to_string(),
        creator: client_id.to_string(),
        created_ms: now_ms(),
        seq: 0,
        members: Vec::new(),
        timeline: vec![(now_ms(), format!("created by {client_id}"))],
    };
    st.sessions.insert(
        room.session_id.clone(),
        Session {
            id: room.session_id.clone(),
            participants: Vec::new(),
        },
    );
    let room_id = room.id.clone();
    tracing::info!(target: "dialtone_mock::rooms", "room {room_id} created by {client_id}");
    st.rooms.insert(room_id.clone(), room);
    let (sh, id) = (shared.clone(), room_id.clone());
    let ttl = shared.config.room_ttl;
    tokio::spawn(async move {
        tokio::time::sleep(ttl).await;
        let mut st = sh.state.lock().expect("state lock");
        if st.rooms.get(&id).is_some_and(|r| r.seq == 0) {
            tracing::info!(target: "dialtone_mock::rooms", "room {id} deleted: nobody entered it");
            delete(&sh, &mut st, &id);
        }
    });
    Ok(json!({ "roomID": room_id }))
}

/// `enterRoom {clientId, roomID}` → `{roomID, token, connectionID, members, seq}`. A client
/// already in the room enters again as a new member (the old one leaves first: an app that
/// restarted); a client in a call or another room is busy.
pub fn enter(
    shared: &Shared,
    st: &mut State,
    client_id: &str,
    room_id: &str,
    ws_conn: Option<u64>,
    call_id: Option<&str>,
) -> Result<Value, Reply> {
    let Some(device) = st.devices.get(client_id) else {
        return Err(crate::rest::thrown(format!(
            "ERROR :: No device registered for clientId {client_id}"
        )));
    };
    if !st.rooms.contains_key(room_id) {
        return Err(not_found(room_id));
    }
    // Answering an invite: it must be this client's, to this room, and still ringing.
    let answering = match call_id {
        None => None,
        Some(call_id) => match st.calls.get(call_id) {
            Some(c) if c.room_id.as_deref() == Some(room_id) && c.callee == client_id => {
                if c.phase != CallPhase::Ringing {
                    return Err(coded(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "CALL_ENDED",
                        "ERROR :: The invite is over",
                    ));
                }
                Some(call_id.to_string())
            }
            _ => {
                return Err(coded(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "CALL_NOT_FOUND",
                    format!("ERROR :: No invite {call_id} to this room for this client"),
                ))
            }
        },
    };
    if device.in_session() || device.room_id.as_deref().is_some_and(|r| r != room_id) {
        return Err(crate::rest::busy("Client"));
    }
    if let Some(old) = st.rooms[room_id]
        .members
        .iter()
        .find(|m| m.client_id == client_id)
        .map(|m| m.connection_id.clone())
    {
        remove_member(shared, st, room_id, &old, LeaveReason::Left, true);
    }
    // Ringing invites hold their places, the one being answered excepted.
    let held = ringing_invites(st, room_id)
        .filter(|c| Some(&c.id) != answering.as_ref())
        .count();
    if st.rooms[room_id].members.len() + held >= shared.config.room_cap {
        return Err(coded(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ROOM_FULL",
            format!(
                "ERROR :: The room is full ({} members)",
                shared.config.room_cap
            ),
        ));
    }
    let name = st
        .person_name_for_client(client_id)
        .map(|(first, last)| format!("{first} {last}"));
    let connection_id = uuid::Uuid::new_v4().to_string();
    let room = st.rooms.get_mut(room_id).expect("checked above");
    let token = shared.tokens.issue(&Claims {
        a: shared.account_id.clone(),
        p: connection_id.clone(),
        v: "v3".into(),
        exp: now_ms() / 1000 + shared.config.participant_token_lifetime.as_secs() as i64,
        tid: room.session_id.clone(),
        iss: "mock:00".into(),
    });
    room.seq += 1;
    let member = Member {
        client_id: client_id.to_string(),
        connection_id: connection_id.clone(),
        name,
        muted: false,
        joined_ms: now_ms(),
        ws_conn,
        reconnecting: false,
    };
    let mut ev = member.to_json(room_id);
    ev["seq"] = json!(room.seq);
    room.note(format!(
        "seq {}: {client_id} entered{}",
        room.seq,
        if answering.is_some() {
            " (answering an invite)"
        } else {
            ""
        }
    ));
    room.members.push(member);
    let session_id = room.session_id.clone();
    let reply = json!({
        "roomID": room_id,
        "token": token,
        "connectionID": connection_id,
        "members": room.members_json(),
        "seq": room.seq,
    });
    fan_out(shared, room, &event("enter", ev), None);
    tracing::info!(target: "dialtone_mock::rooms", "{client_id} entered room {room_id} as {connection_id}");
    if let Some(s) = st.sessions.get_mut(&session_id) {
        s.participants
            .push((client_id.to_string(), connection_id.clone()));
    }
    if let Some(d) = st.devices.get_mut(client_id) {
        d.room_id = Some(room_id.to_string());
    }
    if ws_conn.is_none() {
        watch_media_deadline(shared, room_id, &session_id, &connection_id);
    }
    if let Some(call_id) = answering {
        crate::rest::release_call(shared, st, &call_id, "answered", client_id);
    }
    Ok(reply)
}

fn ringing_invites<'a>(st: &'a State, room_id: &'a str) -> impl Iterator<Item = &'a CallRecord> {
    st.calls
        .values()
        .filter(move |c| c.room_id.as_deref() == Some(room_id) && c.phase == CallPhase::Ringing)
}

/// An invite's event, to its callee (every connection) and to every member of its room.
pub fn notify_invite(shared: &Shared, st: &mut State, call: &CallRecord, ev: &Value) {
    if let Some(room) = call.room_id.as_ref().and_then(|r| st.rooms.get_mut(r)) {
        let kind = ev["type"].as_str().unwrap_or("event");
        room.note(format!("invite to {}: {kind}", call.callee));
    }
    shared.events.notify(&call.callee, ev);
    if let Some(room) = call.room_id.as_ref().and_then(|r| st.rooms.get(r)) {
        for m in &room.members {
            if m.client_id != call.callee {
                shared.events.notify(&m.client_id, ev);
            }
        }
    }
}

/// `ringRoom {clientId, roomID, calleeIds}` → `{roomID, invites: [{calleeId, callId}]}`: a
/// member rings others into its room. Each invite is a call record (same `callId` dedupe,
/// push with `roomID` and `memberCount`, `ringing` on `/ws` to the callee and the members);
/// `declineCall` and `cancelCall` work on it, and it is `missed` after the invite time. A
/// callee in a call or a room is `busy` at once; one already in this room or already rung
/// is skipped. Ringing invites hold places: more than the cap leaves is `ROOM_FULL`.
pub fn ring(
    shared: &Shared,
    st: &mut State,
    client_id: &str,
    room_id: &str,
    callee_ids: &[&str],
) -> Result<Value, Reply> {
    let room = member_room(st, client_id, room_id)?;
    for callee in callee_ids {
        if !st.devices.contains_key(*callee) {
            return Err(crate::rest::thrown(format!(
                "ERROR :: No device registered for calleeId {callee}"
            )));
        }
    }
    let rung: Vec<&str> = ringing_invites(st, room_id)
        .map(|c| c.callee.as_str())
        .collect();
    let mut fresh: Vec<&str> = callee_ids
        .iter()
        .copied()
        .filter(|c| *c != client_id && !room.is_member(c) && !rung.contains(c))
        .collect();
    fresh.dedup();
    let places = shared
        .config
        .room_cap
        .saturating_sub(room.members.len() + rung.len());
    if fresh.len() > places {
        return Err(coded(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ROOM_FULL",
            format!("ERROR :: The room has {places} places left for invites"),
        ));
    }
    let member_count = room.members.len();
    let (first, last) = st
        .person_name_for_client(client_id)
        .unwrap_or_else(|| ("Unknown".to_string(), "caller".to_string()));
    let mut invites = Vec::new();
    for callee in fresh {
        let call = CallRecord {
            id: uuid::Uuid::new_v4().to_string(),
            caller: client_id.to_string(),
            callee: callee.to_string(),
            caller_name: format!("{first} {last}"),
            session_id: st.rooms[room_id].session_id.clone(),
            phase: CallPhase::Ringing,
            created_ms: now_ms(),
            last_event: None,
            room_id: Some(room_id.to_string()),
        };
        invites.push(json!({"calleeId": callee, "callId": call.id}));
        let device = &st.devices[callee];
        let busy = device.in_session() || device.room_id.is_some();
        let (token, notify) = (device.device_token.clone(), device.notify_type.clone());
        let call_id = call.id.clone();
        st.calls.insert(call_id.clone(), call.clone());
        if busy {
            crate::rest::release_call(shared, st, &call_id, "busy", callee);
            continue;
        }
        let push = crate::outbox::extended_call_push(
            &notify,
            &first,
            &last,
            &call,
            Some((room_id, member_count)),
        );
        st.enqueue_push(&token, &notify, "high", push);
        let mut ev = crate::events::ringing_event(&call);
        ev["memberCount"] = json!(member_count);
        notify_invite(shared, st, &call, &ev);
        let (sh, ttl) = (shared.clone(), shared.config.invite_ttl);
        tokio::spawn(async move {
            tokio::time::sleep(ttl).await;
            let mut st = sh.state.lock().expect("state lock");
            if st
                .calls
                .get(&call_id)
                .is_some_and(|c| c.phase == CallPhase::Ringing)
            {
                crate::rest::release_call(&sh, &mut st, &call_id, "missed", "server");
            }
        });
    }
    shared.outbox_changed.notify_waiters();
    tracing::info!(target: "dialtone_mock::rooms", "{client_id} rang {} into room {room_id}", invites.len());
    Ok(json!({"roomID": room_id, "invites": invites}))
}

/// A member that never opens its signaling socket is lost after the media deadline.
fn watch_media_deadline(shared: &Shared, room_id: &str, session_id: &str, connection_id: &str) {
    let (sh, room_id, session_id, connection_id) = (
        shared.clone(),
        room_id.to_string(),
        session_id.to_string(),
        connection_id.to_string(),
    );
    tokio::spawn(async move {
        tokio::time::sleep(sh.config.room_media_deadline).await;
        if sh.sfu.participant(&session_id, &connection_id).is_some() {
            return;
        }
        let mut st = sh.state.lock().expect("state lock");
        if leave(&sh, &mut st, &room_id, &connection_id, LeaveReason::Lost) {
            tracing::info!(target: "dialtone_mock::rooms", "member {connection_id} of room {room_id} never joined its media: lost");
        }
    });
}

/// Takes a member out of its room and tells everyone. Its media goes too (when it is still
/// there); the room goes with its last member. False when it was not a member.
pub fn leave(
    shared: &Shared,
    st: &mut State,
    room_id: &str,
    connection_id: &str,
    reason: LeaveReason,
) -> bool {
    remove_member(shared, st, room_id, connection_id, reason, false)
}

/// `leave`; with `keep_empty`, the room stays even if it is now empty (its member is
/// entering again).
fn remove_member(
    shared: &Shared,
    st: &mut State,
    room_id: &str,
    connection_id: &str,
    reason: LeaveReason,
    keep_empty: bool,
) -> bool {
    let Some(room) = st.rooms.get_mut(room_id) else {
        return false;
    };
    let Some(at) = room
        .members
        .iter()
        .position(|m| m.connection_id == connection_id)
    else {
        return false;
    };
    let member = room.members.remove(at);
    room.seq += 1;
    let line = format!(
        "seq {}: {} left ({})",
        room.seq,
        member.client_id,
        reason.as_str()
    );
    room.note(line);
    let ev = event(
        "leave",
        json!({
            "roomID": room_id,
            "connectionID": connection_id,
            "clientId": member.client_id,
            "reason": reason.as_str(),
            "seq": room.seq,
        }),
    );
    fan_out(shared, room, &ev, Some(&member.client_id));
    tracing::info!(target: "dialtone_mock::rooms", "{} left room {room_id} ({})", member.client_id, reason.as_str());
    let (session_id, empty) = (room.session_id.clone(), room.members.is_empty());
    if let Some(s) = st.sessions.get_mut(&session_id) {
        s.participants.retain(|(_, p)| p != connection_id);
    }
    if let Some(d) = st.devices.get_mut(&member.client_id) {
        if d.room_id.as_deref() == Some(room_id) {
            d.room_id = None;
        }
    }
    if empty && !keep_empty {
        delete(shared, st, room_id);
    } else {
        let (sfu, session_id, connection_id) =
            (shared.sfu.clone(), session_id, connection_id.to_string());
        tokio::spawn(async move { sfu.remove(&session_id, &connection_id).await });
    }
    true
}

/// The room and its media session go; invites still ringing are cancelled.
fn delete(shared: &Shared, st: &mut State, room_id: &str) {
    let ringing: Vec<(String, String)> = ringing_invites(st, room_id)
        .map(|c| (c.id.clone(), c.caller.clone()))
        .collect();
    for (call_id, by) in ringing {
        crate::rest::release_call(shared, st, &call_id, "cancelled", &by);
    }
    if let Some(room) = st.rooms.remove(room_id) {
        st.sessions.remove(&room.session_id);
        for m in &room.members {
            if let Some(d) = st.devices.get_mut(&m.client_id) {
                d.room_id = None;
            }
        }
        let sfu = shared.sfu.clone();
        tokio::spawn(async move { sfu.end_session(&room.session_id).await });
    }
}

fn member_room<'a>(st: &'a State, client_id: &str, room_id: &str) -> Result<&'a Room, Reply> {
    let room = st.rooms.get(room_id).ok_or_else(|| not_found(room_id))?;
    if room.is_member(client_id) {
        Ok(room)
    } else {
        Err(not_member())
    }
}

/// `leaveRoom {clientId, roomID}`.
pub fn leave_rest(
    shared: &Shared,
    st: &mut State,
    client_id: &str,
    room_id: &str,
) -> Result<Value, Reply> {
    let connection_id = member_room(st, client_id, room_id)?
        .members
        .iter()
        .find(|m| m.client_id == client_id)
        .map(|m| m.connection_id.clone())
        .expect("a member");
    leave(shared, st, room_id, &connection_id, LeaveReason::Left);
    Ok(json!({"roomID": room_id}))
}

/// `getRoom {clientId, roomID}` → `{roomID, members, invites, seq}`: for members, and for
/// a client the room is ringing (it may look before it answers). `invites` lists the ringing
/// ones: `{callId, calleeId, callerId}`.
pub fn get(st: &State, client_id: &str, room_id: &str) -> Result<Value, Reply> {
    let room = st.rooms.get(room_id).ok_or_else(|| not_found(room_id))?;
    let invited = ringing_invites(st, room_id).any(|c| c.callee == client_id);
    if !room.is_member(client_id) && !invited {
        return Err(not_member());
    }
    let mut v = room.snapshot();
    v["invites"] = ringing_invites(st, room_id)
        .map(|c| json!({"callId": c.id, "calleeId": c.callee, "callerId": c.caller}))
        .collect();
    Ok(v)
}

/// `setMuted {clientId, roomID, muted}` → `{roomID, seq}`; `muted` to everyone when it changed.
pub fn set_muted(
    shared: &Shared,
    st: &mut State,
    client_id: &str,
    room_id: &str,
    muted: bool,
) -> Result<Value, Reply> {
    member_room(st, client_id, room_id)?;
    let room = st.rooms.get_mut(room_id).expect("checked above");
    let member = room
        .members
        .iter_mut()
        .find(|m| m.client_id == client_id)
        .expect("a member");
    if member.muted != muted {
        member.muted = muted;
        let connection_id = member.connection_id.clone();
        room.seq += 1;
        let line = format!(
            "seq {}: {client_id} {}",
            room.seq,
            if muted { "muted" } else { "unmuted" }
        );
        room.note(line);
        let ev = event(
            "muted",
            json!({"roomID": room_id, "connectionID": connection_id, "muted": muted, "seq": room.seq}),
        );
        fan_out(shared, room, &ev, None);
    }
    Ok(json!({"roomID": room_id, "seq": room.seq}))
}

/// `renewToken {clientId, roomID}` → `{roomID, token}`: a fresh token for the member's own
/// participant.
pub fn renew_token(
    shared: &Shared,
    st: &State,
    client_id: &str,
    room_id: &str,
) -> Result<Value, Reply> {
    let room = member_room(st, client_id, room_id)?;
    let member = room
        .members
        .iter()
        .find(|m| m.client_id == client_id)
        .expect("a member");
    let token = shared.tokens.issue(&Claims {
        a: shared.account_id.clone(),
        p: member.connection_id.clone(),
        v: "v3".into(),
        exp: now_ms() / 1000 + shared.config.participant_token_lifetime.as_secs() as i64,
        tid: room.session_id.clone(),
        iss: "mock:00".into(),
    });
    Ok(json!({"roomID": room_id, "token": token}))
}

/// The `room` snapshot of each room `client_id` is in, sent when its `/ws` connects.
pub fn snapshots_for(st: &State, client_id: &str) -> Vec<Value> {
    let mut rooms: Vec<&Room> = st
        .rooms
        .values()
        .filter(|r| r.is_member(client_id))
        .collect();
    rooms.sort_by_key(|r| r.created_ms);
    rooms
        .into_iter()
        .map(|r| event("room", r.snapshot()))
        .collect()
}

/// The room `client_id` is in, with its connection id there (for `endCall` and deletes).
pub fn membership(st: &State, client_id: &str) -> Option<(String, String)> {
    let room_id = st.devices.get(client_id)?.room_id.clone()?;
    let conn = st
        .rooms
        .get(&room_id)?
        .members
        .iter()
        .find(|m| m.client_id == client_id)?
        .connection_id
        .clone();
    Some((room_id, conn))
}

/// A media participant's connection changed: a room member's presence follows it (its
/// socket lost: `connection reconnecting`; back: `connection connected`; gone: `leave`).
pub fn media_departed(shared: &Shared, departure: &crate::sfu::Departure) {
    use crate::sfu::Connection;
    let mut st = shared.state.lock().expect("state lock");
    let Some(room_id) = st
        .rooms
        .values()
        .find(|r| r.session_id == departure.session_id)
        .map(|r| r.id.clone())
    else {
        return;
    };
    match departure.what {
        Connection::Left | Connection::Lost => {
            let reason = if departure.what == Connection::Lost {
                LeaveReason::Lost
            } else {
                LeaveReason::Left
            };
            leave(shared, &mut st, &room_id, &departure.participant_id, reason);
        }
        Connection::Reconnecting | Connection::Back => {
            let reconnecting = departure.what == Connection::Reconnecting;
            let room = st.rooms.get_mut(&room_id).expect("found above");
            let Some(member) = room
                .members
                .iter_mut()
                .find(|m| m.connection_id == departure.participant_id)
            else {
                return;
            };
            if member.reconnecting == reconnecting {
                return;
            }
            member.reconnecting = reconnecting;
            let who = member.client_id.clone();
            room.seq += 1;
            let state = if reconnecting {
                "reconnecting"
            } else {
                "connected"
            };
            let line = format!("seq {}: {who} {state}", room.seq);
            room.note(line);
            let ev = event(
                "connection",
                json!({"roomID": room_id, "connectionID": departure.participant_id, "state": state, "seq": room.seq}),
            );
            fan_out(shared, room, &ev, None);
        }
    }
    drop(st);
    shared.touch();
}

/// A `/ws` connection closed (`lost`: without a Close frame): the members that entered
/// through it leave.
pub fn ws_closed(shared: &Shared, conn: u64, lost: bool) {
    let mut st = shared.state.lock().expect("state lock");
    let gone: Vec<(String, String)> = st
        .rooms
        .values()
        .flat_map(|r| {
            r.members
                .iter()
                .filter(|m| m.ws_conn == Some(conn))
                .map(|m| (r.id.clone(), m.connection_id.clone()))
        })
        .collect();
    let reason = if lost {
        LeaveReason::Lost
    } else {
        LeaveReason::Left
    };
    for (room_id, connection_id) in gone {
        leave(shared, &mut st, &room_id, &connection_id, reason);
    }
}

/// Seed 002's actions on `/ws`, verbatim: `{"action":"createroom"}` →
/// `{"type":"room-created","body":roomID}`; `{"action":"enterroom","roomID":…}` → `entered`
/// (the `enterRoom` reply) to this connection, and `enter` to every member. `None` when the
/// action is not one of them.
pub fn ws_action(shared: &Shared, client_id: &str, conn: u64, msg: &Value) -> Option<Value> {
    let action = msg.get("action").and_then(Value::as_str)?;
    let mut st = shared.state.lock().expect("state lock");
    let reply = match action {
        "createroom" => create(shared, &mut st, client_id)
            .map(|v| json!({"type": "room-created", "body": v["roomID"]})),
        "enterroom" => match msg.get("roomID").and_then(Value::as_str) {
            Some(room_id) if !room_id.is_empty() && room_id.len() <= 64 => {
                enter(shared, &mut st, client_id, room_id, Some(conn), None).map(|mut v| {
                    v["type"] = json!("entered");
                    v
                })
            }
            _ => Ok(event(
                "error",
                json!({"message": "enterroom needs a roomID (a string)"}),
            )),
        },
        _ => return None,
    };
    drop(st);
    shared.touch();
    Some(reply.unwrap_or_else(|(_, body)| {
        event(
            "error",
            json!({"message": body.0["message"], "error": body.0["error"]}),
        )
    }))
}

/// How long an unentered room lives, how long a member may take to open its socket, and
/// how long an invite rings.
pub const DEFAULT_ROOM_TTL: Duration = Duration::from_secs(60);
pub const DEFAULT_MEDIA_DEADLINE: Duration = Duration::from_secs(30);
pub const DEFAULT_INVITE_TTL: Duration = Duration::from_secs(45);
