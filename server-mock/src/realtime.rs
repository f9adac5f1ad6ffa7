//! `/graphql/realtime`: AppSync's real-time WebSocket protocol (subprotocol `graphql-ws`):
//! `connection_init` → `connection_ack`, keep-alive `ka`, `start`/`start_ack`, `data`,
//! `stop`/`complete`, and `error`/`connection_error` with AppSync's error objects.
//! The connection's authorization is accepted in both of AppSync's forms: a second
//! subprotocol `header-<base64url JSON>` (what AppSync now expects and Amplify v6 sends) and
//! the older `?header=<base64 JSON>` query parameter.

use std::collections::HashMap;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State as AxState};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD as B64};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;

use crate::graphql::{self, GqlError, OpKind, Operation};
use crate::Shared;

pub const MAX_SUBSCRIPTIONS_PER_CONNECTION: usize = 100;
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

pub async fn upgrade(
    AxState(shared): AxState<Shared>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if shared
        .live_channels_down
        .load(std::sync::atomic::Ordering::SeqCst)
    {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"message": "the real-time endpoint is unavailable"})),
        )
            .into_response();
    }
    let authorized = connection_auth(&headers, &q).is_some_and(|h| api_key_ok(&shared, &h));
    ws.protocols(["graphql-ws"])
        .max_message_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| serve(shared, socket, authorized))
}

/// base64url with or without its `=` padding (Amplify drops it; other clients keep it).
const B64_URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The connection's authorization JSON: from a `header-…` subprotocol if the client offered
/// one, else from the `header` query parameter.
fn connection_auth(headers: &HeaderMap, query: &HashMap<String, String>) -> Option<Value> {
    let offered = headers
        .get_all(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find_map(|p| p.strip_prefix("header-"));
    let raw = match offered {
        Some(encoded) => B64_URL.decode(encoded).ok()?,
        None => B64.decode(query.get("header")?).ok()?,
    };
    serde_json::from_slice(&raw).ok()
}

fn api_key_ok(shared: &Shared, auth: &Value) -> bool {
    auth.get("x-api-key").and_then(Value::as_str) == Some(shared.api_key.as_str())
}

fn error_msg(id: Option<&str>, error_type: &str, message: &str) -> Value {
    let mut v = json!({"type": "error", "payload": {"errors": [{"errorType": error_type, "message": message}]}});
    if let Some(id) = id {
        v["id"] = json!(id);
    }
    v
}

async fn send(socket: &mut WebSocket, v: Value) -> bool {
    socket
        .send(Message::Text(v.to_string().into()))
        .await
        .is_ok()
}

/// Counts an open real-time connection for the console while it lives.
struct Counted(Shared);

impl Counted {
    fn new(shared: &Shared) -> Self {
        let open = shared
            .realtime_connections
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(target: "dialtone_mock::ws", "real-time connection open ({} open)", open + 1);
        shared.touch();
        Self(shared.clone())
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let open = self
            .0
            .realtime_connections
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(target: "dialtone_mock::ws", "real-time connection closed ({} open)", open - 1);
        self.0.touch();
    }
}

async fn serve(shared: Shared, mut socket: WebSocket, authorized: bool) {
    if !authorized {
        tracing::info!(target: "dialtone_mock::ws", "real-time connection refused: UnauthorizedException");
        let _ = send(
            &mut socket,
            json!({"type": "connection_error", "payload": {"errors": [{
                "errorType": "UnauthorizedException",
                "message": "You are not authorized to make this call.", "errorCode": 401}]}}),
        )
        .await;
        let _ = socket.send(Message::Close(None)).await;
        return;
    }
    let _counted = Counted::new(&shared);
    let mut events = shared.person_events.subscribe();
    let mut drop_signal = shared.realtime_drop.subscribe();
    let mut ka = tokio::time::interval(shared.config.keep_alive_interval);
    ka.reset();
    let mut initialised = false;
    let mut subs: HashMap<String, Operation> = HashMap::new();
    loop {
        tokio::select! {
            msg = socket.recv() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Binary(_))) => {
                        if !send(&mut socket, error_msg(None, "UnsupportedOperation", "binary frames are not supported")).await { return; }
                        continue;
                    }
                    Some(Ok(Message::Close(frame))) => {
                        shared.socket_ended("realtime", Some(frame.map_or(1005, |f| f.code)));
                        // The answer to the client's Close goes out as the socket is flushed.
                        let _ = futures_util::SinkExt::flush(&mut socket).await;
                        return;
                    }
                    _ => {
                        shared.socket_ended("realtime", None);
                        return;
                    }
                };
                let reply = client_message(&shared, &mut initialised, &mut subs, text.as_str());
                if !send(&mut socket, reply).await { return; }
            }
            event = events.recv() => match event {
                Ok(event) => {
                    for (id, op) in &subs {
                        if let Some(data) = op.event_payload(&event) {
                            if !send(&mut socket, json!({"type": "data", "id": id, "payload": {"data": data}})).await { return; }
                        }
                    }
                }
                // A subscriber that fell behind is cut off, as AppSync would: it reconnects and re-syncs.
                Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => return,
            },
            _ = ka.tick(), if initialised => {
                if !send(&mut socket, json!({"type": "ka"})).await { return; }
            }
            _ = drop_signal.changed() => return,
        }
    }
}

/// The reply to one text message of a real-time client (`connection_init`, `start`, `stop`,
/// anything else). Pure but for the API key it checks: the fuzz target feeds it any text.
pub fn client_message(
    shared: &Shared,
    initialised: &mut bool,
    subs: &mut HashMap<String, Operation>,
    text: &str,
) -> Value {
    let Ok(msg) = serde_json::from_str::<Value>(text) else {
        return error_msg(None, "MalformedMessage", "message is not valid JSON");
    };
    let id = msg.get("id").and_then(Value::as_str).map(str::to_string);
    match msg.get("type").and_then(Value::as_str) {
        Some("connection_init") => {
            *initialised = true;
            json!({"type": "connection_ack", "payload": {"connectionTimeoutMs": shared.config.connection_timeout_ms}})
        }
        Some("start") if !*initialised => error_msg(
            id.as_deref(),
            "UnauthorizedException",
            "connection_init must come first",
        ),
        Some("start") => start(shared, &msg, id.as_deref(), subs),
        Some("stop") => match id {
            Some(id) if subs.remove(&id).is_some() => json!({"type": "complete", "id": id}),
            _ => error_msg(
                id.as_deref(),
                "UnknownSubscription",
                "no subscription with that id",
            ),
        },
        _ => error_msg(
            id.as_deref(),
            "UnsupportedOperation",
            "unknown message type",
        ),
    }
}

fn start(
    shared: &Shared,
    msg: &Value,
    id: Option<&str>,
    subs: &mut HashMap<String, Operation>,
) -> Value {
    let Some(id) = id.filter(|i| !i.is_empty()) else {
        return error_msg(None, "MalformedMessage", "start needs an id");
    };
    if subs.contains_key(id) {
        return error_msg(
            Some(id),
            "DuplicateSubscription",
            "a subscription with this id is already running",
        );
    }
    if subs.len() >= MAX_SUBSCRIPTIONS_PER_CONNECTION {
        return error_msg(
            Some(id),
            "LimitExceededError",
            "too many subscriptions on this connection",
        );
    }
    let payload = &msg["payload"];
    if !api_key_ok(shared, &payload["extensions"]["authorization"]) {
        return error_msg(
            Some(id),
            "UnauthorizedException",
            "You are not authorized to make this call.",
        );
    }
    let Some(request) = payload["data"]
        .as_str()
        .and_then(|d| serde_json::from_str::<Value>(d).ok())
    else {
        return error_msg(
            Some(id),
            "MalformedMessage",
            "payload.data must be a JSON string of {query, variables}",
        );
    };
    let query = request["query"].as_str().unwrap_or_default();
    match graphql::parse(
        query,
        request["operationName"].as_str(),
        &request["variables"],
    ) {
        Ok(op) if op.kind == OpKind::Subscription => {
            subs.insert(id.to_string(), op);
            json!({"type": "start_ack", "id": id})
        }
        Ok(_) => error_msg(
            Some(id),
            "UnsupportedOperation",
            "only subscriptions can be started here",
        ),
        Err(errors) => {
            let errors: Vec<Value> = errors.iter().map(GqlError::to_json).collect();
            json!({"type": "error", "id": id, "payload": {"errors": errors}})
        }
    }
}
