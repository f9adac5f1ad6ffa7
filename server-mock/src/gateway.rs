//! `/v3/`: Bandwidth's device signaling gateway, server side. Validates the participant
//! token (signature, expiry, `v` = "v3") and that its session is live, then speaks JSON-RPC
//! 2.0: `setMediaPreferences`, `offerSdp`, `answerSdp`, `ping`, the `leave` notification, and
//! the `sdpOffer` notifications the SFU sends. Media itself is `sfu`'s.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::sfu::{Outbound, Participant};
use crate::time::now_ms;
use crate::tokens::Claims;
use crate::Shared;

const MAX_MESSAGE_BYTES: usize = 256 * 1024;

pub async fn upgrade(
    AxState(shared): AxState<Shared>,
    Query(q): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    let refuse =
        |status: StatusCode, msg: String| (status, Json(json!({"error": msg}))).into_response();
    if shared
        .signaling_down
        .load(std::sync::atomic::Ordering::SeqCst)
    {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the gateway is unavailable".into(),
        );
    }
    let Some(token) = q.get("token").filter(|t| !t.is_empty()) else {
        return refuse(StatusCode::UNAUTHORIZED, "token is required".into());
    };
    let claims = match shared.tokens.verify(token, now_ms() / 1000) {
        Ok(c) => c,
        Err(e) => return refuse(StatusCode::UNAUTHORIZED, e.to_string()),
    };
    let live = shared
        .state
        .lock()
        .expect("state lock")
        .sessions
        .get(&claims.tid)
        .is_some_and(|s| s.participants.iter().any(|(_, p)| *p == claims.p));
    if !live {
        return refuse(
            StatusCode::FORBIDDEN,
            "the session of this token has ended".into(),
        );
    }
    let unique_id = q.get("uniqueId").cloned().unwrap_or_default();
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| serve(shared, socket, claims, unique_id))
}

/// The first 8 characters of an id: enough to tell participants apart on a time line.
fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

fn reply(id: &Value, result: Result<Value, (i64, String)>) -> String {
    match result {
        Ok(r) => json!({"jsonrpc": "2.0", "id": id, "result": r}),
        Err((code, message)) => {
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
        }
    }
    .to_string()
}

/// How a signaling socket ended, which decides what happens to the participant.
enum SocketEnd {
    /// `leave`: gone now.
    Left,
    /// The session ended (endCall, a replacing participant): the socket gets a Close frame.
    Closed,
    /// The connection failed or was cut: the participant keeps its media for the grace
    /// period, waiting for a reconnect with its `uniqueId`.
    Lost,
}

async fn serve(shared: Shared, mut socket: WebSocket, claims: Claims, unique_id: String) {
    let (out_tx, mut out_rx) = mpsc::unbounded_channel();
    let (participant, resumed) = shared
        .sfu
        .attach(&claims.tid, &claims.p, &unique_id, out_tx);
    if resumed {
        tracing::info!(target: "dialtone_mock::ws", "signaling socket resumed: participant {}", participant.id);
    }
    shared.note_call(
        &claims.tid,
        format!(
            "signaling socket {} by participant {}",
            if resumed { "resumed" } else { "opened" },
            short(&participant.id)
        ),
    );
    let mut client_closed = false;
    let end = loop {
        tokio::select! {
            msg = socket.recv() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Binary(_))) => continue,
                    Some(Ok(Message::Close(frame))) => {
                        shared.socket_ended("signaling", Some(frame.map_or(1005, |f| f.code)));
                        client_closed = true;
                        break SocketEnd::Left;
                    }
                    Some(Err(_)) | None => {
                        shared.socket_ended("signaling", None);
                        break SocketEnd::Lost;
                    }
                };
                match handle(&shared, &participant, text.as_str()).await {
                    Handled::Reply(r) => {
                        if socket.send(Message::Text(r.into())).await.is_err() { break SocketEnd::Lost; }
                    }
                    Handled::Nothing => {}
                    Handled::Leave => break SocketEnd::Left,
                }
            }
            out = out_rx.recv() => match out {
                Some(Outbound::Text(t)) => {
                    if socket.send(Message::Text(t.into())).await.is_err() { break SocketEnd::Lost; }
                }
                Some(Outbound::Cut) => break SocketEnd::Lost,
                Some(Outbound::Close) | None => break SocketEnd::Closed,
            }
        }
    };
    tracing::info!(
        target: "dialtone_mock::ws",
        "signaling socket closed: participant {} {}",
        participant.id,
        match end {
            SocketEnd::Left => "left",
            SocketEnd::Closed => "closed by the gateway",
            SocketEnd::Lost => "lost; keeping its media while it reconnects",
        }
    );
    shared.note_call(
        &claims.tid,
        format!(
            "signaling socket of participant {} {}",
            short(&participant.id),
            match end {
                SocketEnd::Left => "left",
                SocketEnd::Closed => "closed by the gateway",
                SocketEnd::Lost => "lost",
            }
        ),
    );
    match end {
        SocketEnd::Lost => {
            // No Close frame: dropping the socket is what an outage looks like.
            drop(socket);
            shared
                .sfu
                .detach(&participant, shared.config.signaling_grace);
        }
        SocketEnd::Left | SocketEnd::Closed => {
            // The gateway's side of the closing handshake: 1000, then the client's answer.
            let normal = axum::extract::ws::CloseFrame {
                code: 1000,
                reason: "left".into(),
            };
            let _ = socket.send(Message::Close(Some(normal))).await;
            if !client_closed {
                let answer = tokio::time::timeout(std::time::Duration::from_secs(2), async {
                    loop {
                        match socket.recv().await {
                            Some(Ok(Message::Close(frame))) => {
                                break Some(frame.map_or(1005, |f| f.code))
                            }
                            Some(Ok(_)) => continue,
                            Some(Err(_)) | None => break None,
                        }
                    }
                });
                shared.socket_ended("signaling", answer.await.ok().flatten());
            }
            shared.sfu.leave(&participant).await;
        }
    }
}

enum Handled {
    Reply(String),
    Nothing,
    Leave,
}

/// One JSON-RPC 2.0 message from a participant: a request, a notification, or the error
/// reply it earns. Pure: the fuzz target feeds it any text.
pub enum Envelope {
    Request {
        id: Value,
        method: String,
        params: Value,
    },
    Notification {
        method: String,
    },
    Invalid(String),
}

pub fn envelope(text: &str) -> Envelope {
    let Ok(msg) = serde_json::from_str::<Value>(text) else {
        return Envelope::Invalid(reply(&Value::Null, Err((-32700, "Parse error".into()))));
    };
    let id = msg.get("id").cloned();
    let method = msg
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let params = msg.get("params").cloned().unwrap_or(Value::Null);
    if msg.get("jsonrpc").and_then(Value::as_str) != Some("2.0") || method.is_empty() {
        return Envelope::Invalid(reply(
            &id.unwrap_or(Value::Null),
            Err((-32600, "Invalid Request".into())),
        ));
    }
    match id {
        Some(id) => Envelope::Request { id, method, params },
        None => Envelope::Notification { method },
    }
}

async fn handle(shared: &Shared, p: &Arc<Participant>, text: &str) -> Handled {
    let (id, method, params) = match envelope(text) {
        Envelope::Invalid(reply) => return Handled::Reply(reply),
        // Notifications: no reply, whatever happens.
        Envelope::Notification { method } if method == "leave" => return Handled::Leave,
        Envelope::Notification { .. } => return Handled::Nothing,
        Envelope::Request { id, method, params } => (id, method, params),
    };
    let method = method.as_str();
    let result = match method {
        "setMediaPreferences" => match params.get("protocol").and_then(Value::as_str) {
            Some("WEBRTC") => {
                shared.sfu.ready(p);
                Ok(json!({}))
            }
            _ => Err((-32602, "protocol must be \"WEBRTC\"".to_string())),
        },
        "offerSdp" => match params.get("sdpOffer").and_then(Value::as_str) {
            Some(sdp) => {
                // The alias the publisher gave its stream (any one: a phone publishes one).
                let alias = params
                    .pointer("/mediaMetadata/mediaStreams")
                    .and_then(Value::as_object)
                    .and_then(|streams| {
                        streams
                            .values()
                            .find_map(|s| s.get("alias").and_then(Value::as_str))
                    })
                    .filter(|a| !a.is_empty() && a.len() <= 256)
                    .map(str::to_string);
                shared
                    .sfu
                    .offer_sdp(p, sdp, alias)
                    .await
                    .map_err(|e| (-32000, e))
            }
            None => Err((-32602, "sdpOffer is required".to_string())),
        },
        "answerSdp" => match params.get("sdpAnswer").and_then(Value::as_str) {
            Some(sdp) => shared
                .sfu
                .answer_sdp(p, sdp)
                .map(|_| json!({}))
                .map_err(|e| (-32000, e)),
            None => Err((-32602, "sdpAnswer is required".to_string())),
        },
        "ping" => Ok(json!({})),
        _ => Err((-32601, "Method not found".to_string())),
    };
    Handled::Reply(reply(&id, result))
}
