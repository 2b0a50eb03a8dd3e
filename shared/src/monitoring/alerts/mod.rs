//! Alerts, in DynamoDB beside the error store, grouped the way Alertmanager groups them:
//! one alert per rule and group key, however often its condition is seen. An alert
//! fires once (one notification), is sent again only after the repeat interval while it
//! keeps firing, and resolves once with a resolve notification.
//!
//! | item | key (`pk` / `sk`) |
//! |---|---|
//! | the alert of a rule and group key (its latest episode) | `ALERTS` / `<rule>#<group key>` |
//! | what happened to alerts (fired, repeated, resolved, notification failed) | `ALERT_EVENTS` / `<time>#<alert id>#<kind>` |
//!
//! Alerts come from two sources: the `alert-evaluator` job applying [`super::rules`] to
//! the error store, and CloudWatch alarms arriving through SNS at `alarm-notifier`.
//! Notifications go to the chat webhook configured as a secret (Slack-style JSON).
//!
//! Here the model and its transitions; `store` maps it to the items above, `notify`
//! sends the webhook, `views` is what `GET|POST /api/health/alerts` show and take.

mod notify;
mod store;
mod views;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use uuid::Uuid;

pub use notify::chat_message;
pub use store::{all, history, AlertEvent};
pub use views::{view, AlertStatistics, AlertsView, ResolveRequest};

use super::Severity;
use crate::{dynamo::millis, text_enum::text_enum, ApiResult, AppState};

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

/// An alert as shown (its stored form is `store::AlertItem`).
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
    #[serde(with = "millis")]
    pub starts_at: DateTime<Utc>,
    #[serde(with = "millis")]
    pub updated_at: DateTime<Utc>,
    #[serde(with = "millis::option")]
    pub resolved_at: Option<DateTime<Utc>>,
    /// Who resolved it by hand (`None`: its condition cleared).
    pub resolved_by: Option<Uuid>,
    #[serde(with = "millis::option")]
    pub notified_at: Option<DateTime<Utc>>,
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
            starts_at: now,
            updated_at: now,
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

/// Applies one observation at `now`: opens, repeats, resolves or leaves its alert, and
/// sends the notification that goes with it.
pub async fn apply(
    state: &AppState,
    seen: &Observation,
    now: DateTime<Utc>,
) -> ApiResult<Transition> {
    let current = store::load(state, &seen.rule, &seen.group_key).await?;
    let firing = current
        .as_ref()
        .filter(|a| a.status == AlertStatus::Firing)
        .cloned();
    let (mut alert, transition) = match firing {
        None if !seen.firing => {
            if let Some(quiet) = current {
                settle_quiet(state, quiet, now).await?;
            }
            return Ok(Transition::Unchanged);
        }
        None if current.as_ref().is_some_and(|a| a.held_until_clear) => {
            return Ok(Transition::Held);
        }
        None => opened(seen, current.as_ref(), now),
        Some(open) => advanced(
            open,
            seen,
            now,
            state.config.monitoring.alert_repeat_interval,
        ),
    };
    // The new state first, so that of two writers only one goes on to notify.
    if !store::save(state, &mut alert).await? {
        return Ok(Transition::Unchanged);
    }
    // Opened at an earlier evaluation whose notification failed: sent again now, without
    // a second `fired` in the history.
    let resent = alert.notifications == 0 && current.is_some_and(|a| a.id == alert.id);
    let (kind, record) = match transition {
        Transition::Fired => (AlertEventKind::Fired, !resent),
        Transition::Repeated => (AlertEventKind::Repeated, true),
        Transition::Resolved => (AlertEventKind::Resolved, true),
        Transition::Unchanged | Transition::Held => return Ok(transition),
    };
    notify::notify_and_record(state, &mut alert, kind, record, now).await;
    // What the notification did (sent, or to retry).
    store::save(state, &mut alert).await?;
    Ok(transition)
}

/// Quiet: a hold set by a manual resolve ends once the condition has cleared, and a
/// resolve notification that failed is sent again.
async fn settle_quiet(state: &AppState, mut quiet: Alert, now: DateTime<Utc>) -> ApiResult<()> {
    if !(quiet.held_until_clear || quiet.resolve_unsent) {
        return Ok(());
    }
    quiet.held_until_clear = false;
    if quiet.resolve_unsent {
        notify::notify_and_record(state, &mut quiet, AlertEventKind::Resolved, false, now).await;
    }
    // Someone else's write meanwhile is theirs to finish: nothing more to do here.
    store::save(state, &mut quiet).await?;
    Ok(())
}

/// A new episode of the alert `seen` fires: it replaces the last episode's item
/// (`previous`), as the next version of it.
fn opened(seen: &Observation, previous: Option<&Alert>, now: DateTime<Utc>) -> (Alert, Transition) {
    let alert = Alert {
        id: Uuid::new_v4(),
        version: previous.map_or(0, |a| a.version),
        ..Alert::seen(seen, AlertStatus::Firing, now)
    };
    (alert, Transition::Fired)
}

/// The firing alert `open` as `seen` at `now`: due again (unsent, or notified `repeat`
/// ago), still open, or resolved once clear of its threshold.
fn advanced(
    mut open: Alert,
    seen: &Observation,
    now: DateTime<Utc>,
    repeat: Duration,
) -> (Alert, Transition) {
    open.value = seen.value;
    open.updated_at = now;
    if seen.firing {
        open.summary = seen.summary.clone();
        let due = open.notified_at.is_none_or(|sent| now - sent >= repeat);
        let transition = match (due, open.notifications) {
            (false, _) => Transition::Unchanged,
            (true, 0) => Transition::Fired,
            (true, _) => Transition::Repeated,
        };
        (open, transition)
    } else if !seen.cleared {
        // Below the threshold but not clear of it: still open, nothing to send.
        open.summary = seen.summary.clone();
        (open, Transition::Unchanged)
    } else {
        open.status = AlertStatus::Resolved;
        open.resolved_at = Some(now);
        (open, Transition::Resolved)
    }
}

/// Records a CloudWatch alarm that has no data: no alert changes.
pub async fn note_insufficient_data(state: &AppState, seen: &Observation, now: DateTime<Utc>) {
    let alert = Alert::seen(seen, AlertStatus::Resolved, now);
    store::record_event(state, &alert, AlertEventKind::InsufficientData, now).await;
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
        alert.resolved_at = Some(now);
        alert.resolved_by = Some(by);
        alert.updated_at = now;
        alert.held_until_clear = true;
        if !store::save(state, &mut alert).await? {
            // The evaluator changed it meanwhile: resolved or re-fired; leave it to it.
            continue;
        }
        notify::notify_and_record(state, &mut alert, AlertEventKind::Resolved, true, now).await;
        store::save(state, &mut alert).await?;
        resolved.push(alert);
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("time")
            .with_timezone(&Utc)
    }

    fn observed(value: f64, firing: bool, cleared: bool) -> Observation {
        Observation {
            rule: "critical-errors".into(),
            group_key: "database".into(),
            severity: Severity::Critical,
            summary: format!("{value} critical database errors"),
            value,
            threshold: 5.0,
            firing,
            cleared,
        }
    }

    fn firing_since(start: DateTime<Utc>) -> Alert {
        let (alert, _) = opened(&observed(9.0, true, false), None, start);
        alert
    }

    #[test]
    fn a_new_episode_takes_the_place_of_the_last_one() {
        let now = at("2026-12-01T13:00:00Z");
        let previous = Alert {
            version: 7,
            ..firing_since(now)
        };
        let (alert, transition) = opened(&observed(9.0, true, false), Some(&previous), now);
        assert_eq!(transition, Transition::Fired);
        assert_eq!(alert.version, 7);
        assert_ne!(alert.id, previous.id);
        assert_eq!((alert.starts_at, alert.status), (now, AlertStatus::Firing));
    }

    #[test]
    fn a_firing_alert_is_sent_again_once_unsent_or_due() {
        let start = at("2026-12-01T13:00:00Z");
        let repeat = Duration::minutes(10);
        let still = observed(12.0, true, false);
        let unsent = firing_since(start);
        let (_, transition) = advanced(unsent, &still, start + Duration::minutes(1), repeat);
        assert_eq!(transition, Transition::Fired);
        let sent = Alert {
            notified_at: Some(start),
            notifications: 1,
            ..firing_since(start)
        };
        let (alert, transition) =
            advanced(sent.clone(), &still, start + Duration::minutes(9), repeat);
        assert_eq!(transition, Transition::Unchanged);
        assert_eq!(
            (alert.value, alert.summary.as_str()),
            (12.0, "12 critical database errors")
        );
        let (_, transition) = advanced(sent, &still, start + Duration::minutes(10), repeat);
        assert_eq!(transition, Transition::Repeated);
    }

    #[test]
    fn a_firing_alert_resolves_only_once_clear_of_its_threshold() {
        let start = at("2026-12-01T13:00:00Z");
        let later = start + Duration::hours(1);
        let repeat = Duration::minutes(10);
        let (hovering, transition) = advanced(
            firing_since(start),
            &observed(3.5, false, false),
            later,
            repeat,
        );
        assert_eq!(transition, Transition::Unchanged);
        assert_eq!(
            (hovering.status, hovering.resolved_at),
            (AlertStatus::Firing, None)
        );
        let (resolved, transition) = advanced(
            firing_since(start),
            &observed(1.0, false, true),
            later,
            repeat,
        );
        assert_eq!(transition, Transition::Resolved);
        assert_eq!(resolved.resolved_at, Some(later));
        assert_eq!(
            resolved.summary, "9 critical database errors",
            "kept from when it fired"
        );
    }
}
