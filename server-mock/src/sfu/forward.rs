//! Forwarding: each publisher's RTP copied to every subscriber's track, through the link
//! conditioner (`crate::link`) when one is set, with held-back copies released on time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

/// A forwarding track on one subscriber's connection, with the SSRC it was created with.
pub(super) struct Sink {
    pub(super) to: String,
    pub(super) track: Arc<TrackLocalStaticRTP>,
    pub(super) ssrc: u32,
    /// The subscriber's downlink (the link conditioner), and the queue of copies it holds
    /// back (started on the first delayed copy).
    pub(super) link: crate::link::LinkSlot,
    pub(super) delayed:
        Arc<std::sync::OnceLock<mpsc::UnboundedSender<(std::time::Instant, rtc::rtp::Packet)>>>,
    /// The subscriber's connection has come up: nothing is written to it before.
    pub(super) up: Arc<std::sync::atomic::AtomicBool>,
}

/// Copies each packet of a publisher's track to every subscriber. Where the link conditioner
/// is off (both links perfect, the usual case) a copy is written at once; otherwise the
/// publisher's uplink and then each subscriber's downlink decide whether it is lost, when it
/// goes out, and whether twice, and copies held back wait in that subscriber's release queue.
pub(super) async fn forward(
    track: Arc<dyn TrackRemote>,
    sinks: Arc<Mutex<Vec<Sink>>>,
    uplink: crate::link::LinkSlot,
    stats: Arc<crate::forwarding::ForwardingStats>,
) {
    type Target = (
        Arc<TrackLocalStaticRTP>,
        u32,
        crate::link::LinkSlot,
        Arc<std::sync::OnceLock<mpsc::UnboundedSender<(std::time::Instant, rtc::rtp::Packet)>>>,
    );
    // Reused for every packet: the forwarding path allocates no plan of its own.
    let mut arrivals: Vec<std::time::Instant> = Vec::new();
    let mut plan: Vec<(usize, std::time::Instant)> = Vec::new();
    while let Some(ev) = track.poll().await {
        let TrackRemoteEvent::OnRtpPacket(packet) = ev else {
            continue;
        };
        let read_at = std::time::Instant::now();
        // What the packet takes on the wire: RTP header, SRTP's auth tag, UDP, IPv4.
        let size = packet.payload.len() + 12 + 10 + 8 + 20;
        arrivals.clear();
        match uplink.lock().expect("link lock").as_mut() {
            None => arrivals.push(read_at),
            Some(link) => arrivals.extend(link.offer(read_at, size)),
        }
        let targets: Vec<Target> = sinks
            .lock()
            .expect("sinks lock")
            .iter()
            .filter(|s| s.up.load(std::sync::atomic::Ordering::SeqCst))
            .map(|s| (s.track.clone(), s.ssrc, s.link.clone(), s.delayed.clone()))
            .collect();
        // When each copy goes out, per target (the conditioner may drop or double it).
        plan.clear();
        for (i, (_, _, link, _)) in targets.iter().enumerate() {
            let mut link = link.lock().expect("link lock");
            for at in &arrivals {
                match link.as_mut() {
                    None => plan.push((i, *at)),
                    Some(l) => plan.extend(l.offer(*at, size).into_iter().map(|t| (i, t))),
                }
            }
        }
        stats.packet(plan.len());
        for &(i, at) in &plan {
            let (t, ssrc, _, delayed) = &targets[i];
            let mut out = packet.clone();
            out.header.ssrc = *ssrc;
            // The publisher's header extensions (its MID above all) name its own session's
            // ids; carried over they would misroute the packet at the subscriber.
            out.header.extension = false;
            out.header.extensions.clear();
            out.header.extension_profile = 0;
            out.header.extensions_padding = 0;
            if at <= read_at {
                let ok = t.write_rtp(out).await.is_ok();
                stats.copy(ok, read_at.elapsed());
            } else {
                let queue = delayed.get_or_init(|| {
                    let (tx, rx) = mpsc::unbounded_channel();
                    tokio::spawn(release_delayed(t.clone(), rx, stats.clone()));
                    tx
                });
                let _ = queue.send((at, out));
            }
        }
    }
}

/// One subscriber's copies held back by the link conditioner, each written at its time (so a
/// later copy with less delay overtakes an earlier one). Ends when its sink is gone.
async fn release_delayed(
    track: Arc<TrackLocalStaticRTP>,
    mut rx: mpsc::UnboundedReceiver<(std::time::Instant, rtc::rtp::Packet)>,
    stats: Arc<crate::forwarding::ForwardingStats>,
) {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut heap: BinaryHeap<Reverse<(std::time::Instant, u64)>> = BinaryHeap::new();
    let mut held: HashMap<u64, rtc::rtp::Packet> = HashMap::new();
    let mut next = 0u64;
    let mut open = true;
    while open || !heap.is_empty() {
        let due = heap
            .peek()
            .map(|Reverse((at, _))| tokio::time::Instant::from_std(*at));
        tokio::select! {
            msg = rx.recv(), if open => match msg {
                Some((at, packet)) => {
                    heap.push(Reverse((at, next)));
                    held.insert(next, packet);
                    next += 1;
                }
                None => open = false,
            },
            _ = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)), if due.is_some() => {
                while let Some(Reverse((at, id))) = heap.peek().copied() {
                    if at > std::time::Instant::now() {
                        break;
                    }
                    heap.pop();
                    if let Some(p) = held.remove(&id) {
                        let ok = track.write_rtp(p).await.is_ok();
                        stats.held_copy(ok);
                    }
                }
            }
        }
    }
}

pub(super) fn rand_ssrc() -> u32 {
    (uuid::Uuid::new_v4().as_u128() & 0xffff_ffff) as u32
}
