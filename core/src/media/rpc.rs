//! The session's JSON-RPC client over the v3 signaling socket: requests with ids and a
//! timeout, notifications, and the answers `signaling_link` hands back (`Responses`). What
//! goes out is queued for the socket's writer, which `signaling_link` owns across reconnects.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

use crate::backend::websocket::Message;
use crate::media::link::MediaError;
use crate::media::signaling::{self, RpcError};
use crate::media::signaling_link;

const RPC_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) struct Rpc {
    out: mpsc::UnboundedSender<Message>,
    pending: Mutex<HashMap<u64, oneshot::Sender<Result<Value, RpcError>>>>,
    next_id: AtomicU64,
}

impl Rpc {
    pub(crate) async fn call(&self, method: &str, params: Value) -> Result<Value, MediaError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        crate::sync::lock(&self.pending).insert(id, tx);
        if self
            .out
            .send(Message::text(signaling::request(id, method, params)))
            .is_err()
        {
            crate::sync::lock(&self.pending).remove(&id);
            return Err(MediaError::Signaling(
                "the signaling socket is closed".into(),
            ));
        }
        match tokio::time::timeout(RPC_TIMEOUT, rx).await {
            Ok(Ok(Ok(v))) => Ok(v),
            Ok(Ok(Err(error))) => Err(MediaError::Rpc {
                method: method.to_string(),
                error,
            }),
            Ok(Err(_)) => Err(MediaError::Signaling(format!(
                "{method}: the signaling socket closed"
            ))),
            Err(_) => {
                crate::sync::lock(&self.pending).remove(&id);
                Err(MediaError::Signaling(format!(
                    "{method}: no answer within {RPC_TIMEOUT:?}"
                )))
            }
        }
    }

    pub(crate) fn notify(&self, method: &str, params: Value) {
        let _ = self
            .out
            .send(Message::text(signaling::notification(method, params)));
    }

    fn fail_all(&self) {
        crate::sync::lock(&self.pending).clear();
    }
}

impl signaling_link::Responses for Rpc {
    fn respond(&self, id: u64, result: Result<Value, RpcError>) {
        if let Some(tx) = crate::sync::lock(&self.pending).remove(&id) {
            let _ = tx.send(result);
        }
    }

    fn fail_all(&self) {
        Rpc::fail_all(self);
    }
}

impl Rpc {
    /// A client, and the queue of what it sends (the socket's writer reads it).
    pub(crate) fn new() -> (std::sync::Arc<Rpc>, mpsc::UnboundedReceiver<Message>) {
        let (out, rx) = mpsc::unbounded_channel();
        (
            std::sync::Arc::new(Rpc {
                out,
                pending: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(1),
            }),
            rx,
        )
    }

    /// A frame for the socket as it is (a probe, the closing handshake).
    pub(crate) fn send_frame(&self, frame: Message) {
        let _ = self.out.send(frame);
    }

    pub(crate) fn notify_ping(&self) {
        // A request the gateway answers; the answer needs no waiting.
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let _ = self
            .out
            .send(Message::text(signaling::request(id, "ping", json!({}))));
    }
}
