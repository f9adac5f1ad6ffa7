//! What the raw-HTTP and raw-WebSocket tests of the extended profile share: the REST call
//! with an optional bearer, a registered client's id and secret, and the `/ws` connection
//! with its reader.
#![allow(dead_code)]

use std::time::Duration;

use dialtone_mock::MockServer;
use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// `POST /api` with `body`, as `secret`'s client when given: the status and the reply.
pub async fn api(m: &MockServer, secret: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{}/api", m.base_url()))
        .json(&body);
    if let Some(s) = secret {
        req = req.header("Authorization", format!("Bearer {s}"));
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

pub struct Client {
    pub id: String,
    pub secret: String,
}

/// `c`'s `/ws`, authenticated at connect; its `connected` greeting read within `wait`.
pub async fn connect(m: &MockServer, c: &Client, wait: Duration) -> Ws {
    let mut req = format!("ws://{}/ws?clientId={}", m.addr(), c.id)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Authorization",
        format!("Bearer {}", c.secret).parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(next_within(&mut ws, wait).await["type"], "connected");
    ws
}

/// The next text message, as JSON; panics if none comes within `wait`.
pub async fn next_within(ws: &mut Ws, wait: Duration) -> Value {
    loop {
        let msg = tokio::time::timeout(wait, ws.next())
            .await
            .expect("a message in time")
            .expect("the socket is open")
            .unwrap();
        if let Message::Text(t) = msg {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}
