//! The `dialtone-mock` command: `dialtone-mock [--listen 127.0.0.1:PORT] [--api-key KEY]
//! [--profile seed|extended] [--ice-ip IP]`. `--profile seed` behaves exactly like the real
//! backend; `extended` (the default) adds auth, call ids and state, and the `/ws` channel.
//! `--exit-on-stdin-eof` stops it when its parent goes away (tests spawn it that way).
//! `--ice-ip` makes WebRTC bind and advertise that address instead of 127.0.0.1 (a phone on the LAN).
//! `--link PROFILE` impairs every participant's link both ways (`perfect`, `moderate`,
//! `international`, `spiky`, `bursty-20`, `limited-50`); `POST /mock/link` changes it live.
//! `--room-cap N` sets the most members a room holds (2 to 16, default 8).
//! `--tls` serves HTTPS and WSS with a development certificate it makes (for localhost,
//! 127.0.0.1, the listen address and `--ice-ip`) and writes to a PEM file it names on stdout;
//! `--tls-cert FILE --tls-key FILE` uses yours.
//! Its first stdout line is `dialtone-mock listening on http://127.0.0.1:PORT`; tools parse it.
//! Every request, REST action and recorded push is logged to stderr (`RUST_LOG`, default
//! `info`), secrets as fingerprints only. `GET /` on its port is the console: what the
//! backend sees, live, and the same log.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use dialtone_mock::{MockConfig, MockServer, DEFAULT_API_KEY};

const USAGE: &str = "usage: dialtone-mock [--listen 127.0.0.1:PORT] [--api-key KEY] [--profile seed|extended] [--ice-ip IP] [--link PROFILE] [--room-cap N] [--tls | --tls-cert FILE --tls-key FILE] [--exit-on-stdin-eof]";

fn parse_args() -> Result<(SocketAddr, MockConfig, bool), String> {
    let mut listen: SocketAddr = "127.0.0.1:0".parse().expect("literal address");
    let mut config = MockConfig::default();
    let mut exit_on_eof = false;
    let (mut tls, mut tls_cert, mut tls_key) = (false, None::<String>, None::<String>);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => {
                let v = args.next().ok_or("--listen needs an address")?;
                listen = v
                    .parse()
                    .map_err(|_| format!("--listen: {v:?} is not an IP:PORT address"))?;
            }
            "--api-key" => {
                config.api_key = args
                    .next()
                    .filter(|k| !k.is_empty())
                    .ok_or("--api-key needs a key")?;
            }
            "--profile" => {
                let v = args.next().ok_or("--profile needs seed or extended")?;
                config.profile = v.parse()?;
            }
            "--ice-ip" => {
                let v = args.next().ok_or("--ice-ip needs an address")?;
                config.ice_ip = v
                    .parse()
                    .map_err(|_| format!("--ice-ip: {v:?} is not an IP address"))?;
            }
            "--link" => {
                let v = args.next().ok_or("--link needs a profile")?;
                dialtone_mock::link::profiles::named(&v)?;
                config.link = Some(v);
            }
            "--room-cap" => {
                let v = args.next().ok_or("--room-cap needs a number")?;
                config.room_cap = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (2..=dialtone_mock::rooms::MAX_ROOM_CAP).contains(n))
                    .ok_or_else(|| {
                        format!(
                            "--room-cap: {v:?} is not a number from 2 to {}",
                            dialtone_mock::rooms::MAX_ROOM_CAP
                        )
                    })?;
            }
            "--tls" => tls = true,
            "--tls-cert" => tls_cert = Some(args.next().ok_or("--tls-cert needs a PEM file")?),
            "--tls-key" => tls_key = Some(args.next().ok_or("--tls-key needs a PEM file")?),
            "--exit-on-stdin-eof" => exit_on_eof = true,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    config.tls = match (tls, tls_cert, tls_key) {
        (_, Some(cert), Some(key)) => Some(dialtone_mock::tls::from_files(
            std::path::Path::new(&cert),
            std::path::Path::new(&key),
        )?),
        (_, Some(_), None) | (_, None, Some(_)) => {
            return Err("--tls-cert and --tls-key go together".into())
        }
        (true, None, None) => Some(dialtone_mock::tls::development(&[
            listen.ip(),
            config.ice_ip,
        ])?),
        (false, None, None) => None,
    };
    Ok((listen, config, exit_on_eof))
}

/// Resolves when standard input closes: a test harness that dies takes the mock with it.
async fn stdin_closed() {
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
    })
    .await;
}

/// stderr, with every secret in what is written replaced by its fingerprint. The formatter
/// writes one event per call, so a call is a whole line.
struct RedactedStderr;

impl Write for RedactedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        std::io::stderr().write_all(dialtone_mock::redact::line(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

fn main() -> ExitCode {
    let (listen, config, exit_on_eof) = match parse_args() {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    // The request log goes to stderr, filtered by RUST_LOG (`info` by default); stdout keeps
    // the lines tools parse. Secrets never reach it (see `redact`).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // `init` also routes the `log` records of the WebSocket and webrtc libraries into it; at
    // TRACE those carry whole messages, so every line goes through `redact::line`.
    // The same events, filtered the same way, also feed the console's log (`GET /`).
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(|| RedactedStderr)
                .with_ansi(false),
        )
        .with(dialtone_mock::console::log::ConsoleLayer)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async move {
        let default_key = config.api_key == DEFAULT_API_KEY;
        let certificate = config.tls.as_ref().map(|t| t.certificate_pem.clone());
        let profile = config.profile;
        let server = match MockServer::start(listen, config).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("dialtone-mock: cannot listen on {listen}: {e}");
                return ExitCode::from(1);
            }
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "dialtone-mock listening on {}", server.base_url());
        if default_key {
            let _ = writeln!(
                out,
                "graphql api key (development default): {}",
                server.api_key()
            );
        }
        let _ = writeln!(out, "profile: {profile:?}");
        if let Some(pem) = certificate {
            // The certificate to trust, beside the temporary files, named for the port.
            let path =
                std::env::temp_dir().join(format!("dialtone-mock-{}.pem", server.addr().port()));
            match std::fs::write(&path, pem) {
                Ok(()) => {
                    let _ = writeln!(
                        out,
                        "tls certificate (trust it on the device): {}",
                        path.display()
                    );
                }
                Err(e) => eprintln!("dialtone-mock: cannot write {}: {e}", path.display()),
            }
        }
        let _ = out.flush();
        drop(out);
        if exit_on_eof {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = stdin_closed() => {}
            }
        } else {
            let _ = tokio::signal::ctrl_c().await;
        }
        server.shutdown().await;
        ExitCode::SUCCESS
    })
}
