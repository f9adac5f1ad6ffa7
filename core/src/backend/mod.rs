//! The backend's protocols, client side, in plain Rust: the REST Lambda (`rest`), AppSync
//! GraphQL over HTTP (`appsync`) and its real-time WebSocket (`realtime`), the extended
//! profile's `/ws` call events (`event_channel`) and rooms (`rooms`: their REST actions and events), where they live (`endpoints`), and what
//! they share: one TLS configuration (`tls`), the HTTP client and its network error
//! (`http`, reqwest), the WebSocket connector (`websocket`, tokio-tungstenite) and reconnect
//! pacing (`backoff`). Nothing here knows UniFFI, identity or calls:
//! the `engine` and `calls` decide what the messages mean.

#[cfg(target_os = "android")]
pub(crate) mod android_tls;
pub mod appsync;
pub mod backoff;
pub mod endpoints;
pub mod event_channel;
pub mod http;
pub mod realtime;
pub mod rest;
pub mod rooms;
pub mod tls;
pub(crate) mod urls;
pub mod websocket;

/// What every request and upgrade of the core says it is.
pub const USER_AGENT: &str = concat!("dialtone/", env!("CARGO_PKG_VERSION"));
