//! `POST /api`: the REST Lambda of the seed backend (BACKEND.md §1), with its exact bodies:
//! 200 on success, 500 with a truthy `error` otherwise, `"BUSY"` the only machine-readable error.
//! The extended profile adds, without changing any seed field: `clientSecret` at register and
//! `Authorization: Bearer` on every later action (401 without, 403 for another clientId), a
//! `callId` from initiateCall with a server-side call state, `answerCall` (the callee fetches
//! its token: the push carries none), `declineCall`, `cancelCall`, and call events on `/ws`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};

use crate::events::ringing_event;
use crate::outbox::{extended_call_push, incoming_call_push};
use crate::state::{
    CallPhase, CallRecord, Device, Session, State, MAX_DEVICES, MAX_SESSIONS, MAX_TOKEN_LEN,
};
use crate::time::now_ms;
use crate::tokens::Claims;
use crate::{Profile, Shared};

pub const MAX_DELETE_IDS: usize = 100;

pub(crate) type Reply = (StatusCode, Json<Value>);

fn ok(v: Value) -> Reply {
    (StatusCode::OK, Json(v))
}

/// A thrown error in the Lambda: `{"message": …, "error": {}}` (an Error serialises as `{}`).
pub(crate) fn thrown(message: impl Into<String>) -> Reply {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({"message": message.into(), "error": {}})),
    )
}

pub(crate) fn busy(who: &str) -> Reply {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({"message": format!("ERROR :: {who} already in a session!"), "error": "BUSY"})),
    )
}

pub(crate) fn coded(status: StatusCode, code: &str, message: impl Into<String>) -> Reply {
    (
        status,
        Json(json!({"message": message.into(), "error": code})),
    )
}

/// The extended profile's answer to an action on a call that is over.
fn call_ended() -> Reply {
    coded(
        StatusCode::INTERNAL_SERVER_ERROR,
        "CALL_ENDED",
        "ERROR :: The call has ended",
    )
}

/// Compares secrets without an early exit, so timing does not reveal a prefix.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The calling client in the extended profile: the device whose secret is the bearer.
struct Caller {
    client_id: String,
    owner: String,
}

fn bearer_client(st: &State, headers: &HeaderMap) -> Option<Caller> {
    let secret = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?
        .trim();
    if secret.is_empty() {
        return None;
    }
    st.devices.values().find_map(|d| {
        d.secret
            .as_deref()
            .filter(|s| constant_time_eq(s.as_bytes(), secret.as_bytes()))
            .map(|_| Caller {
                client_id: d.id.clone(),
                owner: d.owner.clone(),
            })
    })
}

/// Extended profile: the bearer must be `acting_for`'s own secret.
fn authorize(st: &State, headers: &HeaderMap, acting_for: &str) -> Result<Caller, Reply> {
    let Some(caller) = bearer_client(st, headers) else {
        return Err(coded(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "a valid Authorization: Bearer <clientSecret> is required",
        ));
    };
    if caller.client_id != acting_for {
        return Err(coded(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "this client secret cannot act for another clientId",
        ));
    }
    Ok(caller)
}

pub async fn handle(
    AxState(shared): AxState<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Reply {
    let body = match body {
        Ok(b) => b,
        Err(rej) if rej.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                Json(json!({"message": "Request Entity Too Large"})),
            )
        }
        Err(rej) => return thrown(rej.body_text()),
    };
    let req: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => return thrown("request body must be a JSON object"),
        Err(e) => return thrown(format!("Unexpected token in JSON: {e}")),
    };
    let action = req
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let extended = shared.config.profile == Profile::Extended;
    let who = ["clientId", "callerId"]
        .iter()
        .find_map(|k| req.get(*k).and_then(Value::as_str))
        .unwrap_or("-");
    tracing::info!(target: "dialtone_mock::rest", "action {action} clientId {who}");
    let reply = {
        let mut st = shared.state.lock().expect("state lock");
        let h = &headers;
        match (action.as_str(), extended) {
            ("register", _) => register(&shared, &mut st, h, &req),
            ("initiateCall", _) => initiate_call(&shared, &mut st, h, &req),
            ("endCall", _) => end_call(&shared, &mut st, h, &req),
            ("deleteClientIds", _) => delete_client_ids(&shared, &mut st, h, &req),
            ("answerCall", true) => answer_call(&shared, &mut st, h, &req),
            ("declineCall", true) => finish_ringing(&shared, &mut st, h, &req, Finish::Decline),
            ("cancelCall", true) => finish_ringing(&shared, &mut st, h, &req, Finish::Cancel),
            ("renewToken", true) if req.get("roomID").is_some() => {
                room_action(&shared, &mut st, h, &req, RoomAction::RenewToken)
            }
            ("renewToken", true) => renew_token(&shared, &mut st, h, &req),
            ("createRoom", true) => room_action(&shared, &mut st, h, &req, RoomAction::Create),
            ("enterRoom", true) => room_action(&shared, &mut st, h, &req, RoomAction::Enter),
            ("leaveRoom", true) => room_action(&shared, &mut st, h, &req, RoomAction::Leave),
            ("getRoom", true) => room_action(&shared, &mut st, h, &req, RoomAction::Get),
            ("setMuted", true) => room_action(&shared, &mut st, h, &req, RoomAction::SetMuted),
            ("ringRoom", true) => room_action(&shared, &mut st, h, &req, RoomAction::Ring),
            _ => (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"error": "ERROR :: Unknown action!"})),
            ),
        }
    };
    if reply.0 == StatusCode::OK && action == "initiateCall" {
        shared.outbox_changed.notify_waiters();
    }
    reply
}

fn str_field<'a>(req: &'a Value, name: &str) -> Result<&'a str, Reply> {
    match req.get(name) {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_TOKEN_LEN => Ok(s),
        Some(Value::String(s)) if s.len() > MAX_TOKEN_LEN => Err(thrown(format!(
            "{name} is longer than {MAX_TOKEN_LEN} characters"
        ))),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(thrown(format!("{name} is required")))
        }
        Some(_) => Err(thrown(format!("{name} must be a string"))),
    }
}

fn register(shared: &Shared, st: &mut State, headers: &HeaderMap, req: &Value) -> Reply {
    let notify_type = match str_field(req, "notifyType") {
        Ok(t @ ("GCM" | "APNS")) => t.to_string(),
        Ok(other) => {
            return thrown(format!(
                "notifyType must be \"GCM\" or \"APNS\", not {other:?}"
            ))
        }
        Err(r) => return r,
    };
    let device_token = match str_field(req, "deviceToken") {
        Ok(t) => t.to_string(),
        Err(r) => return r,
    };
    if st.devices.len() >= MAX_DEVICES {
        return thrown("device table is full");
    }
    let id = uuid::Uuid::new_v4().to_string();
    let extended = shared.config.profile == Profile::Extended;
    // A register that proves an existing client (a push-token move) joins its installation.
    let owner = bearer_client(st, headers)
        .filter(|_| extended)
        .map(|c| c.owner)
        .unwrap_or_else(|| id.clone());
    let secret = extended.then(new_secret);
    let registered_seq = st.next_seq();
    st.devices.insert(
        id.clone(),
        Device {
            id: id.clone(),
            notify_type: notify_type.clone(),
            device_token: device_token.clone(),
            session_id: None,
            participant_id: None,
            participant_token: None,
            secret: secret.clone(),
            owner,
            registered_ms: now_ms(),
            registered_seq,
            room_id: None,
        },
    );
    let mut row = json!({
        "id": id,
        "notifyType": notify_type,
        "deviceToken": device_token,
        "participantId": null,
        "participantToken": null,
    });
    if let Some(secret) = secret {
        row["clientSecret"] = json!(secret);
        row["features"] = json!(["rooms"]);
    }
    ok(row)
}

/// 256 random bits, URL-safe.
fn new_secret() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .expect("system randomness");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn initiate_call(shared: &Shared, st: &mut State, headers: &HeaderMap, req: &Value) -> Reply {
    let (caller_id, callee_id) = match (str_field(req, "callerId"), str_field(req, "calleeId")) {
        (Ok(a), Ok(b)) => (a.to_string(), b.to_string()),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let extended = shared.config.profile == Profile::Extended;
    if extended {
        if let Err(r) = authorize(st, headers, &caller_id) {
            return r;
        }
    }
    let room_for_call = !extended || st.make_room_for_call();
    if caller_id == callee_id {
        return thrown("ERROR :: Caller and callee are the same client!");
    }
    let Some(caller) = st.devices.get(&caller_id) else {
        return thrown(format!(
            "ERROR :: No device registered for callerId {caller_id}"
        ));
    };
    let Some(callee) = st.devices.get(&callee_id) else {
        return thrown(format!(
            "ERROR :: No device registered for calleeId {callee_id}"
        ));
    };
    if caller.in_session() || caller.room_id.is_some() {
        return busy("Caller");
    }
    if callee.in_session() || callee.room_id.is_some() {
        return busy("Callee");
    }
    if st.sessions.len() >= MAX_SESSIONS || !room_for_call {
        return thrown("ERROR :: Too many media sessions");
    }
    let (callee_token_dev, callee_notify) =
        (callee.device_token.clone(), callee.notify_type.clone());
    let (first, last) = st
        .person_name_for_client(&caller_id)
        .unwrap_or_else(|| ("Unknown".to_string(), "caller".to_string()));

    let session_id = uuid::Uuid::new_v4().to_string();
    let exp = now_ms() / 1000 + shared.config.participant_token_lifetime.as_secs() as i64;
    let mut tokens = Vec::new();
    let mut participants = Vec::new();
    for client_id in [&caller_id, &callee_id] {
        let participant_id = uuid::Uuid::new_v4().to_string();
        let token = shared.tokens.issue(&Claims {
            a: shared.account_id.clone(),
            p: participant_id.clone(),
            v: "v3".into(),
            exp,
            tid: session_id.clone(),
            iss: "mock:00".into(),
        });
        let row = st.devices.get_mut(client_id).expect("looked up above");
        row.session_id = Some(session_id.clone());
        row.participant_id = Some(participant_id.clone());
        row.participant_token = Some(token.clone());
        participants.push((client_id.clone(), participant_id));
        tokens.push(token);
    }
    st.sessions.insert(
        session_id.clone(),
        Session {
            id: session_id.clone(),
            participants,
        },
    );
    if !extended {
        st.open_call_log(&session_id, &caller_id, &callee_id, None);
        st.note_call(&session_id, format!("initiateCall by {caller_id}"));
        let push = incoming_call_push(&callee_notify, &first, &last, &tokens[1]);
        st.enqueue_push(&callee_token_dev, &callee_notify, "normal", push);
        st.note_call(
            &session_id,
            format!("push sent to {callee_id} ({callee_notify})"),
        );
        return ok(json!({"token": tokens[0]}));
    }
    let call = CallRecord {
        id: uuid::Uuid::new_v4().to_string(),
        caller: caller_id.clone(),
        callee: callee_id.clone(),
        caller_name: format!("{first} {last}"),
        session_id,
        phase: CallPhase::Ringing,
        created_ms: now_ms(),
        last_event: None,
        room_id: None,
    };
    st.open_call_log(&call.session_id, &caller_id, &callee_id, Some(&call.id));
    st.note_call(&call.session_id, format!("initiateCall by {caller_id}"));
    let push = extended_call_push(&callee_notify, &first, &last, &call, None);
    st.enqueue_push(&callee_token_dev, &callee_notify, "high", push);
    st.note_call(
        &call.session_id,
        format!("push sent to {callee_id} ({callee_notify})"),
    );
    notify_parties(shared, &call, &ringing_event(&call));
    st.note_call(&call.session_id, "event ringing to both parties");
    let call_id = call.id.clone();
    st.calls.insert(call_id.clone(), call);
    ok(json!({"token": tokens[0], "callId": call_id}))
}

fn call_field<'a>(st: &'a State, req: &Value) -> Result<&'a CallRecord, Reply> {
    let call_id = str_field(req, "callId")?;
    st.calls.get(call_id).ok_or_else(|| {
        coded(
            StatusCode::INTERNAL_SERVER_ERROR,
            "CALL_NOT_FOUND",
            format!("ERROR :: No call with callId {call_id}"),
        )
    })
}

fn not_ringing(call: &CallRecord) -> Reply {
    match call.phase {
        CallPhase::Answered => coded(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ALREADY_ANSWERED",
            "ERROR :: The call was already answered",
        ),
        _ => call_ended(),
    }
}

/// Sends a call event to every connection of both parties.
fn notify_parties(shared: &Shared, call: &CallRecord, event: &Value) {
    shared.events.notify(&call.caller, event);
    shared.events.notify(&call.callee, event);
}

/// Ends a call everywhere: media session, both device rows, and an event to both parties.
/// A room invite ends alone: the room's session and rows stay, and the room's members hear
/// of it too.
pub(crate) fn release_call(shared: &Shared, st: &mut State, call_id: &str, kind: &str, by: &str) {
    let Some(call) = st.calls.get_mut(call_id) else {
        return;
    };
    call.phase = CallPhase::Ended;
    let mut ev = json!({"type": kind, "callId": call.id, "by": by});
    if let Some(room_id) = &call.room_id {
        ev["roomID"] = json!(room_id);
        ev["calleeId"] = json!(call.callee);
        call.last_event = Some((ev.clone(), now_ms()));
        let call = call.clone();
        crate::rooms::notify_invite(shared, st, &call, &ev);
        return;
    }
    call.last_event = Some((ev.clone(), now_ms()));
    let call = call.clone();
    st.note_call(
        &call.session_id,
        format!("{kind} by {by}; event {kind} to both parties"),
    );
    st.set_call_state(&call.session_id, "ended", Some(format!("{kind} by {by}")));
    for client in [&call.caller, &call.callee] {
        if st.devices.get(client).and_then(|d| d.session_id.as_deref()) == Some(&call.session_id) {
            st.blank_row(client);
        }
    }
    if st.sessions.remove(&call.session_id).is_some() {
        end_media_after(shared, call.session_id.clone(), MEDIA_GRACE);
    }
    notify_parties(shared, &call, &ev);
}

/// The authorized `clientId` of a call action and the call its `callId` names.
fn acting_on_call(
    st: &State,
    headers: &HeaderMap,
    req: &Value,
) -> Result<(String, CallRecord), Reply> {
    let client_id = str_field(req, "clientId")?.to_string();
    authorize(st, headers, &client_id)?;
    let call = call_field(st, req)?.clone();
    Ok((client_id, call))
}

/// `answerCall {clientId, callId}`: the callee takes the call and gets its participant token.
fn answer_call(shared: &Shared, st: &mut State, headers: &HeaderMap, req: &Value) -> Reply {
    let (client_id, call) = match acting_on_call(st, headers, req) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if call.callee != client_id {
        return coded(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "only the callee can answer a call",
        );
    }
    if call.phase != CallPhase::Ringing {
        return not_ringing(&call);
    }
    if call.room_id.is_some() {
        return thrown("ERROR :: A room invite is answered with enterRoom {roomID, callId}");
    }
    let Some(token) = st
        .devices
        .get(&client_id)
        .filter(|d| d.session_id.as_deref() == Some(&call.session_id))
        .and_then(|d| d.participant_token.clone())
    else {
        return not_ringing(&call);
    };
    let ev = json!({"type": "answered", "callId": call.id, "by": client_id});
    if let Some(c) = st.calls.get_mut(&call.id) {
        c.phase = CallPhase::Answered;
        c.last_event = Some((ev.clone(), now_ms()));
    }
    st.note_call(
        &call.session_id,
        format!("answerCall by {client_id}; event answered to both parties"),
    );
    st.set_call_state(&call.session_id, "answered", None);
    notify_parties(shared, &call, &ev);
    ok(json!({"token": token, "callId": call.id}))
}

/// `renewToken {clientId, callId}`: a party of a call still in progress (the caller while
/// it rings, either party once answered) gets a fresh participant token for the same
/// participant of the same session, e.g. to resume a signaling socket after its token
/// expired.
fn renew_token(shared: &Shared, st: &mut State, headers: &HeaderMap, req: &Value) -> Reply {
    let (client_id, call) = match acting_on_call(st, headers, req) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if client_id != call.caller && client_id != call.callee {
        return coded(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "only a party of the call can renew its token",
        );
    }
    let in_progress = match call.phase {
        CallPhase::Ringing => client_id == call.caller,
        CallPhase::Answered => true,
        CallPhase::Ended => false,
    };
    let participant = st
        .devices
        .get(&client_id)
        .filter(|d| d.session_id.as_deref() == Some(&call.session_id))
        .and_then(|d| d.participant_id.clone());
    let (true, Some(participant_id)) = (in_progress, participant) else {
        return call_ended();
    };
    let token = shared.tokens.issue(&Claims {
        a: shared.account_id.clone(),
        p: participant_id,
        v: "v3".into(),
        exp: now_ms() / 1000 + shared.config.participant_token_lifetime.as_secs() as i64,
        tid: call.session_id.clone(),
        iss: "mock:00".into(),
    });
    if let Some(row) = st.devices.get_mut(&client_id) {
        row.participant_token = Some(token.clone());
    }
    st.note_call(&call.session_id, format!("renewToken by {client_id}"));
    tracing::info!(target: "dialtone_mock::rest", "renewed the participant token of clientId {client_id} for call {}", call.id);
    ok(json!({"token": token, "callId": call.id}))
}

#[derive(Clone, Copy)]
enum Finish {
    Decline,
    Cancel,
}

/// `declineCall {clientId, callId, reason?: "declined"|"busy"}` by the callee, or
/// `cancelCall {clientId, callId}` by the caller, while the call rings.
fn finish_ringing(
    shared: &Shared,
    st: &mut State,
    headers: &HeaderMap,
    req: &Value,
    how: Finish,
) -> Reply {
    let (client_id, call) = match acting_on_call(st, headers, req) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (party, kind) = match how {
        Finish::Cancel => (&call.caller, "cancelled"),
        Finish::Decline => (
            &call.callee,
            match req.get("reason").and_then(Value::as_str) {
                None | Some("declined") => "declined",
                Some("busy") => "busy",
                Some(other) => {
                    return thrown(format!(
                        "reason must be \"declined\" or \"busy\", not {other:?}"
                    ))
                }
            },
        ),
    };
    if *party != client_id {
        return coded(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            match how {
                Finish::Cancel => "only the caller can cancel a call",
                Finish::Decline => "only the callee can decline a call",
            },
        );
    }
    if call.phase != CallPhase::Ringing {
        return not_ringing(&call);
    }
    release_call(shared, st, &call.id, kind, &client_id);
    ok(json!({"message": "success", "callId": call.id}))
}

fn end_call(shared: &Shared, st: &mut State, headers: &HeaderMap, req: &Value) -> Reply {
    let client_id = match str_field(req, "clientId") {
        Ok(c) => c.to_string(),
        Err(r) => return r,
    };
    let extended = shared.config.profile == Profile::Extended;
    if extended {
        if let Err(r) = authorize(st, headers, &client_id) {
            return r;
        }
        // A room member's endCall leaves its room; the room goes on for the others.
        if let Some((room_id, conn)) = crate::rooms::membership(st, &client_id) {
            crate::rooms::leave(shared, st, &room_id, &conn, crate::rooms::LeaveReason::Left);
            let result = st.devices.get(&client_id).map(|d| d.to_json());
            return ok(json!({"message": "success", "result": result}));
        }
        // The extended profile ends the call for both sides (the seed blanks one row only).
        let live = st
            .devices
            .get(&client_id)
            .and_then(|d| d.session_id.as_deref())
            .and_then(|s| st.call_for_session(s))
            .map(|c| (c.id.clone(), c.phase, c.caller == client_id));
        // With a `callId`, only that call: a late endCall for a call already over must not
        // end the device's next one (its row now names the new call).
        match req.get("callId") {
            None | Some(Value::Null) => {}
            Some(Value::String(wanted)) => {
                if live.as_ref().map(|(id, ..)| id) != Some(wanted) {
                    tracing::info!(target: "dialtone_mock::rest", "endCall by {client_id} names call {wanted}, which is not its call in progress: nothing ended");
                    return call_ended();
                }
            }
            Some(_) => return thrown("callId must be a string"),
        }
        if let Some((call_id, phase, by_caller)) = live {
            let kind = match (phase, by_caller) {
                (CallPhase::Ringing, true) => "cancelled",
                (CallPhase::Ringing, false) => "declined",
                _ => "ended",
            };
            release_call(shared, st, &call_id, kind, &client_id);
        }
    }
    let Some(row) = st.devices.get_mut(&client_id) else {
        return thrown(format!(
            "ERROR :: No device registered for clientId {client_id}"
        ));
    };
    // The seed deletes the whole media session but blanks only the caller's own row.
    let session = row.session_id.take().filter(|s| !s.is_empty());
    row.session_id = Some(String::new());
    row.participant_id = Some(String::new());
    row.participant_token = Some(String::new());
    let result = row.to_json();
    if let Some(s) = session {
        st.note_call(&s, format!("endCall by {client_id}"));
        st.set_call_state(&s, "ended", Some(format!("ended by {client_id}")));
        st.sessions.remove(&s);
        end_media(shared, s);
    }
    ok(json!({"message": "success", "result": result}))
}

/// The media side of a deleted session goes too; off the state lock, it may take a moment.
fn end_media(shared: &Shared, session_id: String) {
    end_media_after(shared, session_id, std::time::Duration::ZERO);
}

/// Extended profile: the parties hear why a call ended (on `/ws`) a moment before their media
/// goes, so a client reports "declined" rather than a bare disconnect.
const MEDIA_GRACE: std::time::Duration = std::time::Duration::from_millis(300);

fn end_media_after(shared: &Shared, session_id: String, grace: std::time::Duration) {
    let sfu = shared.sfu.clone();
    tokio::spawn(async move {
        tokio::time::sleep(grace).await;
        sfu.end_session(&session_id).await
    });
}

fn delete_client_ids(shared: &Shared, st: &mut State, headers: &HeaderMap, req: &Value) -> Reply {
    let ids = match req.get("clientIds") {
        Some(Value::Array(ids)) => ids,
        Some(_) => return thrown("clientIds must be an array of strings"),
        None => return thrown("clientIds is required"),
    };
    if ids.len() > MAX_DELETE_IDS {
        return thrown(format!("at most {MAX_DELETE_IDS} clientIds per request"));
    }
    let Some(ids) = ids.iter().map(Value::as_str).collect::<Option<Vec<_>>>() else {
        return thrown("clientIds must be an array of strings");
    };
    if shared.config.profile == Profile::Extended {
        // Only the caller's own installation may be cleaned up.
        let Some(caller) = bearer_client(st, headers) else {
            return coded(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "a valid Authorization: Bearer <clientSecret> is required",
            );
        };
        if ids
            .iter()
            .any(|id| st.devices.get(*id).is_some_and(|d| d.owner != caller.owner))
        {
            return coded(
                StatusCode::FORBIDDEN,
                "FORBIDDEN",
                "this client secret cannot delete another installation's clientIds",
            );
        }
        for id in &ids {
            if let Some((room_id, conn)) = crate::rooms::membership(st, id) {
                crate::rooms::leave(
                    shared,
                    st,
                    &room_id,
                    &conn,
                    crate::rooms::LeaveReason::Removed,
                );
            }
            let call = st
                .devices
                .get(*id)
                .and_then(|d| d.session_id.as_deref())
                .and_then(|s| st.call_for_session(s))
                .map(|c| c.id.clone());
            if let Some(call_id) = call {
                release_call(shared, st, &call_id, "ended", id);
            }
        }
    }
    let mut deleted = Vec::new();
    for id in ids {
        if let Some(row) = st.devices.remove(id) {
            if let Some(s) = row.session_id.filter(|s| !s.is_empty()) {
                st.sessions.remove(&s);
                end_media(shared, s);
            }
            deleted.push(json!({"id": id}));
        }
    }
    ok(json!({"deletedIds": deleted}))
}

#[derive(Clone, Copy)]
enum RoomAction {
    Create,
    Enter,
    Leave,
    Get,
    SetMuted,
    RenewToken,
    Ring,
}

/// The room actions (`rooms`): the bearer acts for `clientId`; every one but `createRoom`
/// names a `roomID`.
fn room_action(
    shared: &Shared,
    st: &mut State,
    headers: &HeaderMap,
    req: &Value,
    action: RoomAction,
) -> Reply {
    let client_id = match str_field(req, "clientId") {
        Ok(c) => c.to_string(),
        Err(r) => return r,
    };
    if let Err(r) = authorize(st, headers, &client_id) {
        return r;
    }
    let room_id = match action {
        RoomAction::Create => String::new(),
        _ => match str_field(req, "roomID") {
            Ok(r) => r.to_string(),
            Err(r) => return r,
        },
    };
    let result = match action {
        RoomAction::Create => crate::rooms::create(shared, st, &client_id),
        RoomAction::Enter => match req.get("callId") {
            None | Some(Value::Null) => {
                crate::rooms::enter(shared, st, &client_id, &room_id, None, None)
            }
            Some(Value::String(c)) if !c.is_empty() && c.len() <= 64 => {
                crate::rooms::enter(shared, st, &client_id, &room_id, None, Some(c.as_str()))
            }
            Some(_) => Err(thrown("callId must be a string")),
        },
        RoomAction::Ring => match req.get("calleeIds") {
            Some(Value::Array(ids))
                if !ids.is_empty() && ids.len() <= crate::rooms::MAX_ROOM_CAP =>
            {
                match ids.iter().map(Value::as_str).collect::<Option<Vec<_>>>() {
                    Some(ids) => crate::rooms::ring(shared, st, &client_id, &room_id, &ids),
                    None => Err(thrown("calleeIds must be strings")),
                }
            }
            _ => Err(thrown(format!(
                "calleeIds must be an array of 1 to {} clientIds",
                crate::rooms::MAX_ROOM_CAP
            ))),
        },
        RoomAction::Leave => crate::rooms::leave_rest(shared, st, &client_id, &room_id),
        RoomAction::Get => crate::rooms::get(st, &client_id, &room_id),
        RoomAction::RenewToken => crate::rooms::renew_token(shared, st, &client_id, &room_id),
        RoomAction::SetMuted => match req.get("muted") {
            Some(Value::Bool(m)) => crate::rooms::set_muted(shared, st, &client_id, &room_id, *m),
            _ => Err(thrown("muted must be true or false")),
        },
    };
    result.map(ok).unwrap_or_else(|r| r)
}
