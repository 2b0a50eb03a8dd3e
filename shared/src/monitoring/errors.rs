//! The error store, in DynamoDB so that it works while the database is down.
//!
//! Recording one error ([`record`]) makes four concurrent writes to the app table (each
//! kind of item is one struct in `super::items`):
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

use std::{future::Future, pin::Pin, time::Duration};

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::{
    fingerprint,
    items::{
        category_counter, cell_counter, severity_counter, ErrorGroup, Occurrence, GROUPS_PK,
        GROUP_HOURS_PREFIX, HOURS_PK, OCCURRENCES_PREFIX,
    },
    sanitize, Category, Origin, Severity,
};
use crate::{
    dynamo::{self, number, text},
    error::BoxError,
    AppState,
};

/// How long recording may delay the response of a failing request.
const RECORD_DEADLINE: Duration = Duration::from_millis(500);

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
        // Boxed: the DynamoDB writes' futures would otherwise swell every caller's.
        let write = Box::pin(try_record(state, report, Utc::now()));
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

/// One report, sanitised and placed: what each of the store's items is written from.
struct Sighting {
    occurrence: Occurrence,
    hour: String,
    /// The message with its volatile parts as placeholders: the group's message.
    normalized: String,
}

impl Sighting {
    /// `report` seen at `at`, kept for `retention`.
    fn of(report: ErrorReport, at: DateTime<Utc>, retention: chrono::Duration) -> Self {
        let message = sanitize::text(&report.message);
        let route = sanitize::text(&report.route);
        let id = Uuid::new_v4();
        let hour = hour_key(at);
        Self {
            normalized: fingerprint::normalize(&message),
            occurrence: Occurrence {
                pk: format!("{OCCURRENCES_PREFIX}{hour}"),
                sk: format!("{}#{id}", stamp(at)),
                id,
                at,
                origin: report.origin,
                severity: report.severity,
                category: report.category,
                fingerprint: fingerprint::fingerprint(report.category, &route, &message),
                route,
                message,
                request_id: sanitize::text(&report.request_id),
                context: sanitize::value(&report.context).to_string(),
                user_id: report.user_id,
                expires_at: (at + retention).timestamp(),
            },
            hour,
        }
    }

    /// What every sighting sets on its group, by the attribute names of [`ErrorGroup`]
    /// (besides `firstSeen`, set by the first, and `occurrences`, added to).
    fn group_assignments(&self) -> [(&'static str, AttributeValue); 9] {
        let seen = &self.occurrence;
        [
            ("lastSeen", text(stamp(seen.at))),
            ("category", text(seen.category.as_str())),
            ("route", text(&seen.route)),
            ("severity", text(seen.severity.as_str())),
            ("message", text(&self.normalized)),
            ("sample", text(&seen.message)),
            ("lastRequestId", text(&seen.request_id)),
            ("status", text(GroupStatus::Unresolved.as_str())),
            ("expiresAt", number(seen.expires_at)),
        ]
    }
}

/// Records `report` as having happened at `at`: the occurrence and the three counts it
/// adds to, written at once; then, if its group had been resolved, the regression.
pub async fn try_record(
    state: &AppState,
    report: ErrorReport,
    at: DateTime<Utc>,
) -> Result<Recorded, BoxError> {
    let sighting = Sighting::of(report, at, state.config.monitoring.error_retention);
    let before = Box::pin(write_sighting(state, &sighting)).await?;
    let regression = before
        .as_ref()
        .is_some_and(|group| group.status == GroupStatus::Resolved);
    let fingerprint = sighting.occurrence.fingerprint.clone();
    if regression {
        note_regression(state, &fingerprint, at).await?;
        tracing::warn!(%fingerprint, "a resolved error group is back (regression)");
    }
    Ok(Recorded {
        id: sighting.occurrence.id,
        fingerprint,
        new_group: before.is_none(),
        regression,
    })
}

/// The four writes of one sighting, concurrently; the group as it was before (`None`: a
/// new group).
#[tracing::instrument(
    name = "record_error",
    skip_all,
    fields(
        fingerprint = %sighting.occurrence.fingerprint,
        severity = %sighting.occurrence.severity,
        category = %sighting.occurrence.category,
    )
)]
async fn write_sighting(
    state: &AppState,
    sighting: &Sighting,
) -> Result<Option<ErrorGroup>, BoxError> {
    let (put, group, counts, group_hour) = tokio::join!(
        put_occurrence(state, sighting),
        count_in_group(state, sighting),
        count_in_hour(state, sighting),
        count_in_group_hour(state, sighting),
    );
    put?;
    counts?;
    group_hour?;
    group
}

async fn put_occurrence(state: &AppState, sighting: &Sighting) -> Result<(), BoxError> {
    state
        .dynamodb
        .put_item()
        .table_name(&state.config.resources.app_table)
        .set_item(Some(dynamo::to_item(&sighting.occurrence)?))
        .send()
        .await?;
    Ok(())
}

/// Adds the sighting to its group (created by the first), and returns the group as it was.
async fn count_in_group(
    state: &AppState,
    sighting: &Sighting,
) -> Result<Option<ErrorGroup>, BoxError> {
    let seen = &sighting.occurrence;
    let set = sighting.group_assignments();
    let assignments: Vec<String> = set
        .iter()
        .map(|(name, _)| format!("#{name} = :{name}"))
        .collect();
    // Every name through a placeholder: `status`, `sample` and others are reserved words.
    let names = set
        .iter()
        .map(|(name, _)| *name)
        .chain(["firstSeen", "occurrences"])
        .map(|name| (format!("#{name}"), name.to_owned()))
        .collect();
    let values = set
        .into_iter()
        .map(|(name, value)| (format!(":{name}"), value))
        .chain([(":one".to_owned(), number(1))])
        .collect();
    let before = state
        .dynamodb
        .update_item()
        .table_name(&state.config.resources.app_table)
        .key("pk", text(GROUPS_PK))
        .key("sk", text(&seen.fingerprint))
        .update_expression(format!(
            "SET #firstSeen = if_not_exists(#firstSeen, :lastSeen), {} ADD #occurrences :one",
            assignments.join(", ")
        ))
        .set_expression_attribute_names(Some(names))
        .set_expression_attribute_values(Some(values))
        .return_values(ReturnValue::AllOld)
        .send()
        .await?
        .attributes
        .filter(|item| !item.is_empty());
    Ok(before.map(|item| dynamo::from_item(&item)).transpose()?)
}

/// Adds the sighting to its hour's counters.
async fn count_in_hour(state: &AppState, sighting: &Sighting) -> Result<(), BoxError> {
    let seen = &sighting.occurrence;
    // Errors the server saw count towards the alert rules; what a browser reports does
    // not (anyone may report, and a report must not page anyone).
    let alerting = seen.origin == Origin::Server;
    state
        .dynamodb
        .update_item()
        .table_name(&state.config.resources.app_table)
        .key("pk", text(HOURS_PK))
        .key("sk", text(&sighting.hour))
        .update_expression(if alerting {
            "SET #expiresAt = :expires ADD #total :one, #severity :one, #category :one, #cell :one"
        } else {
            "SET #expiresAt = :expires ADD #total :one, #severity :one, #category :one"
        })
        .set_expression_attribute_names(Some(
            [(
                "#cell".to_owned(),
                cell_counter(seen.severity, seen.category),
            )]
            .into_iter()
            .filter(|_| alerting)
            .chain([
                ("#total".to_owned(), "total".to_owned()),
                ("#expiresAt".to_owned(), "expiresAt".to_owned()),
                ("#severity".to_owned(), severity_counter(seen.severity)),
                ("#category".to_owned(), category_counter(seen.category)),
            ])
            .collect(),
        ))
        .expression_attribute_values(":expires", number(seen.expires_at))
        .expression_attribute_values(":one", number(1))
        .send()
        .await?;
    Ok(())
}

/// Adds the sighting to its group's hour: per group and hour in an item of its own, so
/// that however many groups an hour sees, no item grows past what one group needs.
async fn count_in_group_hour(state: &AppState, sighting: &Sighting) -> Result<(), BoxError> {
    let seen = &sighting.occurrence;
    state
        .dynamodb
        .update_item()
        .table_name(&state.config.resources.app_table)
        .key("pk", text(format!("{GROUP_HOURS_PREFIX}{}", sighting.hour)))
        .key("sk", text(&seen.fingerprint))
        .update_expression("SET #expiresAt = :expires ADD #count :one")
        .expression_attribute_names("#expiresAt", "expiresAt")
        .expression_attribute_names("#count", "occurrences")
        .expression_attribute_values(":expires", number(seen.expires_at))
        .expression_attribute_values(":one", number(1))
        .send()
        .await?;
    Ok(())
}

/// Counts a regression on the group `fingerprint`, seen again at `at` after it was
/// resolved.
#[tracing::instrument(name = "note_error_regression", skip_all, fields(%fingerprint))]
async fn note_regression(
    state: &AppState,
    fingerprint: &str,
    at: DateTime<Utc>,
) -> Result<(), BoxError> {
    state
        .dynamodb
        .update_item()
        .table_name(&state.config.resources.app_table)
        .key("pk", text(GROUPS_PK))
        .key("sk", text(fingerprint))
        .update_expression("SET #regressedAt = :now ADD #regressions :one")
        .expression_attribute_names("#regressedAt", "regressedAt")
        .expression_attribute_names("#regressions", "regressions")
        .expression_attribute_values(":now", text(stamp(at)))
        .expression_attribute_values(":one", number(1))
        .send()
        .await?;
    Ok(())
}

/// `POST /api/health/errors {fingerprints}`: the groups staff mark resolved.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveGroups {
    pub fingerprints: Vec<String>,
}

/// Most groups one request resolves.
const MAX_RESOLVE: usize = 100;

impl ResolveGroups {
    /// The fingerprints, each as the store spells it (32 lowercase hex digits); a 400
    /// naming what is wrong otherwise.
    pub fn checked(self) -> crate::ApiResult<Vec<String>> {
        let field = |message: String| {
            crate::ApiError::validation(vec![crate::error::FieldError::new(
                "fingerprints",
                message,
            )])
        };
        if self.fingerprints.is_empty() || self.fingerprints.len() > MAX_RESOLVE {
            return Err(field(format!("give 1 to {MAX_RESOLVE} fingerprints")));
        }
        let shaped = |f: &String| {
            f.len() == 32
                && f.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if let Some(bad) = self.fingerprints.iter().find(|f| !shaped(f)) {
            return Err(field(format!(
                "{bad:?} is not a group fingerprint (32 hex digits)"
            )));
        }
        let mut fingerprints = self.fingerprints;
        fingerprints.sort();
        fingerprints.dedup();
        Ok(fingerprints)
    }
}

/// Marks the groups `fingerprints` resolved by `by`; returns those that existed. A
/// resolved group seen again opens as a regression.
#[tracing::instrument(name = "resolve_error_groups", skip_all, fields(groups = fingerprints.len()))]
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
            .key("pk", text(GROUPS_PK))
            .key("sk", text(fingerprint))
            .condition_expression("attribute_exists(pk)")
            .update_expression("SET #status = :resolved, #resolvedAt = :now, #resolvedBy = :by")
            .expression_attribute_names("#resolvedAt", "resolvedAt")
            .expression_attribute_names("#resolvedBy", "resolvedBy")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":resolved", text(GroupStatus::Resolved.as_str()))
            .expression_attribute_values(":now", text(&now))
            .expression_attribute_values(":by", text(by.to_string()))
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sighting() -> Sighting {
        let report = ErrorReport {
            origin: Origin::Server,
            severity: Severity::High,
            category: Category::Database,
            route: "GET /api/orders".into(),
            message: "order 42 not saved after 17 ms".into(),
            request_id: "req-1".into(),
            user_id: None,
            context: json!({"password": "hunter2"}),
        };
        let at = DateTime::parse_from_rfc3339("2026-12-01T13:20:00.123456Z")
            .expect("time")
            .with_timezone(&Utc);
        Sighting::of(report, at, chrono::Duration::days(30))
    }

    #[test]
    fn a_sighting_is_placed_by_its_hour_and_instant() {
        let seen = sighting();
        assert_eq!(seen.hour, "2026-12-01T13");
        let occurrence = &seen.occurrence;
        assert_eq!(occurrence.pk, "ERRORS#2026-12-01T13");
        assert_eq!(
            occurrence.sk,
            format!("2026-12-01T13:20:00.123Z#{}", occurrence.id)
        );
        assert_eq!(seen.normalized, "order <n> not saved after <n> ms");
        assert!(
            !occurrence.context.contains("hunter2"),
            "{}",
            occurrence.context
        );
        let item = dynamo::to_item(occurrence).expect("item");
        assert_eq!(item["at"], text("2026-12-01T13:20:00.123Z"));
    }

    #[test]
    fn what_a_sighting_sets_on_its_group_are_attributes_of_the_group() {
        let seen = sighting();
        let occurrence = &seen.occurrence;
        let group = ErrorGroup {
            pk: GROUPS_PK.to_owned(),
            fingerprint: occurrence.fingerprint.clone(),
            first_seen: occurrence.at,
            last_seen: occurrence.at,
            status: GroupStatus::Unresolved,
            severity: occurrence.severity,
            category: occurrence.category,
            route: occurrence.route.clone(),
            message: seen.normalized.clone(),
            sample: occurrence.message.clone(),
            last_request_id: occurrence.request_id.clone(),
            occurrences: 1,
            regressions: 0,
            regressed_at: None,
            resolved_at: None,
            resolved_by: None,
            expires_at: occurrence.expires_at,
        };
        let stored = dynamo::to_item(&group).expect("item");
        for (name, value) in seen.group_assignments() {
            assert_eq!(stored.get(name), Some(&value), "{name}");
        }
        assert!(stored.contains_key("firstSeen") && stored.contains_key("occurrences"));
    }
}
