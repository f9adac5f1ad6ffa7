//! The one TLS configuration every connection of a client uses (HTTPS through reqwest, WSS
//! through tungstenite): rustls on ring, certificates checked by the platform's own verifier
//! (`rustls-platform-verifier`: the Security framework on Apple, the Android trust manager on
//! Android, the system's roots elsewhere), so user and enterprise CAs and revocation work as
//! they do for the platform's HTTP stack. Roots the app adds for a development backend
//! (`BackendConfig.withTrustedRoots`) are trusted as well. Nothing here is installed as the
//! process's rustls default: the app's other TLS users are left as they were.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// The TLS stack could not be set up (no verifier for this platform: on Android, the SDK's
/// initializer has not run), or roots given for a development backend are not certificates.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("TLS setup failed: {0}")]
pub struct TlsError(pub String);

/// Roots the app trusts besides the platform's (DER certificates), for a development backend.
#[derive(Clone, Default, PartialEq)]
pub struct ExtraRoots(Vec<CertificateDer<'static>>);

impl ExtraRoots {
    /// Every certificate in `pem` (one or more `BEGIN CERTIFICATE` blocks). An empty text, a
    /// malformed block or one that is not a CA-usable certificate is an error.
    pub fn from_pem(pem: &str) -> Result<Self, TlsError> {
        use rustls::pki_types::pem::PemObject;
        let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError(format!("the trusted roots are not PEM certificates: {e}")))?;
        if certs.is_empty() {
            return Err(TlsError(
                "the trusted roots hold no certificate (expected -----BEGIN CERTIFICATE-----)"
                    .into(),
            ));
        }
        // Each must parse as a trust anchor, or it could never verify anything.
        let mut store = rustls::RootCertStore::empty();
        let (_, refused) = store.add_parsable_certificates(certs.iter().cloned());
        if refused > 0 {
            return Err(TlsError(format!(
                "{refused} of the trusted roots cannot be used as a certificate authority"
            )));
        }
        Ok(Self(certs))
    }

    #[cfg_attr(not(target_os = "android"), allow(dead_code))]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl std::fmt::Debug for ExtraRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExtraRoots({} certificates)", self.0.len())
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client configuration that checks servers with the platform's verifier, plus `extra`.
/// No ALPN: HTTPS and WebSockets both speak HTTP/1.1 (ADR 0002).
pub fn client_config(extra: &ExtraRoots) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    client_config_with(platform_verifier(extra)?)
}

/// A configuration that checks servers with `verifier` (tests use a fixed root set).
pub(crate) fn client_config_with(
    verifier: Arc<dyn ServerCertVerifier>,
) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The platform's verifier, with `extra` added where the platform takes extra anchors and in
/// front of it where it does not (Android: [`EitherRoots`]).
fn platform_verifier(extra: &ExtraRoots) -> Result<Arc<dyn ServerCertVerifier>, TlsError> {
    let setup = |e: rustls::Error| TlsError(format!("the platform's certificate verifier: {e}"));
    #[cfg(not(target_os = "android"))]
    {
        let v = rustls_platform_verifier::Verifier::new_with_extra_roots(
            extra.0.iter().cloned(),
            provider(),
        )
        .map_err(setup)?;
        Ok(Arc::new(v))
    }
    #[cfg(target_os = "android")]
    {
        // Android's trust manager once the AAR's initializer has started it
        // (backend/android_tls.rs); until then the Mozilla roots compiled in.
        let platform: Arc<dyn ServerCertVerifier> =
            if crate::backend::android_tls::platform_verifier_ready() {
                Arc::new(rustls_platform_verifier::Verifier::new(provider()).map_err(setup)?)
            } else {
                let roots = rustls::RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                };
                rustls::client::WebPkiServerVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider(),
                )
                .build()
                .map_err(|e| TlsError(e.to_string()))?
            };
        if extra.is_empty() {
            return Ok(platform);
        }
        Ok(Arc::new(EitherRoots::new(extra, platform)?))
    }
}

/// A chain is accepted when it leads to one of the added roots, or else when `platform`
/// accepts it. For platforms whose verifier takes no extra anchors (Android's trust manager):
/// the added roots are for a development backend only, and the platform still decides for
/// every other server.
#[derive(Debug)]
pub(crate) struct EitherRoots {
    added: Arc<rustls::client::WebPkiServerVerifier>,
    platform: Arc<dyn ServerCertVerifier>,
}

impl EitherRoots {
    #[cfg_attr(not(any(test, target_os = "android")), allow(dead_code))]
    pub(crate) fn new(
        extra: &ExtraRoots,
        platform: Arc<dyn ServerCertVerifier>,
    ) -> Result<Self, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(extra.0.iter().cloned());
        let added = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider(),
        )
        .build()
        .map_err(|e| TlsError(e.to_string()))?;
        Ok(Self { added, platform })
    }
}

impl ServerCertVerifier for EitherRoots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.added
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            .or_else(|_| {
                self.platform
                    .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.platform.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.platform.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.platform.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate for `localhost` and 127.0.0.1 (the mock's development one),
    /// with a fresh key each time.
    fn self_signed() -> (String, rustls::pki_types::CertificateDer<'static>) {
        let dev = dialtone_mock::tls::development(&[]).unwrap();
        let der = {
            use rustls::pki_types::pem::PemObject;
            CertificateDer::from_pem_slice(dev.certificate_pem.as_bytes()).unwrap()
        };
        (dev.certificate_pem, der)
    }

    #[test]
    fn pem_roots_are_read_and_bad_ones_refused_clearly() {
        let (pem, _) = self_signed();
        assert_eq!(ExtraRoots::from_pem(&pem).unwrap().len(), 1);
        let two = format!("{pem}\n{pem}");
        assert_eq!(ExtraRoots::from_pem(&two).unwrap().len(), 2);
        let e = ExtraRoots::from_pem("").unwrap_err();
        assert!(e.0.contains("no certificate"), "{e}");
        let e =
            ExtraRoots::from_pem("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n")
                .unwrap_err();
        assert!(e.0.contains("PEM") || e.0.contains("authority"), "{e}");
        let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let e = ExtraRoots::from_pem(garbage).unwrap_err();
        assert!(e.0.contains("authority"), "{e}");
        assert!(!format!("{:?}", ExtraRoots::from_pem(&pem).unwrap()).contains("BEGIN"));
    }

    /// The Android composition: the added roots decide for their servers, the platform for
    /// every other (here a platform that trusts nothing, and one that trusts everything).
    #[test]
    fn either_roots_accepts_the_added_root_and_defers_to_the_platform_otherwise() {
        let (pem, der) = self_signed();
        let (_, other) = self_signed();
        let extra = ExtraRoots::from_pem(&pem).unwrap();
        let nothing: Arc<dyn ServerCertVerifier> = {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(other.clone()).unwrap();
            rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .unwrap()
        };
        let v = EitherRoots::new(&extra, nothing).unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        assert!(v
            .verify_server_cert(&der, &[], &name, &[], UnixTime::now())
            .is_ok());
        // A certificate only the "platform" trusts.
        assert!(v
            .verify_server_cert(&other, &[], &name, &[], UnixTime::now())
            .is_ok());
        // Neither vouches for another name, nor for a key neither knows.
        let (_, stranger) = self_signed();
        assert!(v
            .verify_server_cert(&stranger, &[], &name, &[], UnixTime::now())
            .is_err());
        let wrong = ServerName::try_from("evil.example").unwrap();
        assert!(v
            .verify_server_cert(&der, &[], &wrong, &[], UnixTime::now())
            .is_err());
    }
}
