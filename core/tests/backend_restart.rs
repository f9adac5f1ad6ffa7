//! The backend restarts and forgets everything mid-call: the mock runs on a runtime of its
//! own, which is shut down (every socket and task of it gone at once, as when the process is
//! killed), and a fresh mock with the same configuration comes back on the same port. Each
//! phone must notice within seconds, end its call once with a clear reason, keep its other
//! connections trying without spinning, and work again after registering anew.
// Tests spawn directly; the core spawns through its `task` module (core/clippy.toml).
#![allow(clippy::disallowed_methods)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use dialtone::{CallEndReason, CallState, DialtoneError, PushKind, PushToken};
use dialtone_mock::{MockConfig, MockServer, Profile};

mod common;
use common::{connected_call_with, ended, eventually, hears};

/// A mock on a runtime of its own, so that killing it drops every task and socket it has.
struct Killable {
    rt: Option<tokio::runtime::Runtime>,
    mock: Option<MockServer>,
}

impl Killable {
    async fn start(addr: SocketAddr, config: MockConfig) -> Killable {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mock = rt
            .spawn(MockServer::start(addr, config))
            .await
            .unwrap()
            .expect("the mock starts on loopback");
        Killable {
            rt: Some(rt),
            mock: Some(mock),
        }
    }

    fn mock(&self) -> &MockServer {
        self.mock.as_ref().unwrap()
    }

    /// Every connection, media session and piece of state of the mock, gone at once.
    fn kill(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
        self.mock.take();
    }
}

impl Drop for Killable {
    fn drop(&mut self) {
        self.kill();
    }
}

fn config(profile: Profile) -> MockConfig {
    MockConfig {
        profile,
        ..MockConfig::default()
    }
}

async fn restart_mid_call(profile: Profile) {
    let mut first = Killable::start(SocketAddr::from(([127, 0, 0, 1], 0)), config(profile)).await;
    let addr = first.mock().addr();
    let c = connected_call_with(first.mock(), None).await;
    hears(&c).await;

    first.kill();
    let killed_at = Instant::now();
    // A moment down, as a real restart is, then the same address with nothing in it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let second = Killable::start(addr, config(profile)).await;

    // Both calls end once, as connection lost, within seconds: the new gateway does not
    // know the participant tokens (a restarted Bandwidth would not know the session).
    for (who, events) in [("Alice", &c.alice_events), ("Bob", &c.bob_events)] {
        eventually(
            &format!("{who}'s call to end as connection lost"),
            15,
            || events.saw(ended(CallEndReason::ConnectionLost)),
        )
        .await;
        let ends = events
            .states()
            .iter()
            .filter(|s| matches!(s, CallState::Ended { .. }))
            .count();
        assert_eq!(ends, 1, "{who}'s call ends once: {:?}", events.states());
    }
    let noticed = killed_at.elapsed();
    assert!(
        noticed < Duration::from_secs(10),
        "noticed after {noticed:?}"
    );
    let detail = c.alice_call.end_detail().unwrap_or_default();
    assert!(!detail.is_empty(), "a reason in words");
    eprintln!("{profile:?}: both calls ended {noticed:?} after the kill ({detail})");

    // Each phone learns that the backend forgot it (its call's `endCall` is refused; on the
    // extended profile its event channel is too) and forgets its clientId: what the app
    // does next says `NotRegistered`, at once, never a hang.
    for (who, phone) in [("Alice", &c.alice), ("Bob", &c.bob)] {
        eventually(&format!("{who}'s phone to forget its clientId"), 10, || {
            phone.client_id().unwrap().is_none()
        })
        .await;
        let t = Instant::now();
        match phone.end_call().await {
            Err(DialtoneError::NotRegistered { .. }) => {}
            other => panic!("{who}: expected NotRegistered, got {other:?}"),
        }
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "hang-up took {:?}",
            t.elapsed()
        );
        assert!(phone.active_call().is_none());
        if profile == Profile::Extended {
            assert!(!phone.is_event_channel_connected());
        }
    }

    // Registering again (what an app does on `NotRegistered`) makes each a client of the new
    // backend; the channel comes back, and calls work again.
    for (phone, push) in [(&c.alice, "alice-fcm"), (&c.bob, "bob-fcm")] {
        phone
            .register(PushToken {
                kind: PushKind::Fcm,
                token: push.into(),
            })
            .await
            .expect("registers with the restarted backend");
    }
    assert_eq!(second.mock().with_state(|s| s.devices.len()), 2);
    if profile == Profile::Extended {
        for phone in [&c.alice, &c.bob] {
            eventually("the event channel to reconnect", 5, || {
                phone.is_event_channel_connected()
            })
            .await;
        }
    }
    c.alice
        .save_profile("Alice".into(), "A".into())
        .await
        .unwrap();
    let bob_id = c.bob.client_id().unwrap().unwrap();
    let call = c.alice.start_call(bob_id, None).await.unwrap();
    common::answer_next_push(second.mock(), &c.bob, "bob-fcm").await;
    hears(&c).await;
    call.hangup().await.unwrap();
    c.bob.end_call().await.unwrap();
    eventually("the new SFU to forget the session", 5, || {
        second.mock().media_counts() == (0, 0)
    })
    .await;
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_a_backend_restart_mid_call_ends_the_call_clearly_and_the_phones_work_again() {
    restart_mid_call(Profile::Seed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extended_a_backend_restart_mid_call_ends_the_call_clearly_and_the_phones_work_again() {
    restart_mid_call(Profile::Extended).await;
}
