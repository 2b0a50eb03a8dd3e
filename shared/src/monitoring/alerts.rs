//! Alerts, in DynamoDB beside the error store, grouped the way Alertmanager groups them:
//! one alert per rule and group key, however often its condition is seen. An alert
//! fires once (one notification), is sent again only after the repeat interval while it
//! keeps firing, and resolves once with a resolve notification.
//!
//! | item | key (`pk` / `sk`) |
//! |---|---|
//! | the alert of a rule and group key (its latest episode) | `ALERTS` / `<rule>#<group key>` |
//! | what happened to alerts (fired, repeated, resolved, notification failed) | `ALERT_EVENTS` / `<time>#<alert id>` |
//!
//! Alerts come from two sources: the `alert-evaluator` job applying [`super::rules`] to
//! the error store, and CloudWatch alarms arriving through SNS at `alarm-notifier`.
//! Notifications go to the chat webhook configured as a secret (Slack-style JSON).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{
    errors::stamp,
    overview::{number, partition, store_unavailable, text},
    Severity,
};
use crate::{outbox::destination, text_enum::text_enum, ApiError, ApiResult, AppState};

const ALERTS_PK: &str = "ALERTS";
const EVENTS_PK: &str = "ALERT_EVENTS";
/// How long alert history is kept.
const HISTORY_DAYS: i64 = 30;
/// Timeout of one notification: the evaluator sends them one after another within its
/// 60-second run.
const NOTIFY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

text_enum! {
    /// Whether an alert's condition holds.
    pub enum AlertStatus("alert status") {
        Firing = "firing",
        Resolved = "resolved",
    }
}

text_enum! {
    /// What happened to an alert.
    pub enum AlertEventKind("alert event") {
        Fired = "fired",
        Repeated = "repeated",
        Resolved = "resolved",
        /// Also recorded: CloudWatch alarms that lack data change nothing else.
        InsufficientData = "insufficient_data",
        NotificationFailed = "notification_failed",
    }
}

/// An alert as stored and shown.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// One id per episode: a rule that fires again after resolving is a new alert.
    pub id: Uuid,
    pub rule: String,
    pub group_key: String,
    pub status: AlertStatus,
    pub severity: Severity,
    pub summary: String,
    pub value: f64,
    pub threshold: f64,
    pub starts_at: String,
    pub updated_at: String,
    pub resolved_at: Option<String>,
    /// Who resolved it by hand (`None`: its condition cleared).
    pub resolved_by: Option<String>,
    pub notified_at: Option<String>,
    pub notifications: u64,
    /// A resolved-by-hand alert does not fire again until its condition has cleared.
    pub held_until_clear: bool,
    /// Resolved, but the resolve notification has not gone out yet: the next evaluation
    /// of its rule sends it again.
    pub resolve_unsent: bool,
    /// Bumped by every write, so that two writers (the evaluator and a manual resolve)
    /// never overwrite each other unseen.
    #[serde(skip)]
    pub version: u64,
}

/// What a source observed for one rule and group key.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub rule: String,
    pub group_key: String,
    pub severity: Severity,
    pub summary: String,
    pub value: f64,
    pub threshold: f64,
    pub firing: bool,
    /// Low enough for a firing alert to resolve: below its threshold by a margin (rules),
    /// or back to OK (alarms), so that a value hovering at the threshold does not flap.
    pub cleared: bool,
}

/// What [`apply`] did with an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Nothing to do: still quiet, or firing and notified recently.
    Unchanged,
    Fired,
    Repeated,
    Resolved,
    /// Firing, but resolved by hand and held until it clears.
    Held,
}

impl Alert {
    /// An alert of what `seen` says, as of `now`, never notified (its id is nil until it
    /// is given one).
    fn seen(seen: &Observation, status: AlertStatus, now: DateTime<Utc>) -> Self {
        Self {
            id: Uuid::nil(),
            rule: seen.rule.clone(),
            group_key: seen.group_key.clone(),
            status,
            severity: seen.severity,
            summary: seen.summary.clone(),
            value: seen.value,
            threshold: seen.threshold,
            starts_at: stamp(now),
            updated_at: stamp(now),
            resolved_at: None,
            resolved_by: None,
            notified_at: None,
            notifications: 0,
            held_until_clear: false,
            resolve_unsent: false,
            version: 0,
        }
    }
}

fn key(rule: &str, group_key: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(ALERTS_PK.to_owned())),
        (
            "sk".to_owned(),
            AttributeValue::S(format!("{rule}#{group_key}")),
        ),
    ])
}

fn alert_from(item: &HashMap<String, AttributeValue>) -> Option<Alert> {
    let optional = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let float = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0.0)
    };
    Some(Alert {
        id: text(item, "id").parse().ok()?,
        rule: text(item, "rule"),
        group_key: text(item, "groupKey"),
        status: text(item, "status").parse().ok()?,
        severity: text(item, "severity").parse().ok()?,
        summary: text(item, "summary"),
        value: float("value"),
        threshold: float("threshold"),
        starts_at: text(item, "startsAt"),
        updated_at: text(item, "updatedAt"),
        resolved_at: optional("resolvedAt"),
        resolved_by: optional("resolvedBy"),
        notified_at: optional("notifiedAt"),
        notifications: number(item, "notifications"),
        held_until_clear: item
            .get("heldUntilClear")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        resolve_unsent: item
            .get("resolveUnsent")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        version: number(item, "version"),
    })
}

fn item_of(alert: &Alert) -> HashMap<String, AttributeValue> {
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let n = |v: String| AttributeValue::N(v);
    let mut item = key(&alert.rule, &alert.group_key);
    item.extend([
        ("id".to_owned(), s(&alert.id.to_string())),
        ("rule".to_owned(), s(&alert.rule)),
        ("groupKey".to_owned(), s(&alert.group_key)),
        ("status".to_owned(), s(alert.status.as_str())),
        ("severity".to_owned(), s(alert.severity.as_str())),
        ("summary".to_owned(), s(&alert.summary)),
        ("value".to_owned(), n(alert.value.to_string())),
        ("threshold".to_owned(), n(alert.threshold.to_string())),
        ("startsAt".to_owned(), s(&alert.starts_at)),
        ("updatedAt".to_owned(), s(&alert.updated_at)),
        (
            "notifications".to_owned(),
            n(alert.notifications.to_string()),
        ),
        ("version".to_owned(), n(alert.version.to_string())),
        (
            "heldUntilClear".to_owned(),
            AttributeValue::Bool(alert.held_until_clear),
        ),
        (
            "resolveUnsent".to_owned(),
            AttributeValue::Bool(alert.resolve_unsent),
        ),
    ]);
    for (name, value) in [
        ("resolvedAt", &alert.resolved_at),
        ("resolvedBy", &alert.resolved_by),
        ("notifiedAt", &alert.notified_at),
    ] {
        if let Some(value) = value {
            item.insert(name.to_owned(), s(value));
        }
    }
    item
}

async fn load(state: &AppState, rule: &str, group_key: &str) -> ApiResult<Option<Alert>> {
    let found = state
        .dynamodb
        .get_item()
        .table_name(&state.config.resources.app_table)
        .set_key(Some(key(rule, group_key)))
        .consistent_read(true)
        .send()
        .await
        .map_err(store_unavailable)?;
    Ok(found.item().and_then(alert_from))
}

/// Writes `alert` as the next version of what was read (`alert.version`), unless someone
/// else wrote in between: `false` then, and nothing is written.
async fn save(state: &AppState, alert: &mut Alert) -> ApiResult<bool> {
    let read = alert.version;
    alert.version += 1;
    let put = state
        .dynamodb
        .put_item()
        .table_name(&state.config.resources.app_table)
        .set_item(Some(item_of(alert)))
        .condition_expression(if read == 0 {
            "attribute_not_exists(#version) OR #version = :read"
        } else {
            "#version = :read"
        })
        .expression_attribute_names("#version", "version")
        .expression_attribute_values(":read", AttributeValue::N(read.to_string()))
        .send()
        .await;
    match put {
        Ok(_) => Ok(true),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            alert.version = read;
            tracing::info!(rule = %alert.rule, key = %alert.group_key, "alert changed meanwhile; left to the next evaluation");
            Ok(false)
        }
        Err(err) => Err(store_unavailable(err)),
    }
}

async fn record_event(state: &AppState, alert: &Alert, kind: AlertEventKind, at: DateTime<Utc>) {
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let item = HashMap::from([
        ("pk".to_owned(), s(EVENTS_PK)),
        (
            "sk".to_owned(),
            s(&format!("{}#{}#{}", stamp(at), alert.id, kind.as_str())),
        ),
        ("at".to_owned(), s(&stamp(at))),
        ("kind".to_owned(), s(kind.as_str())),
        ("alertId".to_owned(), s(&alert.id.to_string())),
        ("rule".to_owned(), s(&alert.rule)),
        ("groupKey".to_owned(), s(&alert.group_key)),
        ("severity".to_owned(), s(alert.severity.as_str())),
        ("summary".to_owned(), s(&alert.summary)),
        (
            "expiresAt".to_owned(),
            AttributeValue::N((at + Duration::days(HISTORY_DAYS)).timestamp().to_string()),
        ),
    ]);
    let put = state
        .dynamodb
        .put_item()
        .table_name(&state.config.resources.app_table)
        .set_item(Some(item))
        .send()
        .await;
    if let Err(err) = put {
        tracing::warn!(error = %crate::error::chain(&err), "could not record an alert event");
    }
}

/// Applies one observation at `now`: opens, repeats, resolves or leaves its alert, and
/// sends the notification that goes with it.
pub async fn apply(
    state: &AppState,
    seen: &Observation,
    now: DateTime<Utc>,
) -> ApiResult<Transition> {
    let current = load(state, &seen.rule, &seen.group_key).await?;
    let current_id = current.as_ref().map(|a| a.id);
    let firing = current.as_ref().filter(|a| a.status == AlertStatus::Firing);
    let repeat = state.config.monitoring.alert_repeat_interval;
    let (mut alert, transition) = match (firing, seen.firing) {
        (None, false) => {
            // Quiet: a hold set by a manual resolve ends once the condition has cleared,
            // and a resolve notification that failed is sent again.
            if let Some(mut quiet) = current.filter(|a| a.held_until_clear || a.resolve_unsent) {
                quiet.held_until_clear = false;
                if quiet.resolve_unsent {
                    notify_and_record(state, &mut quiet, AlertEventKind::Resolved, false, now)
                        .await;
                }
                save(state, &mut quiet).await?;
            }
            return Ok(Transition::Unchanged);
        }
        (None, true) if current.as_ref().is_some_and(|a| a.held_until_clear) => {
            return Ok(Transition::Held);
        }
        (None, true) => (
            Alert {
                id: Uuid::new_v4(),
                // Replaces the last episode's item: the next version of it.
                version: current.as_ref().map_or(0, |a| a.version),
                ..Alert::seen(seen, AlertStatus::Firing, now)
            },
            Transition::Fired,
        ),
        (Some(open), true) => {
            let mut open = open.clone();
            open.value = seen.value;
            open.summary = seen.summary.clone();
            open.updated_at = stamp(now);
            // Unsent (the last attempt failed) or due again.
            let due = match open
                .notified_at
                .as_deref()
                .map(DateTime::parse_from_rfc3339)
            {
                Some(Ok(sent)) => now - sent.with_timezone(&Utc) >= repeat,
                _ => true,
            };
            let transition = match (due, open.notifications) {
                (false, _) => Transition::Unchanged,
                (true, 0) => Transition::Fired,
                (true, _) => Transition::Repeated,
            };
            (open, transition)
        }
        (Some(open), false) if !seen.cleared => {
            // Below the threshold but not clear of it: still open, nothing to send.
            let mut open = open.clone();
            open.value = seen.value;
            open.summary = seen.summary.clone();
            open.updated_at = stamp(now);
            (open, Transition::Unchanged)
        }
        (Some(open), false) => {
            let mut open = open.clone();
            open.status = AlertStatus::Resolved;
            open.value = seen.value;
            open.updated_at = stamp(now);
            open.resolved_at = Some(stamp(now));
            (open, Transition::Resolved)
        }
    };
    // The new state first, so that of two writers only one goes on to notify.
    if !save(state, &mut alert).await? {
        return Ok(Transition::Unchanged);
    }
    match transition {
        Transition::Fired if alert.notifications == 0 && current_id == Some(alert.id) => {
            // Opened earlier, but its notification failed: send it again, once more.
            notify_and_record(state, &mut alert, AlertEventKind::Fired, false, now).await;
        }
        Transition::Fired => {
            notify_and_record(state, &mut alert, AlertEventKind::Fired, true, now).await;
        }
        Transition::Repeated => {
            notify_and_record(state, &mut alert, AlertEventKind::Repeated, true, now).await;
        }
        Transition::Resolved => {
            notify_and_record(state, &mut alert, AlertEventKind::Resolved, true, now).await;
        }
        Transition::Unchanged | Transition::Held => return Ok(transition),
    }
    // What the notification did (sent, or to retry).
    save(state, &mut alert).await?;
    Ok(transition)
}

/// Sends the notification of `kind` (recording the event first when `record`), and
/// notes on the alert whether it went out. A failed send is retried at the next
/// evaluation: the alert stays unnotified.
async fn notify_and_record(
    state: &AppState,
    alert: &mut Alert,
    kind: AlertEventKind,
    record: bool,
    now: DateTime<Utc>,
) {
    // A repeat is history once sent; the rest is history whether or not the send works.
    if record && kind != AlertEventKind::Repeated {
        record_event(state, alert, kind, now).await;
    }
    match notify(state, alert).await {
        // Without a webhook there is nothing to retry: the alert is on the ops page.
        Ok(()) => {
            if record && kind == AlertEventKind::Repeated {
                record_event(state, alert, kind, now).await;
            }
            alert.notified_at = Some(stamp(now));
            alert.notifications += 1;
            alert.resolve_unsent = false;
        }
        Err(reason) => {
            tracing::error!(alert = %alert.id, rule = %alert.rule, %reason, "alert notification failed");
            record_event(state, alert, AlertEventKind::NotificationFailed, now).await;
            alert.resolve_unsent = kind == AlertEventKind::Resolved;
        }
    }
}

/// Records a CloudWatch alarm that has no data: no alert changes.
pub async fn note_insufficient_data(state: &AppState, seen: &Observation, now: DateTime<Utc>) {
    let alert = Alert::seen(seen, AlertStatus::Resolved, now);
    record_event(state, &alert, AlertEventKind::InsufficientData, now).await;
}

/// Posts the alert to the configured chat webhook, if there is one.
async fn notify(state: &AppState, alert: &Alert) -> Result<(), String> {
    let Some(secret_id) = &state.config.monitoring.alert_webhook_secret_id else {
        return Ok(());
    };
    let url = crate::secrets::secret_string(state, secret_id)
        .await
        .map_err(|e: ApiError| format!("webhook secret unavailable: {}", e.message))?;
    let target = destination::check(url.trim(), state.config.outbox.allow_insecure_destinations)
        .await
        .map_err(|refused| refused.to_string())?;
    let client = reqwest::Client::builder()
        .resolve_to_addrs(&target.host, &target.addresses)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(NOTIFY_TIMEOUT)
        .build()
        .map_err(|e| e.to_string())?;
    let response = client
        .post(target.url.clone())
        .json(&chat_message(alert))
        .send()
        .await
        // Without the URL: the webhook's URL is its secret.
        .map_err(|e| crate::error::chain(&e.without_url()))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("the webhook answered {}", response.status()))
    }
}

/// A Slack-style message (`text` and an attachment), with the alert itself under
/// `alert` for receivers that are not chat rooms.
pub fn chat_message(alert: &Alert) -> Value {
    let (label, color) = match (alert.status, alert.severity) {
        (AlertStatus::Resolved, _) => ("RESOLVED", "#2eb67d"),
        (AlertStatus::Firing, Severity::Critical) => ("FIRING", "#d00000"),
        (AlertStatus::Firing, Severity::High) => ("FIRING", "#e8590c"),
        (AlertStatus::Firing, _) => ("FIRING", "#f2c744"),
    };
    json!({
        "text": format!("[{label}] {} ({}): {}", alert.rule, alert.group_key, alert.summary),
        "attachments": [{
            "color": color,
            "fields": [
                {"title": "severity", "value": alert.severity.as_str(), "short": true},
                {"title": "value", "value": format!("{} (threshold {})", alert.value, alert.threshold), "short": true},
                {"title": "since", "value": alert.starts_at, "short": true},
            ],
        }],
        "alert": alert,
    })
}

/// Every stored alert (one per rule and group key), firing first, newest first.
pub async fn all(state: &AppState) -> ApiResult<Vec<Alert>> {
    let items = partition(state, ALERTS_PK.to_owned()).await?;
    let mut alerts: Vec<Alert> = items.iter().filter_map(alert_from).collect();
    alerts.sort_by(|a, b| {
        (a.status != AlertStatus::Firing)
            .cmp(&(b.status != AlertStatus::Firing))
            .then_with(|| b.updated_at.cmp(&a.updated_at))
    });
    Ok(alerts)
}

/// Alert history since `since`, newest first, at most `limit` events.
pub async fn history(
    state: &AppState,
    since: DateTime<Utc>,
    limit: usize,
) -> ApiResult<Vec<Value>> {
    let page = state
        .dynamodb
        .query()
        .table_name(&state.config.resources.app_table)
        .key_condition_expression("pk = :pk AND sk >= :since")
        .expression_attribute_values(":pk", AttributeValue::S(EVENTS_PK.to_owned()))
        .expression_attribute_values(":since", AttributeValue::S(stamp(since)))
        .scan_index_forward(false)
        .limit(i32::try_from(limit).unwrap_or(i32::MAX))
        .send()
        .await
        .map_err(store_unavailable)?;
    Ok(page
        .items()
        .iter()
        .map(|item| {
            json!({
                "at": text(item, "at"),
                "kind": text(item, "kind"),
                "alertId": text(item, "alertId"),
                "rule": text(item, "rule"),
                "groupKey": text(item, "groupKey"),
                "severity": text(item, "severity"),
                "summary": text(item, "summary"),
            })
        })
        .collect())
}

/// Resolves the firing alerts among `ids` by hand, with a resolve notification; each is
/// held until its condition clears so that it does not fire again at the next
/// evaluation. Returns the alerts resolved (ids not firing are left out).
pub async fn resolve(state: &AppState, ids: &[Uuid], by: Uuid) -> ApiResult<Vec<Alert>> {
    let now = Utc::now();
    let mut resolved = Vec::new();
    for alert in all(state).await? {
        if alert.status != AlertStatus::Firing || !ids.contains(&alert.id) {
            continue;
        }
        let mut alert = alert;
        alert.status = AlertStatus::Resolved;
        alert.resolved_at = Some(stamp(now));
        alert.resolved_by = Some(by.to_string());
        alert.updated_at = stamp(now);
        alert.held_until_clear = true;
        if !save(state, &mut alert).await? {
            // The evaluator changed it meanwhile: resolved or re-fired; leave it to it.
            continue;
        }
        notify_and_record(state, &mut alert, AlertEventKind::Resolved, true, now).await;
        save(state, &mut alert).await?;
        resolved.push(alert);
    }
    Ok(resolved)
}

/// What `GET /api/health/alerts` shows.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AlertsView {
    pub active: Vec<Alert>,
    /// Alerts resolved in the last day.
    pub resolved: Vec<Alert>,
    /// The latest alert events, newest first.
    pub history: Vec<Value>,
    pub statistics: AlertStatistics,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AlertStatistics {
    pub active: usize,
    pub active_by_severity: std::collections::BTreeMap<&'static str, usize>,
    pub fired_last_24h: usize,
    pub resolved_last_24h: usize,
    pub notification_failures_last_24h: usize,
}

/// History events shown, and counted for the statistics.
const HISTORY_SHOWN: usize = 50;
const HISTORY_COUNTED: usize = 1_000;

pub async fn view(state: &AppState, now: DateTime<Utc>) -> ApiResult<AlertsView> {
    let day_ago = now - Duration::hours(24);
    let (alerts, day) = tokio::join!(all(state), history(state, day_ago, HISTORY_COUNTED));
    let (alerts, day) = (alerts?, day?);
    let count = |kind: AlertEventKind| day.iter().filter(|e| e["kind"] == kind.as_str()).count();
    let (active, resolved): (Vec<Alert>, Vec<Alert>) = alerts
        .into_iter()
        .partition(|a| a.status == AlertStatus::Firing);
    let day_ago = stamp(day_ago);
    let resolved: Vec<Alert> = resolved
        .into_iter()
        .filter(|a| {
            a.resolved_at
                .as_deref()
                .is_some_and(|at| at >= day_ago.as_str())
        })
        .collect();
    let mut by_severity: std::collections::BTreeMap<&'static str, usize> =
        Severity::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    for alert in &active {
        *by_severity.entry(alert.severity.as_str()).or_default() += 1;
    }
    Ok(AlertsView {
        statistics: AlertStatistics {
            active: active.len(),
            active_by_severity: by_severity,
            fired_last_24h: count(AlertEventKind::Fired),
            resolved_last_24h: count(AlertEventKind::Resolved),
            notification_failures_last_24h: count(AlertEventKind::NotificationFailed),
        },
        history: day.into_iter().take(HISTORY_SHOWN).collect(),
        active,
        resolved,
    })
}

/// `POST /api/health/alerts`: `{id}` or `{ids: [...]}` (at most 100).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    pub id: Option<String>,
    pub ids: Option<Vec<String>>,
}

/// Most alerts one request resolves.
const MAX_RESOLVE: usize = 100;

impl ResolveRequest {
    /// The ids to resolve, or a 400 naming what is wrong.
    pub fn ids(&self) -> ApiResult<Vec<Uuid>> {
        use crate::error::FieldError;
        let raw: Vec<&String> = self.id.iter().chain(self.ids.iter().flatten()).collect();
        if raw.is_empty() {
            return Err(ApiError::validation(vec![FieldError::new(
                "ids",
                "give id or ids",
            )]));
        }
        if raw.len() > MAX_RESOLVE {
            return Err(ApiError::validation(vec![FieldError::new(
                "ids",
                format!("at most {MAX_RESOLVE} at once"),
            )]));
        }
        raw.iter()
            .map(|id| crate::input::parse_uuid("ids", id))
            .collect()
    }
}
