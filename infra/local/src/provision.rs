//! Creates the AWS resources `template.yaml` declares (the app table, the buckets) in the
//! local emulator, with the same keys and settings. Idempotent.

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use shared::{error::BoxError, AppState};

/// Attribute DynamoDB reads to expire items (sessions, rate-limit windows, idempotency keys).
pub const TTL_ATTRIBUTE: &str = "expiresAt";

pub async fn ensure_aws_resources(state: &AppState) -> Result<(), BoxError> {
    ensure_app_table(state).await?;
    ensure_signing_key(state).await?;
    let resources = &state.config.resources;
    for bucket in [&resources.uploads_bucket, &resources.backups_bucket] {
        ensure_bucket(state, bucket).await?;
    }
    configure_uploads_bucket(state).await?;
    ensure_offer_expiry_queue(state).await?;
    ensure_backup_key(state).await?;
    verify_sender(state).await
}

/// The offer-expiry queue, named by the last part of its configured URL, like the
/// template's `OfferExpiryQueue` (creating one that exists is no error).
async fn ensure_offer_expiry_queue(state: &AppState) -> Result<(), BoxError> {
    let Some(url) = &state.config.drivers.offer_expiry_queue else {
        return Ok(());
    };
    let name = url
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| format!("OFFER_EXPIRY_QUEUE_URL names no queue: {url}"))?;
    state
        .sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
    Ok(())
}

/// The backups' KMS key, when configured by alias (`alias/…`) as locally: a key under
/// that alias, like the template's `BackupKey` and `BackupKeyAlias`. A key configured by
/// id is never created: an id that does not exist must fail the backup, as in AWS.
async fn ensure_backup_key(state: &AppState) -> Result<(), BoxError> {
    let Some(shared::config::BackupKeySource::Kms(alias)) = &state.config.backups.key else {
        return Ok(());
    };
    if !alias.starts_with("alias/") {
        return Ok(());
    }
    let kms = aws_sdk_kms::Client::new(&state.sdk);
    if kms.describe_key().key_id(alias).send().await.is_ok() {
        return Ok(());
    }
    let key = kms
        .create_key()
        .description("Ready Set backups (local)")
        .send()
        .await?;
    let key_id = key
        .key_metadata()
        .map(|m| m.key_id().to_owned())
        .ok_or("the emulator created a key without an id")?;
    match kms
        .create_alias()
        .alias_name(alias)
        .target_key_id(key_id)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        // Another test created it first.
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_already_exists_exception()) =>
        {
            Ok(())
        }
        Err(err) => Err(err.into()),
    }
}

/// The customer-email sender as an SES identity, as `NotificationSenderIdentity`
/// declares it (SES refuses mail from an unverified sender).
async fn verify_sender(state: &AppState) -> Result<(), BoxError> {
    let Some(sender) = state.config.notifications.sender.as_deref() else {
        return Ok(());
    };
    // `Name <address>` or a bare address.
    let address = sender
        .rsplit_once('<')
        .map(|(_, rest)| rest.trim_end_matches('>'))
        .unwrap_or(sender)
        .trim();
    match state
        .ses
        .create_email_identity()
        .email_identity(address)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_already_exists_exception()) =>
        {
            Ok(())
        }
        Err(err) => Err(err.into()),
    }
}

/// The uploads bucket's CORS rule and lifecycle, as `UploadsBucket` declares them (a
/// test compares the two).
async fn configure_uploads_bucket(state: &AppState) -> Result<(), BoxError> {
    use aws_sdk_s3::types::{
        AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, CorsConfiguration, CorsRule,
        ExpirationStatus, LifecycleRule, LifecycleRuleFilter,
    };
    let bucket = &state.config.resources.uploads_bucket;
    let origins = &state.config.auth.allowed_origins;
    if !origins.is_empty() {
        let rule = CorsRule::builder()
            .set_allowed_origins(Some(origins.clone()))
            .allowed_methods("GET")
            .allowed_methods("PUT")
            .allowed_headers("content-type")
            .allowed_headers("content-length")
            .expose_headers("etag")
            .max_age_seconds(3600)
            .build()?;
        state
            .s3
            .put_bucket_cors()
            .bucket(bucket)
            .cors_configuration(CorsConfiguration::builder().cors_rules(rule).build()?)
            .send()
            .await?;
    }
    let abort = LifecycleRule::builder()
        .id("AbortIncompleteMultipartUploads")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(1)
                .build(),
        )
        .build()?;
    state
        .s3
        .put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(abort)
                .build()?,
        )
        .send()
        .await?;
    Ok(())
}

async fn ensure_app_table(state: &AppState) -> Result<(), BoxError> {
    let table = &state.config.resources.app_table;
    let created = state
        .dynamodb
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("pk")?)
        .attribute_definitions(attribute("sk")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            return Ok(())
        }
        Err(err) => return Err(err.into()),
    }
    let ttl = state
        .dynamodb
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(TTL_ATTRIBUTE)
                .build()?,
        )
        .send()
        .await;
    match ttl {
        Ok(_) => Ok(()),
        // The local DynamoDB does not expire items, with or without the setting; the code
        // checks `expiresAt` on every read because DynamoDB's own TTL deletion lags too.
        Err(err) if err.code() == Some("UnknownOperationException") => Ok(()),
        Err(err) => Err(err.into()),
    }
}

fn attribute(name: &str) -> Result<AttributeDefinition, BoxError> {
    Ok(AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()?)
}

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, BoxError> {
    Ok(KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()?)
}

async fn ensure_bucket(state: &AppState, bucket: &str) -> Result<(), BoxError> {
    match state.s3.create_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(err)
            if err.as_service_error().is_some_and(|e| {
                e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()
            }) =>
        {
            Ok(())
        }
        Err(err) => Err(err.into()),
    }
}

/// The access-token signing key: random, created once, like the template's generated secret.
async fn ensure_signing_key(state: &AppState) -> Result<(), BoxError> {
    use base64::{engine::general_purpose::STANDARD, Engine};
    let id = &state.config.auth.jwt_secret_id;
    let bytes: [u8; 48] = rand::random();
    let created = state
        .secrets
        .create_secret()
        .name(id)
        .secret_string(STANDARD.encode(bytes))
        .send()
        .await;
    match created {
        Ok(_) => Ok(()),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_exists_exception()) =>
        {
            Ok(())
        }
        Err(err) => Err(err.into()),
    }
}
