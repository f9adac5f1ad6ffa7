//! Many clients at once: each registers, syncs the Person list and holds its real-time
//! subscription (the core's `Engine`, as an app would), while one of them renames its Person
//! again and again. Every change must reach every client's local list; the figure is how
//! long after the write it did, across all clients.

use std::time::{Duration, Instant};

use dialtone::testing::{Endpoints, Engine, PushKind};
use dialtone_mock::MockServer;
use futures_util::stream::{self, StreamExt};

pub struct Options {
    pub clients: usize,
    pub changes: usize,
}

pub struct Report {
    pub clients: usize,
    pub changes: usize,
    pub setup: Duration,
    /// Per (change, client): how long after the write the client's list showed it.
    pub delays_ms: Vec<f64>,
    pub missed: usize,
    pub cpu_share: f64,
    pub rss_mib: f64,
}

/// How long a change may take to reach a client before it counts as missed.
const REACH_WITHIN: Duration = Duration::from_secs(20);

pub async fn run(m: &MockServer, opts: &Options) -> Result<Report, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let endpoints = Endpoints::mock(&m.base_url(), dialtone_mock::DEFAULT_API_KEY)
        .map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Handle::current();
    let started = Instant::now();
    let mut engines = Vec::new();
    for i in 0..opts.clients {
        engines.push(
            Engine::open(
                endpoints.clone(),
                &dir.path().join(i.to_string()),
                rt.clone(),
            )
            .map_err(|e| format!("client {i}: {e}"))?,
        );
    }
    // Register, name yourself, sync and go live: what every app does at first launch.
    let setup: Vec<Result<(), String>> = stream::iter(engines.iter().enumerate())
        .map(|(i, e)| async move {
            e.register(PushKind::Fcm, &format!("load-{i}"))
                .await
                .map_err(|e| e.to_string())?;
            e.save_profile(&format!("Client{i}"), "Load")
                .await
                .map_err(|e| e.to_string())?;
            e.sync_persons().await.map_err(|e| e.to_string())?;
            Ok(())
        })
        .buffer_unordered(16)
        .collect()
        .await;
    for r in setup {
        r.map_err(|e| format!("setup: {e}"))?;
    }
    // Everyone's list holds everyone before the changes start.
    let deadline = Instant::now() + REACH_WITHIN;
    while engines
        .iter()
        .any(|e| e.persons_store().visible().len() < opts.clients)
    {
        if Instant::now() > deadline {
            return Err("not every client saw every Person after setup".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let setup = started.elapsed();

    let writer = engines[0].clone();
    let (cpu0, t0) = (crate::process::cpu_time(), Instant::now());
    let mut delays_ms = Vec::new();
    let mut missed = 0;
    for change in 0..opts.changes {
        let name = format!("Renamed{change}");
        // Each client waits on its own list for the new name.
        let waits: Vec<_> = engines
            .iter()
            .map(|e| {
                let mut rx = e.persons_store().subscribe();
                let name = name.clone();
                tokio::spawn(async move {
                    let seen = rx.wait_for(|list| list.iter().any(|p| p.first_name == name));
                    tokio::time::timeout(REACH_WITHIN, seen)
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .map(|_| Instant::now())
                })
            })
            .collect();
        let written = Instant::now();
        writer
            .save_profile(&name, "Load")
            .await
            .map_err(|e| format!("change {change}: {e}"))?;
        for w in waits {
            match w.await.ok().flatten() {
                Some(at) => {
                    delays_ms.push(at.saturating_duration_since(written).as_secs_f64() * 1e3)
                }
                None => missed += 1,
            }
        }
    }
    let elapsed = t0.elapsed();
    let cpu_share = (crate::process::cpu_time() - cpu0).as_secs_f64() / elapsed.as_secs_f64();
    let rss_mib = crate::process::rss_mib();
    for e in &engines {
        e.shutdown();
    }
    delays_ms.sort_by(f64::total_cmp);
    Ok(Report {
        clients: opts.clients,
        changes: opts.changes,
        setup,
        delays_ms,
        missed,
        cpu_share,
        rss_mib,
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

impl Report {
    pub fn print(&self) {
        let d = &self.delays_ms;
        println!(
            "{} clients registered, named, synced and subscribed in {:.1} s; {} Person changes",
            self.clients,
            self.setup.as_secs_f64(),
            self.changes
        );
        println!(
            "  {} of {} deliveries reached the local list; write → every list: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            d.len(),
            self.clients * self.changes,
            percentile(d, 0.5),
            percentile(d, 0.99),
            d.last().copied().unwrap_or(f64::NAN)
        );
        println!(
            "  whole process (mock + {} clients) during the changes: {:.0}% of one core, RSS {:.0} MiB",
            self.clients,
            self.cpu_share * 100.0,
            self.rss_mib
        );
    }

    /// Every change reached every client.
    pub fn check(&self) -> Result<(), String> {
        if self.missed > 0 {
            return Err(format!(
                "{} deliveries missed (a change that never reached a client's list)",
                self.missed
            ));
        }
        Ok(())
    }
}
