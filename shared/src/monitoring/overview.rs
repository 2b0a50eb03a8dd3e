//! What the error store shows operations (`GET /api/health/errors`): totals by severity
//! and category over a window, the hourly series, the groups seen most in it and the
//! latest occurrences. Everything comes from the hour items, the groups' hour items and
//! the groups, plus one query per hour for the latest occurrences, so a storm of errors
//! costs no more to show than a quiet day.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use futures_util::future::join_all;
use serde::Serialize;
use serde_json::Value;

use super::{
    errors::{hour_key, GROUPS_PK, GROUP_HOURS_PREFIX, HOURS_PK},
    Category, Severity,
};
use crate::{error::FieldError, ApiError, ApiResult, AppState};

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
    pub recent: Vec<Value>,
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
    pub status: String,
    pub severity: String,
    pub category: String,
    pub route: String,
    /// The message with its volatile parts as placeholders.
    pub message: String,
    /// One occurrence's (sanitised) message.
    pub sample: String,
    pub first_seen: String,
    pub last_seen: String,
    pub regressions: u64,
}

/// One hour item's counters.
#[derive(Debug, Default)]
pub(crate) struct HourItem {
    pub hour: String,
    pub total: u64,
    pub severity: HashMap<String, u64>,
    pub category: HashMap<String, u64>,
    /// Server-side errors by `<SEVERITY>_<category>`.
    pub cells: HashMap<String, u64>,
}

pub(crate) fn store_unavailable(err: impl Into<crate::error::BoxError>) -> ApiError {
    ApiError::service_unavailable("the error store is unavailable")
        .in_category(Category::ExternalService)
        .with_source(err)
}

/// Every item of the partition `pk`, all pages.
pub(crate) async fn partition(
    state: &AppState,
    pk: String,
) -> ApiResult<Vec<HashMap<String, AttributeValue>>> {
    state
        .dynamodb
        .query()
        .table_name(&state.config.resources.app_table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(pk))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(store_unavailable)
}

pub(crate) fn number(item: &HashMap<String, AttributeValue>, name: &str) -> u64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

pub(crate) fn text(item: &HashMap<String, AttributeValue>, name: &str) -> String {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

/// The hour items of `window`, oldest first (hours without errors have none).
pub(crate) async fn hour_items(
    state: &AppState,
    window: Window,
    now: DateTime<Utc>,
) -> ApiResult<Vec<HourItem>> {
    let hours = window.hours_until(now);
    let (Some(first), Some(last)) = (hours.first(), hours.last()) else {
        return Ok(Vec::new());
    };
    let pages = state
        .dynamodb
        .query()
        .table_name(&state.config.resources.app_table)
        .key_condition_expression("pk = :pk AND sk BETWEEN :first AND :last")
        .expression_attribute_values(":pk", AttributeValue::S(HOURS_PK.to_owned()))
        .expression_attribute_values(":first", AttributeValue::S(first.clone()))
        .expression_attribute_values(":last", AttributeValue::S(last.clone()))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(store_unavailable)?;
    Ok(pages
        .into_iter()
        .map(|item| {
            let mut hour = HourItem {
                hour: text(&item, "sk"),
                total: number(&item, "total"),
                ..HourItem::default()
            };
            for (name, value) in &item {
                let count = value.as_n().ok().and_then(|n| n.parse().ok()).unwrap_or(0);
                if let Some(severity) = name.strip_prefix("severity_") {
                    hour.severity.insert(severity.to_owned(), count);
                } else if let Some(category) = name.strip_prefix("category_") {
                    hour.category.insert(category.to_owned(), count);
                } else if let Some(cell) = name.strip_prefix("cell_") {
                    hour.cells.insert(cell.to_owned(), count);
                }
            }
            hour
        })
        .collect())
}

fn zeroed<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> BTreeMap<&'static str, u64> {
    all.iter().map(|v| (name(*v), 0)).collect()
}

fn add_counts(into: &mut BTreeMap<&'static str, u64>, counts: &HashMap<String, u64>) {
    for (name, total) in into.iter_mut() {
        *total += counts.get(*name).copied().unwrap_or(0);
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
            let counts: HashMap<String, u64> = items?
                .iter()
                .map(|item| (text(item, "sk"), number(item, "occurrences")))
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
pub async fn group(
    state: &AppState,
    fingerprint: &str,
    count: u64,
) -> ApiResult<Option<GroupView>> {
    let found = state
        .dynamodb
        .get_item()
        .table_name(&state.config.resources.app_table)
        .key("pk", AttributeValue::S(GROUPS_PK.to_owned()))
        .key("sk", AttributeValue::S(fingerprint.to_owned()))
        .send()
        .await
        .map_err(store_unavailable)?;
    Ok(found.item().map(|item| GroupView {
        fingerprint: fingerprint.to_owned(),
        count,
        total_count: number(item, "occurrences"),
        status: text(item, "status"),
        severity: text(item, "severity"),
        category: text(item, "category"),
        route: text(item, "route"),
        message: text(item, "message"),
        sample: text(item, "sample"),
        first_seen: text(item, "firstSeen"),
        last_seen: text(item, "lastSeen"),
        regressions: number(item, "regressions"),
    }))
}

/// The latest occurrences, newest first, from the hours that had any.
async fn recent(state: &AppState, hours_with_errors: &[&str]) -> ApiResult<Vec<Value>> {
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
            .expression_attribute_values(":pk", AttributeValue::S(format!("ERRORS#{hour}")))
            .scan_index_forward(false)
            .limit((RECENT - found.len()) as i32)
            .send()
            .await
            .map_err(store_unavailable)?;
        found.extend(page.items().iter().map(occurrence_view));
    }
    Ok(found)
}

fn occurrence_view(item: &HashMap<String, AttributeValue>) -> Value {
    let context: Value = serde_json::from_str(&text(item, "context")).unwrap_or(Value::Null);
    let user = item.get("userId").and_then(|v| v.as_s().ok()).cloned();
    serde_json::json!({
        "id": text(item, "id"),
        "at": text(item, "at"),
        "origin": text(item, "origin"),
        "severity": text(item, "severity"),
        "category": text(item, "category"),
        "route": text(item, "route"),
        "message": text(item, "message"),
        "fingerprint": text(item, "fingerprint"),
        "requestId": text(item, "requestId"),
        "userId": user,
        "context": context,
    })
}

/// The overview of the `window` up to now.
pub async fn overview(state: &AppState, window: Window) -> ApiResult<ErrorOverview> {
    let now = Utc::now();
    let hours = hour_items(state, window, now).await?;
    let mut summary = Summary {
        by_severity: zeroed(&Severity::ALL, Severity::as_str),
        by_category: zeroed(&Category::ALL, Category::as_str),
        ..Summary::default()
    };
    let mut hourly = Vec::with_capacity(hours.len());
    for hour in &hours {
        summary.total += hour.total;
        add_counts(&mut summary.by_severity, &hour.severity);
        add_counts(&mut summary.by_category, &hour.category);
        let mut by_severity = zeroed(&Severity::ALL, Severity::as_str);
        add_counts(&mut by_severity, &hour.severity);
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
