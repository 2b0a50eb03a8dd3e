//! The TLS client configuration for connections to the public internet (RDS Proxy, the
//! maps provider, partner webhooks, AWS itself): the Mozilla roots compiled into the binary.
//!
//! Compiled-in roots rather than the system store: reading and parsing the system's
//! certificates costs milliseconds at every cold start, for each client that does it.

use std::sync::{Arc, LazyLock};

static WEB_CLIENT: LazyLock<rustls::ClientConfig> = LazyLock::new(|| {
    let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|e| panic!("TLS protocol versions unavailable: {e}"))
        .with_root_certificates(roots)
        .with_no_client_auth()
});

/// The same roots as whole certificates in one PEM bundle, built once per process: what the
/// AWS SDK's HTTPS client accepts as its trust store (see `aws`).
pub fn web_roots_pem() -> &'static str {
    static PEM: LazyLock<String> = LazyLock::new(|| {
        use base64::{engine::general_purpose::STANDARD, Engine};
        let mut pem = String::new();
        for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
            pem.push_str("-----BEGIN CERTIFICATE-----\n");
            let body = STANDARD.encode(cert.as_ref());
            for line in body.as_bytes().chunks(64) {
                pem.push_str(&String::from_utf8_lossy(line));
                pem.push('\n');
            }
            pem.push_str("-----END CERTIFICATE-----\n");
        }
        pem
    });
    &PEM
}

/// A client configuration trusting the public web roots, built once per process.
pub fn web_client_config() -> rustls::ClientConfig {
    WEB_CLIENT.clone()
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::{pem::PemObject, CertificateDer};

    #[test]
    fn the_pem_bundle_holds_every_compiled_in_root_and_the_ones_aws_chains_to() {
        let certs: Vec<CertificateDer<'_>> =
            CertificateDer::pem_slice_iter(super::web_roots_pem().as_bytes())
                .collect::<Result<_, _>>()
                .expect("the bundle parses as PEM");
        assert_eq!(certs.len(), webpki_root_certs::TLS_SERVER_ROOT_CERTS.len());
        assert_eq!(certs[0], webpki_root_certs::TLS_SERVER_ROOT_CERTS[0]);
        // AWS endpoints chain to Amazon's roots (and to Starfield's, which cross-signs them).
        for name in [
            "Amazon Root CA 1",
            "Starfield Services Root Certificate Authority",
        ] {
            assert!(
                certs
                    .iter()
                    .any(|c| c.as_ref().windows(name.len()).any(|w| w == name.as_bytes())),
                "{name} is among the roots"
            );
        }
    }
}
