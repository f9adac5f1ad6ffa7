//! The exported surface: the only place that knows UniFFI. It converts types, runs the
//! engine's async methods on the one runtime, and turns every failure (panics included)
//! into `DialtoneError`. No logic lives here.

mod audio_edge;
mod call;
mod client;
mod error;
mod logging;
mod room;
mod runtime;
mod types;

pub use call::{
    AudioSource, Call, CallDirection, CallEndReason, CallEvent, CallListener, CallState,
    CancelSignal, IgnoreReason, IncomingCallListener, IncomingInvite, PushOutcome,
};
pub use client::{BackendConfig, DialtoneClient, PersonsListener, TaskHandle};
pub use error::DialtoneError;
pub use logging::{init_logging, LogLevel, LogSink};
pub use room::{
    InviteState, MemberLeftReason, MemberLevel, Room, RoomEvent, RoomInvite, RoomLeftReason,
    RoomListener, RoomMember, RoomState,
};
pub use types::{OutgoingCall, Person, PushKind, PushToken};

/// The SDK's version (the Cargo workspace's; the AAR and the Swift package carry the same).
#[uniffi::export]
pub fn sdk_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Tasks alive on the SDK's runtime. Not exported to apps: tests use it to prove that a
/// finished call leaves nothing running.
#[doc(hidden)]
pub fn runtime_alive_tasks() -> usize {
    runtime::runtime()
        .map(|rt| rt.metrics().num_alive_tasks())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A listener that panics on its first event.
    struct Panicky {
        seen: Mutex<Vec<CallEvent>>,
        calls: AtomicUsize,
    }

    impl CallListener for Panicky {
        fn on_call_event(&self, event: CallEvent) {
            if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("the app's listener has a bug");
            }
            self.seen
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(event);
        }
    }

    #[test]
    fn the_sdk_version_is_the_workspaces() {
        let cargo = include_str!("../../../Cargo.toml");
        assert!(cargo.contains(&format!("version = \"{}\"", sdk_version())));
    }

    #[test]
    fn a_panicking_listener_and_a_poisoned_lock_never_abort_the_app() {
        let dir = tempfile::tempdir().unwrap();
        // Nothing listens there: this test needs no backend.
        let config = BackendConfig::mock("http://127.0.0.1:9".into(), None).unwrap();
        let client = DialtoneClient::new(config, dir.path().display().to_string()).unwrap();
        let listener = Arc::new(Panicky {
            seen: Mutex::new(Vec::new()),
            calls: AtomicUsize::new(0),
        });
        let handle = client.observe_call(listener.clone()).unwrap();
        let push = serde_json::json!({
            "callId": "3b6f1c1e-8f1a-4c55-9d0e-2f4f7a1b2c3d",
            "callerName": "Ann Lee",
            "sentAt": std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                .to_string(),
        });
        let PushOutcome::Invite { invite } = client.handle_push(push.to_string()).unwrap() else {
            panic!("an invite")
        };
        let call = client.call(invite.call_id.clone()).unwrap();
        // Declining fails at the (absent) backend, and says so; the call still ends here.
        let declined = runtime::runtime().unwrap().block_on(call.decline());
        assert!(declined.is_err());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let seen = listener.seen.lock().unwrap().clone();
            if seen.iter().any(|e| {
                matches!(
                    e,
                    CallEvent::StateChanged {
                        state: CallState::Ended { .. },
                        ..
                    }
                )
            }) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "delivery stopped: {seen:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(
            listener.calls.load(Ordering::SeqCst) >= 2,
            "delivery went on after the panic"
        );
        handle.cancel();

        // A lock poisoned by a panic elsewhere: exports that return no Result answer anyway.
        client.engine.audio().poison_for_test();
        assert_eq!(client.detected_remote_tone(vec![440.0]), None);
        assert_eq!(client.pull_playback_pcm(960).len(), 1920);
        client.push_capture_pcm(&[0u8; 1920]);
        client.set_audio_source(AudioSource::Tone {
            frequency_hz: 440.0,
        });
        assert_eq!(
            call.state(),
            CallState::Ended {
                reason: CallEndReason::Declined
            }
        );
    }
}
