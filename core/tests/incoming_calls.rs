//! The incoming path on the seed profile: a push exactly as FCM or PushKit delivers it
//! becomes an invite at once; duplicates, stale pushes and non-call pushes are ignored with a
//! reason; answer joins the media; decline, ring timeout and busy end the call as they
//! should, and the caller hears it end.

use std::sync::Arc;

use dialtone::{
    AudioSource, BackendConfig, CallEndReason, CallEvent, DialtoneClient, DialtoneError,
    IgnoreReason, PushKind, PushOutcome, PushToken,
};
use dialtone_mock::tokens::Claims;
use dialtone_mock::{MockConfig, MockServer};
use serde_json::Value;

mod common;
use common::{eventually, Events};

const TONES: [f32; 2] = [440.0, 880.0];

struct World {
    m: MockServer,
    _dirs: Vec<tempfile::TempDir>,
}

impl World {
    async fn new() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let m = MockServer::start("127.0.0.1:0".parse().unwrap(), MockConfig::default())
            .await
            .unwrap();
        World {
            m,
            _dirs: Vec::new(),
        }
    }

    async fn phone(
        &mut self,
        name: &str,
        kind: PushKind,
        tone: f32,
    ) -> (Arc<DialtoneClient>, String, Arc<Events>) {
        let dir = tempfile::tempdir().unwrap();
        let c = DialtoneClient::new(
            BackendConfig::mock(self.m.base_url(), None).unwrap(),
            dir.path().display().to_string(),
        )
        .unwrap();
        self._dirs.push(dir);
        let id = c
            .register(PushToken {
                kind,
                token: format!("{name}-push"),
            })
            .await
            .unwrap();
        c.save_profile(name.into(), "Test".into()).await.unwrap();
        c.set_audio_source(AudioSource::Tone { frequency_hz: tone });
        let events = Arc::new(Events::default());
        std::mem::forget(c.observe_call(events.clone()));
        (c, id, events)
    }

    /// The push as the OS hands it to the app: FCM's data map, or the APNs dictionary.
    async fn os_push(&self, device: &str) -> String {
        let p = common::pushes(&self.m, device)
            .await
            .into_iter()
            .next()
            .expect("a push");
        match p["platform"].as_str() {
            Some("apns") => p["payload"].to_string(),
            _ => p["data"].to_string(),
        }
    }
}

fn invite(outcome: PushOutcome) -> dialtone::IncomingInvite {
    match outcome {
        PushOutcome::Invite { invite } => invite,
        other => panic!("expected an invite, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_rings_once_answer_joins_the_call_with_audio() {
    let mut w = World::new().await;
    let (alice, _, _) = w.phone("Alice", PushKind::Fcm, 440.0).await;
    let (bob, bob_id, _) = w.phone("Bob", PushKind::ApnsVoip, 880.0).await;
    alice.start_call(bob_id).await.unwrap();
    let payload = w.os_push("Bob-push").await;
    let inv = invite(bob.handle_push(payload.clone()).unwrap());
    assert_eq!(inv.caller_name.as_deref(), Some("Alice Test"));
    assert!(uuid::Uuid::parse_str(&inv.call_id).is_ok());
    assert_eq!(
        bob.handle_push(payload).unwrap(),
        PushOutcome::Ignored {
            reason: IgnoreReason::Duplicate,
            call_id: Some(inv.call_id.clone())
        }
    );
    bob.answer(inv.call_id.clone()).await.unwrap();
    eventually("Bob to hear Alice", 15, || {
        bob.detected_remote_tone(TONES.to_vec()) == Some(440.0)
    })
    .await;
    eventually("Alice to hear Bob", 15, || {
        alice.detected_remote_tone(TONES.to_vec()) == Some(880.0)
    })
    .await;
    assert!(
        matches!(
            bob.answer(inv.call_id).await,
            Err(DialtoneError::InvalidInput { .. })
        ),
        "answer twice"
    );
    bob.end_call().await.unwrap();
    alice.end_call().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decline_ends_the_call_for_the_caller_too() {
    let mut w = World::new().await;
    let (alice, _, alice_events) = w.phone("Alice", PushKind::Fcm, 440.0).await;
    let (bob, bob_id, bob_events) = w.phone("Bob", PushKind::Fcm, 880.0).await;
    alice.start_call(bob_id).await.unwrap();
    let inv = invite(bob.handle_push(w.os_push("Bob-push").await).unwrap());
    bob.decline(inv.call_id.clone()).await.unwrap();
    eventually("Bob's invite to end as declined", 5, || {
        bob_events.saw(|e| {
            *e == CallEvent::IncomingEnded {
                call_id: inv.call_id.clone(),
                reason: CallEndReason::Declined,
            }
        })
    })
    .await;
    eventually("Alice to hear the call end", 5, || {
        alice_events.saw(|e| {
            *e == CallEvent::Ended {
                reason: CallEndReason::RemoteEnded,
            }
        })
    })
    .await;
    assert!(
        matches!(
            bob.answer(inv.call_id).await,
            Err(DialtoneError::InvalidInput { .. })
        ),
        "answer after decline"
    );
    alice.end_call().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_call_is_missed_after_the_ring_timeout() {
    let mut w = World::new().await;
    let (alice, _, alice_events) = w.phone("Alice", PushKind::Fcm, 440.0).await;
    let (bob, bob_id, bob_events) = w.phone("Bob", PushKind::Fcm, 880.0).await;
    bob.set_ring_timeout_ms(300);
    alice.start_call(bob_id).await.unwrap();
    let inv = invite(bob.handle_push(w.os_push("Bob-push").await).unwrap());
    eventually("the invite to be missed", 5, || {
        bob_events.saw(|e| {
            *e == CallEvent::IncomingEnded {
                call_id: inv.call_id.clone(),
                reason: CallEndReason::Missed,
            }
        })
    })
    .await;
    eventually("Alice to hear the call end", 5, || {
        alice_events.saw(|e| {
            *e == CallEvent::Ended {
                reason: CallEndReason::RemoteEnded,
            }
        })
    })
    .await;
    alice.end_call().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_arriving_during_another_is_busy() {
    let mut w = World::new().await;
    let (alice, _, _) = w.phone("Alice", PushKind::Fcm, 440.0).await;
    let (bob, bob_id, bob_events) = w.phone("Bob", PushKind::Fcm, 880.0).await;
    alice.start_call(bob_id).await.unwrap();
    let first = invite(bob.handle_push(w.os_push("Bob-push").await).unwrap());
    bob.answer(first.call_id).await.unwrap();
    // A second call's push arrives while Bob talks (a late push, or another backend path).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let other = w.m.issue_token(&Claims {
        a: "a".into(),
        p: "p2".into(),
        v: "v3".into(),
        exp: now + 600,
        tid: "s2".into(),
        iss: "mock:00".into(),
    });
    let payload = serde_json::json!({
        "pinpoint.notification.body": "Carol Test is calling you",
        "pinpoint.deeplink": format!("https://my.app.com/incomingCall?tok={other}"),
    });
    let second = invite(bob.handle_push(payload.to_string()).unwrap());
    eventually("the second call to end as busy", 5, || {
        bob_events.saw(|e| {
            *e == CallEvent::IncomingEnded {
                call_id: second.call_id.clone(),
                reason: CallEndReason::Busy,
            }
        })
    })
    .await;
    // The first call goes on.
    eventually("Bob to still hear Alice", 15, || {
        bob.detected_remote_tone(TONES.to_vec()) == Some(440.0)
    })
    .await;
    bob.end_call().await.unwrap();
    alice.end_call().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_ended_malformed_and_foreign_pushes() {
    let mut w = World::new().await;
    let (alice, _, _) = w.phone("Alice", PushKind::Fcm, 440.0).await;
    let (bob, bob_id, bob_events) = w.phone("Bob", PushKind::Fcm, 880.0).await;

    // Stale: the token in the push has expired.
    let expired = w.m.issue_token(&Claims {
        a: "a".into(),
        p: "p".into(),
        v: "v3".into(),
        exp: 1,
        tid: "s".into(),
        iss: "mock:00".into(),
    });
    let stale = serde_json::json!({"pinpoint.deeplink": format!("https://my.app.com/incomingCall?tok={expired}")});
    assert!(matches!(
        bob.handle_push(stale.to_string()).unwrap(),
        PushOutcome::Ignored {
            reason: IgnoreReason::Expired,
            ..
        }
    ));

    // A push for a call that has already ended: it rings (the seed push cannot tell), and
    // answering fails clearly instead of hanging.
    alice.start_call(bob_id).await.unwrap();
    let payload = w.os_push("Bob-push").await;
    alice.end_call().await.unwrap();
    let inv = invite(bob.handle_push(payload).unwrap());
    match bob.answer(inv.call_id.clone()).await {
        Err(DialtoneError::TokenRefused { detail }) => {
            assert!(detail.contains("ended"), "{detail}")
        }
        other => panic!("expected TokenRefused, got {other:?}"),
    }
    eventually("the invite to end as failed", 5, || {
        bob_events.saw(|e| {
            *e == CallEvent::IncomingEnded {
                call_id: inv.call_id.clone(),
                reason: CallEndReason::Failed,
            }
        })
    })
    .await;

    for bad in ["{not json", "[]", &"x".repeat(6000)] {
        assert!(
            matches!(
                bob.handle_push(bad.to_string()),
                Err(DialtoneError::InvalidInput { .. })
            ),
            "{bad:.20}"
        );
    }
    let promo: Value = serde_json::json!({"pinpoint.notification.title": "50% off"});
    assert_eq!(
        bob.handle_push(promo.to_string()).unwrap(),
        PushOutcome::Ignored {
            reason: IgnoreReason::NotACallPush,
            call_id: None
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glare_gives_exactly_one_call() {
    let mut w = World::new().await;
    let (alice, alice_id, _) = w.phone("Alice", PushKind::Fcm, 440.0).await;
    let (bob, bob_id, _) = w.phone("Bob", PushKind::Fcm, 880.0).await;
    // Both call each other at the same moment: the backend's session check lets one through.
    let (a, b) = tokio::join!(alice.start_call(bob_id), bob.start_call(alice_id));
    let outcomes = [a.is_ok(), b.is_ok()];
    assert_eq!(
        outcomes.iter().filter(|ok| **ok).count(),
        1,
        "one call wins: {a:?} / {b:?}"
    );
    let loser = if a.is_ok() { b } else { a };
    assert!(
        matches!(loser, Err(DialtoneError::Busy { .. })),
        "the other side is told busy"
    );
    assert_eq!(w.m.with_state(|s| s.sessions.len()), 1);
    // The winner's callee still gets its push and can answer the one call.
    let (winner, callee, callee_push) = if outcomes[0] {
        (&alice, &bob, "Bob-push")
    } else {
        (&bob, &alice, "Alice-push")
    };
    let inv = invite(callee.handle_push(w.os_push(callee_push).await).unwrap());
    callee.answer(inv.call_id).await.unwrap();
    eventually("the callee to hear the caller", 15, || {
        callee.detected_remote_tone(TONES.to_vec()).is_some()
    })
    .await;
    winner.end_call().await.unwrap();
    callee.end_call().await.unwrap();
}
