//! `dialtone-load`: the mock under load, in one process on loopback (the mock and its
//! clients share the machine, as they would on a developer's laptop).
//!
//!   dialtone-load calls   [CALLS] [SECONDS]    (default 100 calls for 60 s)
//!   dialtone-load clients [CLIENTS] [CHANGES]  (default 500 clients, 20 changes)
//!   dialtone-load rooms   [ROOMSxSIZE] [SECONDS] (default 6x8 for 60 s; extended profile)
//!   dialtone-load room-cycles [CYCLES]         (default 50: RSS growth of a phone in and out)
//!
//! Build it optimised for figures: `cargo run --profile bench -p dialtone-load -- calls`.
//! Exits 1 when a forwarded copy was lost, the SFU kept anything after hang-up, or a Person
//! change did not reach a client; the timing figures are printed, never asserted.

mod calls;
mod clients;
mod process;
mod rooms;

use dialtone_mock::{MockConfig, MockServer, Profile};

fn usage() -> ! {
    eprintln!("usage: dialtone-load calls [CALLS] [SECONDS] | clients [CLIENTS] [CHANGES] | rooms [ROOMSxSIZE] [SECONDS] | room-cycles [CYCLES]");
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: usize| -> usize {
        match args.get(i) {
            None => default,
            Some(a) => a.parse().unwrap_or_else(|_| usage()),
        }
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let outcome = rt.block_on(async {
        let rooms_mode = matches!(
            args.first().map(String::as_str),
            Some("rooms" | "room-cycles")
        );
        let config = MockConfig {
            profile: if rooms_mode {
                Profile::Extended
            } else {
                Profile::Seed
            },
            room_cap: dialtone_mock::rooms::MAX_ROOM_CAP,
            ..MockConfig::default()
        };
        let m = MockServer::start(std::net::SocketAddr::from(([127, 0, 0, 1], 0)), config)
            .await
            .map_err(|e| format!("the mock cannot start: {e}"))?;
        match args.first().map(String::as_str) {
            Some("calls") => {
                let opts = calls::Options {
                    calls: number(1, 100).max(1),
                    seconds: number(2, 60) as u64,
                };
                let report = calls::run(&m, &opts).await?;
                report.print();
                report.check()
            }
            Some("clients") => {
                let opts = clients::Options {
                    clients: number(1, 500).max(2),
                    changes: number(2, 20).max(1),
                };
                let report = clients::run(&m, &opts).await?;
                report.print();
                report.check()
            }
            Some("rooms") => {
                let shape = args.get(1).map_or("6x8", String::as_str);
                let (r, n) = shape.split_once('x').unwrap_or_else(|| usage());
                let opts = rooms::Options {
                    rooms: r.parse::<usize>().unwrap_or_else(|_| usage()).max(1),
                    size: n.parse().unwrap_or_else(|_| usage()),
                    seconds: number(2, 60) as u64,
                };
                let report = rooms::run(&m, &opts).await?;
                report.print();
                report.check()
            }
            Some("room-cycles") => rooms::cycles(&m, number(1, 50).max(1)).await,
            _ => usage(),
        }
    });
    rt.shutdown_timeout(std::time::Duration::from_secs(5));
    if let Err(e) = outcome {
        eprintln!("dialtone-load: {e}");
        std::process::exit(1);
    }
}
