//! No secret in any log: a whole call (register, sync, call, push, answer, tones both ways,
//! hang up) on both profiles, with every log at TRACE: the mock's (its binary, `RUST_LOG=trace`,
//! which includes the `log` records of its webrtc stack), the SDK's (through its app sink:
//! the same lines it writes to the platform log, including webrtc-rs's and the HTTP and
//! WebSocket clients' `log` records). Everything logged is searched for every secret the test
//! knows — the API key, both clients' secrets and push tokens, every participant token — as
//! plain text and base64 in both alphabets at every alignment, and for anything shaped like a
//! JWT or an AppSync key. Zero hits.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use dialtone::{
    AudioSource, BackendConfig, DialtoneClient, LogLevel, LogSink, PushKind, PushOutcome, PushToken,
};

#[derive(Default)]
struct Captured(Mutex<Vec<String>>);

impl LogSink for Captured {
    fn log(&self, level: LogLevel, target: String, message: String) {
        self.0
            .lock()
            .unwrap()
            .push(format!("{level:?} {target}: {message}"));
    }
}

struct Mock {
    child: std::process::Child,
    url: String,
    stderr: Arc<Mutex<String>>,
}

fn start_mock(profile: &str, api_key: &str) -> Mock {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dialtone-mock"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--profile",
            profile,
            "--api-key",
            api_key,
        ])
        .arg("--exit-on-stdin-eof")
        .env("RUST_LOG", "trace")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the mock binary runs");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let url = first
        .trim()
        .strip_prefix("dialtone-mock listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_string();
    let stderr = Arc::new(Mutex::new(String::new()));
    let sink = stderr.clone();
    let mut err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = err.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    // Anything later on stdout is logged too.
    let sink = stderr.clone();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            sink.lock().unwrap().push_str(&line);
        }
    });
    Mock { child, url, stderr }
}

/// The device's recorded pushes, as the mock's outbox returns them.
async fn pushes(http: &reqwest::Client, base: &str, device_token: &str) -> serde_json::Value {
    http.get(format!(
        "{base}/mock/pushes?deviceToken={device_token}&waitMs=5000"
    ))
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap()
}

async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..300 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Substrings that any base64 encoding of a text containing `secret` must contain, whatever
/// the secret's offset: one per alignment and alphabet.
fn base64_needles(secret: &str) -> Vec<String> {
    let mut out = Vec::new();
    for engine in [
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        for pad in 0..3usize {
            let mut bytes = vec![b'x'; pad];
            bytes.extend_from_slice(secret.as_bytes());
            let encoded = engine.encode(&bytes);
            // Drop the characters the prefix touches and the last, partial group.
            let start = (pad * 4).div_ceil(3);
            let end = (bytes.len() / 3) * 4;
            if end > start + 8 {
                out.push(encoded[start..end].to_string());
            }
        }
    }
    out
}

fn looks_like_jwt(log: &str) -> Option<String> {
    log.match_indices("eyJ").find_map(|(i, _)| {
        let tail: String = log[i..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        (tail.matches('.').count() >= 2 && tail.len() > 20).then_some(tail)
    })
}

async fn a_whole_call(profile: &str, captured: &Arc<Captured>) {
    let api_key = format!("da2-{}", uuid::Uuid::new_v4().simple());
    let mock = start_mock(profile, &api_key);
    let http = reqwest::Client::new();
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let (alice_push, bob_push) = (format!("fcm-alice-{tag}"), format!("apns-bob-{tag}"));
    let (alice_dir, bob_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let config = || BackendConfig::mock(mock.url.clone(), Some(api_key.clone())).unwrap();
    let alice = DialtoneClient::new(config(), alice_dir.path().to_str().unwrap().into()).unwrap();
    let bob = DialtoneClient::new(config(), bob_dir.path().to_str().unwrap().into()).unwrap();
    let mut participant_tokens = Vec::new();

    alice
        .register(PushToken {
            kind: PushKind::Fcm,
            token: alice_push.clone(),
        })
        .await
        .unwrap();
    alice
        .save_profile("Alice".into(), "Logs".into())
        .await
        .unwrap();
    let bob_id = bob
        .register(PushToken {
            kind: PushKind::ApnsVoip,
            token: bob_push.clone(),
        })
        .await
        .unwrap();
    bob.save_profile("Bob".into(), "Logs".into()).await.unwrap();
    assert!(alice.sync_persons().await.unwrap().len() >= 2);

    alice.set_audio_source(AudioSource::Tone {
        frequency_hz: 440.0,
    });
    bob.set_audio_source(AudioSource::Tone {
        frequency_hz: 880.0,
    });
    let placed = alice.start_call(bob_id, None).await.unwrap();
    let outbox = pushes(&http, &mock.url, &bob_push).await;
    let payload = outbox["pushes"][0]["payload"].clone();
    assert!(
        payload.is_object(),
        "{profile}: Bob got no VoIP push: {outbox}"
    );
    let raw = payload.to_string();
    if let Some(i) = raw.find("tok=") {
        // The seed profile's push carries Bob's participant token.
        let token: String = raw[i + 4..]
            .chars()
            .take_while(|c| *c != '"' && *c != '&')
            .collect();
        participant_tokens.push(token);
    }
    let call_id = match bob.handle_push(raw).unwrap() {
        PushOutcome::Invite { invite } => invite.call_id,
        // The extended profile's event channel announced the call first.
        PushOutcome::Ignored {
            call_id: Some(id), ..
        } => id,
        other => panic!("{profile}: the push is not a call: {other:?}"),
    };
    let answered = bob.answer(call_id).await.unwrap();
    let tones = vec![440.0, 880.0];
    eventually("Bob to hear Alice", || {
        bob.detected_remote_tone(tones.clone()) == Some(440.0)
    })
    .await;
    eventually("Alice to hear Bob", || {
        alice.detected_remote_tone(tones.clone()) == Some(880.0)
    })
    .await;
    answered.hangup().await.unwrap();
    placed.hangup().await.unwrap();

    let mut secrets = vec![api_key.clone(), alice_push, bob_push];
    secrets.extend(dialtone::testing::stored_secrets(alice_dir.path()));
    secrets.extend(dialtone::testing::stored_secrets(bob_dir.path()));
    secrets.extend(participant_tokens);
    secrets.sort();
    secrets.dedup();
    if profile == "extended" {
        assert!(
            secrets.len() >= 5,
            "{profile}: both clients' secrets are known: {}",
            secrets.len()
        );
    }
    drop(alice);
    drop(bob);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut child = mock.child;
    drop(child.stdin.take());
    let _ = child.wait();

    let mock_log = mock.stderr.lock().unwrap().clone();
    let sdk_log = captured.0.lock().unwrap().join("\n");
    assert!(
        mock_log.lines().count() > 50,
        "{profile}: the mock logged at TRACE ({} lines)",
        mock_log.lines().count()
    );
    assert!(
        mock_log.contains("TRACE"),
        "{profile}: the mock's TRACE level is on"
    );
    assert!(
        sdk_log.lines().any(|l| l.starts_with("Trace ")),
        "{profile}: the SDK's TRACE level is on"
    );
    assert!(
        sdk_log.contains("webrtc") || sdk_log.contains("rtc_"),
        "{profile}: the webrtc stack's own logs reach the SDK's sink"
    );
    for (who, log) in [("mock", &mock_log), ("sdk", &sdk_log)] {
        for secret in &secrets {
            let plain = log.contains(secret.as_str());
            let encoded = base64_needles(secret)
                .into_iter()
                .find(|n| log.contains(n.as_str()));
            // Where it leaked, with the secret itself masked, so the failure says what to fix.
            for line in log
                .lines()
                .filter(|l| {
                    l.contains(secret.as_str())
                        || encoded.as_ref().is_some_and(|n| l.contains(n.as_str()))
                })
                .take(3)
            {
                let masked = line.replace(secret.as_str(), "<SECRET>");
                let masked = encoded.as_ref().map_or(masked.clone(), |n| {
                    masked.replace(n.as_str(), "<SECRET-B64>")
                });
                eprintln!(
                    "{profile}: {who} leak: {}",
                    &masked[..masked.len().min(400)]
                );
            }
            assert!(
                !plain && encoded.is_none(),
                "{profile}: the {who} log shows a secret ({}…{}){}",
                &secret[..4.min(secret.len())],
                &secret[secret.len().saturating_sub(2)..],
                if plain {
                    " in plain text"
                } else {
                    " in base64"
                },
            );
        }
        if let Some(jwt) = looks_like_jwt(log) {
            panic!("{profile}: the {who} log shows a JWT: {}…", &jwt[..12]);
        }
        if let Some(line) = log.lines().find(|l| l.contains("da2-")) {
            let at = line.find("da2-").unwrap_or(0);
            panic!(
                "{profile}: the {who} log shows an AppSync key: {}da2-<MASKED>",
                &line[at.saturating_sub(200)..at]
            );
        }
    }
    eprintln!(
        "{profile}: {} mock log lines and {} SDK log lines, {} secrets, no hit",
        mock_log.lines().count(),
        sdk_log.lines().count(),
        secrets.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_secret_in_any_log_at_trace_on_both_profiles() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let captured = Arc::new(Captured::default());
    dialtone::init_logging(LogLevel::Trace, Some(captured.clone()));
    for profile in ["seed", "extended"] {
        captured.0.lock().unwrap().clear();
        a_whole_call(profile, &captured).await;
    }
    dialtone::init_logging(LogLevel::Warn, None);
}
