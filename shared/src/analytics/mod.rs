//! `GET /api/admin/logs?analytics=1h|24h|7d`: how the API has been doing.
//!
//! - `errors`: the error store's totals by severity and category, and per interval the
//!   recorded errors beside requests and 5xx answers (the error rate).
//! - `performance`: requests, 5xx, cold starts and p50/p95/p99 latency, overall and per
//!   route, read back from CloudWatch: the sums of the functions' own metric lines
//!   ([`crate::metrics`]). Percentiles are computed here from the latency histogram's
//!   bucket sums, the same way against CloudWatch and against the local emulator (which
//!   computes no percentiles). The figures are in [`performance`], the CloudWatch calls
//!   that read the sums in [`cloudwatch`].
//! - `slowQueries`: the slowest statements (`pg_stat_statements`).
//! - `outbox`: messages waiting, the oldest one's age, and dead messages.

mod cloudwatch;
mod performance;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::Value;

pub use self::performance::{Interval, Performance, RouteFigures, RouteView};
use crate::{
    error::FieldError,
    health::database::slowest_statements,
    monitoring::overview::{overview, Window},
    outbox::admin::{backlog, Backlog},
    ApiError, ApiResult, AppState,
};

/// The windows the seed's routine asks for, with the interval of their series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Hour,
    Day,
    Week,
}

impl std::str::FromStr for Period {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        match s {
            "1h" => Ok(Self::Hour),
            "24h" | "1d" => Ok(Self::Day),
            "7d" => Ok(Self::Week),
            _ => Err(FieldError::new("analytics", "must be 1h, 24h or 7d")),
        }
    }
}

impl Period {
    fn length(self) -> Duration {
        match self {
            Self::Hour => Duration::hours(1),
            Self::Day => Duration::hours(24),
            Self::Week => Duration::days(7),
        }
    }

    /// The interval of the series: twelve to twenty-eight points.
    fn step(self) -> Duration {
        match self {
            Self::Hour => Duration::minutes(5),
            Self::Day => Duration::hours(1),
            Self::Week => Duration::hours(6),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Hour => "1h",
            Self::Day => "24h",
            Self::Week => "7d",
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Analytics {
    pub window: &'static str,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub errors: ErrorSection,
    pub performance: Performance,
    pub slow_queries: Vec<Value>,
    pub outbox: Backlog,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorSection {
    pub total: u64,
    pub by_severity: BTreeMap<&'static str, u64>,
    pub by_category: BTreeMap<&'static str, u64>,
    /// Requests, 5xx answers and their rate per interval, and errors recorded per hour.
    pub over_time: Vec<Interval>,
    pub recorded_hourly: Vec<Value>,
}

/// The start of the window ending with the interval `to` falls in: the window holds
/// whole steps, the last one still filling.
fn window_start(period: Period, to: DateTime<Utc>) -> DateTime<Utc> {
    let step = period.step().num_seconds();
    let current = to.timestamp() - to.timestamp().rem_euclid(step);
    DateTime::from_timestamp(current + step, 0).unwrap_or(to) - period.length()
}

/// `failed` per `total`, in percent with two decimals (0 without requests).
fn rate(failed: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        (failed as f64 / total as f64 * 10_000.0).round() / 100.0
    }
}

/// The analytics of the `period` up to now.
pub async fn analytics(state: &AppState, period: Period) -> ApiResult<Analytics> {
    let to = Utc::now();
    let from = window_start(period, to);
    let window = Window {
        hours: period.length().num_hours(),
    };
    let database = async {
        let client = state.db.get().await?;
        let slow = slowest_statements(&client).await;
        let outbox = backlog(&*client, from).await?;
        Ok::<_, ApiError>((slow, outbox))
    };
    let (errors, measured, database) = tokio::join!(
        overview(state, window),
        performance::performance(state, period, to),
        database
    );
    let (errors, (performance, over_time), (slow, outbox)) = (errors?, measured?, database?);
    Ok(Analytics {
        window: period.label(),
        from,
        to,
        errors: ErrorSection {
            total: errors.summary.total,
            by_severity: errors.summary.by_severity,
            by_category: errors.summary.by_category,
            over_time,
            recorded_hourly: errors
                .hourly
                .into_iter()
                .map(|h| serde_json::to_value(h).unwrap_or(Value::Null))
                .collect(),
        },
        performance,
        slow_queries: slow.statements,
        outbox,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_the_three_the_routine_asks_for() {
        assert_eq!("1h".parse(), Ok(Period::Hour));
        assert_eq!("24h".parse(), Ok(Period::Day));
        assert_eq!("7d".parse(), Ok(Period::Week));
        assert!("2h".parse::<Period>().is_err());
        for period in [Period::Hour, Period::Day, Period::Week] {
            let points = period.length().num_seconds() / period.step().num_seconds();
            assert!((12..=28).contains(&points), "{period:?}: {points}");
        }
    }

    #[test]
    fn windows_start_on_a_step_and_end_with_the_current_one() {
        let to = DateTime::parse_from_rfc3339("2026-12-01T10:37:12Z")
            .expect("time")
            .with_timezone(&Utc);
        let start = |p| window_start(p, to).to_rfc3339();
        assert_eq!(start(Period::Hour), "2026-12-01T09:40:00+00:00");
        assert_eq!(start(Period::Day), "2026-11-30T11:00:00+00:00");
        assert_eq!(start(Period::Week), "2026-11-24T12:00:00+00:00");
    }

    #[test]
    fn rates_are_percentages_of_requests() {
        assert_eq!(rate(1, 8), 12.5);
        assert_eq!(rate(0, 0), 0.0);
        assert_eq!(rate(2, 3), 66.67);
    }
}
