//! The core driven through its public (exported) API against the real mock, in-process on
//! a loopback port: registration, profiles, sync (base, delta, live, reconnect), calls,
//! clean-up, restarts and the typed errors. The mock runs its default (extended) profile
//! unless a test needs exactly the seed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dialtone::{
    BackendConfig, DialtoneClient, DialtoneError, Person, PersonsListener, PushKind, PushToken,
};
use dialtone_mock::{MockConfig, MockServer, Profile};

mod common;
use common::pushes;

async fn mock() -> MockServer {
    mock_with(Profile::Extended).await
}

async fn mock_with(profile: Profile) -> MockServer {
    common::start_mock(MockConfig {
        keep_alive_interval: Duration::from_millis(300),
        connection_timeout_ms: 2_000,
        profile,
        ..MockConfig::default()
    })
    .await
}

fn client(m: &MockServer, dir: &std::path::Path) -> Arc<DialtoneClient> {
    let config = BackendConfig::mock(m.base_url(), None).unwrap();
    DialtoneClient::new(config, dir.to_str().unwrap().to_string()).unwrap()
}

fn fcm(token: &str) -> PushToken {
    PushToken {
        kind: PushKind::Fcm,
        token: token.into(),
    }
}

#[derive(Default)]
struct Recorder(Mutex<Vec<Vec<Person>>>);

impl PersonsListener for Recorder {
    fn on_persons_changed(&self, persons: Vec<Person>) {
        self.0.lock().unwrap().push(persons);
    }
}

impl Recorder {
    fn latest(&self) -> Vec<Person> {
        self.0.lock().unwrap().last().cloned().unwrap_or_default()
    }

    async fn wait_for(&self, what: &str, pred: impl Fn(&[Person]) -> bool) -> Vec<Person> {
        for _ in 0..100 {
            if let Some(last) = self.0.lock().unwrap().last() {
                if pred(last) {
                    return last.clone();
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "listener never saw {what}; got {:?}",
            self.0.lock().unwrap().last()
        );
    }
}

#[tokio::test]
async fn two_phones_register_sync_see_each_other_and_call() {
    let m = mock().await;
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let alice = client(&m, da.path());
    let bob = client(&m, db.path());
    let a_id = alice.register(fcm("alice-fcm")).await.unwrap();
    let b_id = bob
        .register(PushToken {
            kind: PushKind::ApnsVoip,
            token: "bob-voip".into(),
        })
        .await
        .unwrap();
    assert_ne!(a_id, b_id);
    assert_eq!(alice.client_id().unwrap().as_deref(), Some(a_id.as_str()));

    let me = alice
        .save_profile("Alice".into(), "Smith".into())
        .await
        .unwrap();
    assert!(me.is_self);
    bob.save_profile("Bob".into(), "Jones".into())
        .await
        .unwrap();

    let a_list = alice.sync_persons().await.unwrap();
    let b_list = bob.sync_persons().await.unwrap();
    assert_eq!(a_list.len(), 2);
    let bob_seen_by_alice = a_list.iter().find(|p| p.first_name == "Bob").unwrap();
    assert_eq!(bob_seen_by_alice.client_id, b_id);
    assert!(!bob_seen_by_alice.is_self);
    assert!(b_list
        .iter()
        .any(|p| p.first_name == "Alice" && p.client_id == a_id));

    let placed = alice.start_call(b_id.clone(), None).await.unwrap();
    let call = placed.outgoing().unwrap();
    assert!(call.participant_token.starts_with("eyJ"));
    assert!(call.participant_id.is_some() && call.session_id.is_some());
    assert!(call.expires_at_ms.unwrap() > 0);
    assert_eq!(alice.active_call().unwrap().id(), placed.id());
    assert_eq!(
        alice
            .active_call()
            .unwrap()
            .outgoing()
            .unwrap()
            .callee_client_id,
        b_id
    );
    assert!(!format!("{call:?}").contains(&call.participant_token));

    let p = pushes(&m, "bob-voip").await;
    assert_eq!(p.len(), 1);
    assert_eq!(
        p[0]["payload"]["aps"]["alert"]["body"],
        "Alice Smith is calling you"
    );

    // Both legs are in a session now: a call the other way is busy.
    match bob.start_call(a_id.clone(), None).await {
        Err(DialtoneError::Busy { detail }) => assert!(detail.contains("already in a session")),
        other => panic!("expected Busy, got {other:?}"),
    }
    alice.end_call().await.unwrap();
    bob.end_call().await.unwrap();
    assert!(alice.active_call().is_none());
    assert!(m.with_state(|s| s.sessions.is_empty()));
}

#[tokio::test]
async fn register_is_idempotent_and_survives_a_restart() {
    let m = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let first = {
        let c = client(&m, dir.path());
        let id = c.register(fcm("tok")).await.unwrap();
        assert_eq!(c.register(fcm("tok")).await.unwrap(), id);
        c.save_profile("Ann".into(), "Lee".into()).await.unwrap();
        c.sync_persons().await.unwrap();
        id
    };
    assert_eq!(m.with_state(|s| s.devices.len()), 1);
    let c = client(&m, dir.path());
    assert_eq!(c.client_id().unwrap().as_deref(), Some(first.as_str()));
    assert_eq!(c.register(fcm("tok")).await.unwrap(), first);
    let offline = c.persons().unwrap();
    assert_eq!(offline.len(), 1);
    assert!(offline[0].is_self);
    assert_eq!(m.with_state(|s| s.devices.len()), 1);
}

#[tokio::test]
async fn update_push_token_moves_the_person_and_deletes_the_old_client() {
    let m = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let c = client(&m, dir.path());
    let old = c.register(fcm("old-token")).await.unwrap();
    let me = c.save_profile("Cy".into(), "Ng".into()).await.unwrap();
    let new = c.update_push_token(fcm("new-token")).await.unwrap();
    assert_ne!(old, new);
    assert_eq!(c.client_id().unwrap().as_deref(), Some(new.as_str()));
    m.with_state(|s| {
        assert!(!s.devices.contains_key(&old));
        assert_eq!(s.devices[&new].device_token, "new-token");
        assert_eq!(s.persons[&me.id].client_id, new);
    });
    let mine = c.persons().unwrap();
    assert!(mine
        .iter()
        .any(|p| p.id == me.id && p.is_self && p.client_id == new));
}

#[tokio::test]
async fn observers_get_the_list_first_then_live_changes_and_catch_up_after_reconnect() {
    let m = mock().await;
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let alice = client(&m, da.path());
    let bob = client(&m, db.path());
    alice.register(fcm("a")).await.unwrap();
    bob.register(fcm("b")).await.unwrap();
    alice
        .save_profile("Alice".into(), "A".into())
        .await
        .unwrap();
    alice.sync_persons().await.unwrap();

    let rec = Arc::new(Recorder::default());
    let handle = alice.observe_persons(rec.clone());
    rec.wait_for("the current list", |l| l.len() == 1).await;

    // A change made elsewhere arrives through the subscription, with no sync call.
    bob.save_profile("Bob".into(), "B".into()).await.unwrap();
    rec.wait_for("Bob", |l| l.iter().any(|p| p.first_name == "Bob"))
        .await;

    // While the socket is down (the endpoint refusing reconnects too), a change is missed
    // live and recovered by the catch-up sync once it is back.
    m.set_live_channels_available(false);
    bob.save_profile("Robert".into(), "B".into()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    assert!(
        !rec.latest().iter().any(|p| p.first_name == "Robert"),
        "not while the real-time endpoint is down"
    );
    m.set_live_channels_available(true);
    rec.wait_for("Robert after reconnect", |l| {
        l.iter().any(|p| p.first_name == "Robert")
    })
    .await;
    assert!(!handle.is_finished());
    handle.cancel();
    assert!(handle.is_finished());
}

#[tokio::test]
async fn save_profile_survives_a_concurrent_writer() {
    let m = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let c = client(&m, dir.path());
    c.register(fcm("t")).await.unwrap();
    let me = c.save_profile("Dee".into(), "One".into()).await.unwrap();
    // Another writer bumps the version behind the client's back.
    let raw = dialtone::testing::AppSyncClient::new(
        dialtone::testing::http_client(),
        format!("{}/graphql", m.base_url()),
        m.api_key(),
    );
    raw.update_person(&me.id, 1, serde_json::json!({"lastName": "Other"}))
        .await
        .unwrap();
    match raw
        .update_person(&me.id, 1, serde_json::json!({"lastName": "Stale"}))
        .await
    {
        Err(dialtone::testing::GraphqlError::Conflict {
            server: Some(s), ..
        }) => assert_eq!(s.version, 2),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let updated = c.save_profile("Dee".into(), "Two".into()).await.unwrap();
    assert_eq!(updated.last_name, "Two");
    assert_eq!(m.with_state(|s| s.persons[&me.id].version), 3);
}

#[tokio::test]
async fn typed_errors_for_unknown_ids_bad_input_bad_keys_and_missing_registration() {
    let m = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let c = client(&m, dir.path());
    assert!(matches!(
        c.start_call("x".into(), None).await,
        Err(DialtoneError::NotRegistered { .. })
    ));
    assert!(matches!(
        c.save_profile("a".into(), "b".into()).await,
        Err(DialtoneError::NotRegistered { .. })
    ));
    assert!(matches!(
        c.register(fcm("  ")).await,
        Err(DialtoneError::InvalidInput { .. })
    ));
    let me = c.register(fcm("t")).await.unwrap();
    match c.start_call("no-such-client".into(), None).await {
        Err(DialtoneError::Backend {
            status: 500,
            detail,
        }) => assert!(detail.contains("no-such-client")),
        other => panic!("expected Backend, got {other:?}"),
    }
    assert!(matches!(
        c.start_call(me.clone(), None).await,
        Err(DialtoneError::InvalidInput { .. })
    ));
    assert!(matches!(
        c.save_profile("".into(), "b".into()).await,
        Err(DialtoneError::InvalidInput { .. })
    ));
    assert!(matches!(
        c.delete_client_ids(vec![]).await,
        Err(DialtoneError::InvalidInput { .. })
    ));
    assert!(matches!(
        BackendConfig::mock("nonsense".into(), None),
        Err(DialtoneError::InvalidInput { .. })
    ));
    assert!(matches!(
        DialtoneClient::new(BackendConfig::mock(m.base_url(), None).unwrap(), "".into()),
        Err(DialtoneError::InvalidInput { .. })
    ));

    let wrong_key = BackendConfig::mock(m.base_url(), Some("da2-wrong".into())).unwrap();
    let d2 = tempfile::tempdir().unwrap();
    let c2 = DialtoneClient::new(wrong_key, d2.path().to_str().unwrap().into()).unwrap();
    assert!(matches!(
        c2.sync_persons().await,
        Err(DialtoneError::Unauthorized { .. })
    ));

    let down = BackendConfig::mock("http://127.0.0.1:9".into(), None).unwrap();
    let d3 = tempfile::tempdir().unwrap();
    let c3 = DialtoneClient::new(down, d3.path().to_str().unwrap().into()).unwrap();
    assert!(matches!(
        c3.register(fcm("t")).await,
        Err(DialtoneError::Network { .. })
    ));
}

#[tokio::test]
async fn deleting_our_own_client_id_unregisters_the_device() {
    for profile in [Profile::Seed, Profile::Extended] {
        deleting_client_ids(profile).await;
    }
}

async fn deleting_client_ids(profile: Profile) {
    let m = mock_with(profile).await;
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = client(&m, da.path());
    let b = client(&m, db.path());
    let a_id = a.register(fcm("a")).await.unwrap();
    let b_id = b.register(fcm("b")).await.unwrap();
    let others = a
        .delete_client_ids(vec![b_id.clone(), "ghost".into()])
        .await;
    match profile {
        // The seed lets anyone delete anyone (BACKEND.md §6).
        Profile::Seed => assert_eq!(others.unwrap(), vec![b_id]),
        // The extended backend only lets an installation clean up its own clientIds.
        Profile::Extended => assert!(
            matches!(others, Err(DialtoneError::Unauthorized { .. })),
            "{others:?}"
        ),
    }
    assert_eq!(a.client_id().unwrap().as_deref(), Some(a_id.as_str()));
    a.delete_client_ids(vec![a_id]).await.unwrap();
    assert_eq!(a.client_id().unwrap(), None);
    assert!(matches!(
        a.end_call().await,
        Err(DialtoneError::NotRegistered { .. })
    ));
}

#[tokio::test]
async fn a_device_the_backend_forgot_is_told_to_register_again() {
    // Seed: anyone may delete a clientId without credentials.
    let m = mock_with(Profile::Seed).await;
    let dir = tempfile::tempdir().unwrap();
    let c = client(&m, dir.path());
    c.register(fcm("t")).await.unwrap();
    let id = c.client_id().unwrap().unwrap();
    // The backend forgets us (another device's bulk clean-up); our next endCall is refused.
    reqwest::Client::new()
        .post(format!("{}/api", m.base_url()))
        .json(&serde_json::json!({"action": "deleteClientIds", "clientIds": [id]}))
        .send()
        .await
        .unwrap();
    assert!(matches!(
        c.end_call().await,
        Err(DialtoneError::NotRegistered { .. })
    ));
    // The stale clientId is forgotten; registering again makes a new one.
    assert_eq!(c.client_id().unwrap(), None);
    let again = c.register(fcm("t")).await.unwrap();
    assert_ne!(again, id);
    c.end_call().await.unwrap();
}
