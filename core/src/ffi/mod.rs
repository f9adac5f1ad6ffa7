//! The exported surface: the only place that knows UniFFI. It converts types, runs the
//! engine's async methods on the one runtime, and turns every failure (panics included)
//! into `DialtoneError`. No logic lives here.

mod call;
mod client;
mod error;
mod logging;
mod runtime;
mod types;

pub use call::{
    AudioSource, Call, CallDirection, CallEndReason, CallEvent, CallListener, CallState,
    CancelSignal, IgnoreReason, IncomingCallListener, IncomingInvite, PushOutcome,
};
pub use client::{BackendConfig, DialtoneClient, PersonsListener, TaskHandle};
pub use error::DialtoneError;
pub use logging::{init_logging, LogLevel, LogSink};
pub use types::{OutgoingCall, Person, PushKind, PushToken};

/// Tasks alive on the SDK's runtime. Not exported to apps: tests use it to prove that a
/// finished call leaves nothing running.
#[doc(hidden)]
pub fn runtime_alive_tasks() -> usize {
    runtime::runtime().metrics().num_alive_tasks()
}
