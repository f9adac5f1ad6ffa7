//! Joining a media session with a participant token: the v3 signaling socket (JSON-RPC with
//! request ids and timeouts), the publishing connection (audio track, negotiated
//! `__heartbeat__`/`__diagnostics__`, `offerSdp`, ICE-restart re-offers), the subscribing
//! connection (answers `sdpOffer`, ignores stale revisions, `answerSdp`), heartbeat PONGs,
//! the periodic `ping`, and the tasks it starts: the send, receive, playout and stats clocks
//! (`media::clocks`), and a voice per remote stream (`media::voice`), ended when an offer
//! stops sending its stream. `leave` tears it all down. Call state (who, why it ended) is the
//! caller's.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::backend::websocket::Message;
use rtc::data_channel::RTCDataChannelInit;
use rtc::peer_connection::configuration::RTCOfferOptions;
use rtc::peer_connection::sdp::RTCSessionDescription;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::peer_connection::RTCPeerConnectionState;

use crate::media::audio_bridge::AudioBridge;
use crate::media::clocks::{playout_clock, receive, send_clock, stats_clock, SendControl};
use crate::media::link::{
    mark, MediaEnd, MediaError, MediaEvent, MediaEvents, SessionOwner, Timings,
};
use crate::media::peer::{self, IcePolicy, Peer, PeerEvent};
use crate::media::recovery::{Action as RecoveryAction, Input as RecoveryInput, Recovery};
use crate::media::signaling::{self, PublishAnswer, RevisionGate, RpcError, SubscribeOffer};
use crate::media::signaling_link::{self, LinkEvent};
use crate::media::voice::Voices;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const RPC_TIMEOUT: Duration = Duration::from_secs(10);
const GATHER_TIMEOUT: Duration = Duration::from_secs(3);

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

/// The v3 signaling gateway a session joins: its URL and the client's WebSocket connector
/// (TLS configuration, proxy rules).
#[derive(Clone)]
pub struct SignalingGateway {
    pub url: String,
    pub connector: crate::backend::websocket::Connector,
}

/// A joined media session. Dropping it aborts everything; `leave` does it politely.
pub struct MediaSession {
    rpc: Arc<Rpc>,
    publish: Peer,
    stream_id: String,
    subscribe: Arc<tokio::sync::Mutex<Option<Peer>>>,
    tasks: Vec<AbortHandle>,
    events: MediaEvents,
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

/// A factor in [0.5, 1] that spreads restarts (the recovery machine takes it as input, so it
/// stays pure).
fn jitter_factor() -> f64 {
    0.5 + (uuid::Uuid::new_v4().as_u128() % 1000) as f64 / 2000.0
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

impl MediaSession {
    /// `recovery_budget`: how long a lost signaling socket may take to come back before the
    /// session ends (`signaling_link::DEFAULT_BUDGET` unless the app set another).
    pub async fn join(
        gateway: &SignalingGateway,
        token: &str,
        ice: IcePolicy,
        bridge: Arc<AudioBridge>,
        owner: SessionOwner,
        recovery_budget: Duration,
        renew: Option<signaling_link::TokenRenewer>,
    ) -> Result<MediaSession, MediaError> {
        let timings = Arc::new(Mutex::new(Timings {
            started: Some(Instant::now()),
            ..Default::default()
        }));
        let SessionOwner { events, muted } = owner;
        let _ = events.send(MediaEvent::Connecting);
        let unique_id = uuid::Uuid::new_v4().to_string();
        let url = signaling::connect_url(&gateway.url, token, &unique_id)
            .map_err(MediaError::Signaling)?;
        use crate::backend::websocket::ConnectError;
        let ws = match gateway
            .connector
            .connect(&url, &[], CONNECT_TIMEOUT, true)
            .await
        {
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
        let link = crate::task::spawn(signaling_link::run(
            ws,
            signaling_link::Gateway {
                url,
                connector: gateway.connector.clone(),
            },
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
        tasks.push(crate::task::spawn(heartbeat_responder(heartbeat)).abort_handle());
        // From the loss the SFU reports for what we publish: the encoder's FEC and bitrate.
        let send_control = Arc::new(SendControl::for_call(muted));
        send_control.set_dtx(dtx);
        tasks.push(
            crate::task::spawn(send_clock(
                bridge.clone(),
                track,
                ssrc,
                send_control.clone(),
            ))
            .abort_handle(),
        );

        let voices = Arc::new(Voices::default());
        let wake_playout = Arc::new(tokio::sync::Notify::new());
        bridge.reset_remote();
        tasks.push(
            crate::task::spawn(playout_clock(
                bridge.clone(),
                voices.clone(),
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
            voices: voices.clone(),
            receivers: HashMap::new(),
            wake_playout,
            events: events.clone(),
            timings: timings.clone(),
            stream_id: stream_id.clone(),
            children: Vec::new(),
            recovery_budget,
            republish: republish.clone(),
            send: send_control.clone(),
        };
        tasks.push(crate::task::spawn(driver.run(link_rx, pub_events)).abort_handle());
        tasks.push(
            crate::task::spawn(stats_clock(
                bridge,
                publish.clone(),
                voices,
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
            .send(Message::Ping(signaling_link::PROBE.to_vec()));
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
        let _ = self.rpc.out.send(Message::Close(Some(
            crate::backend::websocket::CloseFrame::NORMAL,
        )));
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

struct Driver {
    rpc: Arc<Rpc>,
    ice: IcePolicy,
    publish: Peer,
    subscribe: Arc<tokio::sync::Mutex<Option<Peer>>>,
    gate: RevisionGate,
    /// The remote voices the playout clock mixes, one per remote stream.
    voices: Arc<Voices>,
    /// Each voice's receive task, by stream id.
    receivers: HashMap<String, AbortHandle>,
    /// Told when a packet comes while playout is stopped (`playout_clock`).
    wake_playout: Arc<tokio::sync::Notify>,
    events: MediaEvents,
    timings: Arc<Mutex<Timings>>,
    stream_id: String,
    children: Vec<AbortHandle>,
    /// How long the media path may stay failed while ICE restarts are tried.
    recovery_budget: Duration,
    /// Set by `MediaSession::restart_ice` when its offer went unanswered.
    republish: Arc<std::sync::atomic::AtomicBool>,
    /// The send clock's controls: it writes only while the publishing connection is up.
    send: Arc<SendControl>,
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
        // The media path and the signaling socket recover as `media::recovery` decides;
        // this loop feeds it what happens and performs what it says.
        let mut recovery = Recovery::new(self.recovery_budget);
        let end = 'run: loop {
            let restart_at = recovery.restart_at().map(tokio::time::Instant::from_std);
            let input = tokio::select! {
                _ = tokio::time::sleep_until(restart_at.unwrap_or_else(tokio::time::Instant::now)), if restart_at.is_some() => {
                    Some(RecoveryInput::RestartDue { jitter: jitter_factor() })
                }
                n = link.recv() => match n {
                    Some(LinkEvent::Lost) => Some(RecoveryInput::SignalingLost),
                    Some(LinkEvent::Restored) => Some(RecoveryInput::SignalingRestored {
                        unanswered_offer: self.republish.swap(false, std::sync::atomic::Ordering::SeqCst),
                    }),
                    Some(LinkEvent::GaveUp(why)) => Some(RecoveryInput::SignalingGaveUp(why)),
                    Some(LinkEvent::Notification(method, params)) if method == "sdpOffer" => {
                        match serde_json::from_value::<SubscribeOffer>(params) {
                            Ok(offer) => {
                                if let Err(e) = self.on_subscribe_offer(offer, &sub_tx).await {
                                    tracing::warn!(target: "dialtone::media", "subscribe offer failed: {e}");
                                }
                            }
                            Err(e) => tracing::warn!(target: "dialtone::media", "malformed sdpOffer: {e}"),
                        }
                        None
                    }
                    Some(LinkEvent::Notification(method, _)) => {
                        tracing::debug!(target: "dialtone::media", "ignoring notification {method}");
                        None
                    }
                    None => break MediaEnd::SignalingClosed,
                },
                ev = pub_events.recv() => match ev {
                    Some(PeerEvent::State(state)) => {
                        tracing::debug!(target: "dialtone::media", "publishing connection: {state}");
                        match state {
                            RTCPeerConnectionState::Connected => {
                                mark(&self.timings, |t| &mut t.ice_connected);
                                mark(&self.timings, |t| &mut t.dtls_connected);
                                Some(RecoveryInput::PathConnected)
                            }
                            RTCPeerConnectionState::Disconnected => Some(RecoveryInput::PathDisconnected),
                            RTCPeerConnectionState::Failed => Some(RecoveryInput::PathFailed),
                            _ => None,
                        }
                    }
                    Some(_) => None,
                    None => break MediaEnd::ConnectionFailed,
                },
                ev = sub_events.recv() => {
                    if let Some(PeerEvent::Track(track)) = ev {
                        self.on_track(track).await;
                    }
                    None
                },
                _ = ping.tick() => {
                    self.rpc.notify_ping();
                    None
                }
            };
            let Some(input) = input else { continue };
            let now = tokio::time::Instant::now().into_std();
            for action in recovery.step(input, now) {
                match action {
                    RecoveryAction::ReportReconnecting => {
                        let _ = self.events.send(MediaEvent::Reconnecting);
                    }
                    RecoveryAction::ReportConnected => {
                        let _ = self.events.send(MediaEvent::Connected);
                    }
                    RecoveryAction::PathUp(up) => self.send.set_path_up(up),
                    RecoveryAction::RestartIce => {
                        if let Err(e) = restart_ice(&self.publish, &self.rpc, &self.stream_id).await
                        {
                            tracing::info!(target: "dialtone::media", "ICE restart failed ({e}); trying again");
                        }
                    }
                    RecoveryAction::Republish => {
                        // The SFU's next sdpOffer renews the subscribing side.
                        let prefs = self
                            .rpc
                            .call("setMediaPreferences", json!({"protocol": "WEBRTC"}))
                            .await;
                        if let Err(e) =
                            prefs.and(restart_ice(&self.publish, &self.rpc, &self.stream_id).await)
                        {
                            tracing::warn!(target: "dialtone::media", "re-publishing after the outage failed: {e}");
                        }
                    }
                    RecoveryAction::GiveUp(why) => break 'run MediaEnd::ConnectionLost(why),
                }
            }
        };
        for c in self.children.drain(..) {
            c.abort();
        }
        for (_, r) in self.receivers.drain() {
            r.abort();
        }
        let _ = self.events.send(MediaEvent::Ended(end));
    }

    /// A remote track's first packet: a voice of its own, fed by a receive task of its own.
    async fn on_track(&mut self, track: Arc<dyn webrtc::media_stream::track_remote::TrackRemote>) {
        let stream_id = track.stream_id().await;
        let voice = match self.voices.add(&stream_id) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(target: "dialtone::media", "no decoder for stream {stream_id}: {e}");
                return;
            }
        };
        tracing::debug!(target: "dialtone::media", "receiving stream {stream_id}");
        let handle = crate::task::spawn(receive(track, voice, self.wake_playout.clone()));
        if let Some(old) = self.receivers.insert(stream_id, handle.abort_handle()) {
            old.abort();
        }
    }

    /// After an offer is applied: the voices of streams it no longer sends end (a fade, in
    /// the mixer), with their receive tasks.
    fn keep_streams(&mut self, offer_sdp: &str) {
        let Some(live) = signaling::sending_streams(offer_sdp) else {
            return;
        };
        for gone in self.voices.keep_only(&live) {
            tracing::debug!(target: "dialtone::media", "stream {gone} removed by the offer");
            if let Some(r) = self.receivers.remove(&gone) {
                r.abort();
            }
        }
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
                .push(crate::task::spawn(heartbeat_responder(heartbeat)).abort_handle());
            let fwd = sub_tx.clone();
            self.children.push(
                crate::task::spawn(async move {
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
        pc.set_remote_description(RTCSessionDescription::offer(remote.clone())?)
            .await?;
        let answer = pc.create_answer(None).await?;
        pc.set_local_description(answer).await?;
        let sdp = local_sdp_with_candidates(&pc).await?;
        self.rpc
            .call("answerSdp", json!({"sdpAnswer": sdp}))
            .await?;
        self.gate.applied(offer.sdp_revision);
        self.keep_streams(&remote);
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
        source: crate::cause::Cause(Arc::new(e)),
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
