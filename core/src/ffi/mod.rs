//! The exported surface: the only place that knows UniFFI. It converts types, runs the
//! engine's async methods on the one runtime, and turns every failure (panics included)
//! into `DialtoneError`. No logic lives here.

mod client;
mod error;
mod logging;
mod runtime;
mod types;

pub use client::{BackendConfig, DialtoneClient, PersonsListener, TaskHandle};
pub use error::DialtoneError;
pub use logging::{init_logging, LogLevel, LogSink};
pub use types::{OutgoingCall, Person, PushKind, PushToken};
