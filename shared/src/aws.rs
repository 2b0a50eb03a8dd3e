//! AWS SDK clients, built once per container from one shared SDK configuration.
//!
//! `AWS_ENDPOINT_URL` (config: `aws.endpoint_url`) points every client at a local emulator,
//! `AWS_ENDPOINT_URL_DYNAMODB` DynamoDB alone, `AWS_ENDPOINT_URL_LAMBDA` Lambda alone; the code path is otherwise the one that runs
//! in AWS. Every call has a deadline (connect, attempt, operation), so a hung dependency
//! fails a request in about two seconds instead of holding it until the Lambda timeout.

use std::sync::Arc;

use aws_config::{timeout::TimeoutConfig, BehaviorVersion, Region, SdkConfig};
use tokio::sync::OnceCell;

use crate::config::AwsSettings;

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
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts);
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(endpoint) = &settings.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

pub fn s3_client(sdk: &SdkConfig, settings: &AwsSettings) -> aws_sdk_s3::Client {
    // An emulator on one host:port cannot serve virtual-hosted bucket names.
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(settings.endpoint_url.is_some())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

pub fn dynamodb_client(sdk: &SdkConfig, settings: &AwsSettings) -> aws_sdk_dynamodb::Client {
    let mut config = aws_sdk_dynamodb::config::Builder::from(sdk);
    if let Some(endpoint) = &settings.dynamodb_endpoint_url {
        config = config.endpoint_url(endpoint);
    }
    aws_sdk_dynamodb::Client::from_conf(config.build())
}

pub fn lambda_client(sdk: &SdkConfig, settings: &AwsSettings) -> aws_sdk_lambda::Client {
    let mut config = aws_sdk_lambda::config::Builder::from(sdk);
    if let Some(endpoint) = &settings.lambda_endpoint_url {
        config = config.endpoint_url(endpoint);
    }
    aws_sdk_lambda::Client::from_conf(config.build())
}
