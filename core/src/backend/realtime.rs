//! AppSync's real-time protocol, client side: one WebSocket (subprotocol `graphql-ws`, the
//! authorization in a second `header-…` subprotocol)
//! carrying the `onCreatePerson`, `onUpdatePerson` and `onDeletePerson` subscriptions, with
//! keep-alive supervision and reconnection with backoff. After every (re)connection it
//! reports `Connected`, so the owner can run a delta sync for what it missed while away.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64_URL;
use base64::Engine;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::websocket::Message;
use crate::backend::backoff::Backoff;

use crate::backend::appsync::{decode_person, PersonRecord, PERSON_FIELDS};

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct RealtimeConfig {
    /// `wss://…appsync-realtime-api…/graphql`, or the mock's `ws://127.0.0.1:PORT/graphql/realtime`.
    pub url: String,
    /// The host of the GraphQL HTTP endpoint, which AppSync wants in the auth header.
    pub graphql_host: String,
    pub api_key: String,
    /// The client's WebSocket connector (its TLS configuration and proxy rules).
    pub connector: super::websocket::Connector,
}

/// The API key never reaches a log, even through `{:?}`.
impl std::fmt::Debug for RealtimeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealtimeConfig")
            .field("url", &self.url)
            .field("graphql_host", &self.graphql_host)
            .field("api_key", &"[redacted]")
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Created,
    Updated,
    Deleted,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RealtimeEvent {
    /// Subscribed (again): everything from now on arrives as `Change`.
    Connected,
    Change(ChangeKind, PersonRecord),
    Disconnected(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage {
    ConnectionAck { timeout_ms: u64 },
    KeepAlive,
    StartAck { id: String },
    Data { id: String, payload: Value },
    Error { id: Option<String>, message: String },
    ConnectionError { message: String },
    Complete { id: String },
    Other(String),
}

fn first_error_message(v: &Value) -> String {
    let e = &v["payload"]["errors"][0];
    match (e["errorType"].as_str(), e["message"].as_str()) {
        (Some(t), Some(m)) => format!("{t}: {m}"),
        (None, Some(m)) => m.to_string(),
        (Some(t), None) => t.to_string(),
        _ => "unspecified error".to_string(),
    }
}

pub fn parse_server_message(text: &str) -> Result<ServerMessage, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let id = v.get("id").and_then(Value::as_str).map(str::to_string);
    let need_id = |id: Option<String>| id.ok_or_else(|| "message lacks an id".to_string());
    Ok(
        match v.get("type").and_then(Value::as_str).unwrap_or_default() {
            "connection_ack" => ServerMessage::ConnectionAck {
                timeout_ms: v["payload"]["connectionTimeoutMs"]
                    .as_u64()
                    .unwrap_or(300_000),
            },
            "ka" => ServerMessage::KeepAlive,
            "start_ack" => ServerMessage::StartAck { id: need_id(id)? },
            "data" => ServerMessage::Data {
                id: need_id(id)?,
                payload: v["payload"].clone(),
            },
            "error" => ServerMessage::Error {
                id,
                message: first_error_message(&v),
            },
            "connection_error" => ServerMessage::ConnectionError {
                message: first_error_message(&v),
            },
            "complete" => ServerMessage::Complete { id: need_id(id)? },
            other => ServerMessage::Other(other.to_string()),
        },
    )
}

/// The real-time URL as given: the authorization travels in the subprotocol, not the query.
pub fn connect_url(cfg: &RealtimeConfig) -> Result<url::Url, String> {
    crate::backend::urls::parse(&cfg.url).map_err(|e| format!("bad real-time URL: {e}"))
}

/// The `Sec-WebSocket-Protocol` value: `graphql-ws` and the connection's authorization as a
/// second subprotocol, `header-<base64url of {"host":…,"x-api-key":…}>` without padding
/// (`/`, `+` and `=` may not appear in a subprotocol). This is the form AppSync now expects
/// and AWS's Amplify v6 sends; the older `?header=` query parameter is accepted by existing
/// APIs only (BACKEND.md §3).
pub fn subprotocols(cfg: &RealtimeConfig) -> String {
    let header = json!({"host": cfg.graphql_host, "x-api-key": cfg.api_key});
    format!("graphql-ws, header-{}", B64_URL.encode(header.to_string()))
}

const SUBSCRIPTIONS: [(&str, ChangeKind); 3] = [
    ("onCreatePerson", ChangeKind::Created),
    ("onUpdatePerson", ChangeKind::Updated),
    ("onDeletePerson", ChangeKind::Deleted),
];

fn start_message(cfg: &RealtimeConfig, id: &str, field: &str) -> String {
    let query = format!("subscription {field} {{ {field} {{ {PERSON_FIELDS} }} }}");
    json!({
        "id": id,
        "type": "start",
        "payload": {
            "data": json!({"query": query, "variables": {}}).to_string(),
            "extensions": {"authorization": {"host": cfg.graphql_host, "x-api-key": cfg.api_key}},
        },
    })
    .to_string()
}

/// Keeps the subscriptions alive until `events` is closed by its receiver.
pub async fn run(cfg: RealtimeConfig, events: mpsc::Sender<RealtimeEvent>) {
    let mut backoff = Backoff::default();
    loop {
        let outcome = session(&cfg, &events, &mut backoff).await;
        if events.is_closed() {
            return;
        }
        let reason = outcome
            .err()
            .unwrap_or_else(|| "connection closed".to_string());
        tracing::info!(target: "dialtone::realtime", "real-time connection lost: {reason}; retrying in {:?}", backoff.peek());
        if events
            .send(RealtimeEvent::Disconnected(reason))
            .await
            .is_err()
        {
            return;
        }
        backoff.wait().await;
    }
}

async fn session(
    cfg: &RealtimeConfig,
    events: &mpsc::Sender<RealtimeEvent>,
    backoff: &mut Backoff,
) -> Result<(), String> {
    let url = connect_url(cfg)?;
    let mut ws = cfg
        .connector
        .connect(
            &url,
            &[("Sec-WebSocket-Protocol", subprotocols(cfg))],
            HANDSHAKE_TIMEOUT,
            false,
        )
        .await
        .map_err(|e| e.to_string())?;

    ws.send(Message::text(
        json!({"type": "connection_init"}).to_string(),
    ))
    .await
    .map_err(|e| e.to_string())?;
    let mut ids = Vec::new();
    let mut acked = 0;
    let mut timeout = HANDSHAKE_TIMEOUT;
    loop {
        let msg = match tokio::time::timeout(timeout, ws.next()).await {
            Err(_) => return Err(format!("no message or keep-alive within {timeout:?}")),
            Ok(None) => return Err("closed by server".into()),
            Ok(Some(Err(e))) => return Err(e.to_string()),
            Ok(Some(Ok(m))) => m,
        };
        let text = match msg {
            Message::Text(t) => t,
            Message::Close(_) => return Err("closed by server".into()),
            _ => continue,
        };
        match parse_server_message(text.as_str()) {
            Ok(ServerMessage::ConnectionAck { timeout_ms }) => {
                timeout = Duration::from_millis(timeout_ms.clamp(1_000, 600_000));
                for (field, _) in SUBSCRIPTIONS {
                    let id = uuid::Uuid::new_v4().to_string();
                    ws.send(Message::text(start_message(cfg, &id, field)))
                        .await
                        .map_err(|e| e.to_string())?;
                    ids.push(id);
                }
            }
            Ok(ServerMessage::StartAck { id }) if ids.contains(&id) => {
                acked += 1;
                if acked == SUBSCRIPTIONS.len() {
                    backoff.reset();
                    events
                        .send(RealtimeEvent::Connected)
                        .await
                        .map_err(|_| "owner gone")?;
                }
            }
            Ok(ServerMessage::KeepAlive) => {}
            Ok(ServerMessage::Data { id, payload }) => {
                let Some(idx) = ids.iter().position(|i| *i == id) else {
                    continue;
                };
                let (field, kind) = SUBSCRIPTIONS[idx];
                match decode_person(payload["data"][field].clone()) {
                    Ok(p) => events
                        .send(RealtimeEvent::Change(kind, p))
                        .await
                        .map_err(|_| "owner gone")?,
                    Err(e) => {
                        tracing::warn!(target: "dialtone::realtime", "ignoring undecodable {field}: {e}")
                    }
                }
            }
            Ok(ServerMessage::ConnectionError { message }) => {
                return Err(format!("connection refused: {message}"))
            }
            Ok(ServerMessage::Error { message, .. }) => {
                return Err(format!("subscription failed: {message}"))
            }
            Ok(other) => tracing::debug!(target: "dialtone::realtime", "ignoring {other:?}"),
            Err(e) => {
                tracing::warn!(target: "dialtone::realtime", "ignoring malformed message: {e}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_protocol_messages() {
        assert_eq!(
            parse_server_message(
                r#"{"type":"connection_ack","payload":{"connectionTimeoutMs":1234}}"#
            ),
            Ok(ServerMessage::ConnectionAck { timeout_ms: 1234 })
        );
        assert_eq!(
            parse_server_message(r#"{"type":"ka"}"#),
            Ok(ServerMessage::KeepAlive)
        );
        assert_eq!(
            parse_server_message(
                r#"{"type":"error","id":"1","payload":{"errors":[{"errorType":"X","message":"m"}]}}"#
            ),
            Ok(ServerMessage::Error {
                id: Some("1".into()),
                message: "X: m".into()
            })
        );
        assert!(parse_server_message(r#"{"type":"data"}"#).is_err());
        assert!(parse_server_message("nope").is_err());
    }

    #[test]
    fn the_authorization_travels_as_a_base64url_subprotocol() {
        let cfg = RealtimeConfig {
            url: "wss://h/graphql".into(),
            graphql_host: "api.h".into(),
            // Bytes whose standard base64 would carry `+`, `/` and `=`.
            api_key: "k?>~".into(),
            connector: crate::backend::websocket::Connector::for_tests(),
        };
        assert_eq!(connect_url(&cfg).unwrap().as_str(), "wss://h/graphql");
        let value = subprotocols(&cfg);
        let (first, auth) = value.split_once(", ").unwrap();
        assert_eq!(first, "graphql-ws");
        let encoded = auth.strip_prefix("header-").unwrap();
        assert!(
            encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "not a valid subprotocol token: {encoded}"
        );
        let decoded: Value = serde_json::from_slice(&B64_URL.decode(encoded).unwrap()).unwrap();
        assert_eq!(decoded, json!({"host": "api.h", "x-api-key": "k?>~"}));
    }
}
