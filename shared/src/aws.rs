//! AWS SDK clients, built once per container from one shared SDK configuration.
//!
//! `AWS_ENDPOINT_URL` (config: `aws.endpoint_url`) points every client at a local emulator;
//! the code path is otherwise the one that runs in AWS.

use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::config::AwsSettings;

pub async fn load_sdk_config(settings: &AwsSettings) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
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
