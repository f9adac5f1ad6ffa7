//! `POST /api`: the REST Lambda of the seed backend (BACKEND.md §1), with its exact bodies:
//! 200 on success, 500 with a truthy `error` otherwise, `"BUSY"` the only machine-readable error.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::outbox::incoming_call_push;
use crate::state::{Device, Session, State, MAX_DEVICES, MAX_SESSIONS, MAX_TOKEN_LEN};
use crate::time::now_ms;
use crate::tokens::Claims;
use crate::Shared;

pub const MAX_DELETE_IDS: usize = 100;
const TOKEN_LIFETIME_SECS: i64 = 3_600;

type Reply = (StatusCode, Json<Value>);

fn ok(v: Value) -> Reply {
    (StatusCode::OK, Json(v))
}

/// A thrown error in the Lambda: `{"message": …, "error": {}}` (an Error serialises as `{}`).
fn thrown(message: impl Into<String>) -> Reply {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({"message": message.into(), "error": {}})),
    )
}

fn busy(who: &str) -> Reply {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({"message": format!("ERROR :: {who} already in a session!"), "error": "BUSY"})),
    )
}

pub async fn handle(
    AxState(shared): AxState<Shared>,
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
    let reply = {
        let mut st = shared.state.lock().expect("state lock");
        match action.as_str() {
            "register" => register(&mut st, &req),
            "initiateCall" => initiate_call(&shared, &mut st, &req),
            "endCall" => end_call(&shared, &mut st, &req),
            "deleteClientIds" => delete_client_ids(&shared, &mut st, &req),
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

fn register(st: &mut State, req: &Value) -> Reply {
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
    st.devices.insert(
        id.clone(),
        Device {
            id: id.clone(),
            notify_type: notify_type.clone(),
            device_token: device_token.clone(),
            session_id: None,
            participant_id: None,
            participant_token: None,
        },
    );
    ok(json!({
        "id": id,
        "notifyType": notify_type,
        "deviceToken": device_token,
        "participantId": null,
        "participantToken": null,
    }))
}

fn initiate_call(shared: &Shared, st: &mut State, req: &Value) -> Reply {
    let (caller_id, callee_id) = match (str_field(req, "callerId"), str_field(req, "calleeId")) {
        (Ok(a), Ok(b)) => (a.to_string(), b.to_string()),
        (Err(r), _) | (_, Err(r)) => return r,
    };
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
    if caller.in_session() {
        return busy("Caller");
    }
    if callee.in_session() {
        return busy("Callee");
    }
    if st.sessions.len() >= MAX_SESSIONS {
        return thrown("ERROR :: Too many media sessions");
    }
    let (callee_token_dev, callee_notify) =
        (callee.device_token.clone(), callee.notify_type.clone());
    let (first, last) = st
        .person_name_for_client(&caller_id)
        .unwrap_or_else(|| ("Unknown".to_string(), "caller".to_string()));

    let session_id = uuid::Uuid::new_v4().to_string();
    let exp = now_ms() / 1000 + TOKEN_LIFETIME_SECS;
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
            id: session_id,
            participants,
        },
    );
    let push = incoming_call_push(&callee_notify, &first, &last, &tokens[1]);
    st.enqueue_push(&callee_token_dev, &callee_notify, push);
    ok(json!({"token": tokens[0]}))
}

fn end_call(shared: &Shared, st: &mut State, req: &Value) -> Reply {
    let client_id = match str_field(req, "clientId") {
        Ok(c) => c.to_string(),
        Err(r) => return r,
    };
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
        st.sessions.remove(&s);
        end_media(shared, s);
    }
    ok(json!({"message": "success", "result": result}))
}

/// The media side of a deleted session goes too; off the state lock, it may take a moment.
fn end_media(shared: &Shared, session_id: String) {
    let sfu = shared.sfu.clone();
    tokio::spawn(async move { sfu.end_session(&session_id).await });
}

fn delete_client_ids(shared: &Shared, st: &mut State, req: &Value) -> Reply {
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
