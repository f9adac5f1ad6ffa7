//! The clocks of a joined media session, each a task of its own: the send clock (every
//! 20 ms a frame from the app, Opus-encoded, as one RTP packet; DTX), a receive task per
//! remote track (its RTP into its own voice, `media::voice`), the playout clock (every 20 ms
//! each voice's next frame, mixed for the app by `media::mixer`) and the stats clock (once a second:
//! the encoder's expected loss and bitrate from what the far end reports and what we see,
//! and the `Stats` event). `session` starts them and holds their handles.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc::rtp;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{RTCStatsReportEntry, StatsSelector};

use crate::media::audio_bridge::AudioBridge;
use crate::media::codec::Encoder;
use crate::media::link::{mark, MediaEvent, MediaEvents, MediaStats, Timings};
use crate::media::mixer::Mixer;
use crate::media::peer::{Peer, OPUS_PAYLOAD_TYPE};
use crate::media::voice::{Voice, Voices};
use crate::media::{FRAME_MS, FRAME_SAMPLES, FRAME_TIMESTAMP_STEP};

const STATS_INTERVAL: Duration = Duration::from_secs(1);
/// How often levels go out: one speech window (`media::speech`).
const LEVELS_INTERVAL: Duration = Duration::from_millis(200);

/// What the stats clock tells the send clock, from the loss the far end reports: the loss
/// the encoder's FEC is sized for (percent) and its bitrate (`media::bitrate`); and whether
/// the far end asked for DTX (its SDP answer); and the call's own mute.
pub(crate) struct SendControl {
    loss: std::sync::atomic::AtomicU8,
    bitrate: std::sync::atomic::AtomicU32,
    dtx: std::sync::atomic::AtomicBool,
    /// Payload bytes sent (for stats).
    bytes_sent: std::sync::atomic::AtomicU64,
    /// The call's mute (`SessionOwner`): silence goes out while it is set.
    muted: Arc<std::sync::atomic::AtomicBool>,
    /// Whether the publishing connection is up (ICE and DTLS): until it is, and while it is
    /// down, nothing is written (an RTP packet before the SRTP keys exist is only an error).
    path_up: std::sync::atomic::AtomicBool,
}

impl SendControl {
    /// The control of a session sending for a call whose mute is `muted`.
    pub(crate) fn for_call(muted: Arc<std::sync::atomic::AtomicBool>) -> Self {
        Self {
            muted,
            ..Self::default()
        }
    }

    /// The publishing connection came up (`true`) or went down.
    pub(crate) fn set_path_up(&self, up: bool) {
        self.path_up.store(up, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether the far end's answer asked for DTX.
    pub(crate) fn set_dtx(&self, dtx: bool) {
        self.dtx.store(dtx, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Default for SendControl {
    fn default() -> Self {
        Self {
            loss: std::sync::atomic::AtomicU8::new(crate::media::codec::MIN_EXPECTED_LOSS),
            bitrate: std::sync::atomic::AtomicU32::new(crate::media::bitrate::START_BPS),
            dtx: std::sync::atomic::AtomicBool::new(false),
            bytes_sent: std::sync::atomic::AtomicU64::new(0),
            muted: Arc::default(),
            path_up: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

/// Every 20 ms: a frame from the app (or the tone), Opus-encoded, as one RTP packet. With
/// DTX, silence is sent as one DTX frame and then nothing (Opus's own comfort-noise updates
/// aside) until speech resumes, as libwebrtc does: the timestamp moves on, the sequence
/// number does not, so the far end knows a pause from a loss.
pub(crate) async fn send_clock(
    bridge: Arc<AudioBridge>,
    track: Arc<TrackLocalStaticRTP>,
    ssrc: u32,
    send_control: Arc<SendControl>,
) {
    let Ok(mut encoder) = Encoder::new() else {
        return;
    };
    let mut frame = [0i16; FRAME_SAMPLES];
    // One buffer for many packets: each packet's payload is a split of it.
    let mut arena = BytesMut::with_capacity(64 * 1024);
    let mut seq: u16 = (ssrc >> 16) as u16;
    let mut timestamp: u32 = ssrc.rotate_left(7);
    let mut tick = tokio::time::interval(Duration::from_millis(FRAME_MS as u64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut first = true;
    let mut in_dtx = false;
    loop {
        tick.tick().await;
        bridge.next_capture_frame(
            &mut frame,
            send_control
                .muted
                .load(std::sync::atomic::Ordering::Relaxed),
        );
        // The capture ring is still read (and the local level kept) while nothing can go out.
        if !send_control
            .path_up
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            continue;
        }
        encoder.set_dtx(
            send_control.dtx.load(std::sync::atomic::Ordering::Relaxed) && bridge.dtx_allowed(),
        );
        encoder.expect_loss(send_control.loss.load(std::sync::atomic::Ordering::Relaxed));
        encoder.set_bitrate(
            send_control
                .bitrate
                .load(std::sync::atomic::Ordering::Relaxed),
        );
        let Ok(payload) = encoder.encode(&frame) else {
            continue;
        };
        let dtx_frame = payload.len() <= crate::media::jitter::MAX_DTX_PAYLOAD;
        if dtx_frame && in_dtx {
            timestamp = timestamp.wrapping_add(FRAME_TIMESTAMP_STEP);
            continue;
        }
        in_dtx = dtx_frame;
        send_control
            .bytes_sent
            .fetch_add(payload.len() as u64, std::sync::atomic::Ordering::Relaxed);
        if arena.capacity() < payload.len() {
            arena.reserve(64 * 1024);
        }
        arena.extend_from_slice(payload);
        let packet = rtp::Packet {
            header: rtp::Header {
                version: 2,
                payload_type: OPUS_PAYLOAD_TYPE,
                sequence_number: seq,
                timestamp,
                ssrc,
                marker: first,
                ..Default::default()
            },
            payload: arena.split().freeze(),
        };
        first = false;
        if track.write_rtp(packet).await.is_err() {
            tracing::debug!(target: "dialtone::media", "send track closed");
        }
        seq = seq.wrapping_add(1);
        timestamp = timestamp.wrapping_add(FRAME_TIMESTAMP_STEP);
    }
}

/// One remote track's packets into its own voice (`media::voice`), until the track ends or
/// the session stops this task (an offer removed the stream).
pub(crate) async fn receive(
    track: Arc<dyn TrackRemote>,
    voice: Arc<Mutex<Voice>>,
    wake_playout: Arc<tokio::sync::Notify>,
) {
    while let Some(ev) = track.poll().await {
        if let TrackRemoteEvent::OnRtpPacket(p) = ev {
            let stopped = crate::sync::lock(&voice).on_packet(
                p.header.sequence_number,
                p.header.timestamp,
                &p.payload,
            );
            if stopped {
                wake_playout.notify_one();
            }
        }
    }
}

/// Every 20 ms: each voice's next frame (decoded, concealed or spliced), mixed (`media::mixer`)
/// for the app. While no voice plays (before the first packet, after a stall) a packet that
/// comes wakes the clock at once and its 20 ms ticks start over from there: the first audio is
/// not held until the next tick, and the ticks fall just after the packets' arrival instead
/// of up to a frame later. A voice that starts while another plays keeps the clock's ticks.
pub(crate) async fn playout_clock(
    bridge: Arc<AudioBridge>,
    voices: Arc<Voices>,
    wake: Arc<tokio::sync::Notify>,
    events: MediaEvents,
    timings: Arc<Mutex<Timings>>,
) {
    let mut mixer = Mixer::default();
    let mut frame = [0i16; FRAME_SAMPLES];
    let mut mixed = [0i16; FRAME_SAMPLES];
    let mut tick = tokio::time::interval(Duration::from_millis(FRAME_MS as u64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut connected = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = wake.notified() => {
                if voices.any_playing() {
                    continue; // a wake that came while the clock was busy, or a voice
                              // joining others: the next tick takes it
                }
                tick.reset();
            }
        }
        voices.mix_into(&mut mixer, &mut frame);
        if !mixer.finish(&mut mixed) {
            // A stall mid-call (the network, or every sender paused): the app hears
            // silence, and the level and tone history say so instead of repeating the last
            // audio.
            if connected {
                bridge.deliver_playback_frame(&mixed);
            }
            continue;
        }
        bridge.deliver_playback_frame(&mixed);
        if !connected {
            connected = true;
            mark(&timings, |t| &mut t.first_audio);
            let _ = events.send(MediaEvent::Connected);
        }
    }
}

pub(crate) async fn stats_clock(
    bridge: Arc<AudioBridge>,
    publish: Peer,
    voices: Arc<Voices>,
    send_control: Arc<SendControl>,
    events: MediaEvents,
) {
    let mut tick = tokio::time::interval(STATS_INTERVAL);
    tick.tick().await;
    let mut levels = tokio::time::interval(LEVELS_INTERVAL);
    levels.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut rate = crate::media::bitrate::RateController::default();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = levels.tick() => {
                let event = MediaEvent::Levels {
                    local: bridge.local_level(),
                    streams: voices.levels(),
                };
                if events.send(event).is_err() {
                    return;
                }
                continue;
            }
        }
        let report = publish.get_stats(Instant::now(), StatsSelector::None).await;
        let rtt_ms = report.iter().find_map(|e| match e {
            RTCStatsReportEntry::IceCandidatePair(p) if p.current_round_trip_time > 0.0 => {
                Some(p.current_round_trip_time * 1000.0)
            }
            _ => None,
        });
        // The loss to size FEC for: what the far end reports for what we send (RTCP), or,
        // when that is lower, what we lost of what it sent in the last interval (links are
        // mostly as bad both ways, and an SFU reports only its own leg).
        let reported = report.iter().find_map(|e| match e {
            RTCStatsReportEntry::RemoteInboundRtp(r) => Some(r.fraction_lost),
            _ => None,
        });
        let (seen, queue_ms) = voices.end_interval();
        // The path back is taken to be like the path out (as for loss): a queue building on
        // what we receive says the sender should back off, and so should we.
        if let Some(lost) = reported.into_iter().chain(seen).reduce(f64::max) {
            use std::sync::atomic::Ordering::Relaxed;
            let previous = send_control.loss.load(Relaxed);
            let next = crate::media::codec::next_expected_loss(previous, lost);
            let before = rate.rate();
            let next_rate = rate.update(lost, queue_ms);
            if next != previous || next_rate != before {
                tracing::debug!(target: "dialtone::media", "{:.1} % loss, {:.0} ms queue; FEC sized for {next} %, {next_rate} bit/s", lost * 100.0, queue_ms.unwrap_or(0.0));
            }
            send_control.loss.store(next, Relaxed);
            send_control.bitrate.store(next_rate, Relaxed);
        }
        let mut stats = MediaStats {
            rtt_ms,
            bytes_sent: send_control
                .bytes_sent
                .load(std::sync::atomic::Ordering::Relaxed),
            target_bitrate_bps: rate.rate(),
            ..MediaStats::default()
        };
        voices.receive_stats(&mut stats);
        let _ = events.send(MediaEvent::AudioLevel {
            local: bridge.local_level(),
            remote: bridge.remote_level(),
        });
        if events.send(MediaEvent::Stats(stats)).is_err() {
            return;
        }
    }
}
