//! The core's HTTP client for the backend's two JSON APIs (API Gateway's REST action and
//! AppSync's GraphQL): a `POST` of a JSON body, a status and a capped body back, over
//! HTTP/1.1 on plain TCP or rustls (the one TLS setup of `backend::tls`). It keeps one idle
//! connection per origin for the next request. That is all the backend needs, and all this
//! is: no HTTP/2, no redirects, no cookies, no proxies, no compression.
//!
//! Why not a general client: reqwest with hyper (HTTP/1 only) was 672 KiB (8 %) of the
//! stripped library for these few requests (README "Size", ADR 0002).
//!
//! A pooled connection the server has closed while idle is noticed before it is used (its
//! socket reads end-of-file), and a new one is opened; if writing to a pooled connection
//! fails, the request goes once more on a new one (nothing reached the server). Once a
//! request is written it is never sent again: a REST action is not idempotent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::backend::body::MAX_RESPONSE_BYTES;

/// A connection idle for longer is not reused (servers close theirs after some seconds).
const MAX_IDLE: Duration = Duration::from_secs(20);
/// The longest status or header line, and the most header lines, a response may have.
const MAX_LINE: usize = 8 * 1024;
const MAX_HEADERS: usize = 100;

/// Why a request got no HTTP response.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("bad URL: {0}")]
    Url(String),
    #[error("could not connect: {0}")]
    Connect(std::io::Error),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("no response within {0:?}")]
    Timeout(Duration),
    #[error("connection failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("not an HTTP/1.1 response: {0}")]
    Protocol(String),
    #[error("the response body is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
}

/// A response: its status and its whole body.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// A connection to a server, plain or under TLS: what `open_stream` makes.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {
    /// The TCP socket under it, to look at while the connection is idle.
    fn tcp(&self) -> &TcpStream;
}

impl Stream for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Stream for tokio_rustls::client::TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

struct Connection {
    io: BufReader<Box<dyn Stream>>,
    idle_since: Instant,
}

impl Connection {
    /// Still usable: not idle too long, and the server has neither closed it nor sent
    /// anything unasked (an idle connection has nothing to read).
    fn reusable(&self) -> bool {
        if self.idle_since.elapsed() > MAX_IDLE || !self.io.buffer().is_empty() {
            return false;
        }
        let mut probe = [0u8; 1];
        // Pending (nothing to read) is the one good answer.
        self.io
            .get_ref()
            .tcp()
            .peek(&mut probe)
            .now_or_never()
            .is_none()
    }
}

/// Scheme, host and port: which connections may serve a URL.
type Origin = (bool, String, u16);

#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    tls: tokio_rustls::TlsConnector,
    connect_timeout: Duration,
    timeout: Duration,
    idle: Mutex<HashMap<Origin, Connection>>,
    opened: std::sync::atomic::AtomicU64,
}

impl HttpClient {
    /// `timeout` bounds a whole request (connect, send, response); connecting alone gets 10 s.
    pub fn new(tls: Arc<rustls::ClientConfig>, timeout: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                tls: tokio_rustls::TlsConnector::from(tls),
                connect_timeout: Duration::from_secs(10),
                timeout,
                idle: Mutex::new(HashMap::new()),
                opened: Default::default(),
            }),
        }
    }

    /// How many connections it has opened (a kept-alive connection serves many requests).
    #[cfg(any(test, feature = "testing"))]
    pub fn connections_opened(&self) -> u64 {
        self.inner.opened.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// POSTs `body` (JSON) to `url` with `headers`; the status and body of the answer.
    pub async fn post_json(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response, HttpError> {
        let url = crate::backend::urls::parse(url).map_err(|e| HttpError::Url(e.to_string()))?;
        let tls = match url.scheme() {
            "https" => true,
            "http" => false,
            other => return Err(HttpError::Url(format!("unsupported scheme {other}"))),
        };
        let host = url
            .host_str()
            .ok_or_else(|| HttpError::Url("no host".into()))?
            .to_string();
        let port = url
            .port_or_known_default()
            .ok_or_else(|| HttpError::Url("no port".into()))?;
        let origin: Origin = (tls, host, port);
        let request = request_bytes(&url, headers, body);
        let timeout = self.inner.timeout;
        tokio::time::timeout(timeout, self.exchange(origin, &request))
            .await
            .map_err(|_| HttpError::Timeout(timeout))?
    }

    async fn exchange(&self, origin: Origin, request: &[u8]) -> Result<Response, HttpError> {
        let pooled = crate::sync::lock(&self.inner.idle)
            .remove(&origin)
            .filter(Connection::reusable);
        // A pooled connection the server closed as we took it fails the write: nothing
        // reached the server, so the request goes on a new connection instead.
        let reused = match pooled {
            Some(mut c) => send(&mut c, request).await.is_ok().then_some(c),
            None => None,
        };
        let mut conn = match reused {
            Some(c) => c,
            None => {
                let mut fresh = self.connect(&origin).await?;
                send(&mut fresh, request).await?;
                fresh
            }
        };
        let (response, keep) = read_response(&mut conn.io).await?;
        if keep {
            conn.idle_since = Instant::now();
            crate::sync::lock(&self.inner.idle).insert(origin, conn);
        }
        Ok(response)
    }

    async fn connect(&self, (tls, host, port): &Origin) -> Result<Connection, HttpError> {
        let tls = tls.then_some(&self.inner.tls);
        let stream = tokio::time::timeout(
            self.inner.connect_timeout,
            open_stream(host, *port, tls, true),
        )
        .await
        .map_err(|_| HttpError::Timeout(self.inner.connect_timeout))??;
        self.inner
            .opened
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Connection {
            io: BufReader::new(stream),
            idle_since: Instant::now(),
        })
    }
}

/// A TCP connection to `host:port`, under TLS (with `host` as the server name) when `tls`
/// is given. The HTTP client's connections and the WebSocket client's are made here.
pub(crate) async fn open_stream(
    host: &str,
    port: u16,
    tls: Option<&tokio_rustls::TlsConnector>,
    nodelay: bool,
) -> Result<Box<dyn Stream>, HttpError> {
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(HttpError::Connect)?;
    let _ = tcp.set_nodelay(nodelay);
    let Some(tls) = tls else {
        return Ok(Box::new(tcp));
    };
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| HttpError::Url(format!("{host}: {e}")))?;
    let stream = tls
        .connect(name, tcp)
        .await
        .map_err(|e| HttpError::Tls(e.to_string()))?;
    Ok(Box::new(stream))
}

async fn send(conn: &mut Connection, request: &[u8]) -> Result<(), HttpError> {
    conn.io.get_mut().write_all(request).await?;
    conn.io.get_mut().flush().await?;
    Ok(())
}

fn request_bytes(url: &url::Url, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let length = body.len().to_string();
    let fixed = [
        ("Accept", "application/json"),
        ("Content-Type", "application/json"),
        ("Content-Length", length.as_str()),
    ];
    let mut out = request_head(
        "POST",
        url,
        fixed.into_iter().chain(headers.iter().copied()),
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// An HTTP/1.1 request head for `url`: the request line (path and query), `Host` (with the
/// port when the URL names one), `User-Agent`, `headers` in order, and the blank line. The
/// WebSocket handshake (`backend::websocket`) is written with it too.
pub(crate) fn request_head<'a>(
    method: &str,
    url: &url::Url,
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut target = url.path().to_string();
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    let host = url.host_str().unwrap_or_default();
    let host = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    };
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: dialtone/{}\r\n",
        env!("CARGO_PKG_VERSION")
    );
    for (name, value) in headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head
}

/// One line without its CRLF, at most `MAX_LINE` bytes.
async fn read_line<R: AsyncRead + Unpin>(io: &mut BufReader<R>) -> Result<String, HttpError> {
    let mut line = Vec::new();
    let n = (&mut *io)
        .take(MAX_LINE as u64 + 2)
        .read_until(b'\n', &mut line)
        .await?;
    if n == 0 {
        return Err(HttpError::Protocol(
            "the connection closed before a response".into(),
        ));
    }
    if !line.ends_with(b"\n") {
        return Err(HttpError::Protocol("a line longer than 8 KiB".into()));
    }
    line.truncate(line.len() - 1);
    if line.ends_with(b"\r") {
        line.pop();
    }
    String::from_utf8(line).map_err(|_| HttpError::Protocol("a line that is not UTF-8".into()))
}

/// How the body is delimited.
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

/// A response head: the status and the header fields (names lowercased), in order.
pub(crate) struct Head {
    pub status: u16,
    /// HTTP/1.1 (else 1.0): whether the connection stays open unless the server says not.
    pub http11: bool,
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first field named `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads a response head, through its blank line; the body (or, after a WebSocket upgrade,
/// the first frames) stays in `io`.
pub(crate) async fn read_head<R: AsyncRead + Unpin>(
    io: &mut BufReader<R>,
) -> Result<Head, HttpError> {
    let status_line = read_line(io).await?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(HttpError::Protocol(format!("status line {status_line:?}")));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .filter(|s| (100..600).contains(s))
        .ok_or_else(|| HttpError::Protocol(format!("status line {status_line:?}")))?;
    let mut headers = Vec::new();
    for _ in 0..=MAX_HEADERS {
        let line = read_line(io).await?;
        if line.is_empty() {
            return Ok(Head {
                status,
                http11: version == "HTTP/1.1",
                headers,
            });
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| HttpError::Protocol(format!("header line {line:?}")))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    Err(HttpError::Protocol(format!(
        "more than {MAX_HEADERS} header lines"
    )))
}

/// Reads one response; whether the connection may carry another.
async fn read_response<R: AsyncRead + Unpin>(
    io: &mut BufReader<R>,
) -> Result<(Response, bool), HttpError> {
    let head = read_head(io).await?;
    // 1xx answers come before the real one (a proxy's 100 Continue).
    if (100..200).contains(&head.status) {
        return Box::pin(read_response(io)).await;
    }
    let mut keep_alive = head.http11;
    let mut framing = Framing::UntilClose;
    for (name, value) in &head.headers {
        match name.as_str() {
            "content-length" if !matches!(framing, Framing::Chunked) => {
                let n: usize = value
                    .parse()
                    .map_err(|_| HttpError::Protocol(format!("Content-Length {value:?}")))?;
                framing = Framing::Length(n);
            }
            "transfer-encoding" if value.to_ascii_lowercase().ends_with("chunked") => {
                framing = Framing::Chunked;
            }
            "connection" => {
                let v = value.to_ascii_lowercase();
                if v.contains("close") {
                    keep_alive = false;
                } else if v.contains("keep-alive") {
                    keep_alive = true;
                }
            }
            _ => {}
        }
    }
    if head.status == 204 || head.status == 304 {
        framing = Framing::Length(0);
    }
    let (body, framing) = read_body(io, framing).await?;
    let keep = keep_alive && !matches!(framing, Framing::UntilClose);
    Ok((
        Response {
            status: head.status,
            body,
        },
        keep,
    ))
}

async fn read_body<R: AsyncRead + Unpin>(
    io: &mut BufReader<R>,
    framing: Framing,
) -> Result<(Vec<u8>, Framing), HttpError> {
    match framing {
        Framing::Length(n) => {
            if n > MAX_RESPONSE_BYTES {
                return Err(HttpError::TooLarge);
            }
            let mut body = vec![0; n];
            io.read_exact(&mut body).await?;
            Ok((body, Framing::Length(n)))
        }
        Framing::Chunked => {
            let mut body = Vec::new();
            loop {
                let line = read_line(io).await?;
                let size = line.split(';').next().unwrap_or_default().trim();
                let size = usize::from_str_radix(size, 16)
                    .map_err(|_| HttpError::Protocol(format!("chunk size {line:?}")))?;
                if size == 0 {
                    // Trailers, then the empty line.
                    while !read_line(io).await?.is_empty() {}
                    return Ok((body, Framing::Chunked));
                }
                if body.len() + size > MAX_RESPONSE_BYTES {
                    return Err(HttpError::TooLarge);
                }
                let start = body.len();
                body.resize(start + size, 0);
                io.read_exact(&mut body[start..]).await?;
                if !read_line(io).await?.is_empty() {
                    return Err(HttpError::Protocol("no CRLF after a chunk".into()));
                }
            }
        }
        Framing::UntilClose => {
            let mut body = Vec::new();
            let n = (&mut *io)
                .take(MAX_RESPONSE_BYTES as u64 + 1)
                .read_to_end(&mut body)
                .await?;
            if n > MAX_RESPONSE_BYTES {
                return Err(HttpError::TooLarge);
            }
            Ok((body, Framing::UntilClose))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    async fn parse(raw: &[u8]) -> Result<(Response, bool), HttpError> {
        let mut io = BufReader::new(raw);
        read_response(&mut io).await
    }

    #[tokio::test]
    async fn reads_length_chunked_and_close_delimited_bodies() {
        let (r, keep) = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            .await
            .unwrap();
        assert_eq!((r.status, r.body.as_slice(), keep), (200, &b"{}"[..], true));
        let (r, keep) = parse(
            b"HTTP/1.1 500 Internal\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n",
        )
        .await
        .unwrap();
        assert_eq!(
            (r.status, r.body.as_slice(), keep),
            (500, &b"abcde"[..], true)
        );
        let (r, keep) = parse(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nrest")
            .await
            .unwrap();
        assert_eq!((r.body.as_slice(), keep), (&b"rest"[..], false));
        let (r, keep) = parse(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
            .await
            .unwrap();
        assert_eq!((r.status, keep), (200, false), "HTTP/1.0 closes by default");
        let (r, _) = parse(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(r.status, 204);
    }

    #[tokio::test]
    async fn refuses_what_is_not_a_bounded_http_response() {
        for raw in [
            &b""[..],
            b"SSH-2.0-OpenSSH\r\n\r\n",
            b"HTTP/1.1 abc OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        ] {
            assert!(
                parse(raw).await.is_err(),
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
        let huge = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            MAX_RESPONSE_BYTES + 1
        );
        assert!(matches!(
            parse(huge.as_bytes()).await,
            Err(HttpError::TooLarge)
        ));
        let long = format!(
            "HTTP/1.1 200 OK\r\nX: {}\r\n\r\n",
            "a".repeat(MAX_LINE + 10)
        );
        assert!(matches!(
            parse(long.as_bytes()).await,
            Err(HttpError::Protocol(_))
        ));
        let many = format!(
            "HTTP/1.1 200 OK\r\n{}\r\n",
            "X: y\r\n".repeat(MAX_HEADERS + 1)
        );
        assert!(matches!(
            parse(many.as_bytes()).await,
            Err(HttpError::Protocol(_))
        ));
    }

    #[test]
    fn the_request_names_host_path_length_and_headers() {
        let url = crate::backend::urls::parse("http://127.0.0.1:8080/api?x=1").unwrap();
        let raw = String::from_utf8(request_bytes(&url, &[("x-api-key", "k")], b"{}")).unwrap();
        assert!(
            raw.starts_with("POST /api?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"),
            "{raw}"
        );
        assert!(raw.contains("\r\nContent-Length: 2\r\n") && raw.contains("\r\nx-api-key: k\r\n"));
        assert!(raw.ends_with("\r\n\r\n{}"));
        // The port is named only when the URL names one.
        let url = crate::backend::urls::parse("wss://h.example:8443/v3/?token=t&x=1").unwrap();
        assert!(request_head("GET", &url, [])
            .starts_with("GET /v3/?token=t&x=1 HTTP/1.1\r\nHost: h.example:8443\r\n"));
        let url = crate::backend::urls::parse("https://h.example:443/graphql").unwrap();
        assert!(request_head("POST", &url, [("a", "b")])
            .starts_with("POST /graphql HTTP/1.1\r\nHost: h.example\r\n"));
    }

    /// A server that answers each request on a connection with `reply`, counting
    /// connections, and closes a connection after `per_connection` requests.
    async fn server(
        reply: &'static str,
        per_connection: usize,
    ) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api", listener.local_addr().unwrap());
        let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = connections.clone();
        crate::task::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                crate::task::spawn(async move {
                    let mut io = BufReader::new(tcp);
                    for _ in 0..per_connection {
                        let mut length = 0;
                        loop {
                            let mut line = String::new();
                            if io.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if let Some(v) =
                                line.to_ascii_lowercase().strip_prefix("content-length:")
                            {
                                length = v.trim().parse().unwrap();
                            }
                            if line == "\r\n" {
                                break;
                            }
                        }
                        let mut body = vec![0; length];
                        io.read_exact(&mut body).await.unwrap();
                        io.get_mut().write_all(reply.as_bytes()).await.unwrap();
                    }
                });
            }
        });
        (url, connections)
    }

    fn client() -> HttpClient {
        HttpClient::new(
            crate::backend::tls::client_config().unwrap(),
            Duration::from_secs(5),
        )
    }

    #[tokio::test]
    async fn keeps_a_connection_for_the_next_request_and_notices_when_the_server_closed_it() {
        let (url, connections) = server("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 2).await;
        let c = client();
        for _ in 0..4 {
            let r = c.post_json(&url, &[], b"{}").await.unwrap();
            assert_eq!((r.status, r.body.as_slice()), (200, &b"ok"[..]));
            // Let the server's close (after its second request) arrive before the next one.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Two requests per connection: the closed one was not reused.
        assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(c.connections_opened(), 2);
    }

    #[tokio::test]
    async fn a_silent_server_is_a_timeout_and_a_closed_port_a_connect_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let c = HttpClient::new(
            crate::backend::tls::client_config().unwrap(),
            Duration::from_millis(200),
        );
        assert!(matches!(
            c.post_json(&url, &[], b"{}").await,
            Err(HttpError::Timeout(_))
        ));
        drop(listener);
        assert!(matches!(
            c.post_json(&url, &[], b"{}").await,
            Err(HttpError::Connect(_))
        ));
        assert!(matches!(
            c.post_json("ftp://h/", &[], b"").await,
            Err(HttpError::Url(_))
        ));
    }
}
