//! TLS for the client API (rustls, `ring` provider): the server
//! configuration `[api.tls]` names, and the HTTP client the operator's
//! commands on the node's machine use to reach a node that serves TLS.

use crate::config::{Config, TlsSection};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, ServerConfig, SignatureScheme};
use std::path::Path;
use std::sync::Arc;

/// Why the API's TLS configuration could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate or key file cannot be read or holds no usable PEM.
    #[error("{path}: {detail}")]
    File {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// rustls refused the certificate and key (e.g. they do not match).
    #[error("TLS certificate and key: {0}")]
    Config(String),
}

/// The crypto provider of every TLS configuration of the node's API (the
/// build also holds aws-lc-rs, through libp2p-quic, so none is implied).
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificate chain and key `[api.tls]` names; relative paths are
/// relative to the data directory `root`.
fn read_pair(
    tls: &TlsSection,
    root: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let cert_path = tls.cert_path(root);
    let file = |path: &Path, detail: String| TlsError::File { path: path.display().to_string(), detail };
    let certs = CertificateDer::pem_file_iter(&cert_path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| file(&cert_path, e.to_string()))?;
    if certs.is_empty() {
        return Err(file(&cert_path, "no certificate in the file".into()));
    }
    let key_path = tls.key_path(root);
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| file(&key_path, e.to_string()))?;
    Ok((certs, key))
}

/// The server configuration for `[api.tls]`: TLS 1.2 and 1.3, HTTP/1.1
/// (which the WebSocket upgrade needs), no client certificates.
pub fn server_config(tls: &TlsSection, root: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let (certs, key) = read_pair(tls, root)?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// An HTTP client for the operator's commands on this machine (`info`, the
/// admin commands), which reach the node on a loopback address: plain
/// without `[api.tls]`; with it, a client that accepts exactly the
/// certificate the node is configured with (whatever names it carries) and
/// checks that the node holds its key. `timeout` bounds each request.
pub fn local_client(
    config: &Config,
    root: &Path,
    timeout: Option<std::time::Duration>,
) -> Result<reqwest::Client, TlsError> {
    let mut builder = reqwest::Client::builder();
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    if let Some(tls) = &config.api.tls {
        let (mut certs, _) = read_pair(tls, root)?;
        let pinned = Pinned { cert: certs.swap_remove(0), provider: provider() };
        let client = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(pinned))
            .with_no_client_auth();
        builder = builder.tls_backend_preconfigured(client);
    }
    builder.build().map_err(|e| TlsError::Config(e.to_string()))
}

/// Accepts one certificate, by its bytes: the node's own, read from its
/// configuration. The handshake signatures are still checked against it.
#[derive(Debug)]
struct Pinned {
    cert: CertificateDer<'static>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.cert.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
