//! `--tls`: the mock serves HTTPS and WSS with its development certificate (or one given as
//! PEM files), a client that trusts that certificate gets through, plain HTTP does not; and
//! AWS's Amplify client (v6, from npm) queries, mutates and subscribes through it
//! (`amplify_…`, ignored by plain `cargo test`: scripts/test-amplify.sh runs it).

use std::sync::Arc;

use dialtone_mock::{tls, MockConfig, MockServer, DEFAULT_API_KEY};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn start_tls(tls: tls::Tls) -> MockServer {
    let config = MockConfig {
        tls: Some(tls),
        ..MockConfig::default()
    };
    MockServer::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap()
}

/// A raw HTTP/1.1 request over TLS, trusting only `pem`; the whole response.
async fn https(m: &MockServer, pem: &str, request: &str) -> Result<String, String> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(m.addr()).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    tls.read_to_string(&mut out)
        .await
        .map_err(|e| e.to_string())?;
    Ok(out)
}

const HEALTH: &str = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

#[tokio::test]
async fn https_with_the_development_certificate_and_nothing_in_plain_http() {
    let dev = tls::development(&[]).unwrap();
    let pem = dev.certificate_pem.clone();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let m = start_tls(dev).await;
    assert!(m.base_url().starts_with("https://127.0.0.1:"));
    let reply = https(&m, &pem, HEALTH).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains(r#"{"status":"ok"}"#), "{reply}");

    // Another certificate is not trusted for it.
    let other = tls::development(&[]).unwrap().certificate_pem;
    assert!(https(&m, &other, HEALTH).await.is_err());

    // Plain HTTP on the TLS port gets no answer.
    let mut tcp = tokio::net::TcpStream::connect(m.addr()).await.unwrap();
    tcp.write_all(HEALTH.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ =
        tokio::time::timeout(std::time::Duration::from_secs(3), tcp.read_to_end(&mut out)).await;
    assert!(
        !String::from_utf8_lossy(&out).contains("200"),
        "plain HTTP was served"
    );
}

#[tokio::test]
async fn a_certificate_from_pem_files_and_clear_errors_for_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let given = tls::from_files(&cert_path, &key_path).unwrap();
    let m = start_tls(given).await;
    let reply = https(&m, &cert.cert.pem(), HEALTH).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");

    let missing = tls::from_files(&dir.path().join("none.pem"), &key_path).unwrap_err();
    assert!(missing.contains("none.pem"), "{missing}");
    let not_a_key = tls::from_files(&cert_path, &cert_path).unwrap_err();
    assert!(not_a_key.contains("not a PEM private key"), "{not_a_key}");
    let other_key = rcgen::generate_simple_self_signed(vec!["x".to_string()]).unwrap();
    std::fs::write(&key_path, other_key.signing_key.serialize_pem()).unwrap();
    let mismatch = tls::from_files(&cert_path, &key_path).unwrap_err();
    assert!(mismatch.contains("do not go together"), "{mismatch}");
}

#[tokio::test]
#[ignore = "needs AWS Amplify from npm (scripts/test-amplify.sh)"]
async fn amplify_queries_mutates_and_subscribes_through_the_mock_over_tls() {
    let dir = std::env::var("DIALTONE_AMPLIFY_DIR").expect("DIALTONE_AMPLIFY_DIR");
    let dev = tls::development(&[]).unwrap();
    let certs = tempfile::tempdir().unwrap();
    let pem = certs.path().join("mock.pem");
    std::fs::write(&pem, &dev.certificate_pem).unwrap();
    let m = start_tls(dev).await;
    let (url, pem_path) = (m.base_url(), pem.clone());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(format!("{dir}/amplify.mjs"))
            .arg(url)
            .arg(DEFAULT_API_KEY)
            .env("NODE_EXTRA_CA_CERTS", pem_path)
            .output()
            .expect("run node")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "Amplify failed");
    for step in [
        "mutation createPerson",
        "query listPeople",
        "subscription connected",
        "subscription received onCreatePerson",
    ] {
        assert!(stdout.contains(step), "no {step:?} in {stdout}");
    }
    let names: Vec<String> =
        m.with_state(|s| s.persons.values().map(|p| p.first_name.clone()).collect());
    assert!(names.contains(&"Amplify".to_string()) && names.contains(&"Other".to_string()));
}
