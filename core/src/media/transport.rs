//! One peer connection of a session, as LiveKit's `PeerTransport` is one of its engine's:
//! built with the negotiated `__heartbeat__` and `__diagnostics__` channels every v3
//! connection has (PINGs answered for as long as it lives), and its side of a negotiation
//! round without trickle (the offer or answer waits until it carries our candidates). The
//! publishing connection offers (`offer`, `apply_answer`); the subscribing one answers the
//! SFU's offers (`answer`). What the rounds are for (which RPC carries them, revisions,
//! streams) is the session's.

use std::sync::Arc;
use std::time::Duration;

use rtc::data_channel::RTCDataChannelInit;
use rtc::peer_connection::configuration::RTCOfferOptions;
use rtc::peer_connection::sdp::RTCSessionDescription;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::track_local::TrackLocal;

use crate::media::link::MediaError;
use crate::media::peer::{self, IcePolicy, Peer, PeerEvent};
use crate::media::signaling;

const GATHER_TIMEOUT: Duration = Duration::from_secs(3);

/// Which side of the session a connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Sends our audio; we offer.
    Publish,
    /// Receives the others' streams; the SFU offers and we answer passive, as Bandwidth's
    /// SDKs do (the setting engine does it properly: munging a webrtc-rs answer leaves its
    /// DTLS role unchanged).
    Subscribe,
}

pub(crate) struct PeerTransport {
    pc: Peer,
    /// The heartbeat responder's task.
    heartbeat: AbortHandle,
}

impl PeerTransport {
    /// A new connection for `role`, its negotiated channels open and answered, and its events.
    pub(crate) async fn new(
        ice: &IcePolicy,
        role: Role,
    ) -> Result<(Arc<PeerTransport>, mpsc::UnboundedReceiver<PeerEvent>), MediaError> {
        let (pc, events) = peer::build_with(ice, role == Role::Subscribe).await?;
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
        let heartbeat = crate::task::spawn(heartbeat_responder(heartbeat)).abort_handle();
        Ok((Arc::new(PeerTransport { pc, heartbeat }), events))
    }

    /// The connection itself (its stats).
    pub(crate) fn peer(&self) -> &Peer {
        &self.pc
    }

    pub(crate) async fn add_track(&self, track: Arc<dyn TrackLocal>) -> Result<(), MediaError> {
        self.pc.add_track(track).await?;
        Ok(())
    }

    /// Our offer, with our candidates; with `ice_restart`, fresh ICE credentials.
    pub(crate) async fn offer(&self, ice_restart: bool) -> Result<String, MediaError> {
        let options = ice_restart.then_some(RTCOfferOptions { ice_restart: true });
        let offer = self.pc.create_offer(options).await?;
        self.pc.set_local_description(offer).await?;
        self.local_sdp_with_candidates().await
    }

    /// The far end's answer to our offer.
    pub(crate) async fn apply_answer(&self, sdp: String) -> Result<(), MediaError> {
        self.pc
            .set_remote_description(RTCSessionDescription::answer(sdp)?)
            .await?;
        Ok(())
    }

    /// Our answer, with our candidates, to the far end's `offer`.
    pub(crate) async fn answer(&self, offer: String) -> Result<String, MediaError> {
        self.pc
            .set_remote_description(RTCSessionDescription::offer(offer)?)
            .await?;
        let answer = self.pc.create_answer(None).await?;
        self.pc.set_local_description(answer).await?;
        self.local_sdp_with_candidates().await
    }

    pub(crate) async fn close(&self) {
        self.heartbeat.abort();
        let _ = self.pc.close().await;
    }

    /// No trickle: after set_local_description, wait until the SDP carries our candidates.
    async fn local_sdp_with_candidates(&self) -> Result<String, MediaError> {
        let deadline = tokio::time::Instant::now() + GATHER_TIMEOUT;
        loop {
            if let Some(d) = self.pc.local_description().await {
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
}

impl Drop for PeerTransport {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}

fn negotiated(id: u16) -> Option<RTCDataChannelInit> {
    Some(RTCDataChannelInit {
        negotiated: Some(id),
        ordered: true,
        ..Default::default()
    })
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
