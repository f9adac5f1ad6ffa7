//! The mock's own log, kept for the console: a `tracing` layer that records each event as one
//! redacted line (the same text stderr gets) in a bounded ring, and broadcasts it to the
//! console's open event streams. The binary installs the layer beside its stderr writer; a
//! mock embedded in a test process shows what that process logs, or nothing if it installs
//! no layer. One ring per process: several mocks in one process share it.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};

use tokio::sync::broadcast;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context;

/// How many lines the ring keeps.
pub const MAX_LINES: usize = 500;

struct Ring {
    lines: Mutex<VecDeque<String>>,
    live: broadcast::Sender<String>,
}

fn ring() -> &'static Ring {
    static RING: OnceLock<Ring> = OnceLock::new();
    RING.get_or_init(|| Ring {
        lines: Mutex::new(VecDeque::with_capacity(MAX_LINES)),
        live: broadcast::channel(256).0,
    })
}

/// Records one line (already formatted; redacted here, whatever the caller did).
pub fn record(line: &str) {
    let line = crate::redact::line(line);
    let r = ring();
    {
        let mut lines = r.lines.lock().expect("log ring lock");
        if lines.len() >= MAX_LINES {
            lines.pop_front();
        }
        lines.push_back(line.clone());
    }
    let _ = r.live.send(line);
}

/// The lines recorded so far, oldest first.
pub fn recent() -> Vec<String> {
    ring()
        .lines
        .lock()
        .expect("log ring lock")
        .iter()
        .cloned()
        .collect()
}

/// Every line recorded from now on.
pub fn subscribe() -> broadcast::Receiver<String> {
    ring().live.subscribe()
}

/// The layer that feeds the ring: `HH:MM:SS.mmm LEVEL target: message field=value…`.
pub struct ConsoleLayer;

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for ConsoleLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        let now = crate::time::now_ms();
        let day_ms = now.rem_euclid(86_400_000);
        record(&format!(
            "{:02}:{:02}:{:02}.{:03} {:>5} {}: {}",
            day_ms / 3_600_000,
            day_ms / 60_000 % 60,
            day_ms / 1000 % 60,
            day_ms % 1000,
            meta.level(),
            meta.target(),
            fields.0
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_redacted_and_bounded() {
        let mut live = subscribe();
        record("register deviceToken=abc \"x-api-key\":\"da2-secretsecretsecret\"");
        let last = recent().pop().unwrap();
        assert!(!last.contains("da2-secretsecretsecret"), "{last}");
        assert_eq!(live.try_recv().unwrap(), last);
        for i in 0..MAX_LINES + 10 {
            record(&format!("line {i}"));
        }
        let lines = recent();
        assert_eq!(lines.len(), MAX_LINES);
        assert_eq!(lines.last().unwrap(), &format!("line {}", MAX_LINES + 9));
    }
}
