//! The TLS client configuration for connections to the public internet (RDS Proxy, the
//! maps provider, partner webhooks): the Mozilla roots compiled into the binary.
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

/// A client configuration trusting the public web roots, built once per process.
pub fn web_client_config() -> rustls::ClientConfig {
    WEB_CLIENT.clone()
}
