//! The network stack end to end (issue 22, ADR 0002): the SDK against `dialtone-mock --tls`
//! with the mock's certificate added as a trusted root (HTTPS and WSS, both profiles:
//! register, a live Person update, a call with tones both ways, hang up), refused without
//! it; a whole call against the mock on IPv6 loopback (`http://[::1]:PORT`); and the close
//! handshake: the mock sees 1000 from the client on every socket a normal end closes.

use dialtone::{BackendConfig, DialtoneClient, DialtoneError, PushKind, PushToken};
use dialtone_mock::{tls, MockConfig, MockServer, Profile};
mod common;

async fn tls_mock(profile: Profile) -> MockServer {
    common::start_mock(MockConfig {
        profile,
        tls: Some(tls::development(&[]).unwrap()),
        ..MockConfig::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_call_over_tls_with_the_added_root_on_the_seed_profile() {
    let m = tls_mock(Profile::Seed).await;
    assert!(m.base_url().starts_with("https://"));
    common::whole_call(&m).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_call_over_tls_with_the_added_root_on_the_extended_profile() {
    let m = tls_mock(Profile::Extended).await;
    common::whole_call(&m).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_call_over_plain_sockets_closes_each_with_1000() {
    let m = common::mock_on(Profile::Extended).await;
    common::whole_call(&m).await;
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
    common::whole_call(&m).await;
}
