//! What the error store shows operations (`GET /api/health/errors`): totals by severity
//! and category over a window, the hourly series, the groups seen most in it and the
//! latest occurrences. Everything comes from the hour items, the groups' hour items and
//! the groups, plus one query per hour for the latest occurrences, so a storm of errors
//! costs no more to show than a quiet day.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use futures_util::future::join_all;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::{
    errors::{hour_key, GroupStatus},
    items::{
        partition, read_or_log, readable, store_unavailable, ErrorGroup, GroupHour, HourCounter,
        Occurrence, GROUPS_PK, GROUP_HOURS_PREFIX, HOURS_PK, OCCURRENCES_PREFIX,
    },
    Category, Origin, Severity,
};
use crate::{
    dynamo::{millis, text},
    error::FieldError,
    ApiResult, AppState,
};

/// Groups and occurrences an overview lists.
const TOP_GROUPS: usize = 10;
const RECENT: usize = 20;

/// A look-back window: `1h` to `720h`, or `1d` to `30d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub hours: i64,
}

impl std::str::FromStr for Window {
    type Err = FieldError;
    fn from_str(raw: &str) -> Result<Self, FieldError> {
        let invalid = || FieldError::new("window", "must be like 1h, 24h or 7d (at most 30d)");
        let (number, unit) = raw.split_at(raw.len().saturating_sub(1));
        let count: i64 = number.parse().map_err(|_| invalid())?;
        let hours = match unit {
            "h" => count,
            "d" => count.checked_mul(24).ok_or_else(invalid)?,
            _ => return Err(invalid()),
        };
        if (1..=720).contains(&hours) {
            Ok(Self { hours })
        } else {
            Err(invalid())
        }
    }
}

impl Window {
    /// The hour keys it covers, oldest first, the current hour last.
    pub fn hours_until(self, now: DateTime<Utc>) -> Vec<String> {
        (0..self.hours)
            .rev()
            .map(|back| hour_key(now - Duration::hours(back)))
            .collect()
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ErrorOverview {
    pub window_hours: i64,
    pub summary: Summary,
    pub hourly: Vec<HourCounts>,
    pub top_groups: Vec<GroupView>,
    pub recent: Vec<OccurrenceView>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub total: u64,
    pub by_severity: BTreeMap<&'static str, u64>,
    pub by_category: BTreeMap<&'static str, u64>,
    /// Groups seen in the window.
    pub groups: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HourCounts {
    /// The hour's start (`2026-12-01T13:00:00Z`).
    pub hour: String,
    pub total: u64,
    pub by_severity: BTreeMap<&'static str, u64>,
}

/// An error group as staff see it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GroupView {
    pub fingerprint: String,
    /// Occurrences in the window.
    pub count: u64,
    /// Occurrences ever (within retention).
    pub total_count: u64,
    pub status: GroupStatus,
    pub severity: Severity,
    pub category: Category,
    pub route: String,
    /// The message with its volatile parts as placeholders.
    pub message: String,
    /// One occurrence's (sanitised) message.
    pub sample: String,
    #[serde(with = "millis")]
    pub first_seen: DateTime<Utc>,
    #[serde(with = "millis")]
    pub last_seen: DateTime<Utc>,
    pub regressions: u64,
}

impl GroupView {
    /// `group`, with `count` occurrences in the window.
    fn of(group: ErrorGroup, count: u64) -> Self {
        Self {
            fingerprint: group.fingerprint,
            count,
            total_count: group.occurrences,
            status: group.status,
            severity: group.severity,
            category: group.category,
            route: group.route,
            message: group.message,
            sample: group.sample,
            first_seen: group.first_seen,
            last_seen: group.last_seen,
            regressions: group.regressions,
        }
    }
}

/// One occurrence as staff see it: its context as JSON, and `userId` null when there
/// was none. (Fields in alphabetical order, the order this JSON has always had.)
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OccurrenceView {
    #[serde(with = "millis")]
    pub at: DateTime<Utc>,
    pub category: Category,
    pub context: Value,
    pub fingerprint: String,
    pub id: Uuid,
    pub message: String,
    pub origin: Origin,
    pub request_id: String,
    pub route: String,
    pub severity: Severity,
    pub user_id: Option<Uuid>,
}

impl From<Occurrence> for OccurrenceView {
    fn from(occurrence: Occurrence) -> Self {
        Self {
            at: occurrence.at,
            category: occurrence.category,
            // Always written from a JSON value; should one not read, the rest still shows.
            context: serde_json::from_str(&occurrence.context).unwrap_or(Value::Null),
            fingerprint: occurrence.fingerprint,
            id: occurrence.id,
            message: occurrence.message,
            origin: occurrence.origin,
            request_id: occurrence.request_id,
            route: occurrence.route,
            severity: occurrence.severity,
            user_id: occurrence.user_id,
        }
    }
}

/// The hour items of `window`, oldest first (hours without errors have none).
#[tracing::instrument(name = "query_error_hours", skip_all, fields(hours = window.hours))]
pub(crate) async fn hour_items(
    state: &AppState,
    window: Window,
    now: DateTime<Utc>,
) -> ApiResult<Vec<HourCounter>> {
    let hours = window.hours_until(now);
    let (Some(first), Some(last)) = (hours.first(), hours.last()) else {
        return Ok(Vec::new());
    };
    let items = state
        .dynamodb
        .query()
        .table_name(&state.config.resources.app_table)
        .key_condition_expression("pk = :pk AND sk BETWEEN :first AND :last")
        .expression_attribute_values(":pk", text(HOURS_PK))
        .expression_attribute_values(":first", text(first))
        .expression_attribute_values(":last", text(last))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(store_unavailable)?;
    Ok(readable(&items, "error hour"))
}

/// `count` of every value of `all`, by its spelling.
fn counts_of<T: Copy>(
    all: &[T],
    name: fn(T) -> &'static str,
    count: impl Fn(T) -> u64,
) -> BTreeMap<&'static str, u64> {
    all.iter().map(|v| (name(*v), count(*v))).collect()
}

fn add_counts(into: &mut BTreeMap<&'static str, u64>, counts: &BTreeMap<&'static str, u64>) {
    for (name, total) in into.iter_mut() {
        *total += counts.get(name).copied().unwrap_or(0);
    }
}

/// Hours queried at once for their groups.
const HOURS_AT_ONCE: usize = 24;

/// How many errors each group had in the hours `with_errors`, most first.
async fn group_counts(state: &AppState, with_errors: &[&str]) -> ApiResult<Vec<(String, u64)>> {
    let mut per_hour = Vec::new();
    for hours in with_errors.chunks(HOURS_AT_ONCE) {
        let pages = join_all(
            hours
                .iter()
                .map(|hour| partition(state, format!("{GROUP_HOURS_PREFIX}{hour}"))),
        )
        .await;
        for items in pages {
            let counts: HashMap<String, u64> = readable::<GroupHour>(&items?, "error group hour")
                .into_iter()
                .map(|hour| (hour.fingerprint, hour.occurrences))
                .collect();
            per_hour.push(counts);
        }
    }
    Ok(sum_groups(&per_hour))
}

fn sum_groups(hours: &[HashMap<String, u64>]) -> Vec<(String, u64)> {
    let mut counts: HashMap<&str, u64> = HashMap::new();
    for hour in hours {
        for (group, count) in hour {
            *counts.entry(group).or_default() += count;
        }
    }
    let mut counts: Vec<(String, u64)> = counts
        .into_iter()
        .map(|(group, count)| (group.to_owned(), count))
        .collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts
}

/// The group stored under `fingerprint`, with `count` occurrences in the window.
#[tracing::instrument(name = "get_error_group", skip_all, fields(%fingerprint))]
pub async fn group(
    state: &AppState,
    fingerprint: &str,
    count: u64,
) -> ApiResult<Option<GroupView>> {
    let found = state
        .dynamodb
        .get_item()
        .table_name(&state.config.resources.app_table)
        .key("pk", text(GROUPS_PK))
        .key("sk", text(fingerprint))
        .send()
        .await
        .map_err(store_unavailable)?;
    Ok(found
        .item()
        .and_then(|item| read_or_log::<ErrorGroup>(item, "error group"))
        .map(|group| GroupView::of(group, count)))
}

/// The latest occurrences, newest first, from the hours that had any.
#[tracing::instrument(name = "query_recent_errors", skip_all)]
async fn recent(state: &AppState, hours_with_errors: &[&str]) -> ApiResult<Vec<OccurrenceView>> {
    let mut found = Vec::new();
    for hour in hours_with_errors.iter().rev() {
        if found.len() >= RECENT {
            break;
        }
        let page = state
            .dynamodb
            .query()
            .table_name(&state.config.resources.app_table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", text(format!("{OCCURRENCES_PREFIX}{hour}")))
            .scan_index_forward(false)
            .limit((RECENT - found.len()) as i32)
            .send()
            .await
            .map_err(store_unavailable)?;
        found.extend(
            readable::<Occurrence>(page.items(), "error occurrence")
                .into_iter()
                .map(OccurrenceView::from),
        );
    }
    Ok(found)
}

/// The overview of the `window` up to now.
#[tracing::instrument(name = "error_overview", skip_all, fields(hours = window.hours))]
pub async fn overview(state: &AppState, window: Window) -> ApiResult<ErrorOverview> {
    let now = Utc::now();
    let hours = hour_items(state, window, now).await?;
    let mut summary = Summary {
        by_severity: counts_of(&Severity::ALL, Severity::as_str, |_| 0),
        by_category: counts_of(&Category::ALL, Category::as_str, |_| 0),
        ..Summary::default()
    };
    let mut hourly = Vec::with_capacity(hours.len());
    for hour in &hours {
        let by_severity = counts_of(&Severity::ALL, Severity::as_str, |s| hour.of_severity(s));
        let by_category = counts_of(&Category::ALL, Category::as_str, |c| hour.of_category(c));
        summary.total += hour.total;
        add_counts(&mut summary.by_severity, &by_severity);
        add_counts(&mut summary.by_category, &by_category);
        hourly.push(HourCounts {
            hour: format!("{}:00:00Z", hour.hour),
            total: hour.total,
            by_severity,
        });
    }
    let with_errors: Vec<&str> = hours
        .iter()
        .filter(|h| h.total > 0)
        .map(|h| h.hour.as_str())
        .collect();
    let groups = group_counts(state, &with_errors).await?;
    summary.groups = groups.len();
    let top = join_all(
        groups
            .iter()
            .take(TOP_GROUPS)
            .map(|(fingerprint, count)| group(state, fingerprint, *count)),
    );
    let (top, recent) = tokio::join!(top, recent(state, &with_errors));
    let top_groups = top
        .into_iter()
        .collect::<ApiResult<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    Ok(ErrorOverview {
        window_hours: window.hours,
        summary,
        hourly,
        top_groups,
        recent: recent?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_hours_and_days_within_thirty_days() {
        assert_eq!("1h".parse(), Ok(Window { hours: 1 }));
        assert_eq!("24h".parse(), Ok(Window { hours: 24 }));
        assert_eq!("7d".parse(), Ok(Window { hours: 168 }));
        for bad in [
            "",
            "h",
            "0h",
            "31d",
            "24",
            "1w",
            "-1h",
            "99999999999999999999d",
        ] {
            assert!(bad.parse::<Window>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_window_lists_its_hours_oldest_first() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T13:20:00Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(
            Window { hours: 3 }.hours_until(now),
            vec!["2026-12-01T11", "2026-12-01T12", "2026-12-01T13"]
        );
    }

    #[test]
    fn group_counts_add_up_across_hours() {
        let hour = |groups: &[(&str, u64)]| -> HashMap<String, u64> {
            groups.iter().map(|(g, c)| ((*g).to_owned(), *c)).collect()
        };
        let counts = sum_groups(&[hour(&[("a", 2), ("b", 5)]), hour(&[("a", 4)])]);
        assert_eq!(counts, vec![("a".to_owned(), 6), ("b".to_owned(), 5)]);
    }
}
