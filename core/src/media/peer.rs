//! Building webrtc-rs peer connections the way a phone on a call needs them: Opus only,
//! max-bundle with rtcp-mux, no trickle (candidates ride in the SDP), ICE restricted to the
//! addresses we bind (loopback by default in tests and against the mock), mDNS off, and
//! timers tuned so loopback setup is not dominated by waiting. Events from webrtc-rs are
//! forwarded into a channel, so the call logic consumes them in one place.

use std::sync::Arc;
use std::time::Duration;

use rtc::ice::mdns::MulticastDnsMode;
use rtc::interceptor::Registry;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::{MediaEngine, MIME_TYPE_OPUS};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::configuration::{
    RTCBundlePolicy, RTCConfigurationBuilder, RTCRtcpMuxPolicy,
};
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use tokio::sync::mpsc;
use webrtc::data_channel::DataChannel;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCIceGatheringState,
    RTCPeerConnectionState,
};

pub const OPUS_PAYLOAD_TYPE: u8 = 111;

pub fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        // `usedtx=1`: we receive DTX (`media::jitter` plays its pauses as comfort noise);
        // we send it when the far end's answer says the same (`signaling::prefers_dtx`).
        sdp_fmtp_line: "minptime=10;useinbandfec=1;usedtx=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

/// What the call logic hears from one peer connection.
pub enum PeerEvent {
    GatheringComplete,
    State(RTCPeerConnectionState),
    Track(Arc<dyn TrackRemote>),
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    DataChannel(Arc<dyn DataChannel>),
}

struct Forwarder(mpsc::UnboundedSender<PeerEvent>);

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Forwarder {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.0.send(PeerEvent::GatheringComplete);
        }
    }
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.0.send(PeerEvent::State(state));
    }
    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.0.send(PeerEvent::Track(track));
    }
    async fn on_data_channel(&self, dc: Arc<dyn DataChannel>) {
        let _ = self.0.send(PeerEvent::DataChannel(dc));
    }
}

/// Where ICE may look for candidates: the addresses the sockets are bound to, nothing else.
#[derive(Debug, Clone)]
pub struct IcePolicy {
    pub bind_addrs: Vec<String>,
}

impl IcePolicy {
    /// Loopback only: tests, the demo, and the mock on the same machine.
    pub fn loopback() -> Self {
        Self {
            bind_addrs: vec!["127.0.0.1:0".to_string()],
        }
    }

    /// Picks loopback when the signaling host is on this machine, every interface otherwise.
    pub fn for_signaling_host(host: &str) -> Self {
        // An IPv6 literal comes from a URL in brackets (`[::1]`).
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let local = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if local {
            Self::loopback()
        } else {
            Self {
                bind_addrs: vec!["0.0.0.0:0".to_string()],
            }
        }
    }
}

pub type Peer = Arc<dyn PeerConnection>;

/// `answer_passive`: answer with `a=setup:passive` (the far end opens DTLS), as Bandwidth's
/// SDKs do on the subscribing connection.
pub async fn build_with(
    policy: &IcePolicy,
    answer_passive: bool,
) -> webrtc::error::Result<(Peer, mpsc::UnboundedReceiver<PeerEvent>)> {
    let mut media = MediaEngine::default();
    media.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: opus_codec(),
            payload_type: OPUS_PAYLOAD_TYPE,
        },
        RtpCodecKind::Audio,
    )?;
    let registry = register_default_interceptors(Registry::new(), &mut media)?;
    let mut settings = SettingEngineBuilder::new();
    if answer_passive {
        settings =
            settings.with_answering_dtls_role(rtc::peer_connection::transport::RTCDtlsRole::Server);
    }
    let settings = settings
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        .with_include_loopback_candidate(true)
        // On a host candidate there is nothing better to wait for.
        .with_host_acceptance_min_wait(Some(Duration::ZERO))
        .with_ice_timeouts(
            Some(Duration::from_secs(5)),
            Some(Duration::from_secs(10)),
            Some(Duration::from_millis(500)),
        )
        // The 200 ms default between connectivity checks dominates setup on a fast path: 5 ms
        // is RFC 8445's least pacing (Ta, §14.2); a pair still fails after 1 s (200 checks).
        .with_ice_connection_attempts(Some(Duration::from_millis(5)), Some(200))
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
        .with_handler(Arc::new(Forwarder(tx)))
        .with_udp_addrs(policy.bind_addrs.clone())
        .build()
        .await?;
    Ok((Arc::new(pc), rx))
}

/// A local Opus track with a fixed SSRC, for writing RTP ourselves.
pub fn audio_track(stream_id: &str, ssrc: u32) -> Arc<TrackLocalStaticRTP> {
    Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        stream_id.to_string(),
        format!("{stream_id}-audio"),
        "audio".to_string(),
        RtpCodecKind::Audio,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            codec: opus_codec(),
            ..Default::default()
        }],
    )))
}
