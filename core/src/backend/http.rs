//! The HTTP client for the backend's two JSON APIs (API Gateway's REST action and AppSync's
//! GraphQL): a `POST` of a JSON body, a status and a capped body back, and the network error
//! the protocol clients keep when no answer came. It is reqwest (hyper
//! and hyper-util underneath) on the client's one TLS configuration (`backend::tls`): its
//! connection pool, Happy Eyeballs over every address of a host, IPv6 literal hosts, and
//! proxies from the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`) and,
//! on macOS, the system's settings. HTTP/1.1 only; no redirects, cookies or compression
//! (ADR 0002). reqwest never resends a request whose bytes reached the server, so a REST
//! action (not idempotent) is never repeated behind the caller's back.

use std::sync::Arc;
use std::time::Duration;

/// The largest response body taken: a misbehaving server cannot make the phone buffer an
/// unbounded answer.
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// A transport failure as the protocol clients keep it: the HTTP client's typed error
/// (which never carries the URL), shared and comparable.
pub type NetworkError = crate::cause::Cause<HttpError>;

pub fn network_error(e: HttpError) -> NetworkError {
    crate::cause::Cause(Arc::new(e))
}

/// How long connecting to a server (DNS, TCP, TLS) may take, within the request's timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A pooled connection idle for longer is closed (servers close theirs after some seconds).
const MAX_IDLE: Duration = Duration::from_secs(20);

/// Why a request got no HTTP response. The texts never carry the URL (it can carry ids).
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("bad URL: {0}")]
    Url(String),
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("no response within {0:?}")]
    Timeout(Duration),
    /// The connection failed or the server's answer was not HTTP.
    #[error("the request failed: {0}")]
    Failed(String),
    #[error("the response body is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
    #[error("the HTTP client cannot be set up: {0}")]
    Setup(String),
}

/// A response: its status and its whole body.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// One client's HTTP client: cheap to clone, one connection pool.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    timeout: Duration,
}

impl HttpClient {
    /// `timeout` bounds a whole request (connect, send, the whole response); connecting
    /// alone gets 10 s of it.
    pub fn new(tls: Arc<rustls::ClientConfig>, timeout: Duration) -> Result<Self, HttpError> {
        let client = reqwest::Client::builder()
            .use_preconfigured_tls((*tls).clone())
            .http1_only()
            .timeout(timeout)
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .pool_idle_timeout(MAX_IDLE)
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            .user_agent(crate::backend::USER_AGENT)
            .build()
            .map_err(|e| HttpError::Setup(describe(&e)))?;
        Ok(Self { client, timeout })
    }

    /// POSTs `body` (JSON) to `url` with `headers`; the status and body of the answer.
    pub async fn post_json(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response, HttpError> {
        let url = crate::backend::urls::parse(url).map_err(|e| HttpError::Url(e.to_string()))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(HttpError::Url(format!(
                "unsupported scheme {}",
                url.scheme()
            )));
        }
        let mut request = self
            .client
            .post(url)
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .body(body.to_vec());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = request.send().await.map_err(|e| self.error(e))?;
        let status = response.status().as_u16();
        if response
            .content_length()
            .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
        {
            return Err(HttpError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.error(e))? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(HttpError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response { status, body })
    }

    fn error(&self, e: reqwest::Error) -> HttpError {
        let e = e.without_url();
        if e.is_timeout() {
            return HttpError::Timeout(self.timeout);
        }
        if e.is_builder() {
            return HttpError::Url(describe(&e));
        }
        if let Some(tls) = find::<rustls::Error>(&e) {
            return HttpError::Tls(tls.to_string());
        }
        if e.is_connect() {
            return HttpError::Connect(describe(&e));
        }
        HttpError::Failed(describe(&e))
    }
}

/// The first error of type `T` in `e`'s chain of causes, looking inside `io::Error`s too
/// (their `source()` skips the error they wrap).
pub(crate) fn find<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut next: Option<&'a (dyn std::error::Error + 'static)> = Some(e);
    while let Some(cur) = next {
        if let Some(t) = cur.downcast_ref::<T>() {
            return Some(t);
        }
        if let Some(inner) = cur
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if let Some(t) = find::<T>(inner) {
                return Some(t);
            }
        }
        next = cur.source();
    }
    None
}

/// `e` and its causes, `: `-separated, each said once (hyper repeats its cause in its text).
pub(crate) fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(cur) = next {
        let text = cur.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = cur.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn client() -> HttpClient {
        let tls = crate::backend::tls::client_config(&Default::default()).unwrap();
        HttpClient::new(tls, Duration::from_secs(5)).unwrap()
    }

    /// A server that reads one request head and answers each connection with `reply`.
    async fn server(reply: &'static [u8]) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api", listener.local_addr().unwrap());
        crate::task::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                crate::task::spawn(async move {
                    let mut head = Vec::new();
                    let mut b = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut b).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&b[..n]),
                        }
                    }
                    let _ = s.write_all(reply).await;
                    let _ = s.shutdown().await;
                });
            }
        });
        url
    }

    #[tokio::test]
    async fn a_status_and_body_come_back_and_an_oversized_body_is_refused() {
        let url = server(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 7\r\n\r\n{\"a\":1}").await;
        let r = client()
            .post_json(&url, &[("x-api-key", "k")], b"{}")
            .await
            .unwrap();
        assert_eq!(r.status, 403);
        assert_eq!(r.body, b"{\"a\":1}");
        let url = server(b"HTTP/1.1 200 OK\r\ncontent-length: 99999999\r\n\r\n").await;
        assert!(matches!(
            client().post_json(&url, &[], b"{}").await,
            Err(HttpError::TooLarge)
        ));
    }

    /// What the hand-written client got wrong (issue 22) is now hyper's to refuse: chunk
    /// sizes near `usize::MAX`, conflicting lengths, a flood of 1xx answers. Each is a typed
    /// error, never a panic.
    #[tokio::test]
    async fn hostile_responses_are_typed_errors() {
        let hostile: [&'static [u8]; 3] = [
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\nfffffffffffffffe\r\nb\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 5\r\n\r\nhello",
            b"HTTP/1.1 999999999 Nope\r\n\r\n",
        ];
        for reply in hostile {
            let url = server(reply).await;
            let got = client().post_json(&url, &[], b"{}").await;
            assert!(
                matches!(got, Err(HttpError::Failed(_))),
                "{:?}: {got:?}",
                String::from_utf8_lossy(reply)
            );
        }
        // A coding that only ends in "chunked" is not chunked: the body runs to the close
        // (RFC 9112 §6.3), it is not read as chunks.
        let url =
            server(b"HTTP/1.1 200 OK\r\ntransfer-encoding: notchunked\r\n\r\n4\r\nbody").await;
        let r = client().post_json(&url, &[], b"{}").await.unwrap();
        assert_eq!(r.body, b"4\r\nbody");
        let flood: &'static [u8] = Box::leak(
            "HTTP/1.1 100 Continue\r\n\r\n"
                .repeat(100_000)
                .into_bytes()
                .into_boxed_slice(),
        );
        let url = server(flood).await;
        let got = client().post_json(&url, &[], b"{}").await;
        assert!(got.is_err(), "{got:?}");
    }

    #[tokio::test]
    async fn a_silent_server_is_a_timeout_and_a_closed_port_a_connect_error() {
        let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", silent.local_addr().unwrap());
        let tls = crate::backend::tls::client_config(&Default::default()).unwrap();
        let quick = HttpClient::new(tls, Duration::from_millis(200)).unwrap();
        assert!(matches!(
            quick.post_json(&url, &[], b"{}").await,
            Err(HttpError::Timeout(_))
        ));
        let port = silent.local_addr().unwrap().port();
        drop(silent);
        let got = client()
            .post_json(
                &format!("http://127.0.0.1:{port}/api?id=secret"),
                &[],
                b"{}",
            )
            .await
            .unwrap_err();
        assert!(matches!(got, HttpError::Connect(_)), "{got:?}");
        assert!(!got.to_string().contains("secret"), "{got}");
        assert!(matches!(
            client().post_json("ftp://127.0.0.1/", &[], b"").await,
            Err(HttpError::Url(_))
        ));
    }
}
