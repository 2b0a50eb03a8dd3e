//! The configuration a backup records beside the data.

use serde::Serialize;

use crate::AppState;

/// What the backup records of the configuration: names and settings needed to rebuild a
/// deployment, never a secret (secret ids are names; their values stay in Secrets Manager).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ConfigRecord<'a> {
    environment: &'a str,
    service: &'a str,
    database: String,
    app_table: &'a str,
    uploads_bucket: &'a str,
    backups_bucket: &'a str,
    jwt_secret_id: &'a str,
    jwt_issuer: &'a str,
    allowed_origins: &'a [String],
    geo: String,
    location_retention_days: i64,
    deleted_file_retention_days: i64,
    error_retention_days: i64,
    notification_sender: Option<&'a str>,
    backup_key: Option<String>,
    backup_retention: &'a crate::config::BackupRetention,
}

/// The running configuration, as the backup records it.
pub(super) fn config_record(state: &AppState) -> ConfigRecord<'_> {
    let c = &state.config;
    ConfigRecord {
        environment: c.environment.as_str(),
        service: &c.service_name,
        database: format!(
            "{}:{}/{}",
            c.database.host,
            c.database.port,
            c.database.pg.get_dbname().unwrap_or_default()
        ),
        app_table: &c.resources.app_table,
        uploads_bucket: &c.resources.uploads_bucket,
        backups_bucket: &c.resources.backups_bucket,
        jwt_secret_id: &c.auth.jwt_secret_id,
        jwt_issuer: &c.auth.jwt_issuer,
        allowed_origins: &c.auth.allowed_origins,
        geo: format!("{:?}", c.geo),
        location_retention_days: c.drivers.location_retention.num_days(),
        deleted_file_retention_days: c.uploads.deleted_retention.num_days(),
        error_retention_days: c.monitoring.error_retention.num_days(),
        notification_sender: c.notifications.sender.as_deref(),
        backup_key: c.backups.key.as_ref().map(|k| k.to_string()),
        backup_retention: &c.backups.retention,
    }
}
