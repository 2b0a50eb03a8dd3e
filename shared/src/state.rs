//! Everything a handler needs, built once per container (cold start) and shared by every
//! request it serves.

use std::{sync::Arc, time::Instant};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::{
    auth::tokens::JwtKeys,
    aws::{self, LazyClient, SdkLoader},
    config::{Config, ConfigError, GeoSettings},
    db::Db,
    error::ApiError,
    geo::{GeoProvider, GoogleMaps},
    health::HealthCache,
    metrics::Metrics,
    pricing::PricingCache,
};

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub sdk: SdkConfig,
    pub db: Db,
    /// Built at cold start: nearly every request reads or writes the table.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// The others are built on first use (see [`LazyClient`]).
    pub s3: LazyClient<aws_sdk_s3::Client>,
    pub secrets: LazyClient<aws_sdk_secretsmanager::Client>,
    /// Sends customer emails (the outbox relay).
    pub ses: LazyClient<aws_sdk_sesv2::Client>,
    /// Texts customers, and asks whether a number has opted out (the outbox relay).
    pub sns: LazyClient<aws_sdk_sns::Client>,
    /// Wakes the outbox relay after a commit (see `outbox::wake`).
    pub lambda: LazyClient<aws_sdk_lambda::Client>,
    /// Sends each auto-dispatch offer's expiry, delayed until its deadline.
    pub sqs: LazyClient<aws_sdk_sqs::Client>,
    /// Reads metrics back (`/api/admin/logs`); writing them is [`AppState::metrics`].
    pub cloudwatch: LazyClient<aws_sdk_cloudwatch::Client>,
    pub metrics: Metrics,
    /// Outbound HTTPS (maps, partner webhooks): one connection pool per container.
    pub http: reqwest::Client,
    pub geo: Arc<GeoProvider>,
    pub pricing: PricingCache,
    pub health: HealthCache,
    /// The dashboards' figures, five minutes per container.
    pub dashboards: crate::dashboard::MetricsCache,
    /// Read from Secrets Manager on first use and again after `auth.signing_keys_ttl`, so
    /// a rotated secret reaches every warm container within minutes.
    jwt: Arc<tokio::sync::RwLock<Option<HeldKeys>>>,
}

impl AppState {
    /// Reads the configuration from the environment and builds the state.
    pub async fn from_env() -> Result<Self, ConfigError> {
        Ok(Self::from_config(Config::from_env()?).await)
    }

    /// Builds clients and the (lazy) database pool. Nothing here needs the network, so a
    /// container starts even while a dependency is down.
    pub async fn from_config(config: Config) -> Self {
        let sdk = SdkLoader::new(&config.aws);
        let db = Db::new(&config.database, &sdk);
        let loaded = sdk.get().await.clone();
        Self::assemble(config, loaded, db)
    }

    /// The state of a cold start: as [`AppState::from_config`], with the first database
    /// connection (PostGIS loaded into it) opening while the SDK configuration loads, then
    /// what `warm` names, all at once. Failures are logged and left to the request path,
    /// which reports them properly; a container still starts with a dependency down.
    pub async fn warmed(config: Config, warm: Warm) -> Self {
        let started = Instant::now();
        let sdk = SdkLoader::new(&config.aws);
        let db = Db::new(&config.database, &sdk);
        let state = async {
            let sdk_config = sdk.get().await.clone();
            let sdk_ms = elapsed_ms(started);
            let state = Self::assemble(config, sdk_config, db.clone());
            let clients_ms = elapsed_ms(started);
            let (dynamodb_ms, signing_key_ms) = state.warm_aws(warm, started).await;
            (state, sdk_ms, clients_ms, dynamodb_ms, signing_key_ms)
        };
        // On a task of its own: the SDK's configuration and clients are built synchronously,
        // and a future joined beside them would not be polled meanwhile, so the
        // connection would only open once they were done.
        let database = tokio::spawn({
            let db = db.clone();
            async move {
                db.warm_up(warm.postgis).await;
                elapsed_ms(started)
            }
        });
        let ((state, sdk_ms, clients_ms, dynamodb_ms, signing_key_ms), database) =
            tokio::join!(state, database);
        let database_ms = database.unwrap_or_default();
        // Where a cold start's time goes, each figure from the start of the warm-up (they
        // overlap: the database connection opens while the AWS side loads).
        tracing::info!(
            sdk_ms,
            clients_ms,
            dynamodb_ms,
            signing_key_ms,
            database_ms,
            total_ms = elapsed_ms(started),
            "cold start warmed"
        );
        state
    }

    /// Each warm-up's end, in ms from `started` (`None` when `warm` skips it).
    async fn warm_aws(&self, warm: Warm, started: Instant) -> (Option<f64>, Option<f64>) {
        let dynamodb = async {
            if !warm.dynamodb {
                return None;
            }
            let absent = AttributeValue::S("WARM-UP".to_owned());
            let read = self
                .dynamodb
                .get_item()
                .table_name(&self.config.resources.app_table)
                .key("pk", absent.clone())
                .key("sk", absent)
                .send()
                .await;
            if let Err(err) = read {
                tracing::warn!(error = %crate::error::chain(&err), "DynamoDB warm-up failed");
            }
            Some(elapsed_ms(started))
        };
        let signing_key = async {
            if !warm.signing_key {
                return None;
            }
            if let Err(err) = self.jwt().await {
                tracing::warn!(error = %err, "signing key warm-up failed");
            }
            Some(elapsed_ms(started))
        };
        tokio::join!(dynamodb, signing_key)
    }

    fn assemble(config: Config, sdk: SdkConfig, db: Db) -> Self {
        Self {
            dynamodb: aws::dynamodb_client(&sdk, &config.aws),
            s3: LazyClient::new({
                let (sdk, settings) = (sdk.clone(), config.aws.clone());
                move || aws::s3_client(&sdk, &settings)
            }),
            secrets: LazyClient::new({
                let sdk = sdk.clone();
                move || aws_sdk_secretsmanager::Client::new(&sdk)
            }),
            ses: LazyClient::new({
                let sdk = sdk.clone();
                move || aws_sdk_sesv2::Client::new(&sdk)
            }),
            sns: LazyClient::new({
                let sdk = sdk.clone();
                move || aws_sdk_sns::Client::new(&sdk)
            }),
            lambda: LazyClient::new({
                let (sdk, settings) = (sdk.clone(), config.aws.clone());
                move || aws::lambda_client(&sdk, &settings)
            }),
            sqs: LazyClient::new({
                let sdk = sdk.clone();
                move || aws_sdk_sqs::Client::new(&sdk)
            }),
            cloudwatch: LazyClient::new({
                let sdk = sdk.clone();
                move || aws_sdk_cloudwatch::Client::new(&sdk)
            }),
            metrics: Metrics::new(&config.metrics_namespace, config.metrics),
            http: reqwest::Client::builder()
                .tls_backend_preconfigured(crate::tls::web_client_config())
                .connect_timeout(std::time::Duration::from_secs(5))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            geo: Arc::new(match &config.geo {
                GeoSettings::Offline => GeoProvider::Offline,
                GeoSettings::Google {
                    base_url,
                    secret_id,
                } => GeoProvider::Google(GoogleMaps::new(base_url.clone(), secret_id.clone())),
            }),
            pricing: PricingCache::default(),
            health: HealthCache::default(),
            dashboards: crate::dashboard::MetricsCache::default(),
            jwt: Arc::default(),
            db,
            sdk,
            config: Arc::new(config),
        }
    }

    /// The access-token keys. The first call reads the signing key from Secrets Manager;
    /// if that fails the request gets a 503 and the next call tries again. Held keys are
    /// re-read after `auth.signing_keys_ttl`; a failed re-read keeps them (and is retried
    /// after [`SIGNING_KEYS_RETRY`]), so an outage of Secrets Manager signs nobody out.
    pub async fn jwt(&self) -> Result<Arc<JwtKeys>, ApiError> {
        let ttl = self.config.auth.signing_keys_ttl;
        if let Some(held) = &*self.jwt.read().await {
            if std::time::Instant::now() < held.reread_at {
                return Ok(Arc::clone(&held.keys));
            }
        }
        let mut slot = self.jwt.write().await;
        if let Some(held) = &*slot {
            if std::time::Instant::now() < held.reread_at {
                return Ok(Arc::clone(&held.keys));
            }
        }
        match self.read_signing_keys().await {
            Ok(keys) => {
                let keys = Arc::new(keys);
                *slot = Some(HeldKeys {
                    keys: Arc::clone(&keys),
                    reread_at: std::time::Instant::now() + ttl,
                });
                Ok(keys)
            }
            Err(err) => match slot.as_mut() {
                Some(held) => {
                    tracing::warn!(error = %err, "re-reading the signing key failed; keeping the held one");
                    held.reread_at = std::time::Instant::now() + ttl.min(SIGNING_KEYS_RETRY);
                    Ok(Arc::clone(&held.keys))
                }
                None => Err(err),
            },
        }
    }

    async fn read_signing_keys(&self) -> Result<JwtKeys, ApiError> {
        let auth = &self.config.auth;
        let secret = crate::secrets::secret_string(self, &auth.jwt_secret_id).await?;
        JwtKeys::new(
            secret.as_bytes(),
            &auth.jwt_issuer,
            &auth.jwt_audience,
            auth.access_ttl,
        )
        .map_err(|e| ApiError::service_unavailable("token signing is unavailable").with_source(e))
    }
}

fn elapsed_ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// How soon a failed re-read of the signing keys is tried again.
const SIGNING_KEYS_RETRY: std::time::Duration = std::time::Duration::from_secs(30);

struct HeldKeys {
    keys: Arc<JwtKeys>,
    /// When to read the secret again.
    reread_at: std::time::Instant,
}

/// What a cold start prepares, beside the database connection every function gets, so
/// that the first request does not wait for it. Each is a call the function makes anyway
/// and has the IAM permission for (`tests/api/structure.rs` checks the template agrees).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Warm {
    /// A connection to DynamoDB (TLS handshake included), by reading one absent item.
    pub dynamodb: bool,
    /// The access-token signing key from Secrets Manager.
    pub signing_key: bool,
    /// PostGIS loaded into the first database connection. A new backend loads the library
    /// on its first spatial value, which costs about 10 ms; functions that never read one
    /// (identity, operations, the authorizer) do not pay it at every cold start.
    pub postgis: bool,
}
