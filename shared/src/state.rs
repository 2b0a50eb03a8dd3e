//! Everything a handler needs, built once per container (cold start) and shared by every
//! request it serves.

use std::sync::Arc;

use aws_config::SdkConfig;

use crate::{
    aws,
    config::{Config, ConfigError},
    db::Db,
};

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub sdk: SdkConfig,
    pub db: Db,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
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
            dynamodb: aws::dynamodb_client(&sdk),
            s3: aws::s3_client(&sdk, &config.aws),
            db,
            sdk,
            config: Arc::new(config),
        }
    }
}
