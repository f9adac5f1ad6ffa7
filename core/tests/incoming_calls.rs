//! The call lifecycle as a scenario table, every scenario run against both of the mock's
//! profiles: `seed` (exactly the real backend: the push carries the token, decline is endCall,
//! the caller learns only from its media) and `extended` (client secrets, call ids, token-free
//! pushes, answerCall/declineCall/cancelCall and the `/ws` event channel). Pushes are handed
//! over exactly as FCM (`RemoteMessage.data`) or PushKit (the dictionary) deliver them.

use std::sync::Arc;
use std::time::Duration;

use dialtone::{
    AudioSource, BackendConfig, CallDirection, CallEndReason, CallState, DialtoneClient,
    DialtoneError, IgnoreReason, PushKind, PushOutcome, PushToken,
};
use dialtone_mock::tokens::Claims;
use dialtone_mock::{MockServer, Profile};
use serde_json::{json, Value};

mod common;
use common::{call_ended, ended, eventually, state_is, Events};

const TONES: [f32; 2] = [440.0, 880.0];

struct Phone {
    c: Arc<DialtoneClient>,
    id: String,
    ev: Arc<Events>,
    push: String,
}

struct World {
    m: MockServer,
    profile: Profile,
    dirs: Vec<tempfile::TempDir>,
}

impl World {
    async fn new(profile: Profile) -> Self {
        let m = common::mock_on(profile).await;
        World {
            m,
            profile,
            dirs: Vec::new(),
        }
    }

    fn extended(&self) -> bool {
        self.profile == Profile::Extended
    }

    fn client(&self, dir: &std::path::Path) -> Arc<DialtoneClient> {
        DialtoneClient::new(
            BackendConfig::mock(self.m.base_url(), None).unwrap(),
            dir.display().to_string(),
        )
        .unwrap()
    }

    async fn phone(&mut self, name: &str, kind: PushKind, tone: f32) -> Phone {
        let dir = tempfile::tempdir().unwrap();
        let c = self.client(dir.path());
        self.dirs.push(dir);
        let push = format!("{name}-push");
        let id = c
            .register(PushToken {
                kind,
                token: push.clone(),
            })
            .await
            .unwrap();
        c.save_profile(name.into(), "Test".into()).await.unwrap();
        c.set_audio_source(AudioSource::Tone { frequency_hz: tone });
        let ev = Arc::new(Events::default());
        std::mem::forget(c.observe_call(ev.clone()).unwrap());
        std::mem::forget(c.observe_incoming_calls(ev.clone()).unwrap());
        if self.extended() {
            eventually("the event channel", 5, || c.is_event_channel_connected()).await;
        }
        Phone { c, id, ev, push }
    }

    /// The push as the OS hands it to the app: FCM's data map, or the APNs dictionary.
    async fn os_push(&self, p: &Phone) -> String {
        let push = common::pushes(&self.m, &p.push)
            .await
            .into_iter()
            .next()
            .expect("a push");
        match push["platform"].as_str() {
            Some("apns") => push["payload"].to_string(),
            _ => push["data"].to_string(),
        }
    }

    /// The callee's invite for the call just placed. On the extended backend the event
    /// channel usually announced it first, and the push is then a duplicate of it: the call
    /// rings once either way.
    async fn ring(&self, callee: &Phone) -> String {
        let payload = self.os_push(callee).await;
        match callee.c.handle_push(payload).unwrap() {
            PushOutcome::Invite { invite } => {
                assert!(uuid::Uuid::parse_str(&invite.call_id).is_ok());
                invite.call_id
            }
            PushOutcome::Ignored {
                reason: IgnoreReason::Duplicate,
                call_id: Some(id),
            } => {
                assert!(self.extended(), "a seed push is never a duplicate here");
                assert!(
                    callee.ev.rang(&id),
                    "the duplicate's invite came from the event channel"
                );
                id
            }
            other => panic!("expected an invite, got {other:?}"),
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Runs a scenario once per profile, as two tests.
macro_rules! both_profiles {
    ($($name:ident),* $(,)?) => {
        mod seed {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Profile::Seed).await })*
        }
        mod extended {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Profile::Extended).await })*
        }
    };
}

both_profiles!(
    answered_in_time,
    declined,
    cancelled_before_answer,
    ring_timeout,
    busy,
    glare,
    duplicate_stale_and_ended_pushes,
    answered_on_another_device,
    malformed_pushes,
);

async fn answered_in_time(profile: Profile) {
    let mut w = World::new(profile).await;
    let alice = w.phone("Alice", PushKind::Fcm, 440.0).await;
    let bob = w.phone("Bob", PushKind::ApnsVoip, 880.0).await;
    let call = alice.c.start_call(bob.id.clone(), None).await.unwrap();
    let placed = call.outgoing().unwrap();
    assert_eq!(placed.call_id.is_some(), w.extended());
    assert_eq!(call.direction(), CallDirection::Outgoing);
    assert_eq!(call.remote_client_id().as_deref(), Some(bob.id.as_str()));
    eventually("Alice to hear ringing", 5, || {
        alice.ev.saw(state_is(CallState::Ringing))
    })
    .await;
    let id = w.ring(&bob).await;
    if let Some(call_id) = &placed.call_id {
        assert_eq!(*call_id, id, "one call id end to end");
    }
    bob.c.answer(id.clone()).await.unwrap();
    eventually("Bob to hear Alice", 15, || {
        bob.c.detected_remote_tone(TONES.to_vec()) == Some(440.0)
    })
    .await;
    eventually("Alice to hear Bob", 15, || {
        alice.c.detected_remote_tone(TONES.to_vec()) == Some(880.0)
    })
    .await;
    assert!(
        matches!(
            bob.c.answer(id).await,
            Err(DialtoneError::CallUnavailable { .. })
        ),
        "answer twice"
    );
    bob.c.end_call().await.unwrap();
    eventually("Bob's call to end as his hangup", 5, || {
        bob.ev.saw(ended(CallEndReason::LocalHangup))
    })
    .await;
    eventually("Alice to hear the call end", 5, || {
        alice.ev.saw(ended(CallEndReason::RemoteEnded))
    })
    .await;
    eventually("the backend to forget the call", 5, || {
        w.m.with_state(|s| s.sessions.is_empty()) && w.m.media_counts() == (0, 0)
    })
    .await;
}

async fn declined(profile: Profile) {
    let mut w = World::new(profile).await;
    let alice = w.phone("Alice", PushKind::Fcm, 440.0).await;
    let bob = w.phone("Bob", PushKind::Fcm, 880.0).await;
    alice.c.start_call(bob.id.clone(), None).await.unwrap();
    let id = w.ring(&bob).await;
    bob.c.decline(id.clone()).await.unwrap();
    eventually("Bob's invite to end as declined", 5, || {
        bob.ev.saw(call_ended(&id, CallEndReason::Declined))
    })
    .await;
    // Extended: the caller is told it was declined. Seed: it only sees the session end.
    let expect = if w.extended() {
        CallEndReason::Declined
    } else {
        CallEndReason::RemoteEnded
    };
    eventually("Alice to hear the decline", 5, || {
        alice.ev.saw(ended(expect))
    })
    .await;
    assert!(alice.c.active_call().is_none());
    assert!(
        matches!(
            bob.c.answer(id).await,
            Err(DialtoneError::CallUnavailable { .. })
        ),
        "answer after decline"
    );
    // Both are free again at once: the seed needs the caller's own endCall.
    if !w.extended() {
        alice.c.end_call().await.unwrap();
    }
    eventually("both rows free", 5, || {
        w.m.with_state(|s| s.devices.values().all(|d| !d.in_session()))
    })
    .await;
}

async fn cancelled_before_answer(profile: Profile) {
    let mut w = World::new(profile).await;
    let alice = w.phone("Alice", PushKind::Fcm, 440.0).await;
    let bob = w.phone("Bob", PushKind::Fcm, 880.0).await;
    alice.c.start_call(bob.id.clone(), None).await.unwrap();
    let id = w.ring(&bob).await;
    alice.c.end_call().await.unwrap();
    eventually("Alice's call to end as cancelled", 5, || {
        alice.ev.saw(ended(CallEndReason::Cancelled))
    })
    .await;
    if w.extended() {
        eventually("Bob's invite to stop ringing", 5, || {
            bob.ev.saw(call_ended(&id, CallEndReason::Cancelled))
        })
        .await;
        assert!(matches!(
            bob.c.answer(id).await,
            Err(DialtoneError::CallUnavailable { .. })
        ));
    } else {
        // The seed cannot tell Bob; answering fails clearly instead of hanging.
        match bob.c.answer(id.clone()).await {
            Err(DialtoneError::TokenRefused { detail }) => {
                assert!(detail.contains("ended"), "{detail}")
            }
            other => panic!("expected TokenRefused, got {other:?}"),
        }
        eventually("the invite to end as failed", 5, || {
            bob.ev.saw(call_ended(&id, CallEndReason::Failed))
        })
        .await;
    }
}

async fn ring_timeout(profile: Profile) {
    let mut w = World::new(profile).await;
    let alice = w.phone("Alice", PushKind::Fcm, 440.0).await;
    let bob = w.phone("Bob", PushKind::Fcm, 880.0).await;
    bob.c.set_ring_timeout_ms(300);
    alice.c.set_ring_timeout_ms(1_500);
    alice.c.start_call(bob.id.clone(), None).await.unwrap();
    let id = w.ring(&bob).await;
    eventually("the invite to be missed", 5, || {
        bob.ev.saw(call_ended(&id, CallEndReason::Missed))
    })
    .await;
    if w.extended() {
        // The callee's timeout is not a decline: the caller's own ring timer gives up.
        eventually("Alice's call to be missed", 5, || {
            alice.ev.saw(ended(CallEndReason::Missed))
        })
        .await;
    } else {
        // Seed fallback: the callee's endCall released the session.
        eventually("Alice to hear the call end", 5, || {
            alice.ev.saw(ended(CallEndReason::RemoteEnded))
        })
        .await;
    }
    eventually("the session gone", 5, || {
        w.m.with_state(|s| s.sessions.is_empty())
    })
    .await;
}

async fn busy(profile: Profile) {
    let mut w = World::new(profile).await;
    let alice = w.phone("Alice", PushKind::Fcm, 440.0).await;
    let bob = w.phone("Bob", PushKind::Fcm, 880.0).await;
    let carol = w.phone("Carol", PushKind::Fcm, 660.0).await;
    alice.c.start_call(bob.id.clone(), None).await.unwrap();
    let first = w.ring(&bob).await;
    bob.c.answer(first).await.unwrap();
    // The backend refuses a call to someone in a session.
    assert!(matches!(
        carol.c.start_call(bob.id.clone(), None).await,
        Err(DialtoneError::Busy { .. })
    ));
    // A call's push that still reaches Bob while he talks (a late push, another backend
    // path) ends as busy at once.
    let payload = if w.extended() {
        json!({
            "pinpoint.notification.body": "Carol Test is calling you",
            "callId": uuid::Uuid::new_v4().to_string(),
            "callerId": carol.id,
            "callerName": "Carol Test",
            "sentAt": now_ms().to_string(),
        })
    } else {
        let token = w.m.issue_token(&Claims {
            a: "a".into(),
            p: "p2".into(),
            v: "v3".into(),
            exp: now_ms() / 1000 + 600,
            tid: "s2".into(),
            iss: "mock:00".into(),
        });
        json!({
            "pinpoint.notification.body": "Carol Test is calling you",
            "pinpoint.deeplink": format!("https://my.app.com/incomingCall?tok={token}"),
        })
    };
    let PushOutcome::Invite { invite } = bob.c.handle_push(payload.to_string()).unwrap() else {
        panic!("a busy invite is still returned, for CallKit to report and end")
    };
    eventually("the second call to end as busy", 5, || {
        bob.ev.saw(call_ended(&invite.call_id, CallEndReason::Busy))
    })
    .await;
    eventually("Bob to still hear Alice", 15, || {
        bob.c.detected_remote_tone(TONES.to_vec()) == Some(440.0)
    })
    .await;
    bob.c.end_call().await.unwrap();
    alice.c.end_call().await.unwrap();
}

async fn glare(profile: Profile) {
    let mut w = World::new(profile).await;
    let alice = w.phone("Alice", PushKind::Fcm, 440.0).await;
    let bob = w.phone("Bob", PushKind::Fcm, 880.0).await;
    // Both call each other at once: the backend's atomic session check lets exactly one
    // through, and the other side gets Busy and then the winner's invite.
    let (a, b) = tokio::join!(
        alice.c.start_call(bob.id.clone(), None),
        bob.c.start_call(alice.id.clone(), None)
    );
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "one call wins: {a:?} / {b:?}"
    );
    let a_won = a.is_ok();
    let loser = if a_won { b } else { a };
    assert!(matches!(loser, Err(DialtoneError::Busy { .. })));
    assert_eq!(w.m.with_state(|s| s.sessions.len()), 1);
    let (winner, callee) = if a_won {
        (&alice, &bob)
    } else {
        (&bob, &alice)
    };
    let id = w.ring(callee).await;
    callee.c.answer(id).await.unwrap();
    eventually("the callee to hear the caller", 15, || {
        callee.c.detected_remote_tone(TONES.to_vec()).is_some()
    })
    .await;
    winner.c.end_call().await.unwrap();
    callee.c.end_call().await.unwrap();
}

async fn duplicate_stale_and_ended_pushes(profile: Profile) {
    let mut w = World::new(profile).await;
    let alice = w.phone("Alice", PushKind::Fcm, 440.0).await;
    let bob = w.phone("Bob", PushKind::ApnsVoip, 880.0).await;

    // Duplicate: the same push twice rings once.
    alice.c.start_call(bob.id.clone(), None).await.unwrap();
    let payload = w.os_push(&bob).await;
    let first = bob.c.handle_push(payload.clone()).unwrap();
    let again = bob.c.handle_push(payload.clone()).unwrap();
    let id = match first {
        PushOutcome::Invite { invite } => invite.call_id,
        PushOutcome::Ignored { call_id, .. } => call_id.unwrap(),
    };
    assert_eq!(
        again,
        PushOutcome::Ignored {
            reason: IgnoreReason::Duplicate,
            call_id: Some(id.clone())
        }
    );

    // A push for a call that has ended.
    alice.c.end_call().await.unwrap();
    if w.extended() {
        // Known and over: it stays a duplicate, and answering it is refused.
        eventually("the cancel to arrive", 5, || {
            bob.ev.saw(call_ended(&id, CallEndReason::Cancelled))
        })
        .await;
        assert!(matches!(
            bob.c.handle_push(payload).unwrap(),
            PushOutcome::Ignored {
                reason: IgnoreReason::Duplicate,
                ..
            }
        ));
        assert!(bob.c.answer(id).await.is_err());
    } else {
        // The seed push cannot say the call is over: answering fails clearly, no hang.
        match bob.c.answer(id).await {
            Err(DialtoneError::TokenRefused { .. }) => {}
            other => panic!("expected TokenRefused, got {other:?}"),
        }
    }

    // Stale: older than the push TTL (seed: by the token's expiry; extended: by sentAt).
    let stale = if w.extended() {
        json!({
            "aps": {"alert": {"title": "Incoming Call", "body": "Alice Test is calling you"}},
            "data": {
                "callId": uuid::Uuid::new_v4().to_string(),
                "callerId": alice.id,
                "sentAt": (now_ms() - 60_000).to_string(),
            },
        })
    } else {
        let expired = w.m.issue_token(&Claims {
            a: "a".into(),
            p: "p".into(),
            v: "v3".into(),
            exp: 1,
            tid: "s".into(),
            iss: "mock:00".into(),
        });
        json!({
            "aps": {"alert": {"title": "Incoming Call", "body": "Alice Test is calling you"}},
            "data": {"pinpoint": {"deeplink": format!("https://my.app.com/incomingCall?tok={expired}")}},
        })
    };
    assert!(matches!(
        bob.c.handle_push(stale.to_string()).unwrap(),
        PushOutcome::Ignored {
            reason: IgnoreReason::Expired,
            ..
        }
    ));
}

async fn answered_on_another_device(profile: Profile) {
    let mut w = World::new(profile).await;
    let alice = w.phone("Alice", PushKind::Fcm, 440.0).await;
    let bob = w.phone("Bob", PushKind::Fcm, 880.0).await;
    // Bob's second device: the same identity (clientId and secret), its own connection.
    let tablet = w.client(w.dirs[1].path());
    assert_eq!(
        tablet.client_id().unwrap().as_deref(),
        Some(bob.id.as_str())
    );
    let tablet_ev = Arc::new(Events::default());
    std::mem::forget(tablet.observe_call(tablet_ev.clone()).unwrap());
    std::mem::forget(tablet.observe_incoming_calls(tablet_ev.clone()).unwrap());
    if w.extended() {
        eventually("the tablet's channel", 5, || {
            tablet.is_event_channel_connected()
        })
        .await;
    }
    alice.c.start_call(bob.id.clone(), None).await.unwrap();
    let id = w.ring(&bob).await;
    if w.extended() {
        eventually("the tablet to ring too", 5, || tablet_ev.rang(&id)).await;
    }
    bob.c.answer(id.clone()).await.unwrap();
    if w.extended() {
        eventually("the tablet to stop: answered elsewhere", 5, || {
            tablet_ev.saw(call_ended(&id, CallEndReason::AnsweredElsewhere))
        })
        .await;
        assert!(matches!(
            tablet.answer(id).await,
            Err(DialtoneError::CallUnavailable { .. })
        ));
    } else {
        // The seed has no channel: the tablet never heard of the call.
        assert!(!tablet_ev.offered_any());
    }
    eventually("Alice to hear Bob", 15, || {
        alice.c.detected_remote_tone(TONES.to_vec()) == Some(880.0)
    })
    .await;
    bob.c.end_call().await.unwrap();
    alice.c.end_call().await.unwrap();
}

async fn malformed_pushes(profile: Profile) {
    let mut w = World::new(profile).await;
    let bob = w.phone("Bob", PushKind::Fcm, 880.0).await;
    for bad in ["{not json", "[]", "null", &"x".repeat(6000)] {
        assert!(
            matches!(
                bob.c.handle_push(bad.to_string()),
                Err(DialtoneError::InvalidInput { .. })
            ),
            "{bad:.20}"
        );
    }
    let promo: Value = json!({"pinpoint.notification.title": "50% off"});
    assert_eq!(
        bob.c.handle_push(promo.to_string()).unwrap(),
        PushOutcome::Ignored {
            reason: IgnoreReason::NotACallPush,
            call_id: None
        }
    );
    // Nothing was lost: the device still rings for a real call.
    let alice = w.phone("Alice", PushKind::Fcm, 440.0).await;
    alice.c.start_call(bob.id.clone(), None).await.unwrap();
    let id = w.ring(&bob).await;
    bob.c.decline(id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// Alice calls Bob on the extended profile; once Bob's phone rings, the mock's live
/// channels go down and both phones have noticed.
async fn ringing_then_live_channels_down() -> (World, Phone, Phone, String) {
    let mut w = World::new(Profile::Extended).await;
    let alice = w.phone("Alice", PushKind::Fcm, 440.0).await;
    let bob = w.phone("Bob", PushKind::Fcm, 880.0).await;
    alice.c.start_call(bob.id.clone(), None).await.unwrap();
    let id = w.ring(&bob).await;
    w.m.set_live_channels_available(false);
    eventually("the event channels to go down", 5, || {
        !alice.c.is_event_channel_connected() && !bob.c.is_event_channel_connected()
    })
    .await;
    (w, alice, bob, id)
}

/// The extended profile's live channels (the event channel and the AppSync real-time
/// socket) go down while Bob's phone rings, and Alice gives up meanwhile: Bob cannot know
/// until his channel is back, and then his invite stops ringing as cancelled (the server
/// replays the missed `cancelled` on connect) instead of ringing on to its timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_made_during_a_live_channel_outage_stops_the_ringing_once_it_is_back() {
    let (w, alice, bob, id) = ringing_then_live_channels_down().await;
    alice.c.end_call().await.unwrap();
    eventually("Alice's call to end as cancelled", 5, || {
        alice.ev.saw(ended(CallEndReason::Cancelled))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !bob.ev.saw(call_ended(&id, CallEndReason::Cancelled)),
        "Bob's phone cannot know during the outage"
    );
    assert!(!bob.c.is_event_channel_connected());
    w.m.set_live_channels_available(true);
    eventually("Bob's invite to stop ringing as cancelled", 10, || {
        bob.ev.saw(call_ended(&id, CallEndReason::Cancelled))
    })
    .await;
    assert!(matches!(
        bob.c.answer(id).await,
        Err(DialtoneError::CallUnavailable { .. })
    ));
}

/// Bob answers during a live-channel outage: Alice never gets `answered` live, yet her call
/// connects from its media, the tones flow both ways, and the `answered` replayed when her
/// channel is back changes nothing (each call is Connected once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_made_during_a_live_channel_outage_connects_both_calls() {
    let (w, alice, bob, id) = ringing_then_live_channels_down().await;
    bob.c.answer(id.clone()).await.unwrap();
    eventually("Alice's call to connect from its media", 15, || {
        alice.ev.saw(state_is(CallState::Connected))
    })
    .await;
    eventually("Bob to hear Alice", 15, || {
        bob.c.detected_remote_tone(TONES.to_vec()) == Some(440.0)
    })
    .await;
    eventually("Alice to hear Bob", 15, || {
        alice.c.detected_remote_tone(TONES.to_vec()) == Some(880.0)
    })
    .await;
    w.m.set_live_channels_available(true);
    eventually("the event channels to come back", 10, || {
        alice.c.is_event_channel_connected() && bob.c.is_event_channel_connected()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (who, p) in [("Alice", &alice), ("Bob", &bob)] {
        let states = p.ev.states();
        let connected = states
            .iter()
            .filter(|s| **s == CallState::Connected)
            .count();
        assert_eq!(connected, 1, "{who}: {states:?}");
        assert!(
            !states.iter().any(|s| matches!(s, CallState::Ended { .. })),
            "{who}: {states:?}"
        );
    }
    alice.c.end_call().await.unwrap();
    eventually("Bob's call to end as remote ended", 10, || {
        bob.ev.saw(call_ended(&id, CallEndReason::RemoteEnded))
    })
    .await;
}

/// A network change reconnects the event channel at once (a socket left on the old network
/// would wait up to 45 s of silence), and the channel works after it: a call rings through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_change_reconnects_the_event_channel_at_once() {
    let mut w = World::new(Profile::Extended).await;
    let alice = w.phone("Alice", PushKind::Fcm, 440.0).await;
    let bob = w.phone("Bob", PushKind::Fcm, 880.0).await;
    let opened = w.m.event_channels_opened();
    bob.c.network_changed().await.unwrap();
    eventually("Bob's event channel to reconnect", 5, || {
        w.m.event_channels_opened() == opened + 1 && bob.c.is_event_channel_connected()
    })
    .await;
    eventually("the old connection to be gone", 5, || {
        w.m.event_connections(&bob.id) == 1
    })
    .await;
    alice.c.start_call(bob.id.clone(), None).await.unwrap();
    let id = w.ring(&bob).await;
    assert!(bob.ev.rang(&id));
    alice.c.end_call().await.unwrap();
}
