//! Alert notifications: a Slack-style message posted to the chat webhook whose URL is
//! the secret `ALERT_WEBHOOK_SECRET_ID`, and what sending one notes on the alert.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{store, Alert, AlertEventKind, AlertStatus};
use crate::{
    monitoring::{errors::stamp, Severity},
    outbox::destination,
    ApiError, AppState,
};

/// Timeout of one notification: the evaluator sends them one after another within its
/// 60-second run.
const NOTIFY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Sends the notification of `kind` (recording the event first when `record`), and
/// notes on the alert whether it went out. A failed send is retried at the next
/// evaluation: the alert stays unnotified.
pub(super) async fn notify_and_record(
    state: &AppState,
    alert: &mut Alert,
    kind: AlertEventKind,
    record: bool,
    now: DateTime<Utc>,
) {
    // A repeat is history once sent; the rest is history whether or not the send works.
    if record && kind != AlertEventKind::Repeated {
        store::record_event(state, alert, kind, now).await;
    }
    match notify(state, alert).await {
        // Without a webhook there is nothing to retry: the alert is on the ops page.
        Ok(()) => {
            if record && kind == AlertEventKind::Repeated {
                store::record_event(state, alert, kind, now).await;
            }
            alert.notified_at = Some(now);
            alert.notifications += 1;
            alert.resolve_unsent = false;
        }
        Err(reason) => {
            tracing::error!(alert = %alert.id, rule = %alert.rule, %reason, "alert notification failed");
            store::record_event(state, alert, AlertEventKind::NotificationFailed, now).await;
            alert.resolve_unsent = kind == AlertEventKind::Resolved;
        }
    }
}

/// Posts the alert to the configured chat webhook, if there is one. (The span names the
/// alert, never the webhook's URL: the URL is the secret.)
#[tracing::instrument(
    name = "send_alert_webhook",
    skip_all,
    fields(alert = %alert.id, rule = %alert.rule, status = %alert.status)
)]
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
                {"title": "since", "value": stamp(alert.starts_at), "short": true},
            ],
        }],
        "alert": alert,
    })
}
