//! Joining a media session with a participant token: the v3 signaling socket (JSON-RPC with
//! request ids and timeouts), the publishing connection (audio track, negotiated
//! `__heartbeat__`/`__diagnostics__`, `offerSdp`, ICE-restart re-offers), the subscribing
//! connection (answers `sdpOffer`, ignores stale revisions, `answerSdp`), heartbeat PONGs,
//! the periodic `ping`, and the 20 ms send and playout clocks around the Opus codec and the
//! jitter buffer. `leave` tears it all down. Call state (who, why it ended) is the caller's.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc::data_channel::RTCDataChannelInit;
use rtc::peer_connection::configuration::RTCOfferOptions;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::rtp;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;
use tokio_tungstenite::tungstenite::Message;
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{RTCPeerConnectionState, RTCStatsReportEntry, StatsSelector};

use crate::media::audio_bridge::AudioBridge;
use crate::media::codec::{Decoder, Encoder};
use crate::media::jitter::{JitterBuffer, Playout};
use crate::media::peer::{self, IcePolicy, Peer, PeerEvent, OPUS_PAYLOAD_TYPE};
use crate::media::signaling::{self, PublishAnswer, RevisionGate, RpcError, SubscribeOffer};
use crate::media::signaling_link::{self, LinkEvent};
use crate::media::{FRAME_MS, FRAME_SAMPLES, FRAME_TIMESTAMP_STEP};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const RPC_TIMEOUT: Duration = Duration::from_secs(10);
const GATHER_TIMEOUT: Duration = Duration::from_secs(3);
const STATS_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum MediaError {
    /// The gateway refused the participant token (invalid, expired, wrong version, ended).
    #[error("participant token refused (HTTP {status}): {message}")]
    TokenRefused { status: u16, message: String },
    /// The signaling socket could not be opened.
    #[error("cannot reach the signaling gateway: {0}")]
    Connect(#[source] crate::backend::websocket::ConnectError),
    /// The gateway answered a request with a JSON-RPC error.
    #[error("{method} failed: {} ({})", .error.message, .error.code)]
    Rpc {
        method: String,
        error: signaling::RpcError,
    },
    /// A reply did not have the shape the protocol says.
    #[error("{what}: {source}")]
    Reply {
        what: String,
        #[source]
        source: JsonCause,
    },
    /// The signaling socket closed, timed out, or said something impossible.
    #[error("signaling: {0}")]
    Signaling(String),
    /// webrtc-rs failed; its error is the cause.
    #[error("webrtc: {0}")]
    WebRtc(#[source] WebRtcCause),
    /// Negotiation could not proceed (no candidate gathered, no subscribing connection).
    #[error("webrtc: {0}")]
    Negotiation(String),
}

pub type WebRtcCause = crate::error::Cause<webrtc::error::Error>;
pub type JsonCause = crate::error::Cause<serde_json::Error>;

impl From<webrtc::error::Error> for MediaError {
    fn from(e: webrtc::error::Error) -> Self {
        MediaError::WebRtc(crate::error::Cause(Arc::new(e)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEnd {
    /// We left (hangup).
    Left,
    /// The gateway closed the signaling socket (the session ended, or the gateway failed).
    SignalingClosed,
    /// ICE could not be restored.
    ConnectionFailed,
    /// The signaling socket was lost and did not come back within the recovery budget (or
    /// the gateway refused to resume it); the text says which.
    ConnectionLost(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum MediaEvent {
    Connecting,
    /// Remote audio is arriving and decoding.
    Connected,
    Reconnecting,
    Ended(MediaEnd),
    AudioLevel {
        local: f32,
        remote: f32,
    },
    Stats(MediaStats),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MediaStats {
    pub rtt_ms: Option<f64>,
    pub jitter_ms: f64,
    pub packets_received: u64,
    pub packets_lost: u64,
    pub packet_loss: f32,
    /// Samples (48 kHz) of lost frames Opus concealed, and of those rebuilt from FEC.
    pub concealed_samples: u64,
    pub fec_recovered_samples: u64,
    /// The delay the jitter buffer aims for now (W3C `jitterBufferTargetDelay`, per packet).
    pub jitter_buffer_target_ms: u32,
    /// Samples played to grow the delay and left out to shrink it (W3C
    /// `insertedSamplesForDeceleration`, `removedSamplesForAcceleration`).
    pub inserted_samples_for_deceleration: u64,
    pub removed_samples_for_acceleration: u64,
    /// Payload bytes sent and received (W3C `bytesSent`, `bytesReceived`).
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// The encoder's bitrate now, bit/s (W3C `targetBitrate`).
    pub target_bitrate_bps: u32,
}

/// Milestones of one join, for the setup benchmark.
#[derive(Debug, Clone, Default)]
pub struct Timings {
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub started: Option<Instant>,
    pub socket_open: Option<Instant>,
    pub published: Option<Instant>,
    pub ice_connected: Option<Instant>,
    pub dtls_connected: Option<Instant>,
    pub first_audio: Option<Instant>,
}

struct Rpc {
    out: mpsc::UnboundedSender<Message>,
    pending: Mutex<HashMap<u64, oneshot::Sender<Result<Value, RpcError>>>>,
    next_id: AtomicU64,
}

impl Rpc {
    async fn call(&self, method: &str, params: Value) -> Result<Value, MediaError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        crate::sync::lock(&self.pending).insert(id, tx);
        if self
            .out
            .send(Message::text(signaling::request(id, method, params)))
            .is_err()
        {
            crate::sync::lock(&self.pending).remove(&id);
            return Err(MediaError::Signaling(
                "the signaling socket is closed".into(),
            ));
        }
        match tokio::time::timeout(RPC_TIMEOUT, rx).await {
            Ok(Ok(Ok(v))) => Ok(v),
            Ok(Ok(Err(error))) => Err(MediaError::Rpc {
                method: method.to_string(),
                error,
            }),
            Ok(Err(_)) => Err(MediaError::Signaling(format!(
                "{method}: the signaling socket closed"
            ))),
            Err(_) => {
                crate::sync::lock(&self.pending).remove(&id);
                Err(MediaError::Signaling(format!(
                    "{method}: no answer within {RPC_TIMEOUT:?}"
                )))
            }
        }
    }

    fn notify(&self, method: &str, params: Value) {
        let _ = self
            .out
            .send(Message::text(signaling::notification(method, params)));
    }

    fn fail_all(&self) {
        crate::sync::lock(&self.pending).clear();
    }
}

impl signaling_link::Responses for Rpc {
    fn respond(&self, id: u64, result: Result<Value, RpcError>) {
        if let Some(tx) = crate::sync::lock(&self.pending).remove(&id) {
            let _ = tx.send(result);
        }
    }

    fn fail_all(&self) {
        Rpc::fail_all(self);
    }
}

/// A joined media session. Dropping it aborts everything; `leave` does it politely.
pub struct MediaSession {
    rpc: Arc<Rpc>,
    publish: Peer,
    stream_id: String,
    subscribe: Arc<tokio::sync::Mutex<Option<Peer>>>,
    tasks: Vec<AbortHandle>,
    events: mpsc::UnboundedSender<MediaEvent>,
    pub timings: Arc<Mutex<Timings>>,
    /// An ICE restart asked for by the app (network change) did not get its answer: the
    /// publishing connection holds an offer the gateway never saw, so the driver re-publishes
    /// once the socket is back.
    republish: Arc<std::sync::atomic::AtomicBool>,
}

fn negotiated(id: u16) -> Option<RTCDataChannelInit> {
    Some(RTCDataChannelInit {
        negotiated: Some(id),
        ordered: true,
        ..Default::default()
    })
}

async fn add_negotiated_channels(pc: &Peer) -> Result<Arc<dyn DataChannel>, MediaError> {
    let heartbeat = pc
        .create_data_channel(
            signaling::HEARTBEAT_LABEL,
            negotiated(signaling::HEARTBEAT_CHANNEL_ID),
        )
        .await?;
    pc.create_data_channel(
        signaling::DIAGNOSTICS_LABEL,
        negotiated(signaling::DIAGNOSTICS_CHANNEL_ID),
    )
    .await?;
    Ok(heartbeat)
}

/// Answers the gateway's PINGs for as long as the channel lives.
async fn heartbeat_responder(channel: Arc<dyn DataChannel>) {
    while let Some(ev) = channel.poll().await {
        if let DataChannelEvent::OnMessage(m) = ev {
            if &m.data[..] == b"PING" {
                let _ = channel.send_text("PONG").await;
            }
        }
    }
}

/// No trickle: after set_local_description, wait until the SDP carries our candidates.
async fn local_sdp_with_candidates(pc: &Peer) -> Result<String, MediaError> {
    let deadline = tokio::time::Instant::now() + GATHER_TIMEOUT;
    loop {
        if let Some(d) = pc.local_description().await {
            if d.sdp.contains("a=candidate") {
                return Ok(d.sdp);
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(MediaError::Negotiation(
                "ICE gathering found no candidate".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn mark(timings: &Mutex<Timings>, f: impl FnOnce(&mut Timings) -> &mut Option<Instant>) {
    let mut t = crate::sync::lock(timings);
    let slot = f(&mut t);
    if slot.is_none() {
        *slot = Some(Instant::now());
    }
}

impl MediaSession {
    /// `recovery_budget`: how long a lost signaling socket may take to come back before the
    /// session ends (`signaling_link::DEFAULT_BUDGET` unless the app set another).
    pub async fn join(
        signaling_url: &str,
        token: &str,
        ice: IcePolicy,
        bridge: Arc<AudioBridge>,
        events: mpsc::UnboundedSender<MediaEvent>,
        recovery_budget: Duration,
        renew: Option<signaling_link::TokenRenewer>,
    ) -> Result<MediaSession, MediaError> {
        let timings = Arc::new(Mutex::new(Timings {
            started: Some(Instant::now()),
            ..Default::default()
        }));
        let _ = events.send(MediaEvent::Connecting);
        let unique_id = uuid::Uuid::new_v4().to_string();
        let url = signaling::connect_url(signaling_url, token, &unique_id)
            .map_err(MediaError::Signaling)?;
        use crate::backend::websocket::{self, ConnectError};
        let ws = match websocket::connect(&url, &[], CONNECT_TIMEOUT, true).await {
            Ok(ws) => ws,
            Err(ConnectError::Timeout(_)) => {
                return Err(MediaError::Signaling(
                    "the signaling gateway did not answer in time".into(),
                ))
            }
            Err(ConnectError::Refused { status, body }) => {
                let message = serde_json::from_str::<Value>(&body)
                    .ok()
                    .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
                    .unwrap_or_else(|| body.trim().to_string());
                return Err(MediaError::TokenRefused { status, message });
            }
            Err(e) => return Err(MediaError::Connect(e)),
        };
        mark(&timings, |t| &mut t.socket_open);
        let (out_tx, out_rx) = mpsc::unbounded_channel::<Message>();
        let rpc = Arc::new(Rpc {
            out: out_tx,
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
        });
        let mut tasks = Vec::new();
        let (link_tx, link_rx) = mpsc::unbounded_channel::<LinkEvent>();
        let link = tokio::spawn(signaling_link::run(
            ws,
            url,
            recovery_budget,
            renew,
            rpc.clone(),
            out_rx,
            link_tx,
        ));
        tasks.push(link.abort_handle());

        let setup = async {
            rpc.call("setMediaPreferences", json!({"protocol": "WEBRTC"}))
                .await?;
            let (publish, pub_events) = peer::build(&ice).await?;
            let heartbeat = add_negotiated_channels(&publish).await?;
            let stream_id = uuid::Uuid::new_v4().to_string();
            let ssrc = (uuid::Uuid::new_v4().as_u128() & 0xffff_ffff) as u32;
            let track = peer::audio_track(&stream_id, ssrc);
            publish.add_track(track.clone()).await?;
            let dtx = offer_publish(&publish, &rpc, &stream_id, false).await?;
            mark(&timings, |t| &mut t.published);
            Ok::<_, MediaError>((publish, pub_events, heartbeat, track, ssrc, stream_id, dtx))
        };
        let (publish, pub_events, heartbeat, track, ssrc, stream_id, dtx) = match setup.await {
            Ok(v) => v,
            Err(e) => {
                for t in &tasks {
                    t.abort();
                }
                return Err(e);
            }
        };
        tasks.push(tokio::spawn(heartbeat_responder(heartbeat)).abort_handle());
        // From the loss the SFU reports for what we publish: the encoder's FEC and bitrate.
        let send_control = Arc::new(SendControl::default());
        send_control
            .dtx
            .store(dtx, std::sync::atomic::Ordering::Relaxed);
        tasks.push(
            tokio::spawn(send_clock(
                bridge.clone(),
                track,
                ssrc,
                send_control.clone(),
            ))
            .abort_handle(),
        );

        let jitter = Arc::new(Mutex::new(JitterBuffer::adaptive()));
        let rx_stats = Arc::new(Mutex::new(RxStats::default()));
        let wake_playout = Arc::new(tokio::sync::Notify::new());
        bridge.reset_remote();
        tasks.push(
            tokio::spawn(playout_clock(
                bridge.clone(),
                jitter.clone(),
                wake_playout.clone(),
                events.clone(),
                timings.clone(),
            ))
            .abort_handle(),
        );

        let subscribe: Arc<tokio::sync::Mutex<Option<Peer>>> = Arc::default();
        let republish = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let driver = Driver {
            rpc: rpc.clone(),
            ice,
            publish: publish.clone(),
            subscribe: subscribe.clone(),
            gate: RevisionGate::default(),
            jitter: jitter.clone(),
            wake_playout,
            rx_stats: rx_stats.clone(),
            events: events.clone(),
            timings: timings.clone(),
            stream_id: stream_id.clone(),
            children: Vec::new(),
            recovery_budget,
            republish: republish.clone(),
        };
        tasks.push(tokio::spawn(driver.run(link_rx, pub_events)).abort_handle());
        tasks.push(
            tokio::spawn(stats_clock(
                bridge,
                publish.clone(),
                rx_stats,
                jitter.clone(),
                send_control,
                events.clone(),
            ))
            .abort_handle(),
        );
        Ok(MediaSession {
            rpc,
            publish,
            stream_id,
            subscribe,
            tasks,
            events,
            timings,
            republish,
        })
    }

    /// Restarts ICE on the publishing connection now (the app saw the network change).
    /// The device's network changed: probe the signaling socket (a socket left on the old
    /// network is declared lost within `signaling_link::PROBE_TIMEOUT` and reconnected) and
    /// restart ICE.
    pub async fn restart_ice(&self) -> Result<(), MediaError> {
        let _ = self
            .rpc
            .out
            .send(Message::Ping(signaling_link::PROBE.to_vec().into()));
        let r = restart_ice(&self.publish, &self.rpc, &self.stream_id).await;
        if r.is_err() {
            self.republish
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        r
    }

    /// Hangup: `leave`, close the socket and both peer connections, stop every task.
    pub async fn leave(mut self) {
        self.rpc.notify("leave", json!({}));
        let _ = self.rpc.out.send(Message::Close(None));
        // Give the writer a moment to flush `leave` before it is aborted.
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.shutdown().await;
        let _ = self.events.send(MediaEvent::Ended(MediaEnd::Left));
    }

    async fn shutdown(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        let _ = self.publish.close().await;
        if let Some(sub) = self.subscribe.lock().await.take() {
            let _ = sub.close().await;
        }
    }
}

impl Drop for MediaSession {
    fn drop(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

#[derive(Default)]
struct RxStats {
    received: u64,
    base_seq: Option<u16>,
    highest: u64,
    cycles: u64,
    last_seq: u16,
    bytes: u64,
    jitter: f64,
    last_transit: Option<f64>,
    /// The standing queue on the path from the far end (the bitrate's delay signal).
    queue: crate::media::bitrate::QueueDelay,
}

impl RxStats {
    /// RFC 3550 §6.4.1 interarrival jitter and sequence-based loss accounting.
    fn on_packet(&mut self, seq: u16, rtp_ts: u32, bytes: usize, arrival: Instant, epoch: Instant) {
        self.received += 1;
        self.bytes += bytes as u64;
        match self.base_seq {
            None => {
                self.base_seq = Some(seq);
                self.last_seq = seq;
            }
            Some(_) => {
                if seq < self.last_seq && self.last_seq.wrapping_sub(seq) > 0x8000 {
                    self.cycles += 1 << 16;
                }
                if (seq.wrapping_sub(self.last_seq) as i16) > 0 {
                    self.last_seq = seq;
                }
            }
        }
        let extended = self.cycles + self.last_seq as u64;
        self.highest = self.highest.max(extended);
        let arrival_ts = arrival.duration_since(epoch).as_secs_f64() * 48_000.0;
        let transit = arrival_ts - rtp_ts as f64;
        if let Some(last) = self.last_transit {
            let d = (transit - last).abs();
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.last_transit = Some(transit);
        self.queue.on_transit(transit / 48.0);
    }

    fn expected(&self) -> u64 {
        self.base_seq
            .map(|b| self.highest.saturating_sub(b as u64) + 1)
            .unwrap_or(0)
    }
}

struct Driver {
    rpc: Arc<Rpc>,
    ice: IcePolicy,
    publish: Peer,
    subscribe: Arc<tokio::sync::Mutex<Option<Peer>>>,
    gate: RevisionGate,
    jitter: Arc<Mutex<JitterBuffer>>,
    /// Told when a packet comes while playout is stopped (`playout_clock`).
    wake_playout: Arc<tokio::sync::Notify>,
    rx_stats: Arc<Mutex<RxStats>>,
    events: mpsc::UnboundedSender<MediaEvent>,
    timings: Arc<Mutex<Timings>>,
    stream_id: String,
    children: Vec<AbortHandle>,
    /// How long the media path may stay failed while ICE restarts are tried.
    recovery_budget: Duration,
    /// Set by `MediaSession::restart_ice` when its offer went unanswered.
    republish: Arc<std::sync::atomic::AtomicBool>,
}

impl Driver {
    async fn run(
        mut self,
        mut link: mpsc::UnboundedReceiver<LinkEvent>,
        mut pub_events: mpsc::UnboundedReceiver<PeerEvent>,
    ) {
        let (sub_tx, mut sub_events) = mpsc::unbounded_channel::<PeerEvent>();
        let mut ping = tokio::time::interval(Duration::from_secs(signaling::PING_INTERVAL_SECS));
        ping.reset();
        // The media path (the publishing connection) and the signaling socket recover
        // independently; the call is Reconnecting while either is down.
        let mut media_down = false;
        let mut signaling_down = false;
        // A failed media path: ICE restarts with backoff until the budget runs out.
        let mut failed_since: Option<tokio::time::Instant> = None;
        let mut next_restart: Option<tokio::time::Instant> = None;
        let mut restart_backoff = crate::backend::backoff::Backoff::capped(Duration::from_secs(2));
        let end = loop {
            let restart_at = next_restart;
            tokio::select! {
                _ = tokio::time::sleep_until(restart_at.unwrap_or_else(tokio::time::Instant::now)), if restart_at.is_some() && !signaling_down => {
                    let since = failed_since.unwrap_or_else(tokio::time::Instant::now);
                    if since.elapsed() > self.recovery_budget {
                        break MediaEnd::ConnectionLost(format!(
                            "the media connection did not come back within {:?}", self.recovery_budget
                        ));
                    }
                    if let Err(e) = restart_ice(&self.publish, &self.rpc, &self.stream_id).await {
                        tracing::info!(target: "dialtone::media", "ICE restart failed ({e}); trying again");
                    }
                    // Connected clears this; another failure or no progress tries again.
                    next_restart = Some(tokio::time::Instant::now() + crate::backend::backoff::jitter(restart_backoff.peek()).max(Duration::from_millis(500)));
                    restart_backoff.wait_none();
                }
                n = link.recv() => match n {
                    Some(LinkEvent::Lost) => {
                        if !media_down && !signaling_down {
                            let _ = self.events.send(MediaEvent::Reconnecting);
                        }
                        signaling_down = true;
                    }
                    Some(LinkEvent::Restored) => {
                        signaling_down = false;
                        let unanswered = self.republish.swap(false, std::sync::atomic::Ordering::SeqCst);
                        if media_down || unanswered {
                            // The media path went too (or holds an offer the gateway never
                            // saw): publish again with an ICE restart; the SFU's next
                            // sdpOffer renews the subscribing side.
                            let prefs = self.rpc.call("setMediaPreferences", json!({"protocol": "WEBRTC"})).await;
                            if let Err(e) = prefs.and(restart_ice(&self.publish, &self.rpc, &self.stream_id).await) {
                                tracing::warn!(target: "dialtone::media", "re-publishing after the outage failed: {e}");
                            }
                        }
                        if !media_down {
                            // The media path is not known to be down: the call is back. (A
                            // down one reports Connected when its connection does.)
                            let _ = self.events.send(MediaEvent::Connected);
                        }
                    }
                    Some(LinkEvent::GaveUp(why)) => break MediaEnd::ConnectionLost(why),
                    Some(LinkEvent::Notification(method, params)) if method == "sdpOffer" => {
                        match serde_json::from_value::<SubscribeOffer>(params) {
                            Ok(offer) => {
                                if let Err(e) = self.on_subscribe_offer(offer, &sub_tx).await {
                                    tracing::warn!(target: "dialtone::media", "subscribe offer failed: {e}");
                                }
                            }
                            Err(e) => tracing::warn!(target: "dialtone::media", "malformed sdpOffer: {e}"),
                        }
                    }
                    Some(LinkEvent::Notification(method, _)) => tracing::debug!(target: "dialtone::media", "ignoring notification {method}"),
                    None => break MediaEnd::SignalingClosed,
                },
                ev = pub_events.recv() => match ev {
                    Some(PeerEvent::State(state)) => {
                        tracing::debug!(target: "dialtone::media", "publishing connection: {state}");
                        match state {
                            RTCPeerConnectionState::Connected => {
                                mark(&self.timings, |t| &mut t.ice_connected);
                                mark(&self.timings, |t| &mut t.dtls_connected);
                                failed_since = None;
                                next_restart = None;
                                restart_backoff.reset();
                                if media_down {
                                    media_down = false;
                                    if !signaling_down {
                                        let _ = self.events.send(MediaEvent::Connected);
                                    }
                                }
                            }
                            RTCPeerConnectionState::Disconnected => {
                                if !media_down && !signaling_down {
                                    let _ = self.events.send(MediaEvent::Reconnecting);
                                }
                                media_down = true;
                            }
                            RTCPeerConnectionState::Failed => {
                                if !media_down && !signaling_down {
                                    let _ = self.events.send(MediaEvent::Reconnecting);
                                }
                                media_down = true;
                                failed_since.get_or_insert_with(tokio::time::Instant::now);
                                // Restart now, then with backoff while it keeps failing (the
                                // restart waits for the signaling socket if that is down too).
                                next_restart.get_or_insert_with(tokio::time::Instant::now);
                            }
                            _ => {}
                        }
                    }
                    Some(_) => {}
                    None => break MediaEnd::ConnectionFailed,
                },
                ev = sub_events.recv() => {
                    if let Some(PeerEvent::Track(track)) = ev {
                        let handle = tokio::spawn(receive(
                            track,
                            self.jitter.clone(),
                            self.wake_playout.clone(),
                            self.rx_stats.clone(),
                        ));
                        self.children.push(handle.abort_handle());
                    }
                },
                _ = ping.tick() => self.rpc.notify_ping(),
            }
        };
        for c in self.children.drain(..) {
            c.abort();
        }
        let _ = self.events.send(MediaEvent::Ended(end));
    }

    async fn on_subscribe_offer(
        &mut self,
        offer: SubscribeOffer,
        sub_tx: &mpsc::UnboundedSender<PeerEvent>,
    ) -> Result<(), MediaError> {
        if !self.gate.is_newer(offer.sdp_revision) {
            tracing::debug!(target: "dialtone::media", "ignoring sdpOffer revision {}", offer.sdp_revision);
            return Ok(());
        }
        let mut slot = self.subscribe.lock().await;
        if slot.is_none() {
            // Answer passive, as Bandwidth's SDKs do (they munge the SDP; the setting engine
            // does it properly: munging a webrtc-rs answer leaves its DTLS role unchanged).
            let (pc, mut events) = peer::build_with(&self.ice, true).await?;
            let heartbeat = add_negotiated_channels(&pc).await?;
            self.children
                .push(tokio::spawn(heartbeat_responder(heartbeat)).abort_handle());
            let fwd = sub_tx.clone();
            self.children.push(
                tokio::spawn(async move {
                    while let Some(ev) = events.recv().await {
                        if fwd.send(ev).is_err() {
                            return;
                        }
                    }
                })
                .abort_handle(),
            );
            *slot = Some(pc);
        }
        let Some(pc) = slot.clone() else {
            return Err(MediaError::Negotiation("no subscribing connection".into()));
        };
        drop(slot);
        let remote = signaling::rewrite_setup(&offer.sdp_offer, "actpass");
        pc.set_remote_description(RTCSessionDescription::offer(remote)?)
            .await?;
        let answer = pc.create_answer(None).await?;
        pc.set_local_description(answer).await?;
        let sdp = local_sdp_with_candidates(&pc).await?;
        self.rpc
            .call("answerSdp", json!({"sdpAnswer": sdp}))
            .await?;
        self.gate.applied(offer.sdp_revision);
        Ok(())
    }
}

/// Re-offers the publishing connection with fresh ICE credentials (after a failure, or when
/// the app reports a network change).
async fn restart_ice(publish: &Peer, rpc: &Rpc, stream_id: &str) -> Result<(), MediaError> {
    offer_publish(publish, rpc, stream_id, true)
        .await
        .map(|_| ())
}

/// One publish round: offer (candidates included, no trickle) → `offerSdp` → apply the answer.
/// Says whether the answer asks for DTX.
async fn offer_publish(
    publish: &Peer,
    rpc: &Rpc,
    stream_id: &str,
    ice_restart: bool,
) -> Result<bool, MediaError> {
    let options = ice_restart.then_some(RTCOfferOptions { ice_restart: true });
    let offer = publish.create_offer(options).await?;
    publish.set_local_description(offer).await?;
    let sdp = local_sdp_with_candidates(publish).await?;
    let reply = rpc
        .call("offerSdp", signaling::offer_params(&sdp, &[stream_id]))
        .await?;
    let answer: PublishAnswer = serde_json::from_value(reply).map_err(|e| MediaError::Reply {
        what: "offerSdp result".into(),
        source: crate::error::Cause(Arc::new(e)),
    })?;
    let dtx = signaling::prefers_dtx(&answer.sdp_answer);
    publish
        .set_remote_description(RTCSessionDescription::answer(answer.sdp_answer)?)
        .await?;
    Ok(dtx)
}

impl Rpc {
    fn notify_ping(&self) {
        // A request the gateway answers; the answer needs no waiting.
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let _ = self
            .out
            .send(Message::text(signaling::request(id, "ping", json!({}))));
    }
}

/// What the stats clock tells the send clock, from the loss the far end reports: the loss
/// the encoder's FEC is sized for (percent) and its bitrate (`media::bitrate`); and whether
/// the far end asked for DTX (its SDP answer).
struct SendControl {
    loss: std::sync::atomic::AtomicU8,
    bitrate: std::sync::atomic::AtomicU32,
    dtx: std::sync::atomic::AtomicBool,
    /// Payload bytes sent (for stats).
    bytes_sent: std::sync::atomic::AtomicU64,
}

impl Default for SendControl {
    fn default() -> Self {
        Self {
            loss: std::sync::atomic::AtomicU8::new(crate::media::codec::MIN_EXPECTED_LOSS),
            bitrate: std::sync::atomic::AtomicU32::new(crate::media::bitrate::START_BPS),
            dtx: std::sync::atomic::AtomicBool::new(false),
            bytes_sent: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

/// Every 20 ms: a frame from the app (or the tone), Opus-encoded, as one RTP packet. With
/// DTX, silence is sent as one DTX frame and then nothing (Opus's own comfort-noise updates
/// aside) until speech resumes, as libwebrtc does: the timestamp moves on, the sequence
/// number does not, so the far end knows a pause from a loss.
async fn send_clock(
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
        bridge.next_capture_frame(&mut frame);
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

async fn receive(
    track: Arc<dyn TrackRemote>,
    jitter: Arc<Mutex<JitterBuffer>>,
    wake_playout: Arc<tokio::sync::Notify>,
    stats: Arc<Mutex<RxStats>>,
) {
    let epoch = Instant::now();
    while let Some(ev) = track.poll().await {
        if let TrackRemoteEvent::OnRtpPacket(p) = ev {
            crate::sync::lock(&stats).on_packet(
                p.header.sequence_number,
                p.header.timestamp,
                p.payload.len(),
                Instant::now(),
                epoch,
            );
            let stopped = {
                let mut jb = crate::sync::lock(&jitter);
                jb.push_timed(
                    p.header.sequence_number,
                    p.header.timestamp,
                    epoch.elapsed().as_secs_f64() * 1e3,
                    &p.payload,
                );
                !jb.is_playing()
            };
            if stopped {
                wake_playout.notify_one();
            }
        }
    }
}

/// Every 20 ms: the next packet from the jitter buffer, decoded (or concealed) for the app.
/// While playout is stopped (before the first packet, after a stall) a packet that comes
/// wakes the clock at once and its 20 ms ticks start over from there: the first audio is not
/// held until the next tick, and the ticks fall just after the packets' arrival instead of
/// up to a frame later.
async fn playout_clock(
    bridge: Arc<AudioBridge>,
    jitter: Arc<Mutex<JitterBuffer>>,
    wake: Arc<tokio::sync::Notify>,
    events: mpsc::UnboundedSender<MediaEvent>,
    timings: Arc<Mutex<Timings>>,
) {
    let Ok(mut decoder) = Decoder::new() else {
        return;
    };
    let mut frame = [0i16; FRAME_SAMPLES];
    let mut scratch = [0i16; FRAME_SAMPLES];
    let mut tick = tokio::time::interval(Duration::from_millis(FRAME_MS as u64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut connected = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = wake.notified() => {
                if crate::sync::lock(&jitter).is_playing() {
                    continue; // a wake that came while the clock was busy: stale
                }
                tick.reset();
            }
        }
        let decoded = {
            let mut jb = crate::sync::lock(&jitter);
            let decoded = match jb.pop() {
                Playout::Buffering => false,
                Playout::Packet(p) => decoder.decode(Some(p), &mut frame).is_ok(),
                // The target delay grew: one more frame of concealment, nothing consumed.
                // In a DTX pause: comfort noise (Opus makes it after a DTX frame).
                Playout::Stretch | Playout::Comfort => decoder.decode(None, &mut frame).is_ok(),
                Playout::Skip { skipped, packet } => decoder
                    .decode_skipping(skipped, packet, &mut scratch, &mut frame)
                    .is_ok(),
                Playout::Lost { next } => match decoder.recover(next, &mut frame) {
                    Ok(how) => {
                        jb.note_recovery(how);
                        true
                    }
                    Err(_) => false,
                },
            };
            if decoded {
                jb.note_output(crate::media::codec::is_quiet(&frame));
            }
            decoded
        };
        if !decoded {
            // A stall mid-call (the network, or the sender paused): the app hears silence,
            // and the level and tone history say so instead of repeating the last audio.
            if connected {
                bridge.deliver_playback_frame(&[0; FRAME_SAMPLES]);
            }
            continue;
        }
        bridge.deliver_playback_frame(&frame);
        if !connected {
            connected = true;
            mark(&timings, |t| &mut t.first_audio);
            let _ = events.send(MediaEvent::Connected);
        }
    }
}

async fn stats_clock(
    bridge: Arc<AudioBridge>,
    publish: Peer,
    rx: Arc<Mutex<RxStats>>,
    jitter: Arc<Mutex<JitterBuffer>>,
    send_control: Arc<SendControl>,
    events: mpsc::UnboundedSender<MediaEvent>,
) {
    let mut tick = tokio::time::interval(STATS_INTERVAL);
    tick.tick().await;
    let mut last_counts = (0u64, 0u64);
    let mut rate = crate::media::bitrate::RateController::default();
    loop {
        tick.tick().await;
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
        let (seen, queue_ms) = {
            let mut s = crate::sync::lock(&rx);
            let (expected, received) = (s.expected(), s.received);
            let (e0, r0) = std::mem::replace(&mut last_counts, (expected, received));
            let interval_expected = expected.saturating_sub(e0);
            let seen = (interval_expected > 0).then(|| {
                interval_expected.saturating_sub(received.saturating_sub(r0)) as f64
                    / interval_expected as f64
            });
            (seen, s.queue.end_interval())
        };
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
        let (played, target) = {
            let jb = crate::sync::lock(&jitter);
            (jb.stats(), jb.target())
        };
        let stats = {
            let s = crate::sync::lock(&rx);
            let expected = s.expected();
            let lost = expected.saturating_sub(s.received);
            MediaStats {
                rtt_ms,
                jitter_ms: s.jitter / 48.0,
                packets_received: s.received,
                packets_lost: lost,
                packet_loss: if expected > 0 {
                    lost as f32 / expected as f32
                } else {
                    0.0
                },
                concealed_samples: played.concealed * FRAME_SAMPLES as u64,
                fec_recovered_samples: played.fec_recovered * FRAME_SAMPLES as u64,
                jitter_buffer_target_ms: (target * FRAME_MS as usize) as u32,
                inserted_samples_for_deceleration: played.stretched * FRAME_SAMPLES as u64,
                removed_samples_for_acceleration: played.skipped * FRAME_SAMPLES as u64,
                bytes_sent: send_control
                    .bytes_sent
                    .load(std::sync::atomic::Ordering::Relaxed),
                bytes_received: s.bytes,
                target_bitrate_bps: rate.rate(),
            }
        };
        let _ = events.send(MediaEvent::AudioLevel {
            local: bridge.local_level(),
            remote: bridge.remote_level(),
        });
        if events.send(MediaEvent::Stats(stats)).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rx_stats_count_loss_and_wraps() {
        let mut s = RxStats::default();
        let epoch = Instant::now();
        for seq in [65533u16, 65534, 0, 1, 3] {
            s.on_packet(seq, seq as u32 * 960, 3, epoch, epoch);
        }
        // 65533..=3 is 7 packets (65535 and 2 lost).
        assert_eq!(s.expected(), 7);
        assert_eq!(s.received, 5);
    }
}
