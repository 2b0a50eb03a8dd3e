//! How long delivered messages stay listed. Every delivery attempt is kept for the
//! outbox retention (`OUTBOX_RETENTION_DAYS`, 15): operators see each try's answer code,
//! latency and error in `GET /api/admin/webhooks` for that long. Then `outbox-retention`
//! deletes the attempts, and the settled messages (delivered or skipped) left without
//! any. Pending and dead messages stay whatever their age: someone still has to act on
//! them, and a dead one keeps its last error.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{
    db::{p, GenericClient},
    error::ApiResult,
    AppState,
};

/// Rows deleted per statement: short transactions that never hold the relay back long.
/// Each statement picks its batch's ids first (`= ANY(ARRAY(...))`), so the delete itself
/// goes by primary key rather than joining the whole table.
const BATCH: i64 = 5_000;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pruned {
    pub attempts: u64,
    pub messages: u64,
    /// What was older than this went.
    pub before: Option<DateTime<Utc>>,
}

/// Deletes attempts older than the retention at `now`, then the settled messages older
/// than it with no attempt left, in batches, logging progress.
pub async fn prune(state: &AppState, now: DateTime<Utc>) -> ApiResult<Pruned> {
    let before = now - state.config.outbox.retention;
    let client = state.db.get().await?;
    let attempts = in_batches(
        &*client,
        "attempts",
        "DELETE FROM outbox_attempts WHERE id = ANY(ARRAY(
             SELECT id FROM outbox_attempts WHERE attempted_at < $1 LIMIT $2))",
        before,
    )
    .await?;
    let messages = in_batches(
        &*client,
        "settled messages",
        "DELETE FROM outbox WHERE id = ANY(ARRAY(
             SELECT m.id FROM outbox m
              WHERE m.status IN ('DELIVERED', 'SKIPPED') AND m.created_at < $1
                AND NOT EXISTS (SELECT 1 FROM outbox_attempts a WHERE a.outbox_id = m.id)
              LIMIT $2))",
        before,
    )
    .await?;
    Ok(Pruned {
        attempts,
        messages,
        before: Some(before),
    })
}

async fn in_batches(
    client: &impl GenericClient,
    what: &str,
    statement: &str,
    before: DateTime<Utc>,
) -> ApiResult<u64> {
    let mut total = 0;
    loop {
        let deleted = client
            .execute_typed(statement, &[p(&before), p(&BATCH)])
            .await?;
        total += deleted;
        if deleted > 0 {
            tracing::info!(what, deleted, total, "outbox retention: deleting");
        }
        if deleted < BATCH.unsigned_abs() {
            return Ok(total);
        }
    }
}
