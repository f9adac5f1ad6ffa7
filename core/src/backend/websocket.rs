//! The WebSocket client every long-lived socket of the core uses (AppSync real-time, the
//! event channel, the media gateway's signaling): tokio-tungstenite for the protocol, over a
//! TCP connection opened the way reqwest opens its own (hyper-util's connector: Happy
//! Eyeballs over every address, IPv6 literal hosts), through an HTTP CONNECT tunnel when the
//! environment (or, on macOS, the system) names a proxy for the URL, under the client's TLS
//! configuration for `wss`. What this module adds: a deadline, typed failures that keep an
//! HTTP refusal's status and body (the gateway refuses tokens that way), and a close
//! handshake that always happens: a server's Close is answered at once, [`Socket::close`]
//! waits for the server's answer, a socket dropped while open closes with 1000 in the
//! background, and a protocol violation by the server is answered with 1002, 1007 or 1009.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, protocol::frame::coding::CloseCode};
use tokio_tungstenite::WebSocketStream;
use tower_service::Service;

/// The largest message (and frame) taken from a server: AppSync's and the gateway's are a
/// few KiB.
const MAX_MESSAGE: usize = 4 * 1024 * 1024;
/// The part of a refusal's body kept.
const MAX_REFUSAL_BODY: usize = 4096;
/// How long a closing socket waits for the server's Close before it drops the connection.
const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// How long the first address of a host gets before the next family is tried (RFC 8305;
/// reqwest's value).
const HAPPY_EYEBALLS: Duration = Duration::from_millis(300);

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

/// A message, as the protocols above see them.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<CloseFrame>),
}

impl Message {
    pub fn text(s: impl Into<String>) -> Self {
        Message::Text(s.into())
    }
}

/// A close frame's status code and reason.
#[derive(Debug, Clone, PartialEq)]
pub struct CloseFrame {
    pub code: u16,
    pub reason: String,
}

impl CloseFrame {
    /// 1000: the purpose of the connection is fulfilled (RFC 6455 §7.4.1).
    pub const NORMAL: CloseFrame = CloseFrame {
        code: 1000,
        reason: String::new(),
    };
}

#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("connection failed: {0}")]
    Io(String),
    #[error("WebSocket protocol: {0}")]
    Protocol(String),
    #[error("the socket is closing")]
    Closed,
}

/// The byte stream under a socket: TCP, or TLS over TCP.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}
type Ws = WebSocketStream<Box<dyn Io>>;

/// Opens sockets: one per client, sharing its TLS configuration and proxy rules.
#[derive(Clone)]
pub struct Connector {
    tls: tokio_rustls::TlsConnector,
    proxies: Arc<Matcher>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector").finish_non_exhaustive()
    }
}

impl Connector {
    /// Proxies as reqwest finds them: the environment, then (macOS) the system's settings.
    pub fn new(tls: Arc<rustls::ClientConfig>) -> Self {
        Self::with_proxies(tls, Matcher::from_system())
    }

    /// The platform's roots and no proxy: for the core's unit tests.
    #[cfg(test)]
    #[allow(clippy::unwrap_used)]
    pub(crate) fn for_tests() -> Self {
        let tls = super::tls::client_config(&Default::default()).unwrap();
        Self::with_proxies(tls, Matcher::builder().build())
    }

    pub(crate) fn with_proxies(tls: Arc<rustls::ClientConfig>, proxies: Matcher) -> Self {
        Self {
            tls: tokio_rustls::TlsConnector::from(tls),
            proxies: Arc::new(proxies),
        }
    }

    /// Opens `url` (`ws` or `wss`) with `headers`, within `timeout`. `nodelay` for sockets
    /// whose messages are latency-critical (signaling).
    pub async fn connect(
        &self,
        url: &url::Url,
        headers: &[(&'static str, String)],
        timeout: Duration,
        nodelay: bool,
    ) -> Result<Socket, ConnectError> {
        let secure = match url.scheme() {
            "wss" => true,
            "ws" => false,
            other => return Err(ConnectError::Url(format!("{other}: not ws or wss"))),
        };
        let request = handshake_request(url, headers)?;
        let server_name = match url.host() {
            Some(url::Host::Domain(d)) => rustls::pki_types::ServerName::try_from(d.to_string())
                .map_err(|e| ConnectError::Url(format!("{d}: {e}")))?,
            Some(url::Host::Ipv4(a)) => std::net::IpAddr::V4(a).into(),
            Some(url::Host::Ipv6(a)) => std::net::IpAddr::V6(a).into(),
            None => return Err(ConnectError::Url("no host".into())),
        };
        // hyper-util's connector and the proxy rules speak http/https.
        let mut target = url.clone();
        let _ = target.set_scheme(if secure { "https" } else { "http" });
        let target: http::Uri = target
            .as_str()
            .parse()
            .map_err(|e| ConnectError::Url(format!("{e}")))?;
        let open = async {
            let tcp = self.tcp(&target, nodelay).await?;
            let io: Box<dyn Io> = if secure {
                let tls = self
                    .tls
                    .connect(server_name, tcp)
                    .await
                    .map_err(|e| ConnectError::Failed(format!("TLS: {e}")))?;
                Box::new(tls)
            } else {
                Box::new(tcp)
            };
            let config = tungstenite::protocol::WebSocketConfig::default()
                .max_message_size(Some(MAX_MESSAGE))
                .max_frame_size(Some(MAX_MESSAGE));
            match tokio_tungstenite::client_async_with_config(request, io, Some(config)).await {
                Ok((ws, _)) => Ok(Socket {
                    ws: Some(ws),
                    close_sent: false,
                }),
                Err(tungstenite::Error::Http(response)) => Err(ConnectError::Refused {
                    status: response.status().as_u16(),
                    body: response
                        .body()
                        .as_deref()
                        .map(|b| String::from_utf8_lossy(&b[..b.len().min(MAX_REFUSAL_BODY)]))
                        .unwrap_or_default()
                        .into_owned(),
                }),
                Err(e) => Err(ConnectError::Failed(format!("the handshake: {e}"))),
            }
        };
        tokio::time::timeout(timeout, open)
            .await
            .map_err(|_| ConnectError::Timeout(timeout))?
    }

    /// A TCP connection to `target`'s host, or a tunnel to it through the proxy that the
    /// rules name for it.
    async fn tcp(&self, target: &http::Uri, nodelay: bool) -> Result<TcpStream, ConnectError> {
        let mut direct = HttpConnector::new();
        direct.enforce_http(false);
        direct.set_nodelay(nodelay);
        direct.set_happy_eyeballs_timeout(Some(HAPPY_EYEBALLS));
        let failed = |e: &(dyn std::error::Error + 'static)| {
            ConnectError::Failed(crate::backend::http::describe(e))
        };
        match self.proxies.intercept(target) {
            None => call(&mut direct, target.clone())
                .await
                .map(|io| io.into_inner())
                .map_err(|e| failed(&e)),
            Some(proxy) => {
                if proxy.uri().scheme_str() != Some("http") {
                    return Err(ConnectError::Failed(format!(
                        "the proxy {} is not an http:// proxy, the only kind WebSockets go through",
                        proxy.uri().host().unwrap_or_default()
                    )));
                }
                let mut tunnel = hyper_util::client::legacy::connect::proxy::Tunnel::new(
                    proxy.uri().clone(),
                    direct,
                );
                if let Some(auth) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                tracing::debug!(target: "dialtone::net", "WebSocket through the proxy at {}", proxy.uri().host().unwrap_or_default());
                call(&mut tunnel, target.clone())
                    .await
                    .map(|io| io.into_inner())
                    .map_err(|e| failed(&e))
            }
        }
    }
}

/// A tower service called once.
async fn call<S: Service<http::Uri>>(svc: &mut S, uri: http::Uri) -> Result<S::Response, S::Error> {
    std::future::poll_fn(|cx| svc.poll_ready(cx)).await?;
    svc.call(uri).await
}

/// The upgrade request: the URL (tungstenite adds the key, version and upgrade headers) and
/// `headers` (subprotocol, auth), each value checked first.
fn handshake_request(
    url: &url::Url,
    headers: &[(&'static str, String)],
) -> Result<http::Request<()>, ConnectError> {
    use tungstenite::client::IntoClientRequest;
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| ConnectError::Url(e.to_string()))?;
    request.headers_mut().insert(
        http::header::USER_AGENT,
        http::HeaderValue::from_static(crate::backend::USER_AGENT),
    );
    for (name, value) in headers {
        let bad = || ConnectError::Header(name);
        let header = http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
        let value = http::HeaderValue::from_str(value).map_err(|_| bad())?;
        request.headers_mut().append(header, value);
    }
    Ok(request)
}

/// An open WebSocket. `next` reads, `send` writes; one task uses both.
pub struct Socket {
    /// Taken by `Drop` to close in the background.
    ws: Option<Ws>,
    close_sent: bool,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("close_sent", &self.close_sent)
            .finish_non_exhaustive()
    }
}

impl Socket {
    /// The next message; `None` once the connection has ended. Pings are answered (and
    /// returned), a server's Close is answered before it is returned. Cancel-safe.
    pub async fn next(&mut self) -> Option<Result<Message, SocketError>> {
        let ws = self.ws.as_mut()?;
        loop {
            return match ws.next().await? {
                Ok(tungstenite::Message::Close(frame)) => {
                    // tungstenite queued the answer (the code echoed, or 1002 for a code that
                    // may not be sent); send it now, as callers stop reading after a Close.
                    let _ = ws.flush().await;
                    self.close_sent = true;
                    Some(Ok(Message::Close(frame.map(|f| CloseFrame {
                        code: f.code.into(),
                        reason: f.reason.to_string(),
                    }))))
                }
                Ok(m) => match convert(m) {
                    Some(m) => Some(Ok(m)),
                    None => continue,
                },
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                    None
                }
                Err(e) => {
                    let code = match &e {
                        tungstenite::Error::Protocol(_) => Some(CloseCode::Protocol),
                        tungstenite::Error::Utf8(_) => Some(CloseCode::Invalid),
                        tungstenite::Error::Capacity(_) => Some(CloseCode::Size),
                        _ => None,
                    };
                    let error = match e {
                        tungstenite::Error::Io(io) => SocketError::Io(io.to_string()),
                        e => SocketError::Protocol(e.to_string()),
                    };
                    if let (Some(code), false) = (code, self.close_sent) {
                        // The server broke the protocol: say why and stop (RFC 6455 §7.1.7).
                        self.close_sent = true;
                        let frame = tungstenite::protocol::CloseFrame {
                            code,
                            reason: "".into(),
                        };
                        let _ = tokio::time::timeout(CLOSE_WAIT, ws.close(Some(frame))).await;
                    }
                    Some(Err(error))
                }
            };
        }
    }

    /// Sends `message` (written and flushed when this returns). After a close, an error.
    pub async fn send(&mut self, message: Message) -> Result<(), SocketError> {
        let Some(ws) = self.ws.as_mut() else {
            return Err(SocketError::Closed);
        };
        if self.close_sent {
            return Err(SocketError::Closed);
        }
        let m = match message {
            Message::Text(t) => tungstenite::Message::text(t),
            Message::Binary(b) => tungstenite::Message::binary(b),
            Message::Ping(p) => tungstenite::Message::Ping(p[..p.len().min(125)].to_vec().into()),
            Message::Pong(p) => tungstenite::Message::Pong(p[..p.len().min(125)].to_vec().into()),
            Message::Close(frame) => {
                self.close_sent = true;
                tungstenite::Message::Close(frame.map(|f| tungstenite::protocol::CloseFrame {
                    code: f.code.into(),
                    reason: f.reason.into(),
                }))
            }
        };
        ws.send(m).await.map_err(|e| match e {
            tungstenite::Error::Io(io) => SocketError::Io(io.to_string()),
            tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
                SocketError::Closed
            }
            e => SocketError::Protocol(e.to_string()),
        })
    }

    /// Closes with 1000 (unless a Close went already) and waits, up to 2 s, for the server's
    /// answer and the end of the connection.
    pub async fn close(&mut self) -> Result<(), SocketError> {
        let Some(ws) = self.ws.take() else {
            return Ok(());
        };
        finish(ws, !self.close_sent).await;
        self.close_sent = true;
        Ok(())
    }
}

/// The closing handshake, client side: send 1000 (when `send`), then read until the server's
/// Close and its end of the connection, for at most [`CLOSE_WAIT`].
async fn finish(mut ws: Ws, send: bool) {
    let handshake = async {
        if send {
            let normal = tungstenite::protocol::CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            };
            let _ = ws.close(Some(normal)).await;
        } else {
            let _ = ws.flush().await;
        }
        while let Some(Ok(_)) = ws.next().await {}
    };
    let _ = tokio::time::timeout(CLOSE_WAIT, handshake).await;
}

impl Drop for Socket {
    /// A socket its owner drops while open (a hung-up call's signaling, a stopped channel)
    /// still closes with 1000, on the runtime it ran on.
    fn drop(&mut self) {
        if let Some(ws) = self.ws.take() {
            let send = !self.close_sent;
            crate::task::spawn_if_running(finish(ws, send));
        }
    }
}

/// A received message in the protocols' terms (`None`: a raw frame, which reading never
/// yields).
fn convert(m: tungstenite::Message) -> Option<Message> {
    Some(match m {
        tungstenite::Message::Text(t) => Message::Text(t.to_string()),
        tungstenite::Message::Binary(b) => Message::Binary(b.to_vec()),
        tungstenite::Message::Ping(p) => Message::Ping(p.to_vec()),
        tungstenite::Message::Pong(p) => Message::Pong(p.to_vec()),
        tungstenite::Message::Close(f) => Message::Close(f.map(|f| CloseFrame {
            code: f.code.into(),
            reason: f.reason.to_string(),
        })),
        tungstenite::Message::Frame(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn url(listener: &TcpListener) -> url::Url {
        crate::backend::urls::parse(&format!(
            "ws://{}/v3/?token=t",
            listener.local_addr().unwrap()
        ))
        .unwrap()
    }

    /// Reads a request head (to the blank line).
    async fn read_head(s: &mut TcpStream) -> String {
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut b = [0u8; 1];
            if s.read(&mut b).await.unwrap() == 0 {
                break;
            }
            head.push(b[0]);
        }
        String::from_utf8(head).unwrap()
    }

    /// Reads the client's upgrade request and accepts it by hand with `extra` header lines,
    /// leaving the raw connection to the caller.
    async fn upgrade(s: &mut TcpStream, extra: &str) {
        let head = read_head(s).await;
        let key = head
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap();
        let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
        let answer = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n{extra}\r\n"
        );
        s.write_all(answer.as_bytes()).await.unwrap();
    }

    /// A server that accepts one socket with tungstenite and hands it to `then`.
    async fn server<F, Fut>(then: F) -> url::Url
    where
        F: FnOnce(WebSocketStream<TcpStream>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = url(&listener);
        crate::task::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            let ws = tokio_tungstenite::accept_async(s).await.unwrap();
            then(ws).await;
        });
        url
    }

    /// The next Close the server reads, and whether the connection then ends.
    async fn close_seen(ws: &mut WebSocketStream<TcpStream>) -> Option<u16> {
        while let Some(m) = ws.next().await {
            match m {
                Ok(tungstenite::Message::Close(f)) => {
                    return Some(f.map_or(1005, |f| f.code.into()))
                }
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
        None
    }

    #[tokio::test]
    async fn messages_both_ways_and_a_server_close_is_answered_with_its_code() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let url = server(|mut ws| async move {
            ws.send(tungstenite::Message::text("hello")).await.unwrap();
            let got = ws.next().await.unwrap().unwrap();
            assert_eq!(got, tungstenite::Message::text("from client"));
            let bye = tungstenite::protocol::CloseFrame {
                code: CloseCode::Away,
                reason: "bye".into(),
            };
            ws.send(tungstenite::Message::Close(Some(bye)))
                .await
                .unwrap();
            // The client's answer completes the handshake.
            let answer = match ws.next().await {
                Some(Ok(tungstenite::Message::Close(f))) => f.map(|f| u16::from(f.code)),
                other => panic!("expected the client's Close, got {other:?}"),
            };
            let _ = tx.send(answer);
        })
        .await;
        let mut ws = Connector::for_tests()
            .connect(&url, &[], Duration::from_secs(5), true)
            .await
            .unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("hello"));
        ws.send(Message::text("from client")).await.unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Message::Close(Some(CloseFrame {
                code: 1001,
                reason: "bye".into()
            }))
        );
        // The answer went out before the Close was handed over, with nobody reading on.
        assert_eq!(rx.await.unwrap(), Some(1001));
        assert!(matches!(
            ws.send(Message::text("late")).await,
            Err(SocketError::Closed)
        ));
    }

    #[tokio::test]
    async fn close_and_drop_both_send_1000_and_wait_for_the_answer() {
        for drop_it in [false, true] {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let url = server(|mut ws| async move {
                let _ = tx.send(close_seen(&mut ws).await);
            })
            .await;
            let mut ws = Connector::for_tests()
                .connect(&url, &[], Duration::from_secs(5), false)
                .await
                .unwrap();
            if drop_it {
                drop(ws);
            } else {
                ws.close().await.unwrap();
                assert!(ws.next().await.is_none(), "closed");
            }
            assert_eq!(rx.await.unwrap(), Some(1000), "drop: {drop_it}");
        }
    }

    /// A server that breaks the protocol is told why: 1007 for text that is not UTF-8,
    /// 1002 for a close code no endpoint may send.
    #[tokio::test]
    async fn protocol_violations_are_errors_answered_with_their_close_code() {
        let cases: [(&[u8], u16); 2] = [
            // A text frame of invalid UTF-8.
            (&[0x81, 0x02, 0xFF, 0xFE], 1007),
            // A close frame with code 1005, which may not be sent.
            (&[0x88, 0x02, 0x03, 0xED], 1002),
        ];
        for (frame, want) in cases {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = url(&listener);
            let (tx, rx) = tokio::sync::oneshot::channel();
            crate::task::spawn(async move {
                let (mut s, _) = listener.accept().await.unwrap();
                upgrade(&mut s, "").await;
                s.write_all(frame).await.unwrap();
                // The client's frame: masked, 2 bytes of code.
                let mut h = [0u8; 8];
                let _ = tokio::time::timeout(Duration::from_secs(3), s.read_exact(&mut h)).await;
                let code = u16::from_be_bytes([h[6] ^ h[2], h[7] ^ h[3]]);
                let _ = tx.send((h[0] & 0x0F, code));
            });
            let mut ws = Connector::for_tests()
                .connect(&url, &[], Duration::from_secs(5), false)
                .await
                .unwrap();
            match ws.next().await {
                Some(Err(SocketError::Protocol(_))) if want == 1007 => {}
                Some(Ok(Message::Close(_))) if want == 1002 => {}
                other => panic!("{frame:?}: {other:?}"),
            }
            assert_eq!(rx.await.unwrap(), (0x8, want), "{frame:?}");
        }
    }

    #[tokio::test]
    async fn refusals_timeouts_and_bad_headers_are_typed() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let refusing = url(&listener);
        crate::task::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            read_head(&mut s).await;
            let body = r#"{"error":"token expired"}"#;
            let answer = format!(
                "HTTP/1.1 401 Unauthorized\r\ncontent-length: {}\r\ncontent-type: application/json\r\n\r\n{body}",
                body.len()
            );
            s.write_all(answer.as_bytes()).await.unwrap();
            tokio::time::sleep(Duration::from_secs(1)).await;
        });
        match Connector::for_tests()
            .connect(&refusing, &[], Duration::from_secs(5), true)
            .await
        {
            Err(ConnectError::Refused { status, body }) => {
                assert_eq!(status, 401);
                assert!(body.contains("token expired"), "{body}");
            }
            other => panic!("expected Refused, got {other:?}"),
        }
        // A server that accepts TCP and never answers.
        let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let quiet = url(&silent);
        assert_eq!(
            Connector::for_tests()
                .connect(&quiet, &[], Duration::from_millis(100), false)
                .await
                .err(),
            Some(ConnectError::Timeout(Duration::from_millis(100)))
        );
        assert_eq!(
            Connector::for_tests()
                .connect(
                    &quiet,
                    &[("Authorization", "a\nb".into())],
                    Duration::from_millis(100),
                    false
                )
                .await
                .err(),
            Some(ConnectError::Header("Authorization"))
        );
        let http = crate::backend::urls::parse("http://127.0.0.1:1/").unwrap();
        assert!(matches!(
            Connector::for_tests()
                .connect(&http, &[], Duration::from_secs(1), false)
                .await,
            Err(ConnectError::Url(_))
        ));
    }

    /// A subprotocol the client did not offer is refused (AppSync's real-time offers one).
    #[tokio::test]
    async fn an_unoffered_subprotocol_is_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = url(&listener);
        crate::task::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            upgrade(&mut s, "Sec-WebSocket-Protocol: other\r\n").await;
            tokio::time::sleep(Duration::from_secs(1)).await;
        });
        let offered = [("Sec-WebSocket-Protocol", "graphql-ws".to_string())];
        assert!(matches!(
            Connector::for_tests()
                .connect(&url, &offered, Duration::from_secs(5), false)
                .await,
            Err(ConnectError::Failed(_))
        ));
    }
}
