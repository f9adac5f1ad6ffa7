//! `init_logging`: the level, and an optional app callback beside the platform log.

use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl From<LogLevel> for tracing::Level {
    fn from(l: LogLevel) -> Self {
        match l {
            LogLevel::Error => tracing::Level::ERROR,
            LogLevel::Warn => tracing::Level::WARN,
            LogLevel::Info => tracing::Level::INFO,
            LogLevel::Debug => tracing::Level::DEBUG,
            LogLevel::Trace => tracing::Level::TRACE,
        }
    }
}

fn to_log_level(l: tracing::Level) -> LogLevel {
    match l {
        tracing::Level::ERROR => LogLevel::Error,
        tracing::Level::WARN => LogLevel::Warn,
        tracing::Level::INFO => LogLevel::Info,
        tracing::Level::DEBUG => LogLevel::Debug,
        tracing::Level::TRACE => LogLevel::Trace,
    }
}

/// Receives every log line the SDK writes, already redacted.
#[uniffi::export(foreign)]
pub trait LogSink: Send + Sync {
    fn log(&self, level: LogLevel, target: String, message: String);
}

/// Logs go to logcat (Android), os_log (Apple) or stderr, and to `sink` if given.
/// Safe to call again: the latest level and sink win.
#[uniffi::export]
pub fn init_logging(level: LogLevel, sink: Option<Arc<dyn LogSink>>) {
    let app = sink.map(|s| -> crate::logging::AppSink {
        Arc::new(move |level, target, line| {
            s.log(to_log_level(level), target.to_string(), line.to_string())
        })
    });
    crate::logging::init(level.into(), app);
}
