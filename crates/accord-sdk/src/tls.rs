//! TLS for `https://` and `wss://` nodes: one rustls configuration (the
//! `ring` provider, the webpki roots plus any CA the application adds),
//! shared by the HTTP client and the live stream, and the recognition of
//! TLS failures among transport errors.

use crate::error::BuildError;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use rustls::{ClientConfig, RootCertStore};
use std::sync::Arc;

/// The rustls client configuration: the Mozilla root program's CAs
/// (`webpki-roots`) and the certificates of `extra_roots` (PEM, each may hold
/// several certificates).
pub(crate) fn client_config(extra_roots: &[Vec<u8>]) -> Result<Arc<ClientConfig>, BuildError> {
    let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    for pem in extra_roots {
        let mut found = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| BuildError::Certificate(format!("the PEM does not parse: {e}")))?;
            roots.add(cert).map_err(|e| BuildError::Certificate(format!("not a usable CA certificate: {e}")))?;
            found += 1;
        }
        if found == 0 {
            return Err(BuildError::Certificate("the PEM holds no certificate".into()));
        }
    }
    // The node's build also compiles aws-lc-rs (through libp2p), so there is
    // no single crate-feature default: the provider is named here.
    let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| BuildError::Http(format!("TLS set-up: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The TLS failure behind a transport error, if that is what it is: a
/// rustls error anywhere in the chain of sources, including inside I/O
/// errors (TLS streams report handshake failures as an I/O error holding
/// the rustls error, which HTTP connectors may wrap in another I/O error;
/// an I/O error's `source` skips what it holds, so it is opened instead).
pub(crate) fn tls_failure(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(describe(tls));
        }
        current = match e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(held) => Some(held as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

fn describe(err: &rustls::Error) -> String {
    match err {
        rustls::Error::InvalidCertificate(_) => format!(
            "the node's TLS certificate is not trusted ({err}); if it is signed by a private CA, give that CA's \
             certificate (ClientBuilder::add_root_certificate_pem, `accord --ca-cert`)"
        ),
        _ => format!("TLS with the node failed: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_configuration_builds() {
        assert!(client_config(&[]).is_ok());
    }

    #[test]
    fn a_pem_without_certificates_is_refused() {
        assert!(matches!(client_config(&[b"not a pem".to_vec()]), Err(BuildError::Certificate(_))));
        let bad = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".to_vec();
        assert!(matches!(client_config(&[bad]), Err(BuildError::Certificate(_))));
    }

    #[test]
    fn tls_errors_are_found_inside_io_errors() {
        let inner = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, inner);
        // As hyper-rustls hands it on: wrapped once more.
        let wrapped = std::io::Error::other(io);
        let found = tls_failure(&wrapped).expect("a TLS failure");
        assert!(found.contains("not trusted"), "{found}");
        assert_eq!(tls_failure(&std::io::Error::other("connection refused")), None);
    }
}
