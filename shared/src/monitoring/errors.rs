//! The error store, in DynamoDB so that it works while the database is down.
//!
//! Recording one error ([`record`]) makes four concurrent writes to the app table:
//!
//! | item | key (`pk` / `sk`) | holds |
//! |---|---|---|
//! | the occurrence | `ERRORS#<hour>` / `<time>#<id>` | everything about this one error; expires after the retention |
//! | its group | `ERROR_GROUPS` / `<fingerprint>` | count, first and last seen, status; expires a retention after it was last seen |
//! | the hour's counts | `ERROR_HOURS` / `<hour>` | totals by severity, by category, and by both for server-side errors (what the alert rules count) |
//! | the group's hour | `ERROR_GROUP_HOURS#<hour>` / `<fingerprint>` | the group's occurrences in the hour |
//!
//! so that summaries, hourly series, top groups and alert rules read a few small items
//! per hour, never every occurrence, however many a storm produced. A group marked
//! resolved and seen again is unresolved once more, counted as a regression.
//!
//! Everything stored passes through [`super::sanitize`] first. Recording is bounded by a
//! short deadline and never fails the request that hit the error: a failure to record is
//! logged and the request goes on.

use std::{collections::HashMap, future::Future, pin::Pin, time::Duration};

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::{fingerprint, sanitize, Category, Origin, Severity};
use crate::{error::BoxError, AppState};

/// How long recording may delay the response of a failing request.
const RECORD_DEADLINE: Duration = Duration::from_millis(500);

pub(crate) const GROUPS_PK: &str = "ERROR_GROUPS";
pub(crate) const HOURS_PK: &str = "ERROR_HOURS";
/// `ERROR_GROUP_HOURS#<hour>` / `<fingerprint>`: one group's occurrences in one hour.
pub(crate) const GROUP_HOURS_PREFIX: &str = "ERROR_GROUP_HOURS#";

/// One error to record, before sanitising.
#[derive(Debug, Clone)]
pub struct ErrorReport {
    pub origin: Origin,
    pub severity: Severity,
    pub category: Category,
    /// The route key (`GET /api/orders/{order_number}`), the job name, or for a client
    /// error the page it happened on.
    pub route: String,
    pub message: String,
    pub request_id: String,
    pub user_id: Option<Uuid>,
    /// Anything else worth keeping (sanitised before it is stored).
    pub context: Value,
}

/// What recording an error did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub id: Uuid,
    pub fingerprint: String,
    /// The first occurrence of its group.
    pub new_group: bool,
    /// Its group had been resolved and is open again.
    pub regression: bool,
}

/// An instant as the store writes it (RFC 3339 UTC, milliseconds): sort keys order by it.
pub(crate) fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The hour an instant falls in, as the store's keys spell it (`2026-12-01T13`).
pub fn hour_key(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H").to_string()
}

/// Records `report`; `None` (logged) when the store could not be written in time.
///
/// Boxed, and built in this function's own frame: the SDK futures inside are large, and
/// every request path that may record an error would otherwise carry them (debug builds
/// reserve their size on the stack of every poll).
pub fn record(
    state: &AppState,
    report: ErrorReport,
) -> Pin<Box<dyn Future<Output = Option<Recorded>> + Send + '_>> {
    Box::pin(async move {
        // The metric the error alarms watch: server-side errors only, as in the rules.
        if report.origin == Origin::Server {
            state
                .metrics
                .error_recorded(report.severity.as_str(), &report.request_id);
        }
        let write = try_record(state, report, Utc::now());
        match tokio::time::timeout(RECORD_DEADLINE, write).await {
            Ok(Ok(recorded)) => Some(recorded),
            Ok(Err(err)) => {
                tracing::warn!(error = %crate::error::chain(&*err), "could not record the error");
                None
            }
            Err(_) => {
                tracing::warn!(
                    "could not record the error: the store did not answer in {} ms",
                    RECORD_DEADLINE.as_millis()
                );
                None
            }
        }
    })
}

/// Records `report` as having happened at `at`.
pub async fn try_record(
    state: &AppState,
    report: ErrorReport,
    at: DateTime<Utc>,
) -> Result<Recorded, BoxError> {
    let message = sanitize::text(&report.message);
    let route = sanitize::text(&report.route);
    let fingerprint = fingerprint::fingerprint(report.category, &route, &message);
    let id = Uuid::new_v4();
    let hour = hour_key(at);
    let now = stamp(at);
    let expires = (at + state.config.monitoring.error_retention).timestamp();
    let table = &state.config.resources.app_table;
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let n = |v: i64| AttributeValue::N(v.to_string());

    let mut occurrence = HashMap::from([
        ("pk".to_owned(), s(&format!("ERRORS#{hour}"))),
        ("sk".to_owned(), s(&format!("{now}#{id}"))),
        ("id".to_owned(), s(&id.to_string())),
        ("at".to_owned(), s(&now)),
        ("origin".to_owned(), s(report.origin.as_str())),
        ("severity".to_owned(), s(report.severity.as_str())),
        ("category".to_owned(), s(report.category.as_str())),
        ("route".to_owned(), s(&route)),
        ("message".to_owned(), s(&message)),
        ("fingerprint".to_owned(), s(&fingerprint)),
        (
            "requestId".to_owned(),
            s(&sanitize::text(&report.request_id)),
        ),
        (
            "context".to_owned(),
            s(&sanitize::value(&report.context).to_string()),
        ),
        ("expiresAt".to_owned(), n(expires)),
    ]);
    if let Some(user) = report.user_id {
        occurrence.insert("userId".to_owned(), s(&user.to_string()));
    }
    let put = state
        .dynamodb
        .put_item()
        .table_name(table)
        .set_item(Some(occurrence))
        .send();

    let group = state
        .dynamodb
        .update_item()
        .table_name(table)
        .key("pk", s(GROUPS_PK))
        .key("sk", s(&fingerprint))
        // Every name through a placeholder: `status`, `sample` and others are reserved words.
        .update_expression(
            "SET #firstSeen = if_not_exists(#firstSeen, :now), #lastSeen = :now, \
             #category = :category, #route = :route, #severity = :severity, \
             #message = :normalized, #sample = :message, #lastRequestId = :request, \
             #status = :unresolved, #expiresAt = :expires ADD #occurrences :one",
        )
        .set_expression_attribute_names(Some(
            [
                "firstSeen",
                "lastSeen",
                "category",
                "route",
                "severity",
                "message",
                "sample",
                "lastRequestId",
                "status",
                "expiresAt",
                "occurrences",
            ]
            .into_iter()
            .map(|name| (format!("#{name}"), name.to_owned()))
            .collect(),
        ))
        .expression_attribute_values(":now", s(&now))
        .expression_attribute_values(":category", s(report.category.as_str()))
        .expression_attribute_values(":route", s(&route))
        .expression_attribute_values(":severity", s(report.severity.as_str()))
        .expression_attribute_values(":normalized", s(&fingerprint::normalize(&message)))
        .expression_attribute_values(":message", s(&message))
        .expression_attribute_values(":request", s(&sanitize::text(&report.request_id)))
        .expression_attribute_values(":unresolved", s(GroupStatus::Unresolved.as_str()))
        .expression_attribute_values(":expires", n(expires))
        .expression_attribute_values(":one", n(1))
        .return_values(ReturnValue::AllOld)
        .send();

    // Errors the server saw count towards the alert rules; what a browser reports does
    // not (anyone may report, and a report must not page anyone).
    let alerting = report.origin == Origin::Server;
    let counts = state
        .dynamodb
        .update_item()
        .table_name(table)
        .key("pk", s(HOURS_PK))
        .key("sk", s(&hour))
        .update_expression(if alerting {
            "SET #expiresAt = :expires ADD #total :one, #severity :one, #category :one, #cell :one"
        } else {
            "SET #expiresAt = :expires ADD #total :one, #severity :one, #category :one"
        })
        .set_expression_attribute_names(Some(
            [(
                "#cell".to_owned(),
                cell_counter(report.severity, report.category),
            )]
            .into_iter()
            .filter(|_| alerting)
            .chain([
                ("#total".to_owned(), "total".to_owned()),
                ("#expiresAt".to_owned(), "expiresAt".to_owned()),
                ("#severity".to_owned(), severity_counter(report.severity)),
                ("#category".to_owned(), category_counter(report.category)),
            ])
            .collect(),
        ))
        .expression_attribute_values(":expires", n(expires))
        .expression_attribute_values(":one", n(1))
        .send();

    // Per group and hour in an item of its own: however many groups an hour sees, no
    // item grows past what one group needs.
    let group_hour = state
        .dynamodb
        .update_item()
        .table_name(table)
        .key("pk", s(&format!("{GROUP_HOURS_PREFIX}{hour}")))
        .key("sk", s(&fingerprint))
        .update_expression("SET #expiresAt = :expires ADD #count :one")
        .expression_attribute_names("#expiresAt", "expiresAt")
        .expression_attribute_names("#count", "occurrences")
        .expression_attribute_values(":expires", n(expires))
        .expression_attribute_values(":one", n(1))
        .send();

    let (put, group, counts, group_hour) = tokio::join!(put, group, counts, group_hour);
    put?;
    counts?;
    group_hour?;
    let before = group?.attributes.unwrap_or_default();
    let new_group = !before.contains_key("firstSeen");
    let regression = before
        .get("status")
        .and_then(|v| v.as_s().ok())
        .is_some_and(|status| status == GroupStatus::Resolved.as_str());
    if regression {
        state
            .dynamodb
            .update_item()
            .table_name(table)
            .key("pk", s(GROUPS_PK))
            .key("sk", s(&fingerprint))
            .update_expression("SET #regressedAt = :now ADD #regressions :one")
            .expression_attribute_names("#regressedAt", "regressedAt")
            .expression_attribute_names("#regressions", "regressions")
            .expression_attribute_values(":now", s(&now))
            .expression_attribute_values(":one", n(1))
            .send()
            .await?;
        tracing::warn!(%fingerprint, "a resolved error group is back (regression)");
    }
    Ok(Recorded {
        id,
        fingerprint,
        new_group,
        regression,
    })
}

/// Marks the groups `fingerprints` resolved by `by`; returns how many existed. A resolved
/// group seen again opens as a regression.
pub async fn resolve_groups(
    state: &AppState,
    fingerprints: &[String],
    by: Uuid,
) -> Result<usize, BoxError> {
    let now = stamp(Utc::now());
    let mut resolved = 0;
    for fingerprint in fingerprints {
        let update = state
            .dynamodb
            .update_item()
            .table_name(&state.config.resources.app_table)
            .key("pk", AttributeValue::S(GROUPS_PK.to_owned()))
            .key("sk", AttributeValue::S(fingerprint.clone()))
            .condition_expression("attribute_exists(pk)")
            .update_expression("SET #status = :resolved, #resolvedAt = :now, #resolvedBy = :by")
            .expression_attribute_names("#resolvedAt", "resolvedAt")
            .expression_attribute_names("#resolvedBy", "resolvedBy")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(
                ":resolved",
                AttributeValue::S(GroupStatus::Resolved.as_str().to_owned()),
            )
            .expression_attribute_values(":now", AttributeValue::S(now.clone()))
            .expression_attribute_values(":by", AttributeValue::S(by.to_string()))
            .send()
            .await;
        match update {
            Ok(_) => resolved += 1,
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(resolved)
}

crate::text_enum::text_enum! {
    /// Whether someone has dealt with an error group.
    pub enum GroupStatus("error group status") {
        Unresolved = "unresolved",
        Resolved = "resolved",
    }
}

/// The hour item's counter names: `severity_HIGH`, `category_database`, `group_<fp>`.
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
