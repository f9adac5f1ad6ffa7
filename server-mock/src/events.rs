//! `/ws`: the extended profile's live event channel for apps in the foreground, after the
//! API Gateway WebSocket designs in seeds 002–004. A client authenticates at connect
//! (`?clientId=…` with `Authorization: Bearer <clientSecret>`) or, where headers cannot be
//! set (browsers), with an `authorize` action as its first message. JSON comes in as
//! `{"action": …}` and goes out as `{"type": …}`; every call event for a clientId goes to all
//! of that client's open connections, so a second device hears "answered elsewhere". On
//! connect, after `connected`, it replays what the client may have missed: `ringing` for
//! calls ringing for it, the latest event of its answered calls and the end of calls that
//! ended in the last minute.
//! Unauthenticated and idle sockets are closed. The seed profile does not serve the route.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::state::State;
use crate::Shared;

/// Larger client messages are refused: the channel carries small control messages only.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024;
/// Close codes, in the application range (4000–4999).
pub const CLOSE_UNAUTHENTICATED: u16 = 4401;
pub const CLOSE_IDLE: u16 = 4408;

type Outbox = mpsc::UnboundedSender<String>;

/// Open, authenticated connections by clientId.
#[derive(Default)]
pub struct Hub {
    next: AtomicU64,
    conns: Mutex<HashMap<String, Vec<(u64, Outbox)>>>,
}

impl Hub {
    fn add(&self, client_id: &str, tx: Outbox) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        self.conns
            .lock()
            .expect("hub lock")
            .entry(client_id.to_string())
            .or_default()
            .push((id, tx));
        id
    }

    fn remove(&self, client_id: &str, conn: u64) {
        let mut conns = self.conns.lock().expect("hub lock");
        if let Some(list) = conns.get_mut(client_id) {
            list.retain(|(id, _)| *id != conn);
            if list.is_empty() {
                conns.remove(client_id);
            }
        }
    }

    /// Sends `event` to every open connection of `client_id`.
    pub fn notify(&self, client_id: &str, event: &Value) {
        let text = event.to_string();
        if let Some(list) = self.conns.lock().expect("hub lock").get(client_id) {
            for (_, tx) in list {
                let _ = tx.send(text.clone());
            }
        }
    }

    /// Open connections of `client_id`.
    /// How many connections were ever authenticated (the last connection id).
    pub fn opened(&self) -> u64 {
        self.next.load(Ordering::Relaxed)
    }

    pub fn count(&self, client_id: &str) -> usize {
        self.conns
            .lock()
            .expect("hub lock")
            .get(client_id)
            .map_or(0, Vec::len)
    }

    /// Closes every connection (their senders go, so each socket task ends).
    pub fn drop_all(&self) {
        self.conns.lock().expect("hub lock").clear();
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Whether `secret` is the one issued to `client_id`.
fn secret_matches(st: &State, client_id: &str, secret: &str) -> bool {
    st.devices
        .get(client_id)
        .and_then(|d| d.secret.as_deref())
        .is_some_and(|s| crate::rest::constant_time_eq(s.as_bytes(), secret.as_bytes()))
}

pub async fn upgrade(
    AxState(shared): AxState<Shared>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if shared.live_channels_down.load(Ordering::SeqCst) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"message": "the event channel is unavailable"})),
        )
            .into_response();
    }
    // With a bearer at connect, refuse at once; without, the socket must `authorize` soon.
    let preauth = match (q.get("clientId"), bearer(&headers)) {
        (Some(client), Some(secret)) => {
            let st = shared.state.lock().expect("state lock");
            if !secret_matches(&st, client, secret) {
                return (
                    StatusCode::FORBIDDEN,
                    Json(json!({"message": "the client secret does not match this clientId", "error": "FORBIDDEN"})),
                )
                    .into_response();
            }
            Some(client.clone())
        }
        (None, Some(_)) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"message": "clientId is required with a bearer secret"})),
            )
                .into_response()
        }
        _ => None,
    };
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| serve(shared, socket, preauth))
}

/// `{"type": kind, ...fields}`: every message `/ws` sends (rooms' events too).
pub(crate) fn event(kind: &str, fields: Value) -> Value {
    let mut v = json!({"type": kind});
    if let (Some(obj), Value::Object(extra)) = (v.as_object_mut(), fields) {
        obj.extend(extra);
    }
    v
}

fn error(message: impl Into<String>) -> String {
    event("error", json!({"message": message.into()})).to_string()
}

/// The `ringing` event for a call, as sent live and replayed on connect.
pub fn ringing_event(c: &crate::state::CallRecord) -> Value {
    let mut ev = event(
        "ringing",
        json!({
            "callId": c.id,
            "callerId": c.caller,
            "calleeId": c.callee,
            "callerName": c.caller_name,
            "sentAt": c.created_ms,
        }),
    );
    if let Some(room) = &c.room_id {
        ev["roomID"] = json!(room);
    }
    ev
}

async fn close(mut socket: WebSocket, code: u16, reason: &'static str) {
    tracing::info!(target: "dialtone_mock::ws", "event channel closed by the mock: {code} {reason}");
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await;
}

async fn serve(shared: Shared, mut socket: WebSocket, preauth: Option<String>) {
    let auth_deadline = tokio::time::Instant::now() + shared.config.ws_auth_timeout;
    let client_id = match preauth {
        Some(c) => c,
        None => loop {
            let msg = match tokio::time::timeout_at(auth_deadline, socket.recv()).await {
                Err(_) => return close(socket, CLOSE_UNAUTHENTICATED, "unauthenticated").await,
                Ok(Some(Ok(Message::Text(t)))) => t,
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                Ok(_) => return,
            };
            let v: Value = serde_json::from_str(msg.as_str()).unwrap_or(Value::Null);
            let (Some("authorize"), Some(client), Some(secret)) = (
                v.get("action").and_then(Value::as_str),
                v.get("clientId").and_then(Value::as_str),
                v.get("clientSecret").and_then(Value::as_str),
            ) else {
                let _ = socket
                    .send(Message::Text(
                        error("authorize first: {\"action\":\"authorize\",\"clientId\":…,\"clientSecret\":…}").into(),
                    ))
                    .await;
                continue;
            };
            let ok = secret_matches(&shared.state.lock().expect("state lock"), client, secret);
            if !ok {
                let _ = socket
                    .send(Message::Text(
                        error("the client secret does not match this clientId").into(),
                    ))
                    .await;
                return close(socket, CLOSE_UNAUTHENTICATED, "unauthenticated").await;
            }
            break client.to_string();
        },
    };

    let (tx, mut rx) = mpsc::unbounded_channel();
    let conn = shared.events.add(&client_id, tx);
    tracing::info!(target: "dialtone_mock::ws", "event channel open: clientId {client_id}, connection {conn}");
    shared.touch();
    let mut greeting = vec![event(
        "connected",
        json!({"connectionId": conn.to_string()}),
    )];
    {
        // Calls ringing for this client, and what became of its other recent calls: a
        // foreground app learns of them on connect, and one that was cut off catches up.
        let st = shared.state.lock().expect("state lock");
        let now = crate::time::now_ms();
        let mut calls: Vec<_> = st.calls.values().collect();
        calls.sort_by_key(|c| c.created_ms);
        greeting.extend(calls.iter().filter_map(|c| c.replay_for(&client_id, now)));
        greeting.extend(crate::rooms::snapshots_for(&st, &client_id));
    }
    let mut alive = true;
    // How the client ended it, for the log: its Close frame's code, or none (dropped).
    let mut how = "dropped without a Close frame".to_string();
    let mut closed_by_client = false;
    for g in greeting {
        alive &= socket
            .send(Message::Text(g.to_string().into()))
            .await
            .is_ok();
    }
    let idle = shared.config.ws_idle_timeout;
    while alive {
        tokio::select! {
            msg = tokio::time::timeout(idle, socket.recv()) => {
                let text = match msg {
                    Err(_) => {
                        shared.events.remove(&client_id, conn);
                        crate::rooms::ws_closed(&shared, conn, true);
                        return close(socket, CLOSE_IDLE, "idle").await;
                    }
                    Ok(Some(Ok(Message::Text(t)))) => t,
                    Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                    Ok(Some(Ok(Message::Binary(_)))) => {
                        alive = socket.send(Message::Text(error("binary messages are not supported").into())).await.is_ok();
                        continue;
                    }
                    Ok(Some(Ok(Message::Close(frame)))) => {
                        shared.socket_ended("events", Some(frame.as_ref().map_or(1005, |f| f.code)));
                        closed_by_client = true;
                        how = match frame {
                            Some(f) => format!("closed by the client: {}", f.code),
                            None => "closed by the client".to_string(),
                        };
                        break;
                    }
                    Ok(_) => {
                        shared.socket_ended("events", None);
                        break;
                    }
                };
                let reply = serde_json::from_str::<Value>(text.as_str())
                    .ok()
                    .and_then(|v| crate::rooms::ws_action(&shared, &client_id, conn, &v))
                    .map_or_else(|| answer(text.as_str()), |v| v.to_string());
                alive = socket.send(Message::Text(reply.into())).await.is_ok();
            }
            out = rx.recv() => match out {
                Some(text) => alive = socket.send(Message::Text(text.into())).await.is_ok(),
                None => break,
            }
        }
    }
    shared.events.remove(&client_id, conn);
    crate::rooms::ws_closed(&shared, conn, !closed_by_client);
    tracing::info!(target: "dialtone_mock::ws", "event channel closed: clientId {client_id}, connection {conn}, {how}");
    shared.touch();
    let _ = socket.send(Message::Close(None)).await;
}

/// The reply to one client message.
pub fn answer(text: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return error("the message is not valid JSON");
    };
    match v.get("action").and_then(Value::as_str) {
        Some("ping") => event("pong", json!({})).to_string(),
        Some("authorize") => error("this connection is already authorized"),
        Some(other) => error(format!("action {other:?} is not implemented")),
        None => error("the message has no \"action\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_get_pong_or_clear_errors() {
        assert_eq!(answer(r#"{"action":"ping"}"#), r#"{"type":"pong"}"#);
        let e: Value = serde_json::from_str(&answer(r#"{"action":"dance"}"#)).unwrap();
        assert_eq!(e["type"], "error");
        assert!(e["message"].as_str().unwrap().contains("not implemented"));
        let e: Value = serde_json::from_str(&answer("{")).unwrap();
        assert!(e["message"].as_str().unwrap().contains("JSON"));
        let e: Value = serde_json::from_str(&answer("{}")).unwrap();
        assert!(e["message"].as_str().unwrap().contains("action"));
    }
}
