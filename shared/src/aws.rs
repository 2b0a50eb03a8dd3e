//! AWS SDK clients, built once per container from one shared SDK configuration.
//!
//! `AWS_ENDPOINT_URL` (config: `aws.endpoint_url`) points every client at a local emulator,
//! `AWS_ENDPOINT_URL_DYNAMODB` DynamoDB alone, `AWS_ENDPOINT_URL_LAMBDA` Lambda alone; the code path is otherwise the one that runs
//! in AWS. Every call has a deadline (connect, attempt, operation), so a hung dependency
//! fails a request in about two seconds instead of holding it until the Lambda timeout;
//! DynamoDB, which nearly every request reads, also has a circuit breaker, so once it has
//! timed out the next requests do not each wait those two seconds again.

use std::{sync::Arc, time::Instant};

use aws_config::{timeout::TimeoutConfig, BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::{
    config::{
        interceptors::{BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef},
        ConfigBag, Intercept, RuntimeComponents,
    },
    error::BoxError,
};
use tokio::sync::OnceCell;

use crate::{
    breaker::{Breaker, Outcome},
    config::AwsSettings,
};

/// An SDK client built on first use and then shared (clones share it). Building a client
/// sets up its runtime plugins and parses its TLS roots, about half a millisecond each in
/// a release build: a function that never calls a service should not pay for its client
/// at every cold start. Dereferences to the client.
#[derive(Clone)]
pub struct LazyClient<C> {
    client: Arc<std::sync::OnceLock<C>>,
    build: Arc<dyn Fn() -> C + Send + Sync>,
}

impl<C> LazyClient<C> {
    pub fn new(build: impl Fn() -> C + Send + Sync + 'static) -> Self {
        Self {
            client: Arc::default(),
            build: Arc::new(build),
        }
    }
}

impl<C> std::ops::Deref for LazyClient<C> {
    type Target = C;

    fn deref(&self) -> &C {
        self.client.get_or_init(|| (self.build)())
    }
}

/// The SDK configuration, loaded once and shared: the clients and the database pool's IAM
/// tokens use the same one, and whoever needs it first loads it while the others wait.
/// A cold start opens its first database connection meanwhile (unless IAM auth needs the
/// credentials for it).
#[derive(Clone)]
pub struct SdkLoader {
    settings: AwsSettings,
    loaded: Arc<OnceCell<SdkConfig>>,
}

impl SdkLoader {
    pub fn new(settings: &AwsSettings) -> Self {
        Self {
            settings: settings.clone(),
            loaded: Arc::new(OnceCell::new()),
        }
    }

    pub async fn get(&self) -> &SdkConfig {
        self.loaded
            .get_or_init(|| load_sdk_config(&self.settings))
            .await
    }
}

pub async fn load_sdk_config(settings: &AwsSettings) -> SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(settings.connect_timeout)
        .operation_attempt_timeout(settings.attempt_timeout)
        .operation_timeout(settings.operation_timeout)
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts)
        .http_client(https_client());
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(endpoint) = &settings.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

/// The HTTPS client of the SDK configuration, so of every client built from it and of the
/// credential providers the loader builds: the SDK's own default stack (hyper 1, rustls on
/// aws-lc), trusting the Mozilla roots compiled into the binary instead of the system's.
/// Why: the default client reads and parses the system's certificates (a bundle, and a
/// directory of them where `SSL_CERT_DIR` is set) at every cold start, 2-4 ms of a release
/// build's init measured locally; the database and outbound web clients already trust the
/// compiled-in roots (`tls`).
fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{
        rustls_provider::CryptoMode, Provider, TlsContext, TrustStore,
    };
    let trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(crate::tls::web_roots_pem().as_bytes());
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .unwrap_or_else(|e| panic!("the SDK's TLS context is invalid: {e}"));
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}

pub fn s3_client(sdk: &SdkConfig, settings: &AwsSettings) -> aws_sdk_s3::Client {
    // An emulator on one host:port cannot serve virtual-hosted bucket names.
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(settings.endpoint_url.is_some())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// The DynamoDB client, its calls through a circuit breaker of its own (see
/// [`DynamoDbCircuit`]).
pub fn dynamodb_client(sdk: &SdkConfig, settings: &AwsSettings) -> aws_sdk_dynamodb::Client {
    let mut config = aws_sdk_dynamodb::config::Builder::from(sdk)
        .interceptor(DynamoDbCircuit::new(DYNAMODB_OPEN_FOR));
    if let Some(endpoint) = &settings.dynamodb_endpoint_url {
        config = config.endpoint_url(endpoint);
    }
    aws_sdk_dynamodb::Client::from_conf(config.build())
}

/// How long DynamoDB calls fail at once after one timed out or could not connect, before
/// one probes: a few seconds, so a paused table costs a request milliseconds instead of
/// the 2 s operation deadline, and a recovered one is used again within seconds.
pub const DYNAMODB_OPEN_FOR: std::time::Duration = std::time::Duration::from_secs(5);

/// Puts every DynamoDB call of a client through a [`Breaker`]: rate limits, sessions,
/// idempotency keys, the error store and alerts all read and write the one table, so
/// when it hangs they all stop waiting for it. A refused call fails before anything is
/// sent (an error each caller handles as any store failure: failing open or answering
/// 503); an admitted one reports whether DynamoDB answered.
#[derive(Debug)]
struct DynamoDbCircuit {
    breaker: Breaker,
}

impl DynamoDbCircuit {
    fn new(open_for: std::time::Duration) -> Self {
        Self {
            breaker: Breaker::new("DynamoDB", open_for),
        }
    }
}

impl Intercept for DynamoDbCircuit {
    fn name(&self) -> &'static str {
        "DynamoDbCircuit"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.breaker.admit(Instant::now())?;
        Ok(())
    }

    /// Runs once per call, after its last attempt or its operation deadline.
    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let outcome = match context.output_or_error() {
            // Refused by the breaker above (or another hook): nothing was sent.
            Some(Err(err)) if err.is_interceptor_error() => return Ok(()),
            Some(Err(err)) if err.is_timeout_error() || err.is_connector_error() => {
                Outcome::Unreachable
            }
            // An answer, even an error DynamoDB sent (a failed condition, throttling).
            _ => Outcome::Answered,
        };
        self.breaker.settle(outcome, Instant::now());
        Ok(())
    }
}

pub fn lambda_client(sdk: &SdkConfig, settings: &AwsSettings) -> aws_sdk_lambda::Client {
    let mut config = aws_sdk_lambda::config::Builder::from(sdk);
    if let Some(endpoint) = &settings.lambda_endpoint_url {
        config = config.endpoint_url(endpoint);
    }
    aws_sdk_lambda::Client::from_conf(config.build())
}

#[cfg(test)]
mod lazy_client_tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn a_client_is_built_once_on_first_use_and_shared_by_clones() {
        let builds = Arc::new(AtomicUsize::new(0));
        let lazy = LazyClient::new({
            let builds = Arc::clone(&builds);
            move || builds.fetch_add(1, Ordering::SeqCst) + 100
        });
        let clone = lazy.clone();
        assert_eq!(builds.load(Ordering::SeqCst), 0, "nothing built before use");
        assert_eq!(*clone, 100);
        assert_eq!(*lazy, 100, "the clone's client");
        assert_eq!(builds.load(Ordering::SeqCst), 1);
    }
}
