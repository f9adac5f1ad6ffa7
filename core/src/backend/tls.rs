//! The one TLS configuration every connection of the core uses (HTTPS and WSS): rustls on
//! ring, with the Mozilla root set compiled in. Compiled-in roots behave the same on Android,
//! iOS and Linux and need no JNI or platform verifier setup before the first request.

use std::sync::{Arc, OnceLock};

/// The TLS stack could not be set up (a build of the core without ring's cipher suites, or
/// an HTTP client that cannot start). Never expected on a supported platform; reported as
/// an error rather than a panic all the same.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("TLS setup failed: {0}")]
pub struct TlsError(pub String);

pub fn client_config() -> Result<Arc<rustls::ClientConfig>, TlsError> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, TlsError>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            // Also the process default, unless the app chose one: any other rustls user in
            // the process (an HTTP client built elsewhere, a WebSocket) then finds ring as well.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| TlsError(e.to_string()))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            // HTTP/1.1 only (backend::http): REST and AppSync send one small request at a time.
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Ok(Arc::new(config))
        })
        .clone()
}

/// WebSockets speak HTTP/1.1 only, so they get the same roots without the h2 ALPN offer.
pub fn websocket_config() -> Result<Arc<rustls::ClientConfig>, TlsError> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, TlsError>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut config = (*client_config()?).clone();
            config.alpn_protocols.clear();
            Ok(Arc::new(config))
        })
        .clone()
}

/// The one HTTP client setup (REST and AppSync share one).
pub fn http_client(
    timeout: std::time::Duration,
) -> Result<crate::backend::http::HttpClient, TlsError> {
    Ok(crate::backend::http::HttpClient::new(
        client_config()?,
        timeout,
    ))
}
