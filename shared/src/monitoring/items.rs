//! The error store's items as they are stored, one struct per kind (the table in
//! [`super::errors`]), read with [`dynamo::from_item`]; and the partition query that the
//! views of the error store and of alerts share.
//!
//! The occurrence is written whole ([`dynamo::to_item`]). The group and the two counters
//! are written by update expressions in [`super::errors`] instead: concurrent recordings
//! change the same item, and only `ADD` counts every one of them.
//!
//! Attributes every writer has always set are required; those a reader has always done
//! without (older items lack them, or they are set only later in an item's life) are
//! `#[serde(default)]`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{errors::GroupStatus, Category, Origin, Severity};
use crate::{
    dynamo::{self, millis, Item},
    ApiError, ApiResult, AppState,
};

/// `ERRORS#<hour>` / `<time>#<id>`: one occurrence.
pub(crate) const OCCURRENCES_PREFIX: &str = "ERRORS#";
/// `ERROR_GROUPS` / `<fingerprint>`: one group.
pub(crate) const GROUPS_PK: &str = "ERROR_GROUPS";
/// `ERROR_HOURS` / `<hour>`: one hour's counters.
pub(crate) const HOURS_PK: &str = "ERROR_HOURS";
/// `ERROR_GROUP_HOURS#<hour>` / `<fingerprint>`: one group's occurrences in one hour.
pub(crate) const GROUP_HOURS_PREFIX: &str = "ERROR_GROUP_HOURS#";

/// One error as it happened, sanitised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Occurrence {
    /// `ERRORS#<hour>`.
    pub pk: String,
    /// `<at>#<id>`: newest last within the hour.
    pub sk: String,
    pub id: Uuid,
    #[serde(with = "millis")]
    pub at: DateTime<Utc>,
    pub origin: Origin,
    pub severity: Severity,
    pub category: Category,
    pub route: String,
    pub message: String,
    pub fingerprint: String,
    pub request_id: String,
    /// The sanitised context, as JSON text.
    pub context: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
    /// Epoch seconds: the table's TTL.
    pub expires_at: i64,
}

/// What the occurrences of one fingerprint have in common, and how many there were.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorGroup {
    /// [`GROUPS_PK`].
    pub pk: String,
    #[serde(rename = "sk")]
    pub fingerprint: String,
    #[serde(with = "millis")]
    pub first_seen: DateTime<Utc>,
    #[serde(with = "millis")]
    pub last_seen: DateTime<Utc>,
    pub status: GroupStatus,
    pub severity: Severity,
    pub category: Category,
    pub route: String,
    /// The message with its volatile parts as placeholders.
    pub message: String,
    /// The latest occurrence's (sanitised) message.
    pub sample: String,
    pub last_request_id: String,
    /// Occurrences ever (within retention).
    pub occurrences: u64,
    #[serde(default)]
    pub regressions: u64,
    #[serde(
        default,
        with = "millis::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub regressed_at: Option<DateTime<Utc>>,
    #[serde(
        default,
        with = "millis::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub resolved_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<Uuid>,
    pub expires_at: i64,
}

/// One hour's counters: errors in all, by severity, by category, and (server-side errors
/// only, what the alert rules count) by both.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HourCounter {
    /// [`HOURS_PK`].
    pub pk: String,
    /// The hour (`2026-12-01T13`).
    #[serde(rename = "sk")]
    pub hour: String,
    #[serde(default)]
    pub total: u64,
    #[serde(default)]
    pub expires_at: i64,
    /// Every other attribute: a counter named by [`severity_counter`],
    /// [`category_counter`] or [`cell_counter`].
    #[serde(flatten)]
    pub counters: HashMap<String, u64>,
}

impl HourCounter {
    pub fn of_severity(&self, severity: Severity) -> u64 {
        self.counter(&severity_counter(severity))
    }

    pub fn of_category(&self, category: Category) -> u64 {
        self.counter(&category_counter(category))
    }

    /// Server-side errors of `severity` in `category`.
    pub fn of_cell(&self, severity: Severity, category: Category) -> u64 {
        self.counter(&cell_counter(severity, category))
    }

    fn counter(&self, name: &str) -> u64 {
        self.counters.get(name).copied().unwrap_or(0)
    }
}

/// The hour item's counter names: `severity_HIGH`, `category_database`,
/// `cell_HIGH_database`.
pub(crate) fn severity_counter(severity: Severity) -> String {
    format!("severity_{}", severity.as_str())
}

pub(crate) fn category_counter(category: Category) -> String {
    format!("category_{}", category.as_str())
}

/// Errors of one severity in one category: what the alert rules count.
pub(crate) fn cell_counter(severity: Severity, category: Category) -> String {
    format!("cell_{}_{}", severity.as_str(), category.as_str())
}

/// One group's occurrences in one hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupHour {
    /// `ERROR_GROUP_HOURS#<hour>`.
    pub pk: String,
    #[serde(rename = "sk")]
    pub fingerprint: String,
    #[serde(default)]
    pub occurrences: u64,
    #[serde(default)]
    pub expires_at: i64,
}

pub(crate) fn store_unavailable(err: impl Into<crate::error::BoxError>) -> ApiError {
    ApiError::service_unavailable("the error store is unavailable")
        .in_category(Category::ExternalService)
        .with_source(err)
}

/// Every item of the partition `pk`, all pages.
#[tracing::instrument(name = "query_monitoring_partition", skip_all, fields(%pk))]
pub(crate) async fn partition(state: &AppState, pk: String) -> ApiResult<Vec<Item>> {
    state
        .dynamodb
        .query()
        .table_name(&state.config.resources.app_table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", dynamo::text(pk))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(store_unavailable)
}

/// `items` read as `T`, leaving out (and logging) any that cannot be: one odd item must
/// not hide the rest of a view operations need while something is wrong.
pub(crate) fn readable<'a, T: serde::de::DeserializeOwned>(
    items: impl IntoIterator<Item = &'a Item>,
    what: &str,
) -> Vec<T> {
    items
        .into_iter()
        .filter_map(|item| read_or_log(item, what))
        .collect()
}

/// `item` read as `T`, or `None` (logged) when it cannot be.
pub(crate) fn read_or_log<T: serde::de::DeserializeOwned>(item: &Item, what: &str) -> Option<T> {
    match dynamo::from_item(item) {
        Ok(read) => Some(read),
        Err(err) => {
            tracing::warn!(error = %err.message, %what, "an unreadable item was left out");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::AttributeValue;

    use super::*;

    fn item(attributes: &[(&str, AttributeValue)]) -> Item {
        attributes
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect()
    }

    fn s(text: &str) -> AttributeValue {
        AttributeValue::S(text.to_owned())
    }

    fn n(number: &str) -> AttributeValue {
        AttributeValue::N(number.to_owned())
    }

    #[test]
    fn an_hour_item_reads_its_counters_by_name() {
        let stored = item(&[
            ("pk", s(HOURS_PK)),
            ("sk", s("2026-12-01T13")),
            ("total", n("7")),
            ("expiresAt", n("1800000000")),
            ("severity_HIGH", n("5")),
            ("category_database", n("6")),
            ("cell_HIGH_database", n("4")),
        ]);
        let hour: HourCounter = dynamo::from_item(&stored).expect("hour");
        assert_eq!(hour.hour, "2026-12-01T13");
        assert_eq!(hour.total, 7);
        assert_eq!(hour.of_severity(Severity::High), 5);
        assert_eq!(hour.of_severity(Severity::Low), 0);
        assert_eq!(hour.of_category(Category::Database), 6);
        assert_eq!(hour.of_cell(Severity::High, Category::Database), 4);
        assert_eq!(dynamo::to_item(&hour).expect("item"), stored);
    }

    #[test]
    fn an_occurrence_is_stored_as_it_always_was() {
        let stored = item(&[
            ("pk", s("ERRORS#2026-12-01T13")),
            (
                "sk",
                s("2026-12-01T13:20:00.123Z#6f1c2b7e-9d2a-4c55-8f0e-2a1b3c4d5e6f"),
            ),
            ("id", s("6f1c2b7e-9d2a-4c55-8f0e-2a1b3c4d5e6f")),
            ("at", s("2026-12-01T13:20:00.123Z")),
            ("origin", s("server")),
            ("severity", s("HIGH")),
            ("category", s("database")),
            ("route", s("GET /api/orders")),
            ("message", s("boom")),
            ("fingerprint", s("f")),
            ("requestId", s("req-1")),
            ("context", s("{}")),
            ("expiresAt", n("1800000000")),
        ]);
        let occurrence: Occurrence = dynamo::from_item(&stored).expect("occurrence");
        assert_eq!(occurrence.user_id, None);
        assert_eq!(dynamo::to_item(&occurrence).expect("item"), stored);
    }

    #[test]
    fn a_group_without_the_attributes_set_later_in_its_life_reads() {
        let stored = item(&[
            ("pk", s(GROUPS_PK)),
            ("sk", s("f")),
            ("firstSeen", s("2026-12-01T13:20:00.123Z")),
            ("lastSeen", s("2026-12-01T14:20:00.000Z")),
            ("status", s("unresolved")),
            ("severity", s("HIGH")),
            ("category", s("database")),
            ("route", s("GET /api/orders")),
            ("message", s("order <uuid> not saved")),
            ("sample", s("order 1 not saved")),
            ("lastRequestId", s("req-1")),
            ("occurrences", n("3")),
            ("expiresAt", n("1800000000")),
        ]);
        let group: ErrorGroup = dynamo::from_item(&stored).expect("group");
        assert_eq!((group.occurrences, group.regressions), (3, 0));
        assert_eq!((group.resolved_at, group.resolved_by), (None, None));
        assert_eq!(
            group.first_seen.to_rfc3339(),
            "2026-12-01T13:20:00.123+00:00"
        );
    }
}
