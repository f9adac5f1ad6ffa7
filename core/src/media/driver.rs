//! The session's driver, one task per joined session: it reads the signaling link's events
//! (socket lost, restored, given up; the SFU's notifications), both connections' states and
//! tracks, and its timers (the periodic `ping`, the recovery machine's restart), feeds what
//! they mean to `media::recovery` and performs the actions it returns (report, restart ICE,
//! re-publish, give up); it decides nothing about recovery itself. It also answers the SFU's
//! subscribe offers and keeps a voice (`media::voice`) per stream the latest offer sends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use webrtc::peer_connection::RTCPeerConnectionState;

use crate::media::clocks::{receive, SendControl};
use crate::media::link::{mark, MediaEnd, MediaError, MediaEvent, MediaEvents, Timings};
use crate::media::peer::{IcePolicy, PeerEvent};
use crate::media::recovery::{Action as RecoveryAction, Input as RecoveryInput, Recovery};
use crate::media::rpc::Rpc;
use crate::media::signaling::{self, RevisionGate, SubscribeOffer};
use crate::media::signaling_link::LinkEvent;
use crate::media::transport::{PeerTransport, Role};
use crate::media::voice::Voices;

pub(crate) struct Driver {
    pub(crate) rpc: Arc<Rpc>,
    pub(crate) ice: IcePolicy,
    pub(crate) publish: Arc<PeerTransport>,
    pub(crate) subscribe: Arc<tokio::sync::Mutex<Option<Arc<PeerTransport>>>>,
    pub(crate) gate: RevisionGate,
    /// The remote voices the playout clock mixes, one per remote stream.
    pub(crate) voices: Arc<Voices>,
    /// Who publishes each stream, from the latest applied offer's `streamMetadata`
    /// (stream id, participant id, alias).
    pub(crate) publishers: Vec<(String, String, Option<String>)>,
    /// Each voice's receive task, by stream id.
    pub(crate) receivers: HashMap<String, AbortHandle>,
    /// Told when a packet comes while playout is stopped (`playout_clock`).
    pub(crate) wake_playout: Arc<tokio::sync::Notify>,
    pub(crate) events: MediaEvents,
    pub(crate) timings: Arc<Mutex<Timings>>,
    pub(crate) own: signaling::OwnStream,
    pub(crate) children: Vec<AbortHandle>,
    /// How long the media path may stay failed while ICE restarts are tried.
    pub(crate) recovery_budget: Duration,
    /// Set by `MediaSession::restart_ice` when its offer went unanswered.
    pub(crate) republish: Arc<std::sync::atomic::AtomicBool>,
    /// The send clock's controls: it writes only while the publishing connection is up.
    pub(crate) send: Arc<SendControl>,
}

impl Driver {
    pub(crate) async fn run(
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
                    Some(RecoveryInput::RestartDue { jitter: crate::backend::backoff::jitter_factor() })
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
                        if let Err(e) = offer_publish(&self.publish, &self.rpc, &self.own, true)
                            .await
                            .map(|_| ())
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
                        if let Err(e) = prefs.and(
                            offer_publish(&self.publish, &self.rpc, &self.own, true)
                                .await
                                .map(|_| ()),
                        ) {
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
        // Its offer came first: name its publisher now.
        self.voices.name_publishers(&self.publishers);
        let handle = crate::task::spawn(receive(track, voice, self.wake_playout.clone()));
        if let Some(old) = self.receivers.insert(stream_id, handle.abort_handle()) {
            old.abort();
        }
    }

    /// After an offer is applied: the voices of streams it no longer sends end (a fade, in
    /// the mixer), with their receive tasks; the others learn who publishes them.
    fn keep_streams(
        &mut self,
        offer_sdp: &str,
        metadata: &HashMap<String, signaling::StreamMetadata>,
    ) {
        self.publishers = metadata
            .iter()
            .map(|(stream, m)| (stream.clone(), m.participant_id.clone(), m.alias.clone()))
            .collect();
        self.voices.name_publishers(&self.publishers);
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
            let (pc, mut events) = PeerTransport::new(&self.ice, Role::Subscribe).await?;
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
        let sdp = pc.answer(remote.clone()).await?;
        self.rpc
            .call("answerSdp", json!({"sdpAnswer": sdp}))
            .await?;
        self.gate.applied(offer.sdp_revision);
        self.keep_streams(&remote, &offer.stream_metadata);
        Ok(())
    }
}

/// One publish round: our offer (candidates included, no trickle; with `ice_restart`, fresh
/// credentials: after a failure, or when the app reports a network change) → `offerSdp` →
/// the answer applied. Says whether the answer asks for DTX.
pub(crate) async fn offer_publish(
    publish: &PeerTransport,
    rpc: &Rpc,
    own: &signaling::OwnStream,
    ice_restart: bool,
) -> Result<bool, MediaError> {
    let sdp = publish.offer(ice_restart).await?;
    let reply = rpc
        .call("offerSdp", signaling::offer_params(&sdp, own))
        .await?;
    let answer: signaling::PublishAnswer =
        serde_json::from_value(reply).map_err(|e| MediaError::Reply {
            what: "offerSdp result".into(),
            source: crate::cause::Cause(Arc::new(e)),
        })?;
    let dtx = signaling::prefers_dtx(&answer.sdp_answer);
    publish.apply_answer(answer.sdp_answer).await?;
    Ok(dtx)
}
