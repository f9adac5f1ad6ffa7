//! The one tokio runtime, made on first use with few workers (phones have few cores to
//! spare). Exported async functions hand their work to it, so the foreign side's executor
//! (Kotlin coroutines, Swift concurrency) only awaits a join handle and never needs a reactor.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

use super::error::DialtoneError;

/// The runtime, started on first use. If the OS refuses its threads, every export says so
/// with `DialtoneError::Internal` instead of aborting.
pub(crate) fn runtime() -> Result<&'static Runtime, DialtoneError> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            crate::logging::install_panic_hook();
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("dialtone")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| DialtoneError::Internal {
            detail: format!("the SDK's runtime cannot start: {e}"),
        })
}

/// Aborts the task when the foreign caller stops waiting (a cancelled coroutine or Task).
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `fut` on the runtime; a panic inside becomes `DialtoneError::Internal`.
pub(crate) async fn run<T, F>(fut: F) -> Result<T, DialtoneError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, DialtoneError>> + Send + 'static,
{
    match AbortOnDrop(crate::task::spawn_on(runtime()?, fut)).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => Err(DialtoneError::Internal {
            detail: panic_text(e.into_panic()),
        }),
        Err(_) => Err(DialtoneError::Internal {
            detail: "the operation was cancelled".into(),
        }),
    }
}

/// Runs `fut` on the runtime to its end even if the foreign caller stops waiting: for
/// actions that must complete once asked for (hangup, decline, answer; docs/adr/0001).
pub(crate) async fn run_to_completion<T, F>(fut: F) -> Result<T, DialtoneError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, DialtoneError>> + Send + 'static,
{
    match crate::task::spawn_on(runtime()?, fut).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => Err(DialtoneError::Internal {
            detail: panic_text(e.into_panic()),
        }),
        Err(_) => Err(DialtoneError::Internal {
            detail: "the operation was stopped".into(),
        }),
    }
}

/// Runs a synchronous export body; a panic becomes `DialtoneError::Internal`.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, DialtoneError>) -> Result<T, DialtoneError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| {
        Err(DialtoneError::Internal {
            detail: panic_text(p),
        })
    })
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!(
        "internal error (a bug in Dialtone): {}",
        crate::logging::redact(&what)
    )
}
