//! The one WebSocket client every long-lived socket of the core uses (AppSync real-time,
//! the event channel, the media gateway's signaling): the opening handshake (RFC 6455 §4)
//! over TCP or the shared TLS configuration for `wss`, with extra headers (subprotocol,
//! auth), a deadline, and typed failures that keep an HTTP refusal's status and body (the
//! gateway refuses tokens that way); then [`Socket`], which sends and reads messages.
//!
//! Why not tungstenite: it brought the `http` crate's types, its own SHA-1 and base64 and a
//! general client for what is one request and a frame codec here (`ws_frames`), about
//! 100 KiB of the shipped library (issue 13, README "Size"). What it did that this keeps:
//! pings are answered, a close is echoed, fragmented messages are joined, text must be
//! UTF-8, and `Socket::next` may be cancelled at any await (the pumps `select!` over it)
//! without losing bytes: reads go into the socket's own buffer and writes keep their place.

use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};

use super::http::{self, Stream};
use super::ws_frames::{self, Frame, CLOSE, CONTINUATION, PING, PONG, TEXT};

/// The largest message (and frame) taken from a server: AppSync's and the gateway's are a
/// few KiB.
const MAX_MESSAGE: usize = 4 * 1024 * 1024;
/// The part of a refusal's body kept.
const MAX_REFUSAL_BODY: usize = 4096;
/// RFC 6455 §1.3.
const ACCEPT_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

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

#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("connection failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("WebSocket protocol: {0}")]
    Protocol(String),
    #[error("the socket is closing")]
    Closed,
}

impl From<ws_frames::FrameError> for SocketError {
    fn from(e: ws_frames::FrameError) -> Self {
        SocketError::Protocol(e.to_string())
    }
}

/// An open WebSocket. `next` reads, `send` writes; one task uses both.
pub struct Socket {
    io: Box<dyn Stream>,
    /// Bytes read and not yet taken as frames.
    read: Vec<u8>,
    /// Frames to write (pongs, close echoes, messages), and how much of them is written.
    out: Vec<u8>,
    written: usize,
    /// A fragmented message being joined: its opcode and its bytes so far.
    partial: Option<(u8, Vec<u8>)>,
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
    /// returned), a server's close is echoed (and returned). Cancel-safe.
    pub async fn next(&mut self) -> Option<Result<Message, SocketError>> {
        loop {
            if let Err(e) = self.flush_out().await {
                return Some(Err(e));
            }
            match ws_frames::decode(&self.read, MAX_MESSAGE) {
                Err(e) => return Some(Err(e.into())),
                Ok(Some((frame, used))) => {
                    self.read.drain(..used);
                    match self.take(frame) {
                        Ok(Some(message)) => return Some(Ok(message)),
                        Ok(None) => continue,
                        Err(e) => return Some(Err(e)),
                    }
                }
                Ok(None) => {
                    self.read.reserve(4096);
                    match self.io.read_buf(&mut self.read).await {
                        Ok(0) => return None,
                        Ok(_) => {}
                        Err(e) => return Some(Err(e.into())),
                    }
                }
            }
        }
    }

    /// Sends `message` (written and flushed when this returns). After a close, an error.
    pub async fn send(&mut self, message: Message) -> Result<(), SocketError> {
        if self.close_sent {
            return Err(SocketError::Closed);
        }
        match message {
            Message::Text(t) => self.queue(TEXT, t.as_bytes()),
            Message::Binary(b) => self.queue(ws_frames::BINARY, &b),
            Message::Ping(p) => self.queue(PING, &p[..p.len().min(125)]),
            Message::Pong(p) => self.queue(PONG, &p[..p.len().min(125)]),
            Message::Close(frame) => self.queue_close(frame.as_ref()),
        }
        self.flush_out().await
    }

    /// Sends a close (unless one went already) and shuts the connection's write side.
    pub async fn close(&mut self) -> Result<(), SocketError> {
        if !self.close_sent {
            self.queue_close(None);
        }
        self.flush_out().await?;
        self.io.shutdown().await?;
        Ok(())
    }

    /// A frame read: the message it completes, if any.
    fn take(&mut self, frame: Frame) -> Result<Option<Message>, SocketError> {
        let Frame {
            fin,
            opcode,
            payload,
        } = frame;
        match opcode {
            PING => {
                if !self.close_sent {
                    self.queue(PONG, &payload);
                }
                Ok(Some(Message::Ping(payload)))
            }
            PONG => Ok(Some(Message::Pong(payload))),
            CLOSE => {
                let frame = match payload.as_slice() {
                    [] => None,
                    [hi, lo, reason @ ..] => Some(CloseFrame {
                        code: u16::from_be_bytes([*hi, *lo]),
                        reason: String::from_utf8_lossy(reason).into_owned(),
                    }),
                    [_] => return Err(SocketError::Protocol("a one-byte close frame".into())),
                };
                if !self.close_sent {
                    // Echo the code (RFC 6455 §5.5.1).
                    let echo = frame.as_ref().map(|f| CloseFrame {
                        code: f.code,
                        reason: String::new(),
                    });
                    self.queue_close(echo.as_ref());
                }
                Ok(Some(Message::Close(frame)))
            }
            CONTINUATION => {
                let Some((_, joined)) = self.partial.as_mut() else {
                    return Err(SocketError::Protocol("a continuation of nothing".into()));
                };
                if joined.len() + payload.len() > MAX_MESSAGE {
                    return Err(SocketError::Protocol(
                        "a message over the size limit".into(),
                    ));
                }
                joined.extend_from_slice(&payload);
                if !fin {
                    return Ok(None);
                }
                match self.partial.take() {
                    Some((first, joined)) => message(first, joined).map(Some),
                    None => Ok(None),
                }
            }
            data => {
                if self.partial.is_some() {
                    return Err(SocketError::Protocol(
                        "a new message inside a fragmented one".into(),
                    ));
                }
                if fin {
                    message(data, payload).map(Some)
                } else {
                    self.partial = Some((data, payload));
                    Ok(None)
                }
            }
        }
    }

    fn queue(&mut self, opcode: u8, payload: &[u8]) {
        ws_frames::encode(true, opcode, payload, random::<4>(), &mut self.out);
    }

    fn queue_close(&mut self, frame: Option<&CloseFrame>) {
        let mut payload = Vec::new();
        if let Some(f) = frame {
            payload.extend_from_slice(&f.code.to_be_bytes());
            let reason = f.reason.as_bytes();
            payload.extend_from_slice(&reason[..reason.len().min(123)]);
        }
        self.queue(CLOSE, &payload);
        self.close_sent = true;
    }

    /// Writes what is queued. Cancel-safe: the position survives a dropped future.
    async fn flush_out(&mut self) -> Result<(), SocketError> {
        if self.out.is_empty() {
            return Ok(());
        }
        while self.written < self.out.len() {
            let n = self.io.write(&self.out[self.written..]).await?;
            if n == 0 {
                return Err(std::io::Error::from(std::io::ErrorKind::WriteZero).into());
            }
            self.written += n;
        }
        self.io.flush().await?;
        self.out.clear();
        self.written = 0;
        Ok(())
    }
}

fn message(opcode: u8, payload: Vec<u8>) -> Result<Message, SocketError> {
    if opcode == TEXT {
        String::from_utf8(payload)
            .map(Message::Text)
            .map_err(|_| SocketError::Protocol("a text message that is not UTF-8".into()))
    } else {
        Ok(Message::Binary(payload))
    }
}

/// Random bytes from the system's source: handshake keys and frame masks (RFC 6455 §5.3
/// asks for masks a proxy cannot predict).
fn random<const N: usize>() -> [u8; N] {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; N];
    if ring::rand::SystemRandom::new().fill(&mut bytes).is_err() {
        // The OS source failing is not expected on a phone; a clock-derived value still
        // varies per frame, which is what a mask is for.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (nanos >> ((i % 16) * 8)) as u8;
        }
    }
    bytes
}

/// Opens `url` (`ws` or `wss`) with `headers`, within `timeout`. `nodelay` for sockets whose
/// messages are latency-critical (signaling).
pub async fn connect(
    url: &url::Url,
    headers: &[(&'static str, String)],
    timeout: Duration,
    nodelay: bool,
) -> Result<Socket, ConnectError> {
    let tls = match url.scheme() {
        "wss" => true,
        "ws" => false,
        other => return Err(ConnectError::Url(format!("{other}: not ws or wss"))),
    };
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        Some(url::Host::Ipv4(a)) => a.to_string(),
        Some(url::Host::Ipv6(a)) => a.to_string(),
        None => return Err(ConnectError::Url(format!("{url}: no host"))),
    };
    for (name, value) in headers {
        if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7F) {
            return Err(ConnectError::Header(name));
        }
    }
    let port = url
        .port_or_known_default()
        .unwrap_or(if tls { 443 } else { 80 });
    let key = base64::engine::general_purpose::STANDARD.encode(random::<16>());
    let request = handshake_request(url, headers, &key);
    let open = async {
        let tls = match tls {
            true => Some(tokio_rustls::TlsConnector::from(
                super::tls::websocket_config().map_err(|e| ConnectError::Failed(e.to_string()))?,
            )),
            false => None,
        };
        let io = http::open_stream(&host, port, tls.as_ref(), nodelay)
            .await
            .map_err(|e| match e {
                http::HttpError::Url(m) => ConnectError::Url(m),
                e => ConnectError::Failed(e.to_string()),
            })?;
        handshake(io, &request, &key, headers).await
    };
    tokio::time::timeout(timeout, open)
        .await
        .map_err(|_| ConnectError::Timeout(timeout))?
}

fn handshake_request(url: &url::Url, headers: &[(&'static str, String)], key: &str) -> Vec<u8> {
    let upgrade = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", key),
        ("Sec-WebSocket-Version", "13"),
    ];
    let extra = headers.iter().map(|(n, v)| (*n, v.as_str()));
    super::http::request_head("GET", url, upgrade.into_iter().chain(extra)).into_bytes()
}

/// Sends the upgrade request and reads the answer: a socket on a 101 with the right accept
/// key, else a typed refusal or failure.
async fn handshake(
    mut io: Box<dyn Stream>,
    request: &[u8],
    key: &str,
    headers: &[(&'static str, String)],
) -> Result<Socket, ConnectError> {
    let failed = |e: std::io::Error| ConnectError::Failed(e.to_string());
    io.write_all(request).await.map_err(failed)?;
    io.flush().await.map_err(failed)?;
    let mut io = BufReader::new(io);
    let head = http::read_head(&mut io)
        .await
        .map_err(|e| ConnectError::Failed(format!("the handshake: {e}")))?;
    if head.status != 101 {
        let want = head
            .header("content-length")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0)
            .min(MAX_REFUSAL_BODY);
        // The rest of a short body; a server that holds the connection open gets half a
        // second.
        let mut body = Vec::with_capacity(want);
        let more = async {
            while body.len() < want {
                match io.read_buf(&mut body).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_millis(500), more).await;
        body.truncate(MAX_REFUSAL_BODY);
        return Err(ConnectError::Refused {
            status: head.status,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
    }
    let has = |name: &str, token: &str| {
        head.header(name)
            .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    if !has("upgrade", "websocket") || !has("connection", "upgrade") {
        return Err(ConnectError::Failed(
            "the server's 101 is not a WebSocket upgrade".into(),
        ));
    }
    if head.header("sec-websocket-accept") != Some(accept_key(key).as_str()) {
        return Err(ConnectError::Failed(
            "the server's Sec-WebSocket-Accept does not match the key".into(),
        ));
    }
    if head.header("sec-websocket-extensions").is_some() {
        return Err(ConnectError::Failed(
            "the server chose an extension that was not offered".into(),
        ));
    }
    let offered = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-protocol"))
        .map(|(_, v)| v.as_str());
    match (offered, head.header("sec-websocket-protocol")) {
        (_, None) => {}
        (Some(offered), Some(chosen)) if offered.split(',').any(|p| p.trim() == chosen) => {}
        (_, Some(chosen)) => {
            return Err(ConnectError::Failed(format!(
                "the server chose the subprotocol {chosen:?}, which was not offered"
            )))
        }
    }
    // Frames the server sent right behind its 101 are already read.
    let read = io.buffer().to_vec();
    Ok(Socket {
        io: io.into_inner(),
        read,
        out: Vec::new(),
        written: 0,
        partial: None,
        close_sent: false,
    })
}

/// `base64(SHA-1(key + GUID))`, RFC 6455 §4.2.2.
fn accept_key(key: &str) -> String {
    let digest = ring::digest::digest(
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        format!("{key}{ACCEPT_GUID}").as_bytes(),
    );
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    #[test]
    fn the_accept_key_is_rfc_6455s_example() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    /// Accepts one connection, writes `answer(request)`, then hands the socket to `then`.
    async fn server<F, Fut>(answer: fn(&str) -> String, then: F) -> url::Url
    where
        F: FnOnce(tokio::net::TcpStream) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = crate::backend::urls::parse(&format!(
            "ws://{}/v3/?token=t",
            listener.local_addr().unwrap()
        ))
        .unwrap();
        crate::task::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut req = Vec::new();
            while !req.ends_with(b"\r\n\r\n") {
                let mut b = [0u8; 1];
                if s.read(&mut b).await.unwrap() == 0 {
                    return;
                }
                req.push(b[0]);
            }
            let req = String::from_utf8(req).unwrap();
            s.write_all(answer(&req).as_bytes()).await.unwrap();
            then(s).await;
        });
        url
    }

    fn accept(req: &str) -> String {
        assert!(req.starts_with("GET /v3/?token=t HTTP/1.1\r\n"), "{req}");
        let key = req
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap();
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n\r\n",
            accept_key(key)
        )
    }

    /// A server frame (unmasked, short).
    fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![if fin { 0x80 } else { 0 } | opcode, payload.len() as u8];
        out.extend_from_slice(payload);
        out
    }

    /// Reads one (short) client frame and unmasks it.
    async fn read_client_frame(s: &mut tokio::net::TcpStream) -> (u8, Vec<u8>) {
        let mut h = [0u8; 2];
        s.read_exact(&mut h).await.unwrap();
        assert_eq!(h[1] & 0x80, 0x80, "client frames are masked");
        let len = (h[1] & 0x7F) as usize;
        assert!(len < 126);
        let mut mask = [0u8; 4];
        s.read_exact(&mut mask).await.unwrap();
        let mut p = vec![0u8; len];
        s.read_exact(&mut p).await.unwrap();
        for (i, b) in p.iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
        (h[0] & 0x0F, p)
    }

    #[tokio::test]
    async fn messages_both_ways_pings_answered_fragments_joined_and_the_close_echoed() {
        let url = server(accept, |mut s| async move {
            // A text in two fragments with a ping between them, then a close.
            let mut burst = frame(false, TEXT, b"hel");
            burst.extend(frame(true, PING, b"p1"));
            burst.extend(frame(true, CONTINUATION, b"lo"));
            s.write_all(&burst).await.unwrap();
            assert_eq!(read_client_frame(&mut s).await, (PONG, b"p1".to_vec()));
            assert_eq!(
                read_client_frame(&mut s).await,
                (TEXT, b"from client".to_vec())
            );
            s.write_all(&frame(true, CLOSE, &[0x03, 0xE8, b'b', b'y', b'e']))
                .await
                .unwrap();
            assert_eq!(read_client_frame(&mut s).await, (CLOSE, vec![0x03, 0xE8]));
        })
        .await;
        let mut ws = connect(&url, &[], Duration::from_secs(5), true)
            .await
            .unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Message::Ping(b"p1".to_vec())
        );
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("hello"));
        ws.send(Message::text("from client")).await.unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Message::Close(Some(CloseFrame {
                code: 1000,
                reason: "bye".into()
            }))
        );
        assert!(ws.next().await.is_none(), "the server closed its side");
        assert!(matches!(
            ws.send(Message::text("late")).await,
            Err(SocketError::Closed)
        ));
    }

    #[tokio::test]
    async fn a_cancelled_read_loses_nothing() {
        let url = server(accept, |mut s| async move {
            let f = frame(true, TEXT, b"slow but whole");
            s.write_all(&f[..5]).await.unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
            s.write_all(&f[5..]).await.unwrap();
            tokio::time::sleep(Duration::from_secs(1)).await;
        })
        .await;
        let mut ws = connect(&url, &[], Duration::from_secs(5), false)
            .await
            .unwrap();
        // This read is cancelled with half a frame buffered.
        assert!(tokio::time::timeout(Duration::from_millis(50), ws.next())
            .await
            .is_err());
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Message::text("slow but whole")
        );
    }

    #[tokio::test]
    async fn bad_handshakes_and_bad_frames_are_errors() {
        fn wrong_key(_: &str) -> String {
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: bm90IHRoZSBrZXk=\r\n\r\n"
                .into()
        }
        let url = server(wrong_key, |_| async {}).await;
        assert!(matches!(
            connect(&url, &[], Duration::from_secs(5), false).await,
            Err(ConnectError::Failed(m)) if m.contains("Accept")
        ));
        fn unoffered_protocol(req: &str) -> String {
            accept(req).replace("\r\n\r\n", "\r\nSec-WebSocket-Protocol: other\r\n\r\n")
        }
        let url = server(unoffered_protocol, |_| async {}).await;
        let offered = [("Sec-WebSocket-Protocol", "graphql-ws".to_string())];
        assert!(matches!(
            connect(&url, &offered, Duration::from_secs(5), false).await,
            Err(ConnectError::Failed(m)) if m.contains("subprotocol")
        ));
        let url = server(accept, |mut s| async move {
            s.write_all(&frame(true, TEXT, &[0xFF, 0xFE]))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
        })
        .await;
        let mut ws = connect(&url, &[], Duration::from_secs(5), false)
            .await
            .unwrap();
        assert!(matches!(
            ws.next().await,
            Some(Err(SocketError::Protocol(m))) if m.contains("UTF-8")
        ));
        let http = crate::backend::urls::parse("http://127.0.0.1:1/").unwrap();
        assert!(matches!(
            connect(&http, &[], Duration::from_secs(1), false).await,
            Err(ConnectError::Url(_))
        ));
    }

    #[tokio::test]
    async fn refusals_timeouts_and_bad_headers_are_typed() {
        // A server that answers the upgrade with 401 and a JSON body.
        fn refuse(_: &str) -> String {
            let body = r#"{"error":"token expired"}"#;
            format!(
                "HTTP/1.1 401 Unauthorized\r\ncontent-length: {}\r\ncontent-type: application/json\r\n\r\n{body}",
                body.len()
            )
        }
        let url = server(refuse, |_| async {}).await;
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
