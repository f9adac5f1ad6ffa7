//! The SFU's WebRTC peer connections: how each is built (Opus only, loopback ICE paced like
//! the client's, bundle and rtcp-mux required), the two negotiated data channels Bandwidth's
//! gateway opens, and the events the SFU reads from them.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use rtc::data_channel::RTCDataChannelInit;
use rtc::ice::mdns::MulticastDnsMode;
use rtc::interceptor::Registry;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::{MediaEngine, MIME_TYPE_OPUS};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::configuration::{
    RTCBundlePolicy, RTCConfigurationBuilder, RTCRtcpMuxPolicy,
};
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodecParameters, RtpCodecKind};
use tokio::sync::mpsc;
use webrtc::data_channel::DataChannel;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCIceGatheringState,
    RTCPeerConnectionState,
};

const PAYLOAD_TYPE: u8 = 111;
const GATHER_TIMEOUT: Duration = Duration::from_secs(3);

pub(super) type Peer = Arc<dyn PeerConnection>;

pub(super) fn opus() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

pub(super) enum PcEvent {
    Gathered,
    State(RTCPeerConnectionState),
    Track(Arc<dyn TrackRemote>),
}

struct Events(mpsc::UnboundedSender<PcEvent>);

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Events {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.0.send(PcEvent::Gathered);
        }
    }
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.0.send(PcEvent::State(state));
    }
    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.0.send(PcEvent::Track(track));
    }
}

pub(super) async fn new_peer(
    ice_ip: IpAddr,
) -> webrtc::error::Result<(Peer, mpsc::UnboundedReceiver<PcEvent>)> {
    let mut media = MediaEngine::default();
    media.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: opus(),
            payload_type: PAYLOAD_TYPE,
        },
        RtpCodecKind::Audio,
    )?;
    let registry = register_default_interceptors(Registry::new(), &mut media)?;
    let settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        .with_include_loopback_candidate(true)
        .with_host_acceptance_min_wait(Some(Duration::ZERO))
        // Disconnected after 5 s without traffic, failed 10 s later, keepalives every
        // 500 ms: the same as the client's, so a subscribing connection whose client side
        // failed is restarted (`watch_subscriber`) when the client's would be, not 15 s later.
        .with_ice_timeouts(
            Some(Duration::from_secs(5)),
            Some(Duration::from_secs(10)),
            Some(Duration::from_millis(500)),
        )
        // Checks (and the answers to the client's) paced at 5 ms, RFC 8445's least Ta: a
        // gateway answers at once; at 20 ms the mock's own pacing was most of a call's ICE
        // and DTLS time (18.5 ms against 3.5).
        .with_ice_connection_attempts(Some(Duration::from_millis(5)), Some(200))
        // Where it answers (the publishing connection), the SFU takes DTLS's server side
        // (`a=setup:passive`): the participant, as DTLS client, finishes its handshake last,
        // so its first RTP comes after the SFU has its SRTP keys. As DTLS client itself, the
        // SFU finished first and the participant's first packets could beat its keys
        // (`remote_srtp_context is not set yet`, under load).
        .with_answering_dtls_role(rtc::peer_connection::transport::RTCDtlsRole::Server)
        .build();
    let config = RTCConfigurationBuilder::new()
        .with_bundle_policy(RTCBundlePolicy::MaxBundle)
        .with_rtcp_mux_policy(RTCRtcpMuxPolicy::Require)
        .build();
    let (tx, rx) = mpsc::unbounded_channel();
    let pc = PeerConnectionBuilder::new()
        .with_configuration(config)
        .with_media_engine(media)
        .with_setting_engine(settings)
        .with_interceptor_registry(registry)
        .with_handler(Arc::new(Events(tx)))
        .with_udp_addrs(vec![format!("{ice_ip}:0")])
        .build()
        .await?;
    Ok((Arc::new(pc), rx))
}

pub(super) async fn negotiated_channels(pc: &Peer) -> webrtc::error::Result<Arc<dyn DataChannel>> {
    let init = |id| {
        Some(RTCDataChannelInit {
            negotiated: Some(id),
            ordered: true,
            ..Default::default()
        })
    };
    let heartbeat = pc.create_data_channel("__heartbeat__", init(0)).await?;
    pc.create_data_channel("__diagnostics__", init(1)).await?;
    Ok(heartbeat)
}

/// After set_local_description: wait until the SDP carries candidates (first negotiation),
/// or return at once when a renegotiation reuses the gathered ones.
pub(super) async fn wait_local_candidates(pc: &Peer) {
    let deadline = tokio::time::Instant::now() + GATHER_TIMEOUT;
    loop {
        if let Some(d) = pc.local_description().await {
            if d.sdp.contains("a=candidate") || d.sdp.contains("a=end-of-candidates") {
                return;
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
