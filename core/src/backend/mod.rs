//! The backend's protocols, client side, in plain Rust: the REST Lambda (`rest`), AppSync
//! GraphQL over HTTP (`appsync`) and its real-time WebSocket (`realtime`), the extended
//! profile's `/ws` call events (`event_channel`), where they live (`endpoints`), and what
//! they share: one TLS configuration (`tls`), one small HTTP/1.1 client (`http`), one
//! WebSocket connector (`websocket`), the network error and body cap (`body`) and reconnect
//! pacing (`backoff`). Nothing here knows UniFFI, identity or
//! calls: the `engine` and `calls` decide what the messages mean.

pub mod appsync;
pub mod backoff;
pub(crate) mod body;
pub mod endpoints;
pub mod event_channel;
pub mod http;
pub mod realtime;
pub mod rest;
pub(crate) mod tls;
pub(crate) mod urls;
pub(crate) mod websocket;
pub mod ws_frames;
