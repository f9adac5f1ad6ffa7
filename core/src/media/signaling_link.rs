//! The v3 signaling socket of one media session, kept alive through outages. It owns the
//! WebSocket: writes what the session queues, hands responses to the pending JSON-RPC calls
//! and notifications to the session, pings at the WebSocket level every `KEEPALIVE` and
//! declares the socket lost when nothing has arrived for `SILENCE` (a blackout stalls TCP
//! rather than closing it). A lost socket is reconnected with the same participant token and
//! `uniqueId` as `media::recovery::resume` decides (overlapping attempts, capped backoff,
//! token renewal, the budget); meanwhile the peer connections carry on, so audio keeps
//! flowing where the media path still works.
//!
//! A Close frame from the gateway is the session ending (the other side hung up, the call
//! was ended): that is not an outage, and the link stops. A refused reconnect (401/403: the
//! token expired or the session ended) is renewed through the session's `TokenRenewer`
//! where it has one (the extended backend's `renewToken`), and gives up otherwise.

use std::time::{Duration, Instant};

use crate::backend::websocket::Message;
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::backend::websocket::{ConnectError, Connector, Socket};
use crate::media::signaling::{self, Inbound, RpcError};

/// A ping with this payload, queued by the session when the device's network changed, asks
/// for an answer within `recovery::PROBE_TIMEOUT`.
pub const PROBE: &[u8] = b"dialtone-probe";
// Every other constant of recovery is `media::recovery`'s.
use crate::media::recovery::resume::{
    Action as ResumeAction, Failure, Input as ResumeInput, Resume,
};
pub use crate::media::recovery::{DEFAULT_BUDGET, KEEPALIVE, PROBE_TIMEOUT, SILENCE};

pub use crate::media::link::TokenRenewer;

/// What the link tells the session.
#[derive(Debug)]
pub enum LinkEvent {
    Notification(String, Value),
    /// The socket was lost; the link is reconnecting.
    Lost,
    /// The socket is back (same participant, same `uniqueId`).
    Restored,
    /// The socket did not come back within the budget, or the gateway refused it.
    GaveUp(String),
}

/// Where JSON-RPC responses go: the session's pending calls.
pub trait Responses: Send + Sync + 'static {
    fn respond(&self, id: u64, result: Result<Value, RpcError>);
    /// The socket went away: no pending call will get its answer.
    fn fail_all(&self);
}

enum Pumped {
    /// The gateway closed the session, or we sent Close (leave).
    Closed,
    /// The socket failed or went silent.
    Lost(String),
}

/// The session's socket: its URL (whose token a renewal replaces) and the client's
/// connector, which a resume reconnects with.
pub struct Gateway {
    pub url: url::Url,
    pub connector: Connector,
}

/// Runs the link until the session ends (returns after the events sender is dropped).
pub async fn run<R: Responses>(
    mut ws: Socket,
    Gateway { mut url, connector }: Gateway,
    budget: Duration,
    renew: Option<TokenRenewer>,
    responses: std::sync::Arc<R>,
    mut outbound: mpsc::UnboundedReceiver<Message>,
    events: mpsc::UnboundedSender<LinkEvent>,
) {
    loop {
        match pump(ws, &*responses, &mut outbound, &events).await {
            Pumped::Closed => return,
            Pumped::Lost(why) => {
                responses.fail_all();
                tracing::info!(target: "dialtone::media", "signaling socket lost ({why}); reconnecting for up to {budget:?}");
                let _ = events.send(LinkEvent::Lost);
                match reconnect(&connector, &mut url, budget, renew.as_ref()).await {
                    Ok(socket) => {
                        tracing::info!(target: "dialtone::media", "signaling socket restored");
                        ws = socket;
                        let _ = events.send(LinkEvent::Restored);
                    }
                    Err(why) => {
                        let _ = events.send(LinkEvent::GaveUp(why));
                        return;
                    }
                }
            }
        }
    }
}

async fn pump<R: Responses>(
    mut ws: Socket,
    responses: &R,
    outbound: &mut mpsc::UnboundedReceiver<Message>,
    events: &mpsc::UnboundedSender<LinkEvent>,
) -> Pumped {
    let mut keepalive = tokio::time::interval(KEEPALIVE);
    keepalive.reset();
    let mut last_heard = Instant::now();
    let mut probe_deadline: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(probe_deadline.unwrap_or_else(tokio::time::Instant::now)), if probe_deadline.is_some() => {
                return Pumped::Lost(format!("no answer to a probe within {PROBE_TIMEOUT:?} after a network change"));
            }
            msg = ws.next() => {
                last_heard = Instant::now();
                probe_deadline = None;
                match msg {
                    Some(Ok(Message::Text(text))) => match signaling::parse_inbound(text.as_str()) {
                        Ok(Inbound::Response { id, result }) => responses.respond(id, result),
                        Ok(Inbound::Notification { method, params }) => {
                            let _ = events.send(LinkEvent::Notification(method, params));
                        }
                        Err(e) => tracing::warn!(target: "dialtone::media", "ignoring signaling message: {e}"),
                    },
                    Some(Ok(Message::Close(_))) => return Pumped::Closed,
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Pumped::Lost(e.to_string()),
                    None => return Pumped::Lost("the connection closed without a close frame".into()),
                }
            }
            out = outbound.recv() => match out {
                Some(m) => {
                    let close = matches!(m, Message::Close(_));
                    if matches!(&m, Message::Ping(p) if p.as_slice() == PROBE) {
                        probe_deadline = Some(tokio::time::Instant::now() + PROBE_TIMEOUT);
                    }
                    if let Err(e) = ws.send(m).await {
                        return if close { Pumped::Closed } else { Pumped::Lost(e.to_string()) };
                    }
                    if close {
                        let _ = ws.close().await;
                        return Pumped::Closed;
                    }
                }
                // The session is gone.
                None => {
                    let _ = ws.close().await;
                    return Pumped::Closed;
                }
            },
            _ = keepalive.tick() => {
                if last_heard.elapsed() > SILENCE {
                    return Pumped::Lost(format!("nothing heard for {:?}", last_heard.elapsed()));
                }
                if ws.send(Message::Ping(Vec::new())).await.is_err() {
                    return Pumped::Lost("the keepalive could not be sent".into());
                }
            }
        }
    }
}

/// Reconnects with the same URL (token and `uniqueId`) as the `resume` machine says: it
/// starts each attempt, drops the ones a refused token makes useless, asks for a fresh token
/// (`renew`, kept in the URL for later outages) and gives up; this performs and reports.
async fn reconnect(
    connector: &Connector,
    url: &mut url::Url,
    budget: Duration,
    renew: Option<&TokenRenewer>,
) -> Result<Socket, String> {
    use futures_util::stream::FuturesUnordered;
    let mut machine = Resume::start(Instant::now(), budget, renew.is_some());
    let mut attempts = FuturesUnordered::new();
    let mut inputs = vec![ResumeInput::Due];
    loop {
        for input in std::mem::take(&mut inputs) {
            for action in machine.step(input, tokio::time::Instant::now().into_std()) {
                match action {
                    ResumeAction::Attempt { timeout } => {
                        let target = url.clone();
                        attempts.push(async move {
                            connector.connect(&target, &[], timeout, true).await
                        });
                    }
                    ResumeAction::DropAttempts => attempts = FuturesUnordered::new(),
                    ResumeAction::RenewToken => {
                        let Some(renew) = renew else {
                            inputs.push(ResumeInput::RenewFailed("no renewer".into()));
                            continue;
                        };
                        match renew().await {
                            Ok(token) => {
                                tracing::info!(target: "dialtone::media", "the gateway refused to resume; resuming with a renewed token");
                                set_token(url, &token);
                                inputs.push(ResumeInput::Renewed);
                            }
                            Err(e) => inputs.push(ResumeInput::RenewFailed(e)),
                        }
                    }
                    ResumeAction::GiveUp(why) => return Err(why),
                }
            }
        }
        if !inputs.is_empty() {
            continue;
        }
        let wake = tokio::time::Instant::from_std(machine.wake_at());
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => inputs.push(ResumeInput::Due),
            Some(result) = attempts.next(), if !attempts.is_empty() => {
                let failure = match result {
                    Ok(socket) => return Ok(socket),
                    Err(ConnectError::Refused { status, .. }) => Failure::Refused(status),
                    Err(ConnectError::Timeout(_)) => {
                        tracing::debug!(target: "dialtone::media", "a signaling reconnect attempt timed out");
                        Failure::TimedOut
                    }
                    Err(e) => {
                        tracing::debug!(target: "dialtone::media", "signaling reconnect failed: {e}");
                        Failure::Other
                    }
                };
                inputs.push(ResumeInput::Failed { failure, jitter: crate::backend::backoff::jitter_factor() });
                // Time may have come for another attempt too.
                inputs.push(ResumeInput::Due);
            }
        }
    }
}

/// `url` with its `token` query parameter replaced, every other parameter kept in order.
fn set_token(url: &mut url::Url, token: &str) {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "token" {
                token.to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_renewed_token_replaces_the_old_one_and_keeps_the_rest() {
        let mut url = signaling::connect_url("wss://gw.example/v3", "old.tok", "u-1").unwrap();
        set_token(&mut url, "new.tok+/=");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs[0], ("token".to_string(), "new.tok+/=".to_string()));
        assert!(pairs.iter().any(|(k, v)| k == "uniqueId" && v == "u-1"));
        assert_eq!(pairs.iter().filter(|(k, _)| k == "token").count(), 1);
    }
}
