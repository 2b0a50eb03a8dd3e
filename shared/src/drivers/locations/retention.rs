//! `driver_locations` is partitioned by UTC day: the `location-retention` job creates the
//! coming days' partitions and drops whole days past `LOCATION_RETENTION_DAYS`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::ensure_partitions;
use crate::{
    db::RowExt,
    error::{ApiResult, Context},
    AppState,
};

/// Partitions made ahead of today, so ingest never waits on one.
const DAYS_AHEAD: i64 = 7;

/// What a retention run did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RetentionReport {
    pub created: i32,
    pub dropped: Vec<String>,
    pub kept: usize,
}

/// The day a partition holds, from its name (`driver_locations_YYYYMMDD`).
fn partition_day(name: &str) -> Option<NaiveDate> {
    let digits = name.strip_prefix("driver_locations_")?;
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDate::parse_from_str(digits, "%Y%m%d").ok()
}

/// Creates the partitions of the coming days and drops the days older than the retention.
pub async fn retain(state: &AppState, now: DateTime<Utc>) -> ApiResult<RetentionReport> {
    let client = state.db.get().await?;
    let today = now.date_naive();
    let created = ensure_partitions(
        &*client,
        today - chrono::Duration::days(1),
        today + chrono::Duration::days(DAYS_AHEAD),
    )
    .await?;
    let oldest_kept = (now - state.config.drivers.location_retention).date_naive();
    let rows = client
        .query_typed(
            "SELECT c.relname::text AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = 'driver_locations'::regclass ORDER BY 1",
            &[],
        )
        .await
        .context("listing location partitions")?;
    let mut dropped = Vec::new();
    let mut kept = 0;
    for row in rows {
        let name: String = row.col("name")?;
        match partition_day(&name) {
            Some(day) if day < oldest_kept => {
                // The name was matched digit by digit above: safe to interpolate.
                client
                    .batch_execute(&format!("DROP TABLE {name}"))
                    .await
                    .context("dropping an expired location partition")?;
                tracing::info!(partition = %name, %day, "dropped expired locations");
                dropped.push(name);
            }
            _ => kept += 1,
        }
    }
    Ok(RetentionReport {
        created,
        dropped,
        kept,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_names_are_read_strictly() {
        assert_eq!(
            partition_day("driver_locations_20261202"),
            NaiveDate::from_ymd_opt(2026, 12, 2)
        );
        assert_eq!(partition_day("driver_locations_2026120"), None);
        assert_eq!(partition_day("driver_locations_2026120x"), None);
        assert_eq!(partition_day("other_20261202"), None);
    }
}
