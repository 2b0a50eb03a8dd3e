//! The RDS side of backups, when `BACKUP_RDS_CLUSTER_ID` names the cluster: a cluster
//! snapshot beside each logical backup, and point-in-time restore of the cluster into a
//! new cluster (RDS keeps the write-ahead log for the cluster's backup retention period,
//! so any second inside it can be restored).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::BackupError;
use crate::AppState;

fn rds(state: &AppState) -> aws_sdk_rds::Client {
    aws_sdk_rds::Client::new(&state.sdk)
}

fn failed(doing: String, err: &dyn std::error::Error) -> BackupError {
    BackupError::Storage {
        doing,
        reason: crate::error::chain(err),
    }
}

/// Requests a snapshot of `cluster` named for the backup; returns its identifier. RDS
/// takes it in the background; the manifest records the name to find it by.
#[tracing::instrument(name = "rds_create_cluster_snapshot", skip_all, fields(%cluster))]
pub async fn snapshot_cluster(
    state: &AppState,
    cluster: &str,
    backup_id: &str,
) -> Result<String, BackupError> {
    // Snapshot names are letters, digits and hyphens, starting with a letter.
    let name = format!("readyset-{}", backup_id.to_ascii_lowercase());
    rds(state)
        .create_db_cluster_snapshot()
        .db_cluster_identifier(cluster)
        .db_cluster_snapshot_identifier(&name)
        .send()
        .await
        .map_err(|e| {
            failed(
                format!("requesting the snapshot {name} of cluster {cluster}"),
                &e,
            )
        })?;
    Ok(name)
}

/// Deletes a backup's cluster snapshot; one already gone is not an error.
#[tracing::instrument(name = "rds_delete_cluster_snapshot", skip_all, fields(snapshot = %name))]
pub async fn delete_snapshot(state: &AppState, name: &str) -> Result<(), BackupError> {
    match rds(state)
        .delete_db_cluster_snapshot()
        .db_cluster_snapshot_identifier(name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_db_cluster_snapshot_not_found_fault()) =>
        {
            Ok(())
        }
        Err(e) => Err(failed(format!("deleting the snapshot {name}"), &e)),
    }
}

/// A point-in-time restore: the source cluster, the new cluster it becomes, and the
/// moment (`None`: the latest restorable time).
#[derive(Debug, Clone)]
pub struct PointInTime {
    pub source_cluster: String,
    pub target_cluster: String,
    pub to: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PointInTimeReport {
    pub target_cluster: String,
    pub status: Option<String>,
    pub restored_to: String,
}

/// Starts restoring `source_cluster` as it was at `to` into a new cluster. RDS creates the
/// cluster without instances: add one (same class as the source) before connecting, then
/// point the proxy's target group or `DATABASE_URL` at it.
#[tracing::instrument(
    name = "rds_restore_cluster_to_point_in_time",
    skip_all,
    fields(source = %request.source_cluster, target = %request.target_cluster)
)]
pub async fn restore_to_point_in_time(
    state: &AppState,
    request: &PointInTime,
) -> Result<PointInTimeReport, BackupError> {
    let mut call = rds(state)
        .restore_db_cluster_to_point_in_time()
        .source_db_cluster_identifier(&request.source_cluster)
        .db_cluster_identifier(&request.target_cluster);
    call = match request.to {
        Some(to) => {
            call.restore_to_time(aws_sdk_rds::primitives::DateTime::from_secs(to.timestamp()))
        }
        None => call.use_latest_restorable_time(true),
    };
    let out = call.send().await.map_err(|e| {
        failed(
            format!(
                "restoring cluster {} into {}",
                request.source_cluster, request.target_cluster
            ),
            &e,
        )
    })?;
    Ok(PointInTimeReport {
        target_cluster: request.target_cluster.clone(),
        status: out.db_cluster().and_then(|c| c.status()).map(str::to_owned),
        restored_to: request.to.map_or_else(
            || "the latest restorable time".to_owned(),
            |t| t.to_rfc3339(),
        ),
    })
}
