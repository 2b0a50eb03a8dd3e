//! The `upload-cleanup` job: removes uploads never completed (`PENDING` for more than a
//! day: their URL is long dead) and the objects and rows of files soft-deleted longer ago
//! than the retention. Every removal is logged. EventBridge's schedule runs it for real;
//! invoked any other way it is a dry run (it lists what it would remove) unless the event
//! says `{"dryRun": false}`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    db::{p, RowExt},
    error::{ApiResult, Context},
    AppState,
};

/// How long an upload may stay pending before it is removed.
pub const PENDING_MAX_AGE: chrono::Duration = chrono::Duration::days(1);

/// Files looked at per query; a run takes a few batches and leaves the rest to the next.
const BATCH: i64 = 200;
const MAX_BATCHES: usize = 10;

/// What the `upload-cleanup` job is sent: EventBridge's scheduled event, or by hand
/// `{"dryRun": false}` (a hand run only reports unless it says otherwise).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct CleanupEvent {
    #[serde(default)]
    source: Option<String>,
    #[serde(default, rename = "detail-type")]
    detail_type: Option<String>,
    #[serde(default, rename = "dryRun")]
    dry_run: Option<bool>,
}

impl CleanupEvent {
    /// Whether the run only reports: false for EventBridge's scheduled events, otherwise
    /// the event's `dryRun` (true when absent).
    pub fn dry_run(&self) -> bool {
        let scheduled = self.source.as_deref() == Some("aws.events")
            && self.detail_type.as_deref() == Some("Scheduled Event");
        self.dry_run.unwrap_or(!scheduled)
    }
}

/// Files and bytes of one kind of removal.
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Removed {
    pub files: u64,
    pub bytes: i64,
}

/// What a run removed (or, in a dry run, would remove).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CleanupReport {
    pub dry_run: bool,
    pub stale_pending: Removed,
    pub deleted_past_retention: Removed,
    /// Files whose removal failed (kept, and tried again next run).
    pub failed: u64,
    /// Whether more files are due than this run looked at.
    pub more: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    StalePending,
    DeletedPastRetention,
}

impl Reason {
    fn as_str(self) -> &'static str {
        match self {
            Reason::StalePending => "pending upload never completed",
            Reason::DeletedPastRetention => "deleted file past retention",
        }
    }

    /// The rows due, oldest first; `$1` is the cut-off, `$2` the batch size.
    fn due_sql(self) -> &'static str {
        match self {
            Reason::StalePending => {
                "SELECT id, s3_key, file_size FROM file_uploads
                  WHERE status = 'PENDING' AND uploaded_at < $1
                  ORDER BY uploaded_at LIMIT $2"
            }
            Reason::DeletedPastRetention => {
                "SELECT id, s3_key, file_size FROM file_uploads
                  WHERE deleted_at < $1
                  ORDER BY deleted_at LIMIT $2"
            }
        }
    }

    /// Removes one row if it is still due (`$1` the id, `$2` the cut-off).
    fn remove_sql(self) -> &'static str {
        match self {
            Reason::StalePending => {
                "DELETE FROM file_uploads WHERE id = $1 AND status = 'PENDING' AND uploaded_at < $2"
            }
            Reason::DeletedPastRetention => {
                "DELETE FROM file_uploads WHERE id = $1 AND deleted_at < $2"
            }
        }
    }
}

pub async fn run(state: &AppState, now: DateTime<Utc>, dry_run: bool) -> ApiResult<CleanupReport> {
    let mut report = CleanupReport {
        dry_run,
        stale_pending: Removed::default(),
        deleted_past_retention: Removed::default(),
        failed: 0,
        more: false,
    };
    let retention = state.config.uploads.deleted_retention;
    for (reason, cutoff) in [
        (Reason::StalePending, now - PENDING_MAX_AGE),
        (Reason::DeletedPastRetention, now - retention),
    ] {
        let (removed, more) = sweep(state, &mut report.failed, reason, cutoff, dry_run).await?;
        report.more |= more;
        match reason {
            Reason::StalePending => report.stale_pending = removed,
            Reason::DeletedPastRetention => report.deleted_past_retention = removed,
        }
    }
    tracing::info!(
        dry_run,
        stale_pending = report.stale_pending.files,
        deleted_past_retention = report.deleted_past_retention.files,
        failed = report.failed,
        more = report.more,
        "upload cleanup finished"
    );
    Ok(report)
}

/// Removes the files due for `reason`, batch by batch (one batch in a dry run, which
/// removes nothing and would see the same files again).
async fn sweep(
    state: &AppState,
    failed: &mut u64,
    reason: Reason,
    cutoff: DateTime<Utc>,
    dry_run: bool,
) -> ApiResult<(Removed, bool)> {
    let client = state.db.get().await?;
    let mut removed = Removed::default();
    let batches = if dry_run { 1 } else { MAX_BATCHES };
    for _ in 0..batches {
        let rows = client
            .query_typed(reason.due_sql(), &[p(&cutoff), p(&BATCH)])
            .await
            .context("finding files to clean up")?;
        let full = rows.len() as i64 == BATCH;
        let mut progressed = false;
        for row in &rows {
            let upload_id: Uuid = row.col("id")?;
            let key: String = row.col("s3_key")?;
            let bytes: i64 = row.col("file_size")?;
            if dry_run {
                tracing::info!(%upload_id, %key, bytes, reason = reason.as_str(), "would remove");
            } else if let Err(err) =
                remove_one(state, &*client, reason, upload_id, &key, cutoff).await
            {
                *failed += 1;
                tracing::warn!(%upload_id, %key, error = %err, "could not remove; next run retries");
                continue;
            } else {
                tracing::info!(%upload_id, %key, bytes, reason = reason.as_str(), "removed");
                progressed = true;
            }
            removed.files += 1;
            removed.bytes += bytes;
        }
        if !full || (!dry_run && !progressed) {
            return Ok((removed, false));
        }
    }
    Ok((removed, true))
}

/// The object first, then the row: a failure between leaves a row the next run removes.
async fn remove_one(
    state: &AppState,
    client: &impl crate::db::GenericClient,
    reason: Reason,
    upload_id: Uuid,
    key: &str,
    cutoff: DateTime<Utc>,
) -> ApiResult<()> {
    super::delete_object(state, key).await?;
    client
        .execute_typed(reason.remove_sql(), &[p(&upload_id), p(&cutoff)])
        .await
        .context("removing the file's row")?;
    Ok(())
}
