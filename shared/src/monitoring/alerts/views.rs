//! What `GET /api/health/alerts` shows, and what `POST /api/health/alerts` takes.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{all, history, Alert, AlertEvent, AlertEventKind, AlertStatus};
use crate::{error::FieldError, monitoring::Severity, ApiError, ApiResult, AppState};

/// What `GET /api/health/alerts` shows.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AlertsView {
    pub active: Vec<Alert>,
    /// Alerts resolved in the last day.
    pub resolved: Vec<Alert>,
    /// The latest alert events, newest first.
    pub history: Vec<AlertEvent>,
    pub statistics: AlertStatistics,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AlertStatistics {
    pub active: usize,
    pub active_by_severity: BTreeMap<&'static str, usize>,
    pub fired_last_24h: usize,
    pub resolved_last_24h: usize,
    pub notification_failures_last_24h: usize,
}

/// History events shown, and counted for the statistics.
const HISTORY_SHOWN: usize = 50;
const HISTORY_COUNTED: usize = 1_000;

pub async fn view(state: &AppState, now: DateTime<Utc>) -> ApiResult<AlertsView> {
    // To the millisecond, as stored instants are: one resolved in the very millisecond a
    // day ago still counts.
    let day_ago = (now - Duration::hours(24)).trunc_subsecs(3);
    let (alerts, day) = tokio::join!(all(state), history(state, day_ago, HISTORY_COUNTED));
    let (alerts, day) = (alerts?, day?);
    let count = |kind: AlertEventKind| day.iter().filter(|e| e.kind == kind).count();
    let (active, resolved): (Vec<Alert>, Vec<Alert>) = alerts
        .into_iter()
        .partition(|a| a.status == AlertStatus::Firing);
    let resolved: Vec<Alert> = resolved
        .into_iter()
        .filter(|a| a.resolved_at.is_some_and(|at| at >= day_ago))
        .collect();
    let mut by_severity: BTreeMap<&'static str, usize> =
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
