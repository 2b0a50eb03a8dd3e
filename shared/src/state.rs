//! Everything a handler needs, built once per container (cold start) and shared by every
//! request it serves.

use std::sync::Arc;

use aws_config::SdkConfig;
use tokio::sync::OnceCell;

use crate::{
    auth::tokens::JwtKeys,
    aws,
    config::{Config, ConfigError, GeoSettings},
    db::Db,
    error::ApiError,
    geo::{GeoProvider, GoogleMaps},
    health::HealthCache,
    pricing::PricingCache,
};

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub sdk: SdkConfig,
    pub db: Db,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    /// Outbound HTTPS (maps, partner webhooks): one connection pool per container.
    pub http: reqwest::Client,
    pub geo: Arc<GeoProvider>,
    pub pricing: PricingCache,
    pub health: HealthCache,
    /// Loaded from Secrets Manager on first use, then kept for the container's life.
    jwt: Arc<OnceCell<JwtKeys>>,
}

impl AppState {
    /// Reads the configuration from the environment and builds the state.
    pub async fn from_env() -> Result<Self, ConfigError> {
        Ok(Self::from_config(Config::from_env()?).await)
    }

    /// Builds clients and the (lazy) database pool. Nothing here needs the network, so a
    /// container starts even while a dependency is down.
    pub async fn from_config(config: Config) -> Self {
        let sdk = aws::load_sdk_config(&config.aws).await;
        let db = Db::new(&config.database, &sdk);
        Self {
            dynamodb: aws::dynamodb_client(&sdk, &config.aws),
            s3: aws::s3_client(&sdk, &config.aws),
            secrets: aws_sdk_secretsmanager::Client::new(&sdk),
            http: reqwest::Client::builder()
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
            jwt: Arc::new(OnceCell::new()),
            db,
            sdk,
            config: Arc::new(config),
        }
    }

    /// The access-token keys. The first call reads the signing key from Secrets Manager;
    /// if that fails the request gets a 503 and the next call tries again.
    pub async fn jwt(&self) -> Result<&JwtKeys, ApiError> {
        self.jwt
            .get_or_try_init(|| async {
                let auth = &self.config.auth;
                let secret = crate::secrets::secret_string(self, &auth.jwt_secret_id).await?;
                JwtKeys::new(
                    secret.as_bytes(),
                    &auth.jwt_issuer,
                    &auth.jwt_audience,
                    auth.access_ttl,
                )
                .map_err(|e| {
                    ApiError::service_unavailable("token signing is unavailable").with_source(e)
                })
            })
            .await
    }
}
