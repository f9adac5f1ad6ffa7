//! `--tls`: the mock's HTTPS and WSS, on its one port. A developer gets a development
//! certificate the mock makes at start (self-signed, for `localhost`, 127.0.0.1 and the
//! addresses it is told), written to a PEM file to trust (a simulator's or emulator's trust
//! store, `NODE_EXTRA_CA_CERTS`, a browser); or gives their own certificate and key. iOS's
//! App Transport Security wants HTTPS, and AWS's Amplify always opens `wss://`.
//! Serving is hyper's HTTP/1.1 over tokio-rustls, with upgrades (the WebSockets).

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// How long a client may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A TLS setup: the server configuration and the certificate (PEM) to trust.
#[derive(Debug, Clone)]
pub struct Tls {
    pub config: Arc<rustls::ServerConfig>,
    pub certificate_pem: String,
}

fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("the certificate and key do not go together: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A self-signed development certificate for `localhost`, 127.0.0.1 and `extra` addresses.
pub fn development(extra: &[IpAddr]) -> Result<Tls, String> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    names.extend(extra.iter().map(IpAddr::to_string));
    names.dedup();
    let cert = rcgen::generate_simple_self_signed(names)
        .map_err(|e| format!("making a development certificate: {e}"))?;
    let key = PrivateKeyDer::try_from(cert.signing_key.serialize_der())
        .map_err(|e| format!("the development key: {e}"))?;
    Ok(Tls {
        config: server_config(vec![cert.cert.der().clone()], key)?,
        certificate_pem: cert.cert.pem(),
    })
}

/// A certificate chain and key from PEM files.
pub fn from_files(cert: &Path, key: &Path) -> Result<Tls, String> {
    let certificate_pem =
        std::fs::read_to_string(cert).map_err(|e| format!("reading {}: {e}", cert.display()))?;
    let certs = CertificateDer::pem_slice_iter(certificate_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{} is not a PEM certificate chain: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no certificate", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("{} is not a PEM private key: {e}", key.display()))?;
    Ok(Tls {
        config: server_config(certs, key)?,
        certificate_pem,
    })
}

/// Serves `app` over TLS on `listener` until `shutdown` fires.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    config: Arc<rustls::ServerConfig>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    loop {
        let tcp = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    tracing::warn!(target: "dialtone_mock::tls", "accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    tracing::info!(target: "dialtone_mock::tls", "TLS handshake refused: {e}");
                    return;
                }
                Err(_) => return,
            };
            let service = hyper_util::service::TowerToHyperService::new(app);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}
