//! The face of media that calls see: the ports a call joins and drives a session through
//! (`MediaConnector`, `MediaLink`), what a joined session reports (`MediaEvent`, why it
//! ended, `MediaStats`, the setup `Timings`) and how joining fails (`MediaError`). `calls/`
//! depends on media only through this module; `session`, `clocks` and `adapter` produce and
//! implement it. A leaf: it imports nothing of the session's machinery.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;

use crate::cause::Cause;
use crate::media::signaling;

/// What a participant token says about its session (calls read its ids and expiry).
pub use crate::media::participant_token::decode_claims;
/// The recovery machine, for the call layer's simulated session (`calls/sim.rs`), which
/// drives the real one.
#[cfg(test)]
pub use crate::media::recovery;
/// The level over which a frame counts as voiced (−45 dBFS RMS, `media::speech`): a room
/// uses it for this device's own speaking.
pub use crate::media::speech::THRESHOLD as SPEAKING_LEVEL;

/// Fetches a fresh participant token for the same participant (the extended backend's
/// `renewToken`), for when the gateway refuses to resume with the current one.
pub type TokenRenewer = std::sync::Arc<
    dyn Fn() -> futures_util::future::BoxFuture<'static, Result<String, String>> + Send + Sync,
>;

/// The port calls join media through: a session for a participant token, reporting to its
/// owner (`SessionOwner`) until it ends. `media::adapter` is the real one (webrtc-rs and the
/// v3 gateway); the call layer's simulated platform has its own.
#[async_trait]
pub trait MediaConnector: Send + Sync + 'static {
    /// `renew`: where a fresh token comes from when the gateway refuses to resume the
    /// signaling socket with this one (extended profile); `None` ends the call then.
    async fn join(
        &self,
        token: &str,
        owner: SessionOwner,
        renew: Option<TokenRenewer>,
    ) -> Result<Arc<dyn MediaLink>, MediaError>;
}

/// One joined media session, owned by its call.
#[async_trait]
pub trait MediaLink: Send + Sync {
    /// Leaves politely and stops every task of the session. Idempotent.
    async fn leave(&self);
    /// Restarts ICE now (the network changed).
    async fn restart_ice(&self) -> Result<(), MediaError>;
    /// Setup milestones (benchmarks).
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    fn timings(&self) -> Option<Timings>;
}

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

pub type WebRtcCause = Cause<webrtc::error::Error>;
pub type JsonCause = Cause<serde_json::Error>;

impl From<webrtc::error::Error> for MediaError {
    fn from(e: webrtc::error::Error) -> Self {
        MediaError::WebRtc(Cause(Arc::new(e)))
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

/// Where a session reports its `MediaEvent`s: the call gives a sink that puts each one in
/// its one inbox, so they are read in order with everything else the call learns (the join's
/// result included). Cloned by every task of the session.
#[derive(Clone)]
pub struct MediaEvents(Arc<dyn Fn(MediaEvent) -> bool + Send + Sync>);

/// The call that received a session's events is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallGone;

impl MediaEvents {
    /// `sink` takes an event and says whether the call is still there to read it.
    pub fn new(sink: impl Fn(MediaEvent) -> bool + Send + Sync + 'static) -> Self {
        MediaEvents(Arc::new(sink))
    }

    pub fn send(&self, event: MediaEvent) -> Result<(), CallGone> {
        if (self.0)(event) {
            Ok(())
        } else {
            Err(CallGone)
        }
    }
}

/// What a call gives the session it joins: where the session reports, and the call's own
/// mute, which the session's send clock reads every frame. A new call has a new one: one
/// call's mute never reaches the next.
#[derive(Clone, Debug)]
pub struct SessionOwner {
    pub events: MediaEvents,
    pub muted: Arc<std::sync::atomic::AtomicBool>,
    /// The alias this device gives its stream (`streamMetadata`): rooms give the clientId,
    /// so the others can name it before (or without) presence.
    pub alias: Option<String>,
}

impl std::fmt::Debug for MediaEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MediaEvents")
    }
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
    /// Every 200 ms: this device's level (its last captured frame, 0 while muted) and each
    /// remote stream's level and speaking (rooms' active speakers).
    Levels {
        local: f32,
        streams: Vec<StreamLevel>,
    },
}

/// One remote stream's level now.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamLevel {
    /// Its publisher, once an offer named it.
    pub participant_id: Option<String>,
    pub level: f32,
    pub speaking: bool,
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
    /// Each remote stream the call plays (a 1:1 call has one; the figures above are their
    /// sums, worst jitter and target, with streams that ended still counted).
    pub streams: Vec<StreamStats>,
}

/// One remote stream's figures (W3C `RTCInboundRtpStreamStats`, in part).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamStats {
    /// The stream's id (its msid: Bandwidth's `streamMetadata` key).
    pub stream_id: String,
    /// Who publishes it, as the gateway's `streamMetadata` says (its `participantId`, and the
    /// `alias` the publisher gave, if any); `None` until an offer has named it.
    pub participant_id: Option<String>,
    pub alias: Option<String>,
    pub packets_received: u64,
    pub packets_lost: u64,
    pub packet_loss: f32,
    pub jitter_ms: f64,
    pub bytes_received: u64,
    pub concealed_samples: u64,
    pub fec_recovered_samples: u64,
    pub jitter_buffer_target_ms: u32,
    pub inserted_samples_for_deceleration: u64,
    pub removed_samples_for_acceleration: u64,
    /// The level of its last frame, 0.0 to 1.0 (RMS).
    pub audio_level: f32,
    /// Whether it is speaking: over −45 dBFS in 2 of its last 3 200 ms windows
    /// (`media::speech`).
    pub speaking: bool,
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

pub(crate) fn mark(timings: &Mutex<Timings>, f: impl FnOnce(&mut Timings) -> &mut Option<Instant>) {
    let mut t = crate::sync::lock(timings);
    let slot = f(&mut t);
    if slot.is_none() {
        *slot = Some(Instant::now());
    }
}
