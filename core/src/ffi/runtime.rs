//! The one tokio runtime, made on first use with few workers (phones have few cores to
//! spare). Exported async functions hand their work to it, so the foreign side's executor
//! (Kotlin coroutines, Swift concurrency) only awaits a join handle and never needs a reactor.

use std::any::Any;
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
struct AbortOnDrop(JoinHandle<Erased>);

impl Future for AbortOnDrop {
    type Output = Result<Erased, tokio::task::JoinError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What every exported async function's task returns, whatever its own result type: the
/// runtime's task code (spawn, join, abort, the panic → error mapping below) is then
/// compiled once for all of them instead of once per result type (issue 13, README "Size").
/// One more allocation per call, for the box; a call is a network round trip.
type Erased = Result<Box<dyn Any + Send>, DialtoneError>;

fn erase<T, F>(fut: F) -> crate::task::BoxFuture<Erased>
where
    T: Send + 'static,
    F: Future<Output = Result<T, DialtoneError>> + Send + 'static,
{
    Box::pin(async move {
        fut.await
            .map(|value| Box::new(value) as Box<dyn Any + Send>)
    })
}

fn unerase<T: 'static>(result: Erased) -> Result<T, DialtoneError> {
    result?
        .downcast::<T>()
        .map(|value| *value)
        .map_err(|_| DialtoneError::Internal {
            detail: "internal error (a bug in Dialtone): a task returned another type".into(),
        })
}

/// How a spawned export task ended, as the export's result.
fn joined(outcome: Result<Erased, tokio::task::JoinError>, stopped: &str) -> Erased {
    match outcome {
        Ok(result) => result,
        Err(e) if e.is_panic() => Err(DialtoneError::Internal {
            detail: panic_text(e.into_panic()),
        }),
        Err(_) => Err(DialtoneError::Internal {
            detail: stopped.into(),
        }),
    }
}

async fn run_erased(fut: crate::task::BoxFuture<Erased>) -> Erased {
    let runtime = runtime()?;
    joined(
        AbortOnDrop(crate::task::spawn_on(runtime, fut)).await,
        "the operation was cancelled",
    )
}

async fn run_erased_to_completion(fut: crate::task::BoxFuture<Erased>) -> Erased {
    let runtime = runtime()?;
    joined(
        crate::task::spawn_on(runtime, fut).await,
        "the operation was stopped",
    )
}

/// Runs `fut` on the runtime; a panic inside becomes `DialtoneError::Internal`. The task is
/// aborted if the foreign caller stops waiting.
pub(crate) async fn run<T, F>(fut: F) -> Result<T, DialtoneError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, DialtoneError>> + Send + 'static,
{
    unerase(run_erased(erase(fut)).await)
}

/// Runs `fut` on the runtime to its end even if the foreign caller stops waiting: for
/// actions that must complete once asked for (hangup, decline, answer; docs/adr/0001).
pub(crate) async fn run_to_completion<T, F>(fut: F) -> Result<T, DialtoneError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, DialtoneError>> + Send + 'static,
{
    unerase(run_erased_to_completion(erase(fut)).await)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    /// The foreign side's executor: a plain thread with no tokio context, woken by the task.
    fn on_a_foreign_thread<T>(fut: impl Future<Output = T>) -> T {
        struct Unpark(std::thread::Thread);
        impl std::task::Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut fut = std::pin::pin!(fut);
        loop {
            if let Poll::Ready(value) = fut.as_mut().poll(&mut cx) {
                return value;
            }
            std::thread::park();
        }
    }

    #[test]
    fn each_export_gets_its_own_type_back_and_its_own_error() {
        let text: Result<String, DialtoneError> =
            on_a_foreign_thread(run(async { Ok("hello".to_string()) }));
        assert_eq!(text.ok().as_deref(), Some("hello"));
        let list: Result<Vec<u32>, DialtoneError> =
            on_a_foreign_thread(run_to_completion(async { Ok(vec![1, 2, 3]) }));
        assert_eq!(list.ok(), Some(vec![1, 2, 3]));
        let failed: Result<u8, DialtoneError> = on_a_foreign_thread(run(async {
            Err(DialtoneError::Internal {
                detail: "as returned".into(),
            })
        }));
        assert!(
            matches!(failed, Err(DialtoneError::Internal { detail }) if detail == "as returned")
        );
    }

    #[test]
    fn a_panic_in_the_task_is_an_internal_error() {
        let result: Result<u8, DialtoneError> = on_a_foreign_thread(run(async {
            if std::hint::black_box(true) {
                panic!("boom");
            }
            Ok(1)
        }));
        match result {
            Err(DialtoneError::Internal { detail }) => assert!(detail.contains("boom"), "{detail}"),
            other => panic!("expected an internal error, got {other:?}"),
        }
    }

    #[test]
    fn a_caller_that_stops_waiting_aborts_run_but_not_run_to_completion() {
        let finished = |flag: Arc<AtomicBool>| async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            flag.store(true, Ordering::SeqCst);
            Ok(())
        };
        let (aborted, completed) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        on_a_foreign_thread(async {
            // Polled once (the task starts), then dropped: the caller gave up.
            let mut gave_up = Box::pin(run(finished(aborted.clone())));
            let mut must_finish = Box::pin(run_to_completion(finished(completed.clone())));
            let mut cx = Context::from_waker(std::task::Waker::noop());
            assert!(gave_up.as_mut().poll(&mut cx).is_pending());
            assert!(must_finish.as_mut().poll(&mut cx).is_pending());
        });
        std::thread::sleep(Duration::from_millis(300));
        assert!(!aborted.load(Ordering::SeqCst), "run's task was aborted");
        assert!(
            completed.load(Ordering::SeqCst),
            "run_to_completion's task ran to its end"
        );
    }
}
