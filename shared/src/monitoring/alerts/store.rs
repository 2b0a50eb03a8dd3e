//! Alerts and their events as stored: one item per rule and group key, written whole
//! under optimistic versioning, and one item per event, kept for [`HISTORY_DAYS`].

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Alert, AlertEventKind, AlertStatus};
use crate::{
    dynamo::{self, millis, number, text},
    monitoring::{
        errors::stamp,
        items::{partition, read_or_log, readable, store_unavailable},
        Severity,
    },
    ApiResult, AppState,
};

const ALERTS_PK: &str = "ALERTS";
const EVENTS_PK: &str = "ALERT_EVENTS";
/// How long alert history is kept.
const HISTORY_DAYS: i64 = 30;

/// An alert as stored, under `ALERTS` / `<rule>#<group key>`. Alert items do not
/// expire, so attributes added since the first alerts were written (`version`,
/// `resolveUnsent`) default when absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlertItem {
    pk: String,
    sk: String,
    id: Uuid,
    #[serde(default)]
    rule: String,
    #[serde(default)]
    group_key: String,
    status: AlertStatus,
    severity: Severity,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    value: f64,
    #[serde(default)]
    threshold: f64,
    #[serde(with = "millis")]
    starts_at: DateTime<Utc>,
    #[serde(with = "millis")]
    updated_at: DateTime<Utc>,
    #[serde(
        default,
        with = "millis::option",
        skip_serializing_if = "Option::is_none"
    )]
    resolved_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resolved_by: Option<Uuid>,
    #[serde(
        default,
        with = "millis::option",
        skip_serializing_if = "Option::is_none"
    )]
    notified_at: Option<DateTime<Utc>>,
    #[serde(default)]
    notifications: u64,
    #[serde(default)]
    held_until_clear: bool,
    #[serde(default)]
    resolve_unsent: bool,
    #[serde(default)]
    version: u64,
}

fn sort_key(rule: &str, group_key: &str) -> String {
    format!("{rule}#{group_key}")
}

impl From<&Alert> for AlertItem {
    fn from(alert: &Alert) -> Self {
        Self {
            pk: ALERTS_PK.to_owned(),
            sk: sort_key(&alert.rule, &alert.group_key),
            id: alert.id,
            rule: alert.rule.clone(),
            group_key: alert.group_key.clone(),
            status: alert.status,
            severity: alert.severity,
            summary: alert.summary.clone(),
            value: alert.value,
            threshold: alert.threshold,
            starts_at: alert.starts_at,
            updated_at: alert.updated_at,
            resolved_at: alert.resolved_at,
            resolved_by: alert.resolved_by,
            notified_at: alert.notified_at,
            notifications: alert.notifications,
            held_until_clear: alert.held_until_clear,
            resolve_unsent: alert.resolve_unsent,
            version: alert.version,
        }
    }
}

impl From<AlertItem> for Alert {
    fn from(item: AlertItem) -> Self {
        Self {
            id: item.id,
            rule: item.rule,
            group_key: item.group_key,
            status: item.status,
            severity: item.severity,
            summary: item.summary,
            value: item.value,
            threshold: item.threshold,
            starts_at: item.starts_at,
            updated_at: item.updated_at,
            resolved_at: item.resolved_at,
            resolved_by: item.resolved_by,
            notified_at: item.notified_at,
            notifications: item.notifications,
            held_until_clear: item.held_until_clear,
            resolve_unsent: item.resolve_unsent,
            version: item.version,
        }
    }
}

/// What happened to an alert, as stored and shown. (Fields in alphabetical order, the
/// order this JSON has always had.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertEvent {
    pub alert_id: Uuid,
    #[serde(with = "millis")]
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub group_key: String,
    pub kind: AlertEventKind,
    #[serde(default)]
    pub rule: String,
    pub severity: Severity,
    #[serde(default)]
    pub summary: String,
}

/// An event as stored, under `ALERT_EVENTS` / `<at>#<alert id>#<kind>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlertEventItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    event: AlertEvent,
    /// Epoch seconds: the table's TTL.
    expires_at: i64,
}

impl AlertEventItem {
    fn of(alert: &Alert, kind: AlertEventKind, at: DateTime<Utc>) -> Self {
        Self {
            pk: EVENTS_PK.to_owned(),
            sk: format!("{}#{}#{}", stamp(at), alert.id, kind.as_str()),
            event: AlertEvent {
                alert_id: alert.id,
                at,
                group_key: alert.group_key.clone(),
                kind,
                rule: alert.rule.clone(),
                severity: alert.severity,
                summary: alert.summary.clone(),
            },
            expires_at: (at + Duration::days(HISTORY_DAYS)).timestamp(),
        }
    }
}

/// The alert of `rule` and `group_key` (its latest episode), read consistently.
#[tracing::instrument(name = "load_alert", skip_all, fields(%rule, %group_key))]
pub(super) async fn load(
    state: &AppState,
    rule: &str,
    group_key: &str,
) -> ApiResult<Option<Alert>> {
    let found = state
        .dynamodb
        .get_item()
        .table_name(&state.config.resources.app_table)
        .key("pk", text(ALERTS_PK))
        .key("sk", text(sort_key(rule, group_key)))
        .consistent_read(true)
        .send()
        .await
        .map_err(store_unavailable)?;
    Ok(found
        .item()
        .and_then(|item| read_or_log::<AlertItem>(item, "alert"))
        .map(Alert::from))
}

/// Writes `alert` as the next version of what was read (`alert.version`), unless someone
/// else wrote in between: `false` then, and nothing is written.
pub(super) async fn save(state: &AppState, alert: &mut Alert) -> ApiResult<bool> {
    let read = alert.version;
    alert.version += 1;
    let written = put_alert(state, alert, read).await?;
    if !written {
        alert.version = read;
        // Outside `put_alert`'s span, so that the line carries the job's or request's.
        tracing::info!(rule = %alert.rule, key = %alert.group_key, "alert changed meanwhile; left to the next evaluation");
    }
    Ok(written)
}

/// Puts `alert` if the stored version is still `read`: `false` if it is not.
#[tracing::instrument(
    name = "save_alert",
    skip_all,
    fields(rule = %alert.rule, group_key = %alert.group_key, version = read)
)]
async fn put_alert(state: &AppState, alert: &Alert, read: u64) -> ApiResult<bool> {
    let put = state
        .dynamodb
        .put_item()
        .table_name(&state.config.resources.app_table)
        .set_item(Some(dynamo::to_item(&AlertItem::from(alert))?))
        .condition_expression(if read == 0 {
            "attribute_not_exists(#version) OR #version = :read"
        } else {
            "#version = :read"
        })
        .expression_attribute_names("#version", "version")
        .expression_attribute_values(":read", number(read))
        .send()
        .await;
    match put {
        Ok(_) => Ok(true),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(false)
        }
        Err(err) => Err(store_unavailable(err)),
    }
}

/// Records that `kind` happened to `alert` at `at`. History is best effort: a failure is
/// logged, and the alert goes on.
pub(super) async fn record_event(
    state: &AppState,
    alert: &Alert,
    kind: AlertEventKind,
    at: DateTime<Utc>,
) {
    if let Err(err) = put_event(state, &AlertEventItem::of(alert, kind, at)).await {
        tracing::warn!(error = %crate::error::chain(&*err), "could not record an alert event");
    }
}

#[tracing::instrument(name = "record_alert_event", skip_all, fields(kind = %event.event.kind))]
async fn put_event(state: &AppState, event: &AlertEventItem) -> Result<(), crate::error::BoxError> {
    state
        .dynamodb
        .put_item()
        .table_name(&state.config.resources.app_table)
        .set_item(Some(dynamo::to_item(event)?))
        .send()
        .await?;
    Ok(())
}

/// Every stored alert (one per rule and group key), firing first, newest first.
#[tracing::instrument(name = "list_alerts", skip_all)]
pub async fn all(state: &AppState) -> ApiResult<Vec<Alert>> {
    let items = partition(state, ALERTS_PK.to_owned()).await?;
    let mut alerts: Vec<Alert> = readable::<AlertItem>(&items, "alert")
        .into_iter()
        .map(Alert::from)
        .collect();
    alerts.sort_by(|a, b| {
        (a.status != AlertStatus::Firing)
            .cmp(&(b.status != AlertStatus::Firing))
            .then_with(|| b.updated_at.cmp(&a.updated_at))
    });
    Ok(alerts)
}

/// Alert history since `since`, newest first, at most `limit` events.
#[tracing::instrument(name = "query_alert_history", skip_all, fields(limit = limit))]
pub async fn history(
    state: &AppState,
    since: DateTime<Utc>,
    limit: usize,
) -> ApiResult<Vec<AlertEvent>> {
    let page = state
        .dynamodb
        .query()
        .table_name(&state.config.resources.app_table)
        .key_condition_expression("pk = :pk AND sk >= :since")
        .expression_attribute_values(":pk", text(EVENTS_PK))
        .expression_attribute_values(":since", text(stamp(since)))
        .scan_index_forward(false)
        .limit(i32::try_from(limit).unwrap_or(i32::MAX))
        .send()
        .await
        .map_err(store_unavailable)?;
    Ok(readable(page.items(), "alert event"))
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::AttributeValue;

    use super::*;
    use crate::dynamo::Item;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("time")
            .with_timezone(&Utc)
    }

    fn s(text: &str) -> AttributeValue {
        AttributeValue::S(text.to_owned())
    }

    fn n(number: &str) -> AttributeValue {
        AttributeValue::N(number.to_owned())
    }

    const ID: &str = "6f1c2b7e-9d2a-4c55-8f0e-2a1b3c4d5e6f";

    /// An alert item as the writer before `version` and `resolveUnsent` left it.
    fn first_alert_item() -> Item {
        Item::from([
            ("pk".to_owned(), s("ALERTS")),
            ("sk".to_owned(), s("critical-errors#database")),
            ("id".to_owned(), s(ID)),
            ("rule".to_owned(), s("critical-errors")),
            ("groupKey".to_owned(), s("database")),
            ("status".to_owned(), s("resolved")),
            ("severity".to_owned(), s("CRITICAL")),
            ("summary".to_owned(), s("12 critical database errors")),
            ("value".to_owned(), n("12.5")),
            ("threshold".to_owned(), n("5")),
            ("startsAt".to_owned(), s("2026-12-01T13:20:00.123Z")),
            ("updatedAt".to_owned(), s("2026-12-01T15:00:00.000Z")),
            ("resolvedAt".to_owned(), s("2026-12-01T15:00:00.000Z")),
            ("notifiedAt".to_owned(), s("2026-12-01T15:00:00.000Z")),
            ("notifications".to_owned(), n("2")),
            ("heldUntilClear".to_owned(), AttributeValue::Bool(false)),
        ])
    }

    #[test]
    fn an_alert_stored_before_versions_reads_and_is_written_back_as_it_was() {
        let alert = Alert::from(dynamo::from_item::<AlertItem>(&first_alert_item()).expect("read"));
        assert_eq!(alert.version, 0);
        assert!(!alert.resolve_unsent);
        assert_eq!(alert.value, 12.5);
        assert_eq!(alert.starts_at, at("2026-12-01T13:20:00.123Z"));
        assert_eq!(alert.resolved_by, None);
        let mut written = dynamo::to_item(&AlertItem::from(&alert)).expect("item");
        assert_eq!(written.remove("version"), Some(n("0")));
        assert_eq!(
            written.remove("resolveUnsent"),
            Some(AttributeValue::Bool(false))
        );
        assert_eq!(written, first_alert_item());
    }

    #[test]
    fn an_alert_shows_its_instants_as_stored_and_absent_ones_as_null() {
        let alert = Alert::from(dynamo::from_item::<AlertItem>(&first_alert_item()).expect("read"));
        let json = serde_json::to_value(&alert).expect("json");
        assert_eq!(json["startsAt"], "2026-12-01T13:20:00.123Z");
        assert_eq!(json["resolvedAt"], "2026-12-01T15:00:00.000Z");
        assert_eq!(json["resolvedBy"], serde_json::Value::Null);
        assert!(json.get("version").is_none());
    }

    #[test]
    fn an_event_is_stored_flat_with_its_key_and_expiry() {
        let alert = Alert::from(dynamo::from_item::<AlertItem>(&first_alert_item()).expect("read"));
        let when = at("2026-12-02T08:00:00.5Z");
        let item = dynamo::to_item(&AlertEventItem::of(&alert, AlertEventKind::Fired, when))
            .expect("item");
        assert_eq!(
            item["sk"],
            s(&format!("2026-12-02T08:00:00.500Z#{ID}#fired"))
        );
        assert_eq!(item["at"], s("2026-12-02T08:00:00.500Z"));
        assert_eq!(item["alertId"], s(ID));
        assert_eq!(item["kind"], s("fired"));
        assert_eq!(
            item["expiresAt"],
            n(&(when + Duration::days(30)).timestamp().to_string())
        );
        assert_eq!(item.len(), 10, "{item:?}");
        let event: AlertEvent = dynamo::from_item(&item).expect("event");
        assert_eq!(event.at, when);
        let shown = serde_json::to_string(&event).expect("json");
        assert!(shown.starts_with(r#"{"alertId":"#), "{shown}");
    }
}
