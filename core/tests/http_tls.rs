//! The core's HTTP client (`backend/http.rs`) over TLS against the mock's `--tls`: a REST
//! action and a GraphQL request through one kept-alive connection, and a server whose
//! certificate is not trusted is refused.

use std::sync::Arc;
use std::time::Duration;

use dialtone::testing::{HttpClient, HttpError};
use dialtone_mock::{tls, MockConfig, MockServer, DEFAULT_API_KEY};
use serde_json::{json, Value};

fn trusting(pem: &str) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_and_graphql_over_tls_through_one_connection() {
    let dev = tls::development(&[]).unwrap();
    let pem = dev.certificate_pem.clone();
    let config = MockConfig {
        tls: Some(dev),
        ..MockConfig::default()
    };
    let m = MockServer::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let http = HttpClient::new(trusting(&pem), Duration::from_secs(10));

    let r = http
        .post_json(
            &format!("{}/api", m.base_url()),
            &[],
            json!({"action": "register", "notifyType": "GCM", "deviceToken": "tls-phone"})
                .to_string()
                .as_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let row: Value = serde_json::from_slice(&r.body).unwrap();
    assert!(row["id"].is_string(), "{row}");

    let q = json!({"query": "query L { listPeople(limit: 5) { items { id } nextToken } }"});
    let r = http
        .post_json(
            &format!("{}/graphql", m.base_url()),
            &[("x-api-key", DEFAULT_API_KEY)],
            q.to_string().as_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["data"]["listPeople"]["items"], json!([]));

    assert_eq!(
        http.connections_opened(),
        1,
        "the second request reused the connection"
    );

    // The core's own TLS setup (public roots only) refuses the development certificate.
    let strict = dialtone::testing::http_client();
    let refused = strict
        .post_json(&format!("{}/health", m.base_url()), &[], b"{}")
        .await
        .unwrap_err();
    assert!(matches!(refused, HttpError::Tls(_)), "{refused}");
}
