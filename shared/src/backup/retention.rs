//! The `backup-retention` job: which backups to keep, and removing the rest.
//!
//! Daily (and manual) backups are kept `BACKUP_KEEP_DAILY_DAYS` (30), weekly ones
//! `BACKUP_KEEP_WEEKLY_WEEKS` (12), monthly ones `BACKUP_KEEP_MONTHLY_MONTHS` (12). The
//! newest complete backup of a kind is never removed, however old. A backup's manifest
//! goes first, so a removal cut short leaves an incomplete backup (ignored, and removed on
//! a later run) rather than a manifest naming missing objects. Objects of backups that
//! never finished, and file copies no manifest lists, are removed once they are two days
//! old, well past the longest backup run.

use std::collections::{BTreeMap, HashSet};

use aws_sdk_s3::types::Object;
use chrono::{DateTime, Duration, Months, Utc};
use serde::Serialize;

use super::{
    files::FILES_PREFIX,
    manifest::{self, Listed, Manifest},
    store, BackupError, BackupKind,
};
use crate::{config::BackupRetention, AppState};

/// How long a left-over object (an unfinished backup's, an unlisted file copy) may stay.
const LEFTOVER_GRACE: Duration = Duration::days(2);

/// Every complete backup in the bucket (those whose manifest exists), oldest first.
pub async fn list(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<Vec<Listed>, BackupError> {
    Ok(complete_backups(&backup_objects(s3, bucket).await?))
}

/// Every object under the backup folders (`{kind}/…`), kind by kind.
#[tracing::instrument(name = "list_backup_objects", skip_all)]
async fn backup_objects(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<Vec<Object>, BackupError> {
    let mut objects = Vec::new();
    for kind in BackupKind::ALL {
        objects.extend(store::list(s3, bucket, &format!("{}/", kind.as_str())).await?);
    }
    Ok(objects)
}

/// The complete backups among `objects` (those whose manifest is there), oldest first.
fn complete_backups(objects: &[Object]) -> Vec<Listed> {
    let mut listed: Vec<Listed> = objects
        .iter()
        .filter_map(|o| o.key().and_then(Listed::from_key))
        .collect();
    listed.sort_by_key(|l| l.started_at);
    listed
}

/// The oldest start a backup of `kind` may have and still be kept at `now`.
fn keep_since(kind: BackupKind, keep: &BackupRetention, now: DateTime<Utc>) -> DateTime<Utc> {
    match kind {
        BackupKind::Daily | BackupKind::Manual => now - Duration::days(keep.daily_days),
        BackupKind::Weekly => now - Duration::weeks(keep.weekly_weeks),
        BackupKind::Monthly => now
            .checked_sub_months(Months::new(keep.monthly_months))
            .unwrap_or(DateTime::<Utc>::MIN_UTC),
    }
}

/// The backups past their kind's retention at `now`, leaving the newest of each kind.
pub fn expired<'a>(
    listed: &'a [Listed],
    keep: &BackupRetention,
    now: DateTime<Utc>,
) -> Vec<&'a Listed> {
    let mut newest: BTreeMap<&str, &Listed> = BTreeMap::new();
    for backup in listed {
        let slot = newest.entry(backup.kind.as_str()).or_insert(backup);
        if backup.started_at > slot.started_at {
            *slot = backup;
        }
    }
    listed
        .iter()
        .filter(|b| b.started_at < keep_since(b.kind, keep, now))
        .filter(|b| {
            newest
                .get(b.kind.as_str())
                .is_none_or(|n| n.backup_id != b.backup_id)
        })
        .collect()
}

/// What one retention run removed.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetentionReport {
    pub kept: usize,
    /// Manifest keys of the backups removed.
    pub removed: Vec<String>,
    /// Backup folders without a manifest, removed.
    pub unfinished_removed: Vec<String>,
    pub file_copies_removed: usize,
    pub objects_deleted: usize,
    /// RDS cluster snapshots of the removed backups, deleted.
    pub rds_snapshots_removed: Vec<String>,
}

/// Applies retention at `now`: removes the expired backups (with their RDS snapshots),
/// then the folders of backups that never finished, then the file copies no remaining
/// manifest lists.
#[tracing::instrument(name = "apply_backup_retention", skip_all)]
pub async fn apply(state: &AppState, now: DateTime<Utc>) -> Result<RetentionReport, BackupError> {
    let s3 = store::client(state);
    let bucket = &state.config.resources.backups_bucket;
    let keep = &state.config.backups.retention;
    let mut report = RetentionReport::default();

    let objects = backup_objects(&s3, bucket).await?;
    let listed = complete_backups(&objects);
    let expired: HashSet<&str> = expired(&listed, keep, now)
        .into_iter()
        .map(|l| l.backup_id.as_str())
        .collect();
    let folders = by_folder(&objects);
    let (gone, kept): (Vec<&Listed>, Vec<&Listed>) = listed
        .iter()
        .partition(|l| expired.contains(l.backup_id.as_str()));
    for backup in gone {
        remove_backup(state, &s3, bucket, backup, &folders, &mut report).await?;
    }
    let complete: HashSet<String> = listed.iter().map(|l| l.prefix()).collect();
    remove_unfinished(&s3, bucket, &folders, &complete, now, &mut report).await?;
    report.kept = listed.len() - report.removed.len();
    remove_unlisted_copies(&s3, bucket, &kept, now, &mut report).await?;
    Ok(report)
}

/// Every object under a backup folder (`{kind}/YYYY/MM/DD/{backupId}/`), by folder.
fn by_folder(objects: &[Object]) -> BTreeMap<String, Vec<String>> {
    let mut folders: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for object in objects {
        let Some(key) = object.key() else { continue };
        let folder: Vec<&str> = key.splitn(6, '/').take(5).collect();
        if folder.len() == 5 {
            folders
                .entry(format!("{}/", folder.join("/")))
                .or_default()
                .push(key.to_owned());
        }
    }
    folders
}

/// Removes one expired backup: the RDS snapshot it names, then its manifest (from then
/// on the backup no longer exists), then the rest of its folder.
#[tracing::instrument(name = "remove_backup", skip_all, fields(manifest = %backup.manifest_key))]
async fn remove_backup(
    state: &AppState,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    backup: &Listed,
    folders: &BTreeMap<String, Vec<String>>,
    report: &mut RetentionReport,
) -> Result<(), BackupError> {
    // The RDS snapshot it names goes with it (manual snapshots are kept until deleted,
    // and an account holds at most 100).
    let manifest = store::get_json::<Manifest>(s3, bucket, &backup.manifest_key).await?;
    if let Some(snapshot) = manifest.and_then(|m| m.rds_snapshot) {
        super::rds::delete_snapshot(state, &snapshot).await?;
        report.rds_snapshots_removed.push(snapshot);
    }
    // The manifest first: from here on the backup no longer exists.
    store::delete(s3, bucket, std::slice::from_ref(&backup.manifest_key)).await?;
    let rest: Vec<String> = folders
        .get(&backup.prefix())
        .into_iter()
        .flatten()
        .filter(|k| **k != backup.manifest_key)
        .cloned()
        .collect();
    store::delete(s3, bucket, &rest).await?;
    report.objects_deleted += rest.len() + 1;
    tracing::info!(manifest = %backup.manifest_key, objects = rest.len() + 1, kind = %backup.kind, "backup removed by retention");
    report.removed.push(backup.manifest_key.clone());
    Ok(())
}

/// Removes the folders without a manifest (backups that never finished) once they are
/// older than [`LEFTOVER_GRACE`], so a backup still running is left alone.
async fn remove_unfinished(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    folders: &BTreeMap<String, Vec<String>>,
    complete: &HashSet<String>,
    now: DateTime<Utc>,
    report: &mut RetentionReport,
) -> Result<(), BackupError> {
    for (folder, keys) in folders {
        if complete.contains(folder) {
            continue;
        }
        let started = folder
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .and_then(manifest::started_at_of);
        if started.is_some_and(|s| s < now - LEFTOVER_GRACE) {
            store::delete(s3, bucket, keys).await?;
            report.objects_deleted += keys.len();
            tracing::info!(folder = %folder, objects = keys.len(), "unfinished backup removed");
            report.unfinished_removed.push(folder.clone());
        }
    }
    Ok(())
}

/// Removes the file copies that no kept backup's manifest lists, once they are older than
/// [`LEFTOVER_GRACE`] (a backup still running may have copied them for its manifest).
async fn remove_unlisted_copies(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    kept: &[&Listed],
    now: DateTime<Utc>,
    report: &mut RetentionReport,
) -> Result<(), BackupError> {
    let mut listed_copies = HashSet::new();
    for backup in kept {
        if let Some(manifest) =
            store::get_json::<Manifest>(s3, bucket, &backup.manifest_key).await?
        {
            listed_copies.extend(manifest.files.into_iter().map(|f| f.object.key));
        }
    }
    let unlisted: Vec<String> = store::list(s3, bucket, FILES_PREFIX)
        .await?
        .into_iter()
        .filter(|o| {
            o.last_modified()
                .and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), 0))
                .is_some_and(|t| t < now - LEFTOVER_GRACE)
        })
        .filter_map(|o| o.key)
        .filter(|k| !listed_copies.contains(k))
        .collect();
    store::delete(s3, bucket, &unlisted).await?;
    report.file_copies_removed = unlisted.len();
    report.objects_deleted += unlisted.len();
    Ok(())
}
