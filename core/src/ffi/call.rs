//! The call's media surface: joining with a token, events, mute, and the PCM bridge the
//! app's audio I/O feeds (capture pushed in, playback pulled out: see docs/adr/0005).

use std::sync::{Arc, Mutex};

use super::client::{DialtoneClient, TaskHandle};
use super::error::DialtoneError;
use super::runtime::{run, runtime};
use crate::audio_bridge::Source;
use crate::call_media::{MediaEnd, MediaEvent};
use crate::call_state::EndReason;
use crate::engine::CallUpdate;
use crate::incoming;

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum CallEndReason {
    /// This device hung up.
    LocalHangup,
    /// The far end or the backend ended the session (the signaling gateway closed it).
    RemoteEnded,
    /// The connection could not be kept or restored, or joining failed.
    Failed,
    /// This device declined the incoming call.
    Declined,
    /// The incoming call arrived during another call.
    Busy,
    /// The caller gave up before an answer.
    Cancelled,
    /// Nobody answered in time, or the push arrived too late to ring.
    Missed,
    /// Another device of this user answered.
    AnsweredElsewhere,
}

impl From<EndReason> for CallEndReason {
    fn from(r: EndReason) -> Self {
        match r {
            EndReason::LocalHangup => CallEndReason::LocalHangup,
            EndReason::RemoteHangup => CallEndReason::RemoteEnded,
            EndReason::Declined => CallEndReason::Declined,
            EndReason::Busy => CallEndReason::Busy,
            EndReason::Cancelled => CallEndReason::Cancelled,
            EndReason::Missed => CallEndReason::Missed,
            EndReason::Failed(_) => CallEndReason::Failed,
            EndReason::AnsweredElsewhere => CallEndReason::AnsweredElsewhere,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum CallEvent {
    /// A call this device placed is ringing at the callee.
    Ringing,
    Connecting,
    /// Remote audio is arriving.
    Connected,
    /// The network path is being restored (ICE restart).
    Reconnecting,
    Ended {
        reason: CallEndReason,
    },
    /// An incoming call announced on the extended backend's event channel (the app is in the
    /// foreground). The same call arriving by push as well is reported once.
    Incoming {
        invite: IncomingInvite,
    },
    /// An incoming call ended before or instead of being answered (declined, missed, busy,
    /// cancelled, answered elsewhere, or its media could not be joined).
    IncomingEnded {
        call_id: String,
        reason: CallEndReason,
    },
    /// Levels from 0.0 (silence) to 1.0 (full scale), once a second.
    AudioLevel {
        local: f32,
        remote: f32,
    },
    /// Once a second.
    Stats {
        rtt_ms: Option<f64>,
        jitter_ms: f64,
        packets_received: u64,
        packets_lost: u64,
        packet_loss: f32,
    },
}

impl From<MediaEvent> for CallEvent {
    fn from(e: MediaEvent) -> Self {
        match e {
            MediaEvent::Connecting => CallEvent::Connecting,
            MediaEvent::Connected => CallEvent::Connected,
            MediaEvent::Reconnecting => CallEvent::Reconnecting,
            MediaEvent::Ended(end) => CallEvent::Ended {
                reason: match end {
                    MediaEnd::Left => CallEndReason::LocalHangup,
                    MediaEnd::SignalingClosed => CallEndReason::RemoteEnded,
                    MediaEnd::ConnectionFailed => CallEndReason::Failed,
                },
            },
            MediaEvent::AudioLevel { local, remote } => CallEvent::AudioLevel { local, remote },
            MediaEvent::Stats(s) => CallEvent::Stats {
                rtt_ms: s.rtt_ms,
                jitter_ms: s.jitter_ms,
                packets_received: s.packets_received,
                packets_lost: s.packets_lost,
                packet_loss: s.packet_loss,
            },
        }
    }
}

impl From<CallUpdate> for CallEvent {
    fn from(u: CallUpdate) -> Self {
        match u {
            CallUpdate::Media(m) => m.into(),
            CallUpdate::Ringing => CallEvent::Ringing,
            CallUpdate::Ended(reason) => CallEvent::Ended {
                reason: reason.into(),
            },
            CallUpdate::Invite(i) => CallEvent::Incoming { invite: i.into() },
            CallUpdate::IncomingEnded { call_id, reason } => CallEvent::IncomingEnded {
                call_id,
                reason: reason.into(),
            },
        }
    }
}

/// An incoming call, ready for CallKit (`reportNewIncomingCall`) or Android Telecom.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct IncomingInvite {
    /// A UUID that stays the same for this call (CallKit's call UUID).
    pub call_id: String,
    pub caller_name: Option<String>,
    /// What to show as the caller's handle.
    pub handle: String,
    pub received_at_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum IgnoreReason {
    NotACallPush,
    /// The same call was already presented.
    Duplicate,
    /// Older than its TTL: recorded as missed, never rung.
    Expired,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum PushOutcome {
    Invite {
        invite: IncomingInvite,
    },
    Ignored {
        reason: IgnoreReason,
        call_id: Option<String>,
    },
}

impl From<incoming::Invite> for IncomingInvite {
    fn from(i: incoming::Invite) -> Self {
        IncomingInvite {
            call_id: i.call_id,
            caller_name: i.caller_name,
            handle: i.handle,
            received_at_ms: i.received_at_ms,
        }
    }
}

impl From<incoming::PushOutcome> for PushOutcome {
    fn from(o: incoming::PushOutcome) -> Self {
        match o {
            incoming::PushOutcome::Invite(i) => PushOutcome::Invite { invite: i.into() },
            incoming::PushOutcome::Ignored { reason, call_id } => PushOutcome::Ignored {
                reason: match reason {
                    incoming::IgnoreReason::NotACallPush => IgnoreReason::NotACallPush,
                    incoming::IgnoreReason::Duplicate => IgnoreReason::Duplicate,
                    incoming::IgnoreReason::Expired => IgnoreReason::Expired,
                },
                call_id,
            },
        }
    }
}

/// What the call sends.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Enum)]
pub enum AudioSource {
    /// PCM the app pushes with `push_capture` (its microphone).
    Microphone,
    /// A generated sine wave: for tests, demos and "can you hear me" checks.
    Tone { frequency_hz: f32 },
}

#[uniffi::export(with_foreign)]
pub trait CallListener: Send + Sync {
    fn on_call_event(&self, event: CallEvent);
}

#[uniffi::export]
impl DialtoneClient {
    /// Joins the media session a participant token admits to (the callee's token from its push).
    pub async fn join_call(&self, participant_token: String) -> Result<(), DialtoneError> {
        let engine = self.engine.clone();
        run(async move { Ok(engine.join_call(&participant_token).await?) }).await
    }

    /// Tell the SDK the network changed (Wi-Fi ↔ cellular, say): it restarts ICE at once
    /// instead of waiting for the connection to fail. No-op outside a call.
    pub async fn network_changed(&self) -> Result<(), DialtoneError> {
        let engine = self.engine.clone();
        run(async move { Ok(engine.network_changed().await?) }).await
    }

    /// Hands a push to the SDK exactly as the OS delivered it: the FCM data map as a JSON
    /// object of strings (`RemoteMessage.data`), or the APNs / PushKit dictionary as JSON.
    /// Synchronous and without network: report the invite to CallKit / Telecom at once.
    /// Malformed or oversized payloads are `InvalidInput`.
    pub fn handle_push(&self, payload: String) -> Result<PushOutcome, DialtoneError> {
        super::runtime::guard(|| {
            let outcome = self.engine.handle_push(&payload)?;
            if let crate::incoming::PushOutcome::Invite(invite) = &outcome {
                runtime().spawn(self.engine.clone().start_invite(invite.call_id.clone()));
            }
            Ok(outcome.into())
        })
    }

    /// Answers an incoming call: joins its media session. `CallUnavailable` when the call is
    /// over or another device took it.
    pub async fn answer(&self, call_id: String) -> Result<(), DialtoneError> {
        let engine = self.engine.clone();
        run(async move { Ok(engine.answer(&call_id).await?) }).await
    }

    /// Declines an incoming call.
    pub async fn decline(&self, call_id: String) -> Result<(), DialtoneError> {
        let engine = self.engine.clone();
        run(async move { Ok(engine.decline(&call_id).await?) }).await
    }

    /// How long a call rings (default 45 s): an incoming one then ends as missed, an outgoing
    /// one is given up (cancelled at the backend) and ends as missed.
    pub fn set_ring_timeout_ms(&self, timeout_ms: u64) {
        self.engine
            .set_ring_timeout(std::time::Duration::from_millis(timeout_ms.max(1)));
    }

    /// Every call event from now on, until the handle is cancelled or dropped.
    pub fn observe_call(&self, listener: Arc<dyn CallListener>) -> Arc<TaskHandle> {
        let mut rx = self.engine.media_events();
        let task = runtime().spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(ev) => listener.on_call_event(ev.into()),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        Arc::new(TaskHandle {
            task: Mutex::new(Some(task)),
        })
    }

    /// Whether the extended backend's call-event channel is connected (never on the seed).
    pub fn is_event_channel_connected(&self) -> bool {
        self.engine.event_channel_connected()
    }

    pub fn set_muted(&self, muted: bool) {
        self.engine.audio().set_muted(muted);
    }

    pub fn is_muted(&self) -> bool {
        self.engine.audio().is_muted()
    }

    pub fn set_audio_source(&self, source: AudioSource) {
        self.engine.audio().set_source(match source {
            AudioSource::Microphone => Source::App,
            AudioSource::Tone { frequency_hz } => Source::Tone(frequency_hz),
        });
    }

    /// Microphone samples: 48 kHz, mono, 16-bit, any number at a time.
    pub fn push_capture(&self, samples: Vec<i16>) {
        self.engine.audio().push_capture(&samples);
    }

    /// Up to `count` samples to play (48 kHz mono); silence where none has arrived.
    pub fn pull_playback(&self, count: u32) -> Vec<i16> {
        let mut out = vec![0i16; count.min(48_000) as usize];
        self.engine.audio().pull_playback(&mut out);
        out
    }

    /// Microphone PCM as bytes: 16-bit little-endian, 48 kHz mono (what Android's
    /// `AudioRecord.read(ByteArray)` gives). A `ByteArray` / `Data` crosses the FFI as one
    /// buffer, where `push_capture`'s list is one value per sample. An odd trailing byte is
    /// ignored.
    pub fn push_capture_pcm(&self, pcm: Vec<u8>) {
        let mut samples = [0i16; 960];
        for chunk in pcm.chunks(960 * 2) {
            let n = chunk.len() / 2;
            for (s, b) in samples.iter_mut().zip(chunk.chunks_exact(2)) {
                *s = i16::from_le_bytes([b[0], b[1]]);
            }
            self.engine.audio().push_capture(&samples[..n]);
        }
    }

    /// Up to `count` samples to play as 16-bit little-endian bytes (48 kHz mono); silence
    /// where none has arrived.
    pub fn pull_playback_pcm(&self, count: u32) -> Vec<u8> {
        // Called every 20 ms: the returned buffer is the only allocation.
        let mut left = count.min(48_000) as usize;
        let mut bytes = Vec::with_capacity(left * 2);
        let mut frame = [0i16; 960];
        while left > 0 {
            let n = left.min(frame.len());
            self.engine.audio().pull_playback(&mut frame[..n]);
            bytes.extend(frame[..n].iter().flat_map(|s| s.to_le_bytes()));
            left -= n;
        }
        bytes
    }

    /// Which of `candidates_hz` dominates the last half second of received audio, if any.
    pub fn detected_remote_tone(&self, candidates_hz: Vec<f32>) -> Option<f32> {
        self.engine
            .audio()
            .dominant_remote_frequency(&candidates_hz)
    }
}
