//! The one WebSocket connector every long-lived socket of the core uses (AppSync real-time,
//! the event channel, the media gateway's signaling): the shared TLS configuration for
//! `wss`, extra headers (subprotocol, auth), a handshake deadline, and typed failures that
//! keep an HTTP refusal's status and body (the gateway refuses tokens that way).

use std::time::Duration;

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConnectError {
    #[error("bad WebSocket URL: {0}")]
    Url(String),
    #[error("the header {0} has a value that cannot be sent")]
    Header(&'static str),
    #[error("connect timed out after {0:?}")]
    Timeout(Duration),
    /// The server answered the upgrade with an HTTP error (the body is kept, capped).
    #[error("refused with HTTP {status}")]
    Refused { status: u16, body: String },
    #[error("connect failed: {0}")]
    Failed(String),
}

/// Opens `url` (`ws` or `wss`) with `headers`, within `timeout`. `nodelay` for sockets whose
/// messages are latency-critical (signaling).
pub async fn connect(
    url: &url::Url,
    headers: &[(&'static str, String)],
    timeout: Duration,
    nodelay: bool,
) -> Result<Socket, ConnectError> {
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| ConnectError::Url(e.to_string()))?;
    for (name, value) in headers {
        let value = HeaderValue::from_str(value).map_err(|_| ConnectError::Header(name))?;
        request.headers_mut().insert(*name, value);
    }
    let connector = match url.scheme() {
        "wss" => Some(Connector::Rustls(
            super::tls::websocket_config().map_err(|e| ConnectError::Failed(e.to_string()))?,
        )),
        _ => None,
    };
    let connect =
        tokio_tungstenite::connect_async_tls_with_config(request, None, nodelay, connector);
    match tokio::time::timeout(timeout, connect).await {
        Err(_) => Err(ConnectError::Timeout(timeout)),
        Ok(Err(tokio_tungstenite::tungstenite::Error::Http(resp))) => {
            let body = resp
                .body()
                .as_deref()
                .map(|b| String::from_utf8_lossy(&b[..b.len().min(4096)]).into_owned())
                .unwrap_or_default();
            Err(ConnectError::Refused {
                status: resp.status().as_u16(),
                body,
            })
        }
        Ok(Err(e)) => Err(ConnectError::Failed(e.to_string())),
        Ok(Ok((ws, _))) => Ok(ws),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refusals_timeouts_and_bad_headers_are_typed() {
        // A server that answers the upgrade with 401 and a JSON body.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        crate::task::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf).await;
            let body = r#"{"error":"token expired"}"#;
            let resp = format!(
                "HTTP/1.1 401 Unauthorized\r\ncontent-length: {}\r\ncontent-type: application/json\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(resp.as_bytes()).await;
        });
        let url = crate::backend::urls::parse(&format!("ws://127.0.0.1:{port}/v3/")).unwrap();
        match connect(&url, &[], Duration::from_secs(5), true).await {
            Err(ConnectError::Refused { status, body }) => {
                assert_eq!(status, 401);
                assert!(body.contains("token expired"));
            }
            other => panic!("expected Refused, got {other:?}"),
        }
        // A server that accepts TCP and never answers.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = crate::backend::urls::parse(&format!("ws://{}/", silent.local_addr().unwrap()))
            .unwrap();
        assert_eq!(
            connect(&url, &[], Duration::from_millis(100), false)
                .await
                .err(),
            Some(ConnectError::Timeout(Duration::from_millis(100)))
        );
        assert_eq!(
            connect(
                &url,
                &[("Authorization", "a\nb".into())],
                Duration::from_millis(100),
                false
            )
            .await
            .err(),
            Some(ConnectError::Header("Authorization"))
        );
    }
}
