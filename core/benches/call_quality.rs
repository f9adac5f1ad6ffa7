//! Speech-quality benchmark: Dialtone against Chrome's WebRTC on the same links (prints one
//! table; not a test). Run it with `scripts/bench-quality.sh`, which makes the speech sample
//! (espeak-ng), installs the scorer (PyPI `pesq`), bundles Bandwidth's browser SDK and runs
//! this inside a loopback-only network namespace. Options after `--`:
//!   --wav FILE          the speech to send (16-bit mono 48 kHz; the script converts any WAV)
//!   --profiles a,b,…    link profiles (default: all six of the mock's conditioner)
//!   --no-chrome         Dialtone only
//!   --out DIR           where the WAVs of each run go (default: a temporary directory)
//!
//! For each profile the mock's SFU impairs every participant's media both ways
//! (server-mock/src/link). Dialtone: two phones in a call, the app's audio thread simulated
//! by one 20 ms tick that pushes the caller's microphone PCM (the speech, after 2 s of
//! silence) and pulls the callee's playout, so mouth-to-ear is the offset of the speech in
//! what was played. Chrome: two headless Chromium pages with Bandwidth's SDK join a call
//! through the same mock; the sender plays the same file into its published track, the
//! receiver records what it plays out (NetEQ's output) and posts it back; mouth-to-ear comes
//! from both pages' wall clocks. Each recording is scored with wideband PESQ (P.862.2)
//! against the file by `core/benches/quality/score.py`, which aligns them first.

use std::io::{BufRead, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dialtone::{AudioSource, CallEvent};
use dialtone_mock::{MockConfig, Profile};
use serde_json::{json, Value};

#[path = "../tests/common/mod.rs"]
mod common;

const RATE: usize = 48_000;
const FRAME: usize = 960;
/// Silence sent before the speech: the call settles (and Chrome's receiver subscribes).
const LEAD_MS: u64 = 2_000;
/// Chrome's sender starts the speech this long after its receiver has had a second of audio.
const CHROME_LEAD_MS: u64 = 1_000;
/// Recorded after the speech: room for the longest delay of any profile.
const TAIL_MS: u64 = 1_500;

struct Opts {
    speech: PathBuf,
    profiles: Vec<String>,
    chrome: bool,
    out: PathBuf,
    python: String,
    bundle: Option<PathBuf>,
}

#[derive(Default, Clone)]
struct Run {
    pesq: Option<f64>,
    mouth_to_ear_ms: Option<f64>,
    concealed_pct: Option<f64>,
    note: String,
}

fn opts() -> Opts {
    let mut args = std::env::args().skip(1);
    let mut o = Opts {
        speech: std::env::var("DIALTONE_SPEECH_WAV")
            .map(PathBuf::from)
            .unwrap_or_default(),
        profiles: dialtone_mock::link::profiles::NAMES
            .iter()
            .map(|s| s.to_string())
            .collect(),
        chrome: true,
        out: std::env::temp_dir().join(format!("dialtone-quality-{}", std::process::id())),
        python: std::env::var("DIALTONE_PYTHON").unwrap_or_else(|_| "python3".into()),
        bundle: std::env::var("DIALTONE_BW_BUNDLE").ok().map(PathBuf::from),
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--wav" => o.speech = args.next().expect("--wav FILE").into(),
            "--profiles" => {
                o.profiles = args
                    .next()
                    .expect("--profiles a,b")
                    .split(',')
                    .map(str::to_string)
                    .collect()
            }
            "--no-chrome" => o.chrome = false,
            "--out" => o.out = args.next().expect("--out DIR").into(),
            "--bench" => {}
            other => panic!("unknown option {other}"),
        }
    }
    assert!(
        !o.speech.as_os_str().is_empty(),
        "no speech: pass --wav FILE or set DIALTONE_SPEECH_WAV (scripts/bench-quality.sh does)"
    );
    o
}

/// The samples of a 16-bit mono 48 kHz WAV.
fn read_wav(path: &Path) -> Vec<i16> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WAVE",
        "not a WAV"
    );
    let mut at = 12;
    let mut format_ok = false;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        let body = &bytes[at + 8..(at + 8 + len).min(bytes.len())];
        if id == b"fmt " {
            let channels = u16::from_le_bytes([body[2], body[3]]);
            let rate = u32::from_le_bytes(body[4..8].try_into().unwrap());
            let bits = u16::from_le_bytes([body[14], body[15]]);
            format_ok = channels == 1 && rate == RATE as u32 && bits == 16;
        } else if id == b"data" {
            assert!(format_ok, "{}: expected 16-bit mono 48 kHz", path.display());
            return body
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]))
                .collect();
        }
        at += 8 + len + (len & 1);
    }
    panic!("{}: no data chunk", path.display())
}

/// PESQ of `recorded` against `reference`, and where the reference starts in it (samples).
fn score(o: &Opts, reference: &Path, recorded: &Path) -> (Option<f64>, Option<usize>, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/quality/score.py");
    let out = std::process::Command::new(&o.python)
        .arg(script)
        .arg(reference)
        .arg(recorded)
        .output()
        .expect("run the scorer (DIALTONE_PYTHON: a Python with numpy and pesq)");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "the scorer failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        v["pesq"].as_f64(),
        v["lag_samples"].as_u64().map(|l| l as usize),
        v["error"].as_str().unwrap_or("").to_string(),
    )
}

fn stats(events: &common::Events) -> Option<(u64, u64)> {
    events.last(|e| match e {
        CallEvent::Stats {
            concealed_samples,
            jitter_buffer_target_ms,
            ..
        } => Some((*concealed_samples, *jitter_buffer_target_ms as u64)),
        _ => None,
    })
}

async fn dialtone_run(o: &Opts, profile: &str, speech: &Arc<Vec<i16>>) -> Run {
    let m = common::start_mock(MockConfig {
        profile: Profile::Seed,
        link: Some(profile.into()),
        ..MockConfig::default()
    })
    .await;
    let c = common::connected_call(&m).await;
    c.alice.set_audio_source(AudioSource::Microphone);
    c.bob.set_audio_source(AudioSource::Microphone);
    let lead = LEAD_MS as usize * RATE / 1000;
    let frames = (lead + speech.len() + TAIL_MS as usize * RATE / 1000).div_ceil(FRAME);
    common::eventually("Bob's first stats", 5, || stats(&c.bob_events).is_some()).await;
    let before = stats(&c.bob_events);
    let (alice, bob, sent) = (c.alice.clone(), c.bob.clone(), speech.clone());
    // The app's audio thread: one tick every 20 ms pushes the microphone and pulls playout.
    let recorded = tokio::task::spawn_blocking(move || {
        let mut recorded = Vec::with_capacity(frames * FRAME);
        let mut bytes = vec![0u8; FRAME * 2];
        let t0 = Instant::now();
        for k in 0..frames {
            let due = t0 + Duration::from_millis(20 * k as u64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            for (i, b) in bytes.chunks_exact_mut(2).enumerate() {
                let s = (k * FRAME + i)
                    .checked_sub(lead)
                    .and_then(|at| sent.get(at))
                    .copied()
                    .unwrap_or(0);
                b.copy_from_slice(&s.to_le_bytes());
            }
            alice.push_capture_pcm(&bytes);
            let played = bob.pull_playback_pcm(FRAME as u32);
            recorded.extend(
                played
                    .chunks_exact(2)
                    .map(|b| i16::from_le_bytes([b[0], b[1]])),
            );
        }
        recorded
    })
    .await
    .unwrap();
    // Stats come once a second: wait for the one that covers the end.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let after = stats(&c.bob_events);
    let _ = c.alice.end_call().await;
    let _ = c.bob.end_call().await;

    let rec_path = o.out.join(format!("dialtone-{profile}.wav"));
    common::write_wav(&rec_path, RATE as u32, &recorded);
    let (pesq, lag, error) = score(o, &o.speech, &rec_path);
    Run {
        pesq,
        mouth_to_ear_ms: lag.map(|l| (l as f64 - lead as f64) * 1000.0 / RATE as f64),
        concealed_pct: match (before, after) {
            (Some((c0, _)), Some((c1, _))) => {
                Some((c1 - c0) as f64 * 100.0 / (frames * FRAME) as f64)
            }
            _ => None,
        },
        note: match after {
            Some((_, target)) if error.is_empty() => format!("jitter target {target} ms"),
            _ => error,
        },
    }
}

/// Serves the pages' directory over HTTP on 127.0.0.1 (same origin for the pages' fetches,
/// and a secure context for the AudioWorklet). `POST /flowing` (the receiver has audio)
/// makes `GET /go` (the sender's wait) answer 200; `POST /rec`'s body goes to `posted`.
fn serve(dir: PathBuf, posted: mpsc::Sender<Vec<u8>>) -> u16 {
    let flowing = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let (dir, posted, flowing) = (dir.clone(), posted.clone(), flowing.clone());
            std::thread::spawn(move || {
                let _ = handle(stream, &dir, &posted, &flowing);
            });
        }
    });
    port
}

fn handle(
    stream: TcpStream,
    dir: &Path,
    posted: &mpsc::Sender<Vec<u8>>,
    flowing: &std::sync::atomic::AtomicBool,
) -> std::io::Result<()> {
    use std::sync::atomic::Ordering::SeqCst;
    let mut reader = std::io::BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        if line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut parts = request.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let (status, kind, body) = if method == "POST" {
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body)?;
        match path {
            "/flowing" => flowing.store(true, SeqCst),
            _ => {
                let _ = posted.send(body);
            }
        }
        ("200 OK", "text/plain", Vec::new())
    } else if path == "/go" {
        match flowing.load(SeqCst) {
            true => ("200 OK", "text/plain", Vec::new()),
            false => ("404 Not Found", "text/plain", Vec::new()),
        }
    } else {
        let name = path
            .trim_start_matches('/')
            .split(['?', '#'])
            .next()
            .unwrap_or("");
        let kind = match name.rsplit('.').next() {
            Some("html") => "text/html",
            Some("js") => "text/javascript",
            Some("wav") => "audio/wav",
            _ => "application/octet-stream",
        };
        match (name.contains(".."), std::fs::read(dir.join(name))) {
            (false, Ok(b)) => ("200 OK", kind, b),
            _ => ("404 Not Found", "text/plain", Vec::new()),
        }
    };
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nAccess-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    out.write_all(&body)
}

async fn register(m: &dialtone_mock::MockServer, device: &str) -> String {
    let reply = common::api(
        m,
        json!({"action": "register", "notifyType": "GCM", "deviceToken": device}),
    )
    .await;
    reply["id"].as_str().expect("a clientId").to_string()
}

async fn chrome_run(o: &Opts, profile: &str, speech_len: usize) -> Run {
    let bundle = o
        .bundle
        .as_ref()
        .expect("DIALTONE_BW_BUNDLE: Bandwidth's SDK bundle (scripts/bench-quality.sh)");
    let m = common::start_mock(MockConfig {
        profile: Profile::Seed,
        link: Some(profile.into()),
        ..MockConfig::default()
    })
    .await;
    let sender = register(&m, "quality-sender").await;
    let receiver = register(&m, "quality-receiver").await;
    let reply = common::api(
        &m,
        json!({"action": "initiateCall", "callerId": sender, "calleeId": receiver}),
    )
    .await;
    let sender_token = reply["token"]
        .as_str()
        .unwrap_or_else(|| panic!("initiateCall: {reply}"))
        .to_string();
    let receiver_token = common::push_token(&m, "quality-receiver").await;

    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("pages");
    std::fs::create_dir_all(&pages).unwrap();
    std::fs::copy(bundle, pages.join("bw.js")).unwrap();
    std::fs::copy(&o.speech, pages.join("speech.wav")).unwrap();
    std::fs::write(
        pages.join("sender.html"),
        include_str!("quality/sender.html"),
    )
    .unwrap();
    std::fs::write(
        pages.join("receiver.html"),
        include_str!("quality/receiver.html"),
    )
    .unwrap();
    let (posted_tx, posted_rx) = mpsc::channel();
    let port = serve(pages, posted_tx);
    // The recording starts when the receiver has audio; the sender then waits for /go (it
    // polls every 100 ms) and `lead`.
    let seconds =
        (CHROME_LEAD_MS + TAIL_MS + 1_000) as f64 / 1000.0 + speech_len as f64 / RATE as f64;
    let ws = format!("ws://{}", m.addr());
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = |lines: &Arc<Mutex<Vec<String>>>| {
        let lines = lines.clone();
        move |msg| lines.lock().unwrap().push(msg)
    };
    let _rx = common::chromium(
        &dir.path().join("profile-receiver"),
        &format!("http://127.0.0.1:{port}/receiver.html#token={receiver_token}&ws={ws}&seconds={seconds}&post=/rec"),
        "QUALITY ",
        sink(&lines),
    );
    let _tx = common::chromium(
        &dir.path().join("profile-sender"),
        &format!("http://127.0.0.1:{port}/sender.html#token={sender_token}&ws={ws}&lead={CHROME_LEAD_MS}"),
        "QUALITY ",
        sink(&lines),
    );
    let deadline = Instant::now() + Duration::from_secs_f64(seconds + 45.0);
    let body = loop {
        if let Ok(body) = posted_rx.try_recv() {
            break Some(body);
        }
        let errors = common::browser_errors(&lines);
        if !errors.is_empty() || Instant::now() > deadline {
            eprintln!(
                "chrome on {profile}: no recording ({errors:?}); the pages said {:?}",
                lines.lock().unwrap()
            );
            break None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let Some(body) = body else {
        return Run {
            note: "no recording".into(),
            ..Run::default()
        };
    };
    let split = body
        .iter()
        .position(|b| *b == b'\n')
        .expect("a header line");
    let head: Value = serde_json::from_slice(&body[..split]).unwrap();
    let recorded: Vec<i16> = body[split + 1..]
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    let speech_start = lines.lock().unwrap().iter().find_map(|l| {
        l.strip_prefix("speech-start ")
            .and_then(|v| v.trim().parse::<f64>().ok())
    });
    let rec_path = o.out.join(format!("chrome-{profile}.wav"));
    common::write_wav(&rec_path, RATE as u32, &recorded);
    let (pesq, lag, error) = score(o, &o.speech, &rec_path);
    let first = head["firstWall"].as_f64();
    let total = head["total"].as_f64().unwrap_or(0.0);
    Run {
        pesq,
        mouth_to_ear_ms: match (lag, first, speech_start) {
            (Some(l), Some(f), Some(s)) => Some(f + l as f64 * 1000.0 / RATE as f64 - s),
            _ => None,
        },
        concealed_pct: (total > 0.0)
            .then(|| head["concealed"].as_f64().unwrap_or(0.0) * 100.0 / total),
        note: error,
    }
}

impl Run {
    fn print(&self, stack: &str, profile: &str) {
        println!(
            "{stack} {profile}: PESQ {} mouth-to-ear {} ms concealed {} % {}",
            cell(self.pesq, 2),
            cell(self.mouth_to_ear_ms, 0),
            cell(self.concealed_pct, 1),
            self.note
        );
    }
}

fn cell(v: Option<f64>, digits: usize) -> String {
    v.map(|v| format!("{v:.digits$}"))
        .unwrap_or_else(|| "–".into())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let o = opts();
    std::fs::create_dir_all(&o.out).unwrap();
    let speech = Arc::new(read_wav(&o.speech));
    println!(
        "speech: {} ({:.1} s); recordings in {}",
        o.speech.display(),
        speech.len() as f64 / RATE as f64,
        o.out.display()
    );
    let mut rows = Vec::new();
    for profile in &o.profiles {
        let d = dialtone_run(&o, profile, &speech).await;
        d.print("dialtone", profile);
        let c = if o.chrome {
            let c = chrome_run(&o, profile, speech.len()).await;
            c.print("chrome  ", profile);
            c
        } else {
            Run::default()
        };
        rows.push((profile.clone(), d, c));
    }
    println!();
    println!("| profile | Dialtone PESQ | Chrome PESQ | Dialtone mouth-to-ear ms | Chrome mouth-to-ear ms | Dialtone concealed % | Chrome concealed % |");
    println!("|---|---|---|---|---|---|---|");
    for (p, d, c) in &rows {
        println!(
            "| {p} | {} | {} | {} | {} | {} | {} |",
            cell(d.pesq, 2),
            cell(c.pesq, 2),
            cell(d.mouth_to_ear_ms, 0),
            cell(c.mouth_to_ear_ms, 0),
            cell(d.concealed_pct, 1),
            cell(c.concealed_pct, 1)
        );
    }
}
