//! The `backup-verify` job (monthly): restores the newest complete backup into a scratch
//! database, compares every table's row count and row digest with the manifest, records
//! the result beside the backups and raises (or resolves) the `backup-verification`
//! alert. A backup that cannot be restored at all, or no backup to verify, is a failure
//! like a mismatch: either way there is nothing to restore from.

use chrono::{DateTime, Datelike, Utc};
use futures_util::StreamExt;
use serde::Serialize;

use super::{
    format::RowDigest,
    manifest::{Listed, Manifest},
    restore::{self, RestoreRequest, Scope},
    retention, snapshot, store, BackupError, Progress, STABLE_TEXT,
};
use crate::{
    monitoring::{alerts, Severity},
    AppState,
};

pub const ALERT_RULE: &str = "backup-verification";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    pub ok: bool,
    pub manifest_key: Option<String>,
    pub backup_id: Option<String>,
    pub scratch_database: String,
    pub tables_checked: usize,
    pub rows_checked: u64,
    /// What differed or failed, one line each.
    pub problems: Vec<String>,
    pub verified_at: DateTime<Utc>,
    pub seconds: f64,
}

/// Compares the tables of `database` with the manifest: counts and digests.
#[tracing::instrument(name = "compare_restored_tables", skip_all)]
pub async fn compare(
    state: &AppState,
    database: &str,
    manifest: &Manifest,
) -> Result<(u64, Vec<String>), BackupError> {
    let target = state.db.for_database(database);
    let mut client = target.get().await?;
    let txn = client
        .raw()
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    txn.batch_execute(STABLE_TEXT).await?;
    let shapes = snapshot::tables(&txn).await?;
    let mut problems = Vec::new();
    let mut rows_checked = 0u64;
    for table in &manifest.tables {
        let Some(found) = shapes.iter().find(|s| s.name == table.name) else {
            problems.push(format!("{} is missing", table.name));
            continue;
        };
        // The manifest's column order, whatever order the restored table keeps them in.
        let shape = snapshot::TableShape {
            columns: table.columns.clone(),
            ..found.clone()
        };
        let (rows, digest) = digest_table(&txn, &shape).await?;
        rows_checked += rows;
        if rows != table.rows {
            problems.push(format!(
                "{}: {rows} rows, the manifest lists {}",
                table.name, table.rows
            ));
        } else if digest != table.digest {
            problems.push(format!(
                "{}: the rows differ from the backed-up ones",
                table.name
            ));
        }
    }
    txn.commit().await?;
    Ok((rows_checked, problems))
}

/// Streams one table's rows as the backup wrote them and digests them: its row count and
/// its [`RowDigest`].
#[tracing::instrument(name = "digest_table", skip_all, fields(table = %shape.name))]
async fn digest_table(
    txn: &tokio_postgres::Transaction<'_>,
    shape: &snapshot::TableShape,
) -> Result<(u64, String), BackupError> {
    let mut digest = RowDigest::default();
    let stream = txn.copy_out(shape.copy_out().as_str()).await?;
    futures_util::pin_mut!(stream);
    while let Some(bytes) = stream.next().await {
        digest.update(&bytes?);
    }
    Ok(digest.finish())
}

/// Verifies the newest complete backup at `now`: restores it into a scratch database,
/// compares it, drops the scratch database, records the result beside the backups and
/// raises or resolves the alert.
#[tracing::instrument(name = "verify_backup", skip_all)]
pub async fn run(
    state: &AppState,
    now: DateTime<Utc>,
    progress: Progress<'_>,
) -> Result<VerifyReport, BackupError> {
    let clock = std::time::Instant::now();
    let s3 = store::client(state);
    let bucket = &state.config.resources.backups_bucket;
    let scratch = format!(
        "backup_verify_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let mut report = VerifyReport {
        ok: false,
        manifest_key: None,
        backup_id: None,
        scratch_database: scratch.clone(),
        tables_checked: 0,
        rows_checked: 0,
        problems: Vec::new(),
        verified_at: now,
        seconds: 0.0,
    };
    match retention::list(&s3, bucket).await?.pop() {
        None => report
            .problems
            .push("there is no complete backup to verify".into()),
        Some(latest) => restore_and_compare(state, &s3, &latest, progress, &mut report).await,
    }
    restore::drop_database(state, &scratch).await;
    report.ok = report.problems.is_empty();
    report.seconds = clock.elapsed().as_secs_f64();
    record(&s3, bucket, &report, now).await?;
    alerts::apply(state, &observation(&report), now).await?;
    Ok(report)
}

/// Restores `latest` into the report's scratch database and compares it with its
/// manifest. Every failure here is a finding written into the report, not an error of the
/// job: the caller still drops the scratch database, records the result and raises the
/// alert.
async fn restore_and_compare(
    state: &AppState,
    s3: &aws_sdk_s3::Client,
    latest: &Listed,
    progress: Progress<'_>,
    report: &mut VerifyReport,
) {
    report.manifest_key = Some(latest.manifest_key.clone());
    report.backup_id = Some(latest.backup_id.clone());
    let scratch = &report.scratch_database;
    let request = RestoreRequest {
        manifest_key: latest.manifest_key.clone(),
        target_database: Some(scratch.clone()),
        files_bucket: None,
        tables: None,
        scope: Scope::DatabaseOnly,
        force: false,
        dry_run: false,
    };
    let checked = async {
        restore::run(state, &request, progress).await?;
        let manifest = restore::open(state, s3, &latest.manifest_key)
            .await?
            .manifest;
        let (rows, problems) = compare(state, scratch, &manifest).await?;
        Ok::<_, BackupError>((manifest.tables.len(), rows, problems))
    }
    .await;
    match checked {
        Err(e) => report.problems.push(format!("the restore failed: {e}")),
        Ok((tables, rows, problems)) => {
            report.tables_checked = tables;
            report.rows_checked = rows;
            report.problems = problems;
        }
    }
}

/// Writes the report beside the backups (`verifications/YYYY/MM/DD/{backupId}.json`), so
/// the last verification of each backup can be read back later.
async fn record(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    report: &VerifyReport,
    now: DateTime<Utc>,
) -> Result<(), BackupError> {
    let record = format!(
        "verifications/{:04}/{:02}/{:02}/{}.json",
        now.year(),
        now.month(),
        now.day(),
        report.backup_id.as_deref().unwrap_or("none")
    );
    store::put_json(s3, bucket, &record, report).await
}

/// The `backup-verification` alert's observation: firing while the verification failed,
/// cleared once one passes.
fn observation(report: &VerifyReport) -> alerts::Observation {
    alerts::Observation {
        rule: ALERT_RULE.to_owned(),
        group_key: "latest".to_owned(),
        severity: Severity::Critical,
        summary: if report.ok {
            format!(
                "backup {} restored and matched its manifest",
                report.backup_id.as_deref().unwrap_or("?")
            )
        } else {
            format!("backup verification failed: {}", report.problems.join("; "))
        },
        value: report.problems.len() as f64,
        threshold: 0.0,
        firing: !report.ok,
        cleared: report.ok,
    }
}
