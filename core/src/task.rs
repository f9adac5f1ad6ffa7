//! Spawning tasks. Every future the core spawns goes through here and is boxed first, so
//! tokio's task machinery (the task cell, harness and join-handle code, about 2 KiB for each
//! future type and each scheduler kind) is compiled once per output type instead of once
//! per `async` block: about 140 KiB of the shipped library (issue 13, README "Size"). A
//! boxed future costs one allocation when the task starts, never per poll.
//!
//! `clippy.toml` forbids `tokio::spawn`, `Handle::spawn`, `Runtime::spawn` and
//! `JoinSet::spawn` in the core so a new task cannot bring its own copy back.
//!
//! A task runs in the span it was spawned in (`in_current_span`): what a call's actor
//! starts (its children, its media session's tasks) logs under `call{id=…}` too.

use std::future::Future;
use std::pin::Pin;

use tokio::task::{JoinHandle, JoinSet};

/// A spawned future, type-erased.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Boxes `fut` into the one task type per output.
pub(crate) fn boxed<T>(fut: impl Future<Output = T> + Send + 'static) -> BoxFuture<T> {
    Box::pin(tracing::Instrument::in_current_span(fut))
}

/// `tokio::spawn`, on the runtime the caller runs on.
#[allow(clippy::disallowed_methods)]
pub(crate) fn spawn<T: Send + 'static>(
    fut: impl Future<Output = T> + Send + 'static,
) -> JoinHandle<T> {
    tokio::spawn(boxed(fut))
}

/// `Runtime::spawn`, from outside the runtime (the exported functions' entry).
#[allow(clippy::disallowed_methods)]
pub(crate) fn spawn_on<T: Send + 'static>(
    runtime: &tokio::runtime::Runtime,
    fut: impl Future<Output = T> + Send + 'static,
) -> JoinHandle<T> {
    runtime.spawn(boxed(fut))
}

/// `JoinSet::spawn`: a child task owned by a set (a call actor's children).
#[allow(clippy::disallowed_methods)]
pub(crate) fn spawn_child<T: Send + 'static>(
    set: &mut JoinSet<T>,
    fut: impl Future<Output = T> + Send + 'static,
) {
    set.spawn(boxed(fut));
}

/// `tokio::spawn` when called on a runtime, else nothing: work a destructor starts (a
/// dropped socket's close handshake), which has no runtime to run on once the client's
/// runtime is gone.
#[allow(clippy::disallowed_methods)]
pub(crate) fn spawn_if_running(fut: impl Future<Output = ()> + Send + 'static) {
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        drop(handle.spawn(boxed(fut)));
    }
}
