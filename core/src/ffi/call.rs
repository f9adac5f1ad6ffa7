//! The call's media surface: joining with a token, events, mute, and the PCM bridge the
//! app's audio I/O feeds (capture pushed in, playback pulled out: see docs/adr/0005).

use std::sync::{Arc, Mutex};

use super::client::{DialtoneClient, TaskHandle};
use super::error::DialtoneError;
use super::runtime::{run, runtime};
use crate::audio_bridge::Source;
use crate::call_media::{MediaEnd, MediaEvent};

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum CallEndReason {
    /// This device hung up.
    LocalHangup,
    /// The far end or the backend ended the session (the signaling gateway closed it).
    RemoteEnded,
    /// The connection could not be kept or restored.
    Failed,
}

#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum CallEvent {
    Connecting,
    /// Remote audio is arriving.
    Connected,
    /// The network path is being restored (ICE restart).
    Reconnecting,
    Ended {
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

    /// Which of `candidates_hz` dominates the last half second of received audio, if any.
    pub fn detected_remote_tone(&self, candidates_hz: Vec<f32>) -> Option<f32> {
        self.engine
            .audio()
            .dominant_remote_frequency(&candidates_hz)
    }
}
