//! The extended backend's live call-event channel, client side: one WebSocket at `/ws`,
//! authenticated at connect (`?clientId=…` and `Authorization: Bearer <clientSecret>`),
//! `{"action": "ping"}` every 20 s, reconnection with jittered backoff. Server messages
//! (`{"type": …}`) are parsed here into [`ServerEvent`]s; what they mean for a call is the
//! engine's business. The seed backend has no such channel; the engine does not start it.

use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

use super::websocket::Message;
use crate::backend::backoff::Backoff;

/// The server's messages are small; anything larger is not one of them.
pub const MAX_EVENT_BYTES: usize = 16 * 1024;
const PING_EVERY: Duration = Duration::from_secs(20);
/// Without any message (a pong at least) for this long, the connection is presumed dead.
const SILENCE_LIMIT: Duration = Duration::from_secs(45);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct ChannelConfig {
    /// `wss://…/ws` or the mock's `ws://127.0.0.1:PORT/ws`.
    pub url: String,
    pub client_id: String,
    pub secret: String,
    /// The client's WebSocket connector (its TLS configuration and proxy rules).
    pub connector: super::websocket::Connector,
}

impl std::fmt::Debug for ChannelConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelConfig")
            .field("url", &self.url)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// One message from the server.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    Connected,
    Pong,
    Ringing {
        call_id: String,
        caller_id: Option<String>,
        callee_id: Option<String>,
        caller_name: Option<String>,
        sent_at_ms: Option<i64>,
        /// A room invite: its room, and how many were in it.
        room: Option<(String, Option<u32>)>,
    },
    /// A call's end (or, for `Answered`, its answer): the call, who did it, and for a room
    /// invite its room and callee.
    Answered(CallEnd),
    Declined(CallEnd),
    Busy(CallEnd),
    Cancelled(CallEnd),
    Ended(CallEnd),
    /// A room invite nobody answered in time.
    Missed(CallEnd),
    Error {
        message: String,
    },
    /// A room's snapshot or change (`backend::rooms`).
    Room(super::rooms::RoomEvent),
    /// A type this client does not know: newer servers may add some.
    Other(String),
}

/// What a call event names besides its kind.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CallEnd {
    pub call_id: String,
    pub by: Option<String>,
    /// Room invites: the room and the invited client.
    pub room_id: Option<String>,
    pub callee_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    #[error("the event is larger than {MAX_EVENT_BYTES} bytes")]
    TooLarge,
    #[error("the event is not a JSON object: {0}")]
    Malformed(String),
    #[error("the event has no \"type\"")]
    NoType,
    #[error("the {0:?} event has no callId")]
    NoCallId(String),
    #[error("{0}")]
    Room(String),
}

fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.trim().is_empty() && s.len() <= 1024 => Some(s.trim().to_string()),
        _ => None,
    }
}

fn millis(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Parses one server message. Pure: the fuzz test feeds it arbitrary text.
pub fn parse(raw: &str) -> Result<ServerEvent, ParseError> {
    if raw.len() > MAX_EVENT_BYTES {
        return Err(ParseError::TooLarge);
    }
    let v: Value = serde_json::from_str(raw).map_err(|e| ParseError::Malformed(e.to_string()))?;
    if !v.is_object() {
        return Err(ParseError::Malformed("not an object".into()));
    }
    let kind = text(&v, "type").ok_or(ParseError::NoType)?;
    if let Some(room) = super::rooms::parse_event(&kind, &v) {
        return room.map(ServerEvent::Room).map_err(ParseError::Room);
    }
    let call_id = || text(&v, "callId").ok_or_else(|| ParseError::NoCallId(kind.clone()));
    let end = || {
        Ok::<_, ParseError>(CallEnd {
            call_id: call_id()?,
            by: text(&v, "by"),
            room_id: text(&v, "roomID"),
            callee_id: text(&v, "calleeId"),
        })
    };
    Ok(match kind.as_str() {
        "connected" => ServerEvent::Connected,
        "pong" => ServerEvent::Pong,
        "ringing" => ServerEvent::Ringing {
            call_id: call_id()?,
            caller_id: text(&v, "callerId"),
            callee_id: text(&v, "calleeId"),
            caller_name: text(&v, "callerName"),
            sent_at_ms: millis(&v, "sentAt"),
            room: text(&v, "roomID").map(|r| {
                let n = millis(&v, "memberCount").and_then(|n| u32::try_from(n).ok());
                (r, n)
            }),
        },
        "answered" => ServerEvent::Answered(end()?),
        "declined" => ServerEvent::Declined(end()?),
        "busy" => ServerEvent::Busy(end()?),
        "cancelled" => ServerEvent::Cancelled(end()?),
        "ended" => ServerEvent::Ended(end()?),
        "missed" => ServerEvent::Missed(end()?),
        "error" => ServerEvent::Error {
            message: text(&v, "message").unwrap_or_else(|| "unspecified".into()),
        },
        _ => ServerEvent::Other(kind),
    })
}

/// What the owner hears from the channel.
#[derive(Debug, Clone, PartialEq)]
pub enum ChannelEvent {
    /// (Re)connected: events from now on arrive live.
    Up,
    Event(ServerEvent),
    Down(String),
    /// The server refused this clientId and secret (401/403 at connect): the backend does
    /// not know the device any more. The channel stops; registering again starts a new one.
    Refused(String),
}

/// Why a session ended.
enum End {
    Lost(String),
    Refused(String),
}

impl From<String> for End {
    fn from(s: String) -> Self {
        End::Lost(s)
    }
}

impl From<&str> for End {
    fn from(s: &str) -> Self {
        End::Lost(s.to_string())
    }
}

/// Keeps the channel open until `events`' receiver is dropped.
pub async fn run(cfg: ChannelConfig, events: mpsc::Sender<ChannelEvent>) {
    let mut backoff = Backoff::default();
    loop {
        let outcome = session(&cfg, &events, &mut backoff).await;
        if events.is_closed() {
            return;
        }
        let reason = match outcome {
            Ok(()) => "closed".to_string(),
            Err(End::Lost(why)) => why,
            Err(End::Refused(why)) => {
                tracing::warn!(target: "dialtone::events", "event channel refused: {why}; stopping");
                let _ = events.send(ChannelEvent::Refused(why)).await;
                return;
            }
        };
        tracing::info!(target: "dialtone::events", "event channel lost: {reason}; retrying in about {:?}", backoff.peek());
        if events.send(ChannelEvent::Down(reason)).await.is_err() {
            return;
        }
        backoff.wait().await;
    }
}

async fn session(
    cfg: &ChannelConfig,
    events: &mpsc::Sender<ChannelEvent>,
    backoff: &mut Backoff,
) -> Result<(), End> {
    let mut url =
        crate::backend::urls::parse(&cfg.url).map_err(|e| format!("bad event URL: {e}"))?;
    url.query_pairs_mut()
        .append_pair("clientId", &cfg.client_id);
    let mut ws = cfg
        .connector
        .connect(
            &url,
            &[("Authorization", format!("Bearer {}", cfg.secret))],
            HANDSHAKE_TIMEOUT,
            false,
        )
        .await
        .map_err(|e| match e {
            super::websocket::ConnectError::Refused { status, .. }
                if status == 401 || status == 403 =>
            {
                End::Refused(format!("HTTP {status}"))
            }
            e => End::Lost(e.to_string()),
        })?;
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            msg = tokio::time::timeout(SILENCE_LIMIT, ws.next()) => {
                let msg = match msg {
                    Err(_) => return Err(format!("nothing heard for {SILENCE_LIMIT:?}").into()),
                    Ok(None) => return Err("closed by server".into()),
                    Ok(Some(Err(e))) => return Err(e.to_string().into()),
                    Ok(Some(Ok(m))) => m,
                };
                let text = match msg {
                    Message::Text(t) => t,
                    Message::Close(frame) => {
                        return Err(End::Lost(match frame {
                            Some(f) => format!("closed by server ({}: {})", f.code, f.reason),
                            None => "closed by server".into(),
                        }))
                    }
                    _ => continue,
                };
                match parse(text.as_str()) {
                    Ok(ServerEvent::Connected) => {
                        backoff.reset();
                        events.send(ChannelEvent::Up).await.map_err(|_| "owner gone")?;
                    }
                    Ok(ServerEvent::Pong) => {}
                    Ok(ServerEvent::Error { message }) => {
                        tracing::warn!(target: "dialtone::events", "event channel error: {message}")
                    }
                    Ok(ev) => events.send(ChannelEvent::Event(ev)).await.map_err(|_| "owner gone")?,
                    Err(e) => tracing::warn!(target: "dialtone::events", "ignoring an event: {e}"),
                }
            }
            _ = ping.tick() => {
                ws.send(Message::text(r#"{"action":"ping"}"#))
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_event_type() {
        assert_eq!(
            parse(
                r#"{"type":"ringing","callId":"c1","callerId":"a","calleeId":"b","callerName":"Ann Lee","sentAt":1700000000000}"#
            ),
            Ok(ServerEvent::Ringing {
                call_id: "c1".into(),
                caller_id: Some("a".into()),
                callee_id: Some("b".into()),
                caller_name: Some("Ann Lee".into()),
                sent_at_ms: Some(1_700_000_000_000),
                room: None,
            })
        );
        assert_eq!(
            parse(r#"{"type":"answered","callId":"c1","by":"b"}"#),
            Ok(ServerEvent::Answered(CallEnd {
                call_id: "c1".into(),
                by: Some("b".into()),
                ..CallEnd::default()
            }))
        );
        let c = || CallEnd {
            call_id: "c".into(),
            ..CallEnd::default()
        };
        for (t, want) in [
            ("declined", ServerEvent::Declined(c())),
            ("busy", ServerEvent::Busy(c())),
            ("cancelled", ServerEvent::Cancelled(c())),
            ("ended", ServerEvent::Ended(c())),
            ("missed", ServerEvent::Missed(c())),
        ] {
            assert_eq!(
                parse(&format!(r#"{{"type":"{t}","callId":"c"}}"#)),
                Ok(want)
            );
        }
        // A room invite's ringing and end name the room (and the end its callee).
        assert!(matches!(
            parse(r#"{"type":"ringing","callId":"c","calleeId":"b","roomID":"r","memberCount":3}"#),
            Ok(ServerEvent::Ringing { room: Some((r, Some(3))), .. }) if r == "r"
        ));
        assert_eq!(
            parse(r#"{"type":"declined","callId":"c","by":"b","roomID":"r","calleeId":"b"}"#),
            Ok(ServerEvent::Declined(CallEnd {
                call_id: "c".into(),
                by: Some("b".into()),
                room_id: Some("r".into()),
                callee_id: Some("b".into()),
            }))
        );
        assert_eq!(parse(r#"{"type":"pong"}"#), Ok(ServerEvent::Pong));
        assert_eq!(
            parse(r#"{"type":"error","message":"action \"x\" is not implemented"}"#),
            Ok(ServerEvent::Error {
                message: "action \"x\" is not implemented".into()
            })
        );
        assert_eq!(
            parse(r#"{"type":"typing"}"#),
            Ok(ServerEvent::Other("typing".into()))
        );
    }

    #[test]
    fn bad_events_are_clear_errors() {
        assert_eq!(parse(r#"{"callId":"c"}"#), Err(ParseError::NoType));
        assert_eq!(
            parse(r#"{"type":"ended"}"#),
            Err(ParseError::NoCallId("ended".into()))
        );
        assert!(matches!(parse("[1]"), Err(ParseError::Malformed(_))));
        assert!(matches!(parse("{"), Err(ParseError::Malformed(_))));
        assert_eq!(
            parse(&format!(r#"{{"type":"{}"}}"#, "x".repeat(MAX_EVENT_BYTES))),
            Err(ParseError::TooLarge)
        );
        assert!(!format!(
            "{:?}",
            ChannelConfig {
                url: "ws://h/ws".into(),
                client_id: "c".into(),
                secret: "s3cr3t".into(),
                connector: crate::backend::websocket::Connector::for_tests(),
            }
        )
        .contains("s3cr3t"));
    }
}
