//! Dialtone's shared core. Protocol and state modules are plain Rust; `ffi` is the thin
//! UniFFI layer the Kotlin and Swift bindings are generated from. See ARCHITECTURE.md.

pub mod appsync;
pub mod audio_bridge;
pub mod backoff;
mod body;
pub mod call_media;
pub mod calls;
pub mod engine;
pub mod error;
pub mod event_channel;
pub mod ffi;
pub mod identity;
pub mod logging;
pub mod media;
pub mod participant_token;
pub mod peer;
pub mod persons;
pub mod realtime;
pub mod rest;
pub mod secrets;
pub mod signaling;
pub(crate) mod tls;

pub use ffi::*;

uniffi::setup_scaffolding!("dialtone");
