//! The mock's console: a single page at `/` (its HTML, script and style embedded in the
//! binary, nothing fetched from anywhere else) that shows live what the backend sees, and
//! the JSON API it reads, which tests and scripts read the same way:
//!
//! - `GET /mock/state`: the whole picture ([`snapshot`]), secrets redacted;
//! - `GET /mock/log`: the mock's recent log lines ([`log`]), redacted;
//! - `GET /mock/media`: what the SFU sees of each participant's media
//!   ([`crate::sfu::Sfu::media_stats`]);
//! - `GET /mock/stream`: server-sent events, `state` (the same document as `/mock/state`)
//!   whenever something may have changed, at most every 200 ms; `log` (one line each); and
//!   `media` (the `/mock/media` document) each second while anyone has media.
//!
//! The page changes the link conditioner through `POST /mock/link`, as scripts do.
//! Nothing here polls the state: the stream waits on `Inner::changed`, which every request
//! and socket open or close bumps, and on the log's broadcast; only the media figures, which
//! change with every packet, are sampled, once a second and only during a call.

pub mod log;
pub mod phone;
pub mod snapshot;

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State as AxState;
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;

use crate::Shared;

/// "What the console shows may have changed": a counter every part of the mock that changes
/// state bumps (the request middleware, the sockets, the SFU when media goes), and every
/// console stream waits on.
#[derive(Clone, Default)]
pub struct Changes(std::sync::Arc<tokio::sync::watch::Sender<u64>>);

impl Changes {
    pub fn touch(&self) {
        self.0.send_modify(|n| *n += 1);
    }

    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.0.subscribe()
    }
}

/// The shortest time between two `state` events of one stream.
pub const MIN_STATE_INTERVAL: Duration = Duration::from_millis(200);

/// How often a stream samples the media figures while anyone has media.
pub const MEDIA_INTERVAL: Duration = Duration::from_secs(1);

const INDEX_HTML: &str = include_str!("page/index.html");
const CONSOLE_JS: &str = include_str!("page/console.js");
const CONSOLE_CSS: &str = include_str!("page/console.css");
const PHONE_JS: &str = include_str!("page/phone.js");

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/", get(|| async { Html(INDEX_HTML) }))
        .route(
            "/console/console.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    CONSOLE_JS,
                )
            }),
        )
        .route(
            "/console/console.css",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
                    CONSOLE_CSS,
                )
            }),
        )
        .route(
            "/console/phone.js",
            get(|| async { ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], PHONE_JS) }),
        )
        .route("/mock/phone/person", axum::routing::post(phone::create_person))
        .route("/mock/state", get(state))
        .route(
            "/mock/log",
            get(|| async { Json(json!({"lines": log::recent()})) }),
        )
        .route("/mock/media", get(|AxState(shared): AxState<Shared>| async move { Json(shared.sfu.media_stats().await) }))
        .route("/mock/stream", get(stream))
}

/// Whether a request to `path` only reads what the console shows (so it changes nothing).
pub fn reads_only(path: &str) -> bool {
    matches!(
        path,
        "/" | "/mock/state" | "/mock/log" | "/mock/stream" | "/health"
    ) || path.starts_with("/console/")
}

async fn state(AxState(shared): AxState<Shared>) -> Json<Value> {
    Json(snapshot::build(&shared))
}

fn state_event(shared: &Shared) -> Event {
    Event::default()
        .event("state")
        .data(snapshot::build(shared).to_string())
}

/// What a stream waits on between events.
struct Feed {
    shared: Shared,
    changed: tokio::sync::watch::Receiver<u64>,
    log: tokio::sync::broadcast::Receiver<String>,
    media: tokio::time::Interval,
    first: bool,
}

async fn stream(AxState(shared): AxState<Shared>) -> impl IntoResponse {
    let feed = Feed {
        changed: shared.changed.subscribe(),
        log: log::subscribe(),
        media: {
            let mut i = tokio::time::interval(MEDIA_INTERVAL);
            i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            i
        },
        shared,
        first: true,
    };
    let events = futures_util::stream::unfold(feed, |mut f| async move {
        if f.first {
            f.first = false;
            let ev = state_event(&f.shared);
            return Some((Ok::<_, Infallible>(ev), f));
        }
        tokio::select! {
            changed = f.changed.changed() => {
                changed.ok()?;
                // Coalesce a burst (a call is a dozen requests) into one document.
                tokio::time::sleep(MIN_STATE_INTERVAL).await;
                f.changed.borrow_and_update();
                let ev = state_event(&f.shared);
                Some((Ok(ev), f))
            }
            _ = f.media.tick(), if f.shared.sfu.counts().1 > 0 => {
                let media = f.shared.sfu.media_stats().await;
                Some((Ok(Event::default().event("media").data(media.to_string())), f))
            }
            line = f.log.recv() => {
                let ev = match line {
                    Ok(line) => Event::default().event("log").data(line),
                    Err(RecvError::Lagged(n)) => Event::default().event("log").data(format!("[console] {n} log lines skipped")),
                    Err(RecvError::Closed) => return None,
                };
                Some((Ok(ev), f))
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}
