//! Logging: every `tracing` event of the core, and every `log` record of its dependencies
//! (the webrtc stack, the WebSocket and HTTP clients log through the `log` crate), goes,
//! redacted, to the platform's log (logcat on Android, os_log on Apple, stderr elsewhere)
//! and, if the app gave one, to its callback.
//! Redaction happens once, here, before any sink sees a line: JWTs, AppSync keys and any
//! `token=`/`secret:`/`authorization` value never reach a log, whoever wrote the message.
//! A line written inside a span says so first: `call{id=…}: …` for everything a call's
//! tasks log (the actor, its children, its media session, the dependencies' records among
//! them), so two calls' lines (an old one still releasing) are told apart.

use std::fmt::Write as _;
use std::sync::{Arc, Once, RwLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

pub type AppSink = Arc<dyn Fn(Level, &str, &str) + Send + Sync>;

struct Config {
    max_level: Level,
    app: Option<AppSink>,
}

static CONFIG: RwLock<Config> = RwLock::new(Config {
    max_level: Level::INFO,
    app: None,
});
static INSTALL: Once = Once::new();

/// Sets the level and the app's sink. The first call installs the subscriber and the panic
/// hook; later calls only change level and sink (so apps may call it on every start).
pub fn init(max_level: Level, app: Option<AppSink>) {
    {
        let mut cfg = CONFIG.write().unwrap_or_else(|p| p.into_inner());
        cfg.max_level = max_level;
        cfg.app = app;
    }
    INSTALL.call_once(|| {
        let _ =
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(SinkLayer));
        // Fails only if the app installed a `log` logger of its own first: then that one
        // keeps the dependencies' records.
        let _ = log::set_logger(&LogBridge);
        install_panic_hook();
    });
    log::set_max_level(match max_level {
        Level::ERROR => log::LevelFilter::Error,
        Level::WARN => log::LevelFilter::Warn,
        Level::INFO => log::LevelFilter::Info,
        Level::DEBUG => log::LevelFilter::Debug,
        Level::TRACE => log::LevelFilter::Trace,
    });
}

fn max_level() -> Level {
    CONFIG.read().map(|c| c.max_level).unwrap_or(Level::INFO)
}

/// One redacted line to the platform's log and the app's sink.
fn emit(level: Level, target: &str, raw: &str) {
    let line = redact(raw);
    platform_write(level, target, &line);
    let app = CONFIG.read().ok().and_then(|c| c.app.clone());
    if let Some(app) = app {
        app(level, target, &line);
    }
}

/// The `log` crate's records (webrtc-rs) into the same redacted sinks.
struct LogBridge;

impl log::Log for LogBridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        level_of(metadata.level()) <= max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            emit(
                level_of(record.level()),
                record.target(),
                &with_spans(current_spans(), record.args().to_string()),
            );
        }
    }

    fn flush(&self) {}
}

fn level_of(level: log::Level) -> Level {
    match level {
        log::Level::Error => Level::ERROR,
        log::Level::Warn => Level::WARN,
        log::Level::Info => Level::INFO,
        log::Level::Debug => Level::DEBUG,
        log::Level::Trace => Level::TRACE,
    }
}

/// Logs a panic before UniFFI turns it into an error, so the report has the location.
pub fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            tracing::error!(target: "dialtone::panic", "{info}");
            previous(info);
        }));
    });
}

struct SinkLayer;

/// A span's name and fields as a line shows them (`call{id=…}`), kept with the span.
struct SpanLabel(String);

/// `line` behind the labels of the spans it was written in, outermost first.
fn with_spans(labels: String, line: String) -> String {
    if labels.is_empty() {
        line
    } else {
        format!("{labels}: {line}")
    }
}

/// The labels of the spans a `log` record is written in (the current task's), outermost
/// first: the registry under our layer is asked, as for a `tracing` event.
fn current_spans() -> String {
    tracing::dispatcher::get_default(|dispatch| {
        let (Some(registry), Some(id)) = (
            dispatch.downcast_ref::<tracing_subscriber::Registry>(),
            dispatch.current_span().id().cloned(),
        ) else {
            return String::new();
        };
        registry
            .span(&id)
            .map(|span| labels(span.scope().from_root()))
            .unwrap_or_default()
    })
}

fn labels<'a, R: LookupSpan<'a> + 'a>(
    scope: impl Iterator<Item = tracing_subscriber::registry::SpanRef<'a, R>>,
) -> String {
    scope
        .filter_map(|s| s.extensions().get::<SpanLabel>().map(|l| l.0.clone()))
        .collect::<Vec<_>>()
        .join(":")
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for SinkLayer {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = LineVisitor::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            let label = format!("{}{{{}}}", attrs.metadata().name(), fields.0.trim());
            span.extensions_mut().insert(SpanLabel(label));
        }
    }

    fn register_callsite(&self, _: &'static Metadata<'static>) -> tracing::subscriber::Interest {
        // The level can change at runtime, so no callsite may be cached as never-enabled.
        tracing::subscriber::Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        *metadata.level() <= max_level()
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut visitor = LineVisitor::default();
        event.record(&mut visitor);
        let meta = event.metadata();
        let spans = ctx
            .event_scope(event)
            .map(|scope| labels(scope.from_root()))
            .unwrap_or_default();
        emit(*meta.level(), meta.target(), &with_spans(spans, visitor.0));
    }
}

#[derive(Default)]
struct LineVisitor(String);

impl Visit for LineVisitor {
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

#[cfg(not(any(target_os = "android", target_vendor = "apple")))]
fn platform_write(level: Level, target: &str, line: &str) {
    eprintln!("{level:>5} {target}: {line}");
}

#[cfg(target_os = "android")]
fn platform_write(level: Level, target: &str, line: &str) {
    const TAG: &std::ffi::CStr = c"Dialtone";
    for chunk in logcat_chunks(&format!("{target}: {line}")) {
        // SAFETY: both pointers are NUL-terminated strings that outlive the call; liblog
        // copies the text before it returns.
        unsafe {
            android_log_sys::__android_log_write(
                logcat_priority(level),
                TAG.as_ptr(),
                chunk.as_ptr(),
            );
        }
    }
}

/// logcat's priority for a level (`android/log.h`: VERBOSE 2, DEBUG 3, INFO 4, WARN 5,
/// ERROR 6).
#[cfg_attr(not(target_os = "android"), allow(dead_code))]
fn logcat_priority(level: Level) -> std::ffi::c_int {
    match level {
        Level::ERROR => 6,
        Level::WARN => 5,
        Level::INFO => 4,
        Level::DEBUG => 3,
        Level::TRACE => 2,
    }
}

/// The longest text one logcat entry keeps (its payload is 4 068 bytes with tag and
/// priority); longer lines go out in pieces, cut on character boundaries.
const LOGCAT_MAX: usize = 4000;

/// `line` as NUL-terminated pieces of at most [`LOGCAT_MAX`] bytes; a NUL inside the line
/// (which C would read as its end) becomes U+FFFD.
#[cfg_attr(not(target_os = "android"), allow(dead_code))]
fn logcat_chunks(line: &str) -> Vec<std::ffi::CString> {
    let clean = line.replace('\0', "\u{FFFD}");
    let mut out = Vec::new();
    let mut rest = clean.as_str();
    loop {
        let mut cut = rest.len().min(LOGCAT_MAX);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (piece, tail) = rest.split_at(cut);
        if let Ok(c) = std::ffi::CString::new(piece) {
            out.push(c);
        }
        rest = tail;
        if rest.is_empty() {
            return out;
        }
    }
}

#[cfg(target_vendor = "apple")]
fn platform_write(level: Level, target: &str, line: &str) {
    use std::sync::OnceLock;
    static LOG: OnceLock<oslog::OsLog> = OnceLock::new();
    let log = LOG.get_or_init(|| oslog::OsLog::new("dev.dialtone", "sdk"));
    let os_level = match level {
        Level::ERROR => oslog::Level::Error,
        Level::WARN => oslog::Level::Default,
        Level::INFO => oslog::Level::Info,
        Level::DEBUG | Level::TRACE => oslog::Level::Debug,
    };
    log.with_level(os_level, &format!("{target}: {line}"));
}

const SECRET_KEYS: &[&str] = &[
    "token",
    "secret",
    "password",
    "authorization",
    "api_key",
    "apikey",
    "api-key",
    "bearer",
    "devicetoken",
    "tok",
    // AppSync real-time's `?header=` (base64 JSON holding the API key or a JWT).
    "header",
];

/// Removes secrets from a log line. Conservative on purpose: a redacted id costs a little
/// debugging, a leaked token costs an account.
pub fn redact(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < line.len() {
        let rest = &line[i..];
        // JSON Web Tokens: three base64url segments, the first starting with `eyJ`.
        if rest.starts_with("eyJ") {
            let len = rest
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
                .count();
            if rest[..len].matches('.').count() >= 2 {
                out.push_str("[redacted-jwt]");
                i += len;
                continue;
            }
        }
        // AppSync API keys.
        if let Some(key) = rest.strip_prefix("da2-") {
            let len = 4 + key.bytes().take_while(u8::is_ascii_alphanumeric).count();
            if len >= 8 {
                out.push_str("[redacted-key]");
                i += len;
                continue;
            }
        }
        // `key=value`, `key: value`, `"key":"value"`, `Bearer value` for secret-looking keys.
        let at_word_start = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        // AppSync real-time's authorization subprotocol: `header-<base64url JSON>`.
        if at_word_start {
            if let Some(value) = rest.strip_prefix("header-") {
                let len = value
                    .bytes()
                    .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'='))
                    .count();
                if len >= 8 {
                    out.push_str("header-[redacted]");
                    i += "header-".len() + len;
                    continue;
                }
            }
        }
        if at_word_start {
            if let Some(skip) = secret_assignment(rest) {
                out.push_str(&rest[..skip.0]);
                out.push_str("[redacted]");
                i += skip.0 + skip.1;
                continue;
            }
        }
        let Some(ch) = rest.chars().next() else {
            break;
        };
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// For text starting with a secret key and its separator, returns (length of key and
/// separator, length of the value).
fn secret_assignment(s: &str) -> Option<(usize, usize)> {
    let word_len = s
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        .count();
    let word = s[..word_len].to_ascii_lowercase();
    let is_secret = SECRET_KEYS
        .iter()
        .any(|k| word == *k || word.ends_with(&format!("_{k}")))
        || word.ends_with("token")
        || word.ends_with("secret")
        || word.ends_with("-key")
        || word.ends_with("_key");
    if !is_secret || word_len == 0 {
        return None;
    }
    let after = &s[word_len..];
    let sep_len = after
        .bytes()
        .take_while(|b| matches!(b, b'"' | b'\'' | b' ' | b'=' | b':' | b'\\'))
        .count();
    let sep = &after[..sep_len];
    let ok_sep = sep.contains('=') || sep.contains(':') || (word == "bearer" && sep == " ");
    if !ok_sep {
        return None;
    }
    let value = &after[sep_len..];
    // An Authorization value is a scheme and a credential: take both.
    let spaces_end_value = word != "authorization";
    let value_len = value
        .bytes()
        .take_while(|b| {
            let ends = matches!(b, b'"' | b'\'' | b',' | b'&' | b'}' | b')' | b'\n' | b'\\');
            let space_ends = spaces_end_value && *b == b' ';
            !(ends || space_ends)
        })
        .count();
    (value_len > 0).then_some((word_len + sep_len, value_len))
}

#[cfg(test)]
mod tests {
    #[test]
    fn logcat_gets_each_levels_priority_and_long_lines_in_whole_characters() {
        assert_eq!(
            [
                Level::TRACE,
                Level::DEBUG,
                Level::INFO,
                Level::WARN,
                Level::ERROR
            ]
            .map(logcat_priority),
            [2, 3, 4, 5, 6]
        );
        assert_eq!(logcat_chunks("short").len(), 1);
        assert_eq!(
            logcat_chunks("").len(),
            1,
            "an empty line is still one entry"
        );
        let nul = logcat_chunks("a\0b");
        assert_eq!(nul[0].to_str().unwrap(), "a\u{FFFD}b");
        // 3-byte characters across the cut: no piece splits one, nothing is lost.
        let long = "\u{20AC}".repeat(3000);
        let pieces = logcat_chunks(&long);
        assert!(pieces.iter().all(|p| p.as_bytes().len() <= LOGCAT_MAX));
        let joined: String = pieces.iter().map(|p| p.to_str().unwrap()).collect();
        assert_eq!(joined, long);
        assert_eq!(pieces.len(), 3);
    }

    use super::*;

    /// Lines written in a call's span, by `tracing` or by a dependency through `log`, and
    /// by a task spawned there, name the call; a line outside names none.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_calls_lines_carry_its_id_wherever_they_come_from() {
        let lines = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let seen = lines.clone();
        init(
            Level::DEBUG,
            Some(Arc::new(move |_, _, line: &str| {
                if line.contains("span-test") {
                    seen.lock().unwrap().push(line.to_string());
                }
            })),
        );
        let span = tracing::info_span!("call", id = "c-42");
        tracing::Instrument::instrument(
            async {
                tracing::info!("span-test event");
                log::warn!("span-test record");
                crate::task::spawn(async { tracing::debug!("span-test child") })
                    .await
                    .unwrap();
            },
            span,
        )
        .await;
        tracing::info!("span-test outside");
        let got = lines.lock().unwrap().clone();
        for want in [
            "call{id=c-42}: span-test event",
            "call{id=c-42}: span-test record",
            "call{id=c-42}: span-test child",
        ] {
            assert!(got.iter().any(|l| l == want), "{want:?} in {got:?}");
        }
        assert!(got.iter().any(|l| l == "span-test outside"), "{got:?}");
    }

    #[test]
    fn redacts_jwts_keys_and_assignments() {
        let line = "joined with eyJhbGciOi.eyJwIjoiMSJ9.c2ln ok";
        assert_eq!(redact(line), "joined with [redacted-jwt] ok");
        assert_eq!(
            redact("key da2-abcdefghijklmnopqrstuvwxyz"),
            "key [redacted-key]"
        );
        assert_eq!(
            redact("deviceToken=abc123&x=1"),
            "deviceToken=[redacted]&x=1"
        );
        assert_eq!(
            redact(r#"{"participantToken":"zzz","a":1}"#),
            r#"{"participantToken":"[redacted]","a":1}"#
        );
        assert_eq!(
            redact("Authorization: Bearer s3cr3t"),
            "Authorization: [redacted]"
        );
        assert_eq!(
            redact("client_secret: hunter2, rest"),
            "client_secret: [redacted], rest"
        );
        assert_eq!(
            redact("https://my.app.com/incomingCall?tok=abc"),
            "https://my.app.com/incomingCall?tok=[redacted]"
        );
        // What the WebSocket client logs at TRACE: the real-time handshake and messages.
        assert_eq!(
            redact("GET /graphql/realtime?header=eyJob3N0IjoiYSJ9&payload=e30%3D HTTP/1.1"),
            "GET /graphql/realtime?header=[redacted]&payload=e30%3D HTTP/1.1"
        );
        assert_eq!(
            redact("Sec-WebSocket-Protocol: header-eyJob3N0IjoiYSJ9, graphql-ws"),
            "Sec-WebSocket-Protocol: header-[redacted], graphql-ws"
        );
        assert_eq!(
            redact(r#"{"x-api-key":"k-123","host":"h"}"#),
            r#"{"x-api-key":"[redacted]","host":"h"}"#
        );
        assert_eq!(
            redact(r#"{"data":"{\"clientSecret\":\"s-1\"}"}"#),
            r#"{"data":"{\"clientSecret\":\"[redacted]\"}"}"#
        );
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        for line in [
            "person sync (delta) changed=true",
            "tokens are refreshed",
            "ünïcödé stays",
            "retrying in 250ms",
        ] {
            assert_eq!(redact(line), line);
        }
    }
}
