//! Rooms under load (issue 24): R rooms of N full clients each (the core's `Engine`: REST,
//! `/ws` presence, v3 signaling, webrtc-rs, Opus tones), every member publishing and
//! hearing the N-1 others through the mock's SFU. Rooms are filled one after another; the
//! last entrant of each is timed from `enterRoom` to hearing every other tone. Then a steady
//! phase of media only, and everyone leaves. The figures are the SFU's (every copy's outcome
//! and delay), the receivers' (per stream), the entry times, CPU and RSS.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dialtone::testing::{Endpoints, Engine, PushKind, RoomHandle, RoomUpdate, Source};
use dialtone_mock::forwarding::ForwardingReport;
use dialtone_mock::MockServer;
use futures_util::stream::{self, StreamExt};

/// Sixteen tones 300–1900 Hz, 60 Hz or more apart, off each other's 2nd and 3rd harmonics
/// (one per member of a room of the largest size).
const TONES: [f32; 16] = [
    300.0, 460.0, 690.0, 980.0, 1050.0, 1110.0, 1180.0, 1240.0, 1300.0, 1470.0, 1530.0, 1600.0,
    1660.0, 1720.0, 1790.0, 1900.0,
];

pub struct Options {
    pub rooms: usize,
    pub size: usize,
    pub seconds: u64,
}

pub struct Report {
    pub opts_rooms: usize,
    pub size: usize,
    pub fill: Duration,
    /// Each room's last entrant: `enterRoom` to hearing the N-1 others.
    pub last_entry_ms: Vec<f64>,
    pub steady: Duration,
    pub sfu: ForwardingReport,
    pub received: u64,
    pub lost_at_receivers: u64,
    /// Members whose last stats did not list N-1 streams.
    pub short_members: usize,
    pub cpu_share: f64,
    pub rss_mib: f64,
    pub left_over: (usize, usize),
}

pub async fn run(m: &MockServer, opts: &Options) -> Result<Report, String> {
    if opts.size < 2 || opts.size > TONES.len() {
        return Err(format!("a room has 2 to {} members", TONES.len()));
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let endpoints = Endpoints::mock(&m.base_url(), dialtone_mock::DEFAULT_API_KEY)
        .map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Handle::current();
    let total = opts.rooms * opts.size;
    let mut engines = Vec::new();
    for i in 0..total {
        let e = Engine::open(
            endpoints.clone(),
            &dir.path().join(i.to_string()),
            rt.clone(),
        )
        .map_err(|e| format!("client {i}: {e}"))?;
        e.audio().set_source(Source::Tone(TONES[i % opts.size]));
        engines.push(e);
    }
    stream::iter(engines.iter().enumerate())
        .map(|(i, e)| async move { e.register(PushKind::Fcm, &format!("room-load-{i}")).await })
        .buffered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("register: {e}"))?;

    let started = Instant::now();
    let mut rooms: Vec<Arc<RoomHandle>> = Vec::new();
    let mut last_entry_ms = Vec::new();
    for r in 0..opts.rooms {
        let members = &engines[r * opts.size..(r + 1) * opts.size];
        let first = members[0]
            .create_room()
            .await
            .map_err(|e| format!("createRoom: {e}"))?;
        let id = first.id().to_string();
        rooms.push(first);
        for (i, e) in members.iter().enumerate().skip(1) {
            let entered = Instant::now();
            rooms.push(
                e.enter_room(&id)
                    .await
                    .map_err(|e| format!("enterRoom: {e}"))?,
            );
            if i + 1 == opts.size {
                let others: Vec<f32> = TONES[..opts.size - 1].to_vec();
                let deadline = entered + Duration::from_secs(20);
                while e.audio().remote_frequencies(&TONES[..opts.size]) != others {
                    if Instant::now() > deadline {
                        return Err(format!("room {r}'s last entrant did not hear the others"));
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                last_entry_ms.push(entered.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    let fill = started.elapsed();

    let queues: Vec<_> = rooms.iter().map(|r| r.subscribe()).collect();
    // Let every member's first interval of stats pass before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    m.reset_forwarding();
    let (cpu0, t0) = (crate::process::cpu_time(), Instant::now());
    tokio::time::sleep(Duration::from_secs(opts.seconds)).await;
    let sfu = m.forwarding();
    let steady = t0.elapsed();
    let cpu_share = (crate::process::cpu_time() - cpu0).as_secs_f64() / steady.as_secs_f64();
    let rss_mib = crate::process::rss_mib();
    let (mut received, mut lost_at_receivers, mut short_members) = (0, 0, 0);
    for q in &queues {
        let mut last = None;
        while let Some(u) = q.pop_now() {
            if let RoomUpdate::Stats(s) = u {
                last = Some(s);
            }
        }
        match last {
            Some(s) => {
                received += s.packets_received;
                lost_at_receivers += s.packets_lost;
                if s.streams.len() != opts.size - 1 {
                    short_members += 1;
                }
            }
            None => short_members += 1,
        }
    }
    for r in &rooms {
        r.leave().await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while m.media_counts() != (0, 0) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let left_over = m.media_counts();
    for e in &engines {
        e.shutdown();
    }
    Ok(Report {
        opts_rooms: opts.rooms,
        size: opts.size,
        fill,
        last_entry_ms,
        steady,
        sfu,
        received,
        lost_at_receivers,
        short_members,
        cpu_share,
        rss_mib,
        left_over,
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

impl Report {
    pub fn print(&self) {
        let s = &self.sfu;
        let per_s = |n: u64| n as f64 / self.steady.as_secs_f64();
        let mut entry = self.last_entry_ms.clone();
        entry.sort_by(f64::total_cmp);
        println!(
            "{} rooms of {} ({} clients, filled in {:.1} s), steady for {:.0} s",
            self.opts_rooms,
            self.size,
            self.opts_rooms * self.size,
            self.fill.as_secs_f64(),
            self.steady.as_secs_f64()
        );
        println!(
            "  last entrant of each room, enterRoom → hearing the {} others: p50 {:.0} ms, max {:.0} ms ({} rooms)",
            self.size - 1,
            percentile(&entry, 0.5),
            percentile(&entry, 1.0),
            entry.len()
        );
        println!(
            "  SFU: {} packets in ({:.0}/s), {} copies out ({:.0}/s) of {} expected: {} lost",
            s.packets_in,
            per_s(s.packets_in),
            s.copies_written,
            per_s(s.copies_written),
            s.copies_expected,
            s.copies_lost
        );
        println!(
            "  SFU forwarding delay per copy (read → written, 5 µs buckets): p50 ≤ {} µs, p99 ≤ {} µs, p99.9 ≤ {} µs, max {:.2} ms",
            s.p50_us,
            s.p99_us,
            s.p999_us,
            s.max_us as f64 / 1e3
        );
        println!(
            "  receivers: {} packets, {} counted lost (sequence gaps); members not decoding {} streams: {}",
            self.received,
            self.lost_at_receivers,
            self.size - 1,
            self.short_members
        );
        println!(
            "  whole process (mock + {} clients): {:.0}% of one core, RSS {:.0} MiB; after everyone left the SFU holds {:?}",
            self.opts_rooms * self.size,
            self.cpu_share * 100.0,
            self.rss_mib,
            self.left_over
        );
    }

    /// What must hold whatever the machine: no copy lost, every member decoding every
    /// other stream, everything released.
    pub fn check(&self) -> Result<(), String> {
        if self.sfu.copies_lost > 0 {
            return Err(format!("the SFU lost {} copies", self.sfu.copies_lost));
        }
        if self.sfu.packets_in == 0 {
            return Err("nothing was forwarded".into());
        }
        if self.short_members > 0 {
            return Err(format!(
                "{} members did not decode {} streams",
                self.short_members,
                self.size - 1
            ));
        }
        if self.left_over != (0, 0) {
            return Err(format!("the SFU still holds {:?}", self.left_over));
        }
        Ok(())
    }
}

/// `room-cycles`: three members stay in a room while a fourth client enters and leaves
/// `cycles` times, as a phone going in and out of a group call all day. The process's RSS
/// after the first 5 cycles (warm: allocator pools, codec tables) and after the last; the
/// tasks left; the SFU after.
pub async fn cycles(m: &MockServer, cycles: usize) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let endpoints = Endpoints::mock(&m.base_url(), dialtone_mock::DEFAULT_API_KEY)
        .map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Handle::current();
    let mut engines = Vec::new();
    for (i, tone) in TONES.iter().take(4).enumerate() {
        let e = Engine::open(
            endpoints.clone(),
            &dir.path().join(i.to_string()),
            rt.clone(),
        )
        .map_err(|e| format!("client {i}: {e}"))?;
        e.audio().set_source(Source::Tone(*tone));
        e.register(PushKind::Fcm, &format!("cycle-{i}"))
            .await
            .map_err(|e| format!("register: {e}"))?;
        engines.push(e);
    }
    let first = engines[0].create_room().await.map_err(|e| e.to_string())?;
    let id = first.id().to_string();
    let mut stay = vec![first];
    for e in &engines[1..3] {
        stay.push(e.enter_room(&id).await.map_err(|e| e.to_string())?);
    }
    let churner = &engines[3];
    let mut warm_rss = 0.0;
    let started = Instant::now();
    for c in 0..cycles {
        let room = churner
            .enter_room(&id)
            .await
            .map_err(|e| format!("cycle {c}: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while churner.audio().remote_frequencies(&TONES[..4]) != TONES[..3] {
            if Instant::now() > deadline {
                return Err(format!(
                    "cycle {c}: the entrant did not hear the three others"
                ));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        room.leave().await;
        if c + 1 == 5.min(cycles) {
            warm_rss = crate::process::rss_mib();
        }
    }
    let end_rss = crate::process::rss_mib();
    let elapsed = started.elapsed();
    for r in &stay {
        r.leave().await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while m.media_counts() != (0, 0) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "{cycles} enter/leave cycles beside three members in {:.1} s: RSS {:.1} MiB after 5, {:.1} MiB after {cycles} (growth {:+.2} MiB); the SFU holds {:?} after",
        elapsed.as_secs_f64(),
        warm_rss,
        end_rss,
        end_rss - warm_rss,
        m.media_counts()
    );
    for e in &engines {
        e.shutdown();
    }
    if m.media_counts() != (0, 0) {
        return Err(format!("the SFU still holds {:?}", m.media_counts()));
    }
    Ok(())
}
