//! The network stack end to end (issue 22, ADR 0002): the SDK against `dialtone-mock --tls`
//! with the mock's certificate added as a trusted root (HTTPS and WSS, both profiles:
//! register, a live Person update, a call with tones both ways, hang up), refused without
//! it; a whole call against the mock on IPv6 loopback (`http://[::1]:PORT`); and the close
//! handshake: the mock sees 1000 from the client on every socket a normal end closes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dialtone::{
    BackendConfig, DialtoneClient, DialtoneError, Person, PersonsListener, PushKind, PushToken,
};
use dialtone_mock::{tls, MockConfig, MockServer, Profile};
mod common;
use common::{connected_call, eventually, hears};

#[derive(Default)]
struct Persons(Mutex<Vec<Person>>);

impl PersonsListener for Persons {
    fn on_persons_changed(&self, persons: Vec<Person>) {
        *self.0.lock().unwrap() = persons;
    }
}

async fn tls_mock(profile: Profile) -> MockServer {
    common::start_mock(MockConfig {
        profile,
        tls: Some(tls::development(&[]).unwrap()),
        ..MockConfig::default()
    })
    .await
}

/// A connected call on `m` (its certificate trusted when it serves TLS), a live Person
/// update seen by the callee, a hang-up, and then both clients dropped: every socket the
/// phones opened ends with the client's 1000.
async fn whole_call(m: &MockServer) {
    let c = connected_call(m).await;
    hears(&c).await;

    // A live Person update over the real-time socket.
    let seen = Arc::new(Persons::default());
    let handle = c.bob.observe_persons(seen.clone());
    c.bob.sync_persons().await.unwrap();
    c.alice
        .save_profile("Alicia".into(), "A".into())
        .await
        .unwrap();
    eventually("Bob to see Alicia live", 15, || {
        seen.0
            .lock()
            .unwrap()
            .iter()
            .any(|p| p.first_name == "Alicia")
    })
    .await;

    c.alice_call.hangup().await.unwrap();
    for (who, events) in [("Alice", &c.alice_events), ("Bob", &c.bob_events)] {
        eventually(&format!("{who}'s call to end"), 15, || {
            events.saw(common::state_is_ended)
        })
        .await;
    }
    handle.cancel();
    drop(c);
    let want: &[&str] = match m.profile() {
        Profile::Extended => &["signaling", "realtime", "events"],
        Profile::Seed => &["signaling", "realtime"],
    };
    let closed = || {
        let ends = m.socket_ends();
        want.iter().all(|kind| ends.iter().any(|(k, _)| k == kind))
            && ends.iter().filter(|(k, _)| *k == "signaling").count() >= 2
    };
    for _ in 0..750 {
        if closed() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(closed(), "every socket closed: {:?}", m.socket_ends());
    // Let sockets still closing finish, then nothing may have ended without a Close.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ends = m.socket_ends();
    assert!(
        ends.iter().all(|(_, code)| *code == Some(1000)),
        "every socket closes with 1000: {ends:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_call_over_tls_with_the_added_root_on_the_seed_profile() {
    let m = tls_mock(Profile::Seed).await;
    assert!(m.base_url().starts_with("https://"));
    whole_call(&m).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_call_over_tls_with_the_added_root_on_the_extended_profile() {
    let m = tls_mock(Profile::Extended).await;
    whole_call(&m).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_call_over_plain_sockets_closes_each_with_1000() {
    let m = common::mock_on(Profile::Extended).await;
    whole_call(&m).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_added_root_the_development_certificate_is_refused() {
    let m = tls_mock(Profile::Extended).await;
    let dir = tempfile::tempdir().unwrap();
    let config = BackendConfig::mock(m.base_url(), None).unwrap();
    let phone = DialtoneClient::new(config, dir.path().display().to_string()).unwrap();
    let refused = phone
        .register(PushToken {
            kind: PushKind::Fcm,
            token: "t".into(),
        })
        .await
        .unwrap_err();
    match &refused {
        DialtoneError::Network { detail: message } => assert!(
            message.contains("TLS") && message.to_lowercase().contains("certificate"),
            "{message}"
        ),
        other => panic!("expected a network error, got {other:?}"),
    }
    assert!(m.with_state(|s| s.devices.is_empty()));
}

#[test]
fn trusted_roots_that_are_not_certificates_are_refused_clearly() {
    let config = BackendConfig::mock("https://127.0.0.1:1".into(), None).unwrap();
    for bad in [
        "",
        "not a certificate",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ] {
        match config.with_trusted_roots(bad.into()) {
            Err(DialtoneError::InvalidInput { detail: message }) => {
                assert!(message.contains("root"), "{message}")
            }
            other => panic!("{bad:?}: expected InvalidInput, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_call_against_the_mock_on_ipv6_loopback() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let m = MockServer::start(
        "[::1]:0".parse().unwrap(),
        MockConfig {
            profile: Profile::Extended,
            ..MockConfig::default()
        },
    )
    .await
    .expect("the mock starts on [::1]");
    assert!(
        m.base_url().starts_with("http://[::1]:"),
        "{}",
        m.base_url()
    );
    whole_call(&m).await;
}
