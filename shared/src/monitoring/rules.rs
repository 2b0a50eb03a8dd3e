//! The alert rules the `alert-evaluator` job applies to the error store each minute: the
//! seed's thresholds, counted per category so that one storm makes one alert per
//! category it hits. (Error rate, latency, memory, throttles and function errors are
//! CloudWatch alarms in `template.yaml`: they need the request metrics, which the error
//! store does not hold.)

use chrono::{DateTime, Duration, Timelike, Utc};
use serde::Serialize;

use super::{
    alerts::{self, Observation, Transition},
    errors::hour_key,
    overview::{hour_items, Window},
    Category, Severity,
};
use crate::{ApiResult, AppState};

/// One threshold on the errors of one severity in the last hour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    pub name: &'static str,
    /// The severity of the errors counted, and of the alert.
    pub severity: Severity,
    /// Fires when the last hour holds more than this many.
    pub threshold: f64,
}

pub const RULES: &[Rule] = &[
    Rule {
        name: "critical-errors",
        severity: Severity::Critical,
        threshold: 5.0,
    },
    Rule {
        name: "high-errors",
        severity: Severity::High,
        threshold: 20.0,
    },
];

/// A firing alert resolves once its value is at most this share of the threshold.
const RESOLVE_BELOW: f64 = 0.5;

/// What one evaluation did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Evaluation {
    pub observed: usize,
    pub fired: usize,
    pub repeated: usize,
    pub resolved: usize,
    pub held: usize,
}

/// Errors in the hour before `now`, from the counts of the current and the previous
/// clock hour: all of the current one, and the previous one in proportion to the part
/// of it still inside the hour (the sliding-window estimate rate limiters use).
fn last_hour(current: u64, previous: u64, now: DateTime<Utc>) -> f64 {
    let into_hour = f64::from(now.minute() * 60 + now.second()) / 3600.0;
    current as f64 + previous as f64 * (1.0 - into_hour)
}

/// Every rule's value for every category at `now`.
pub async fn observe(state: &AppState, now: DateTime<Utc>) -> ApiResult<Vec<Observation>> {
    let hours = hour_items(state, Window { hours: 2 }, now).await?;
    let count = |hour: &str, severity: Severity, category: Category| {
        hours
            .iter()
            .find(|h| h.hour == hour)
            .map_or(0, |h| h.of_cell(severity, category))
    };
    let this_hour = hour_key(now);
    let previous_hour = hour_key(now - Duration::hours(1));
    let mut seen = Vec::new();
    for rule in RULES {
        for category in Category::ALL {
            let value = last_hour(
                count(&this_hour, rule.severity, category),
                count(&previous_hour, rule.severity, category),
                now,
            );
            let value = (value * 10.0).round() / 10.0;
            seen.push(Observation {
                rule: rule.name.to_owned(),
                group_key: category.as_str().to_owned(),
                severity: rule.severity,
                summary: format!(
                    "{value} {} {} errors in the last hour (threshold {})",
                    rule.severity.as_str().to_ascii_lowercase(),
                    category.as_str().replace('_', " "),
                    rule.threshold
                ),
                value,
                threshold: rule.threshold,
                firing: value > rule.threshold,
                cleared: value <= rule.threshold * RESOLVE_BELOW,
            });
        }
    }
    Ok(seen)
}

/// Applies every rule at `now`, opening, repeating and resolving alerts.
pub async fn evaluate(state: &AppState, now: DateTime<Utc>) -> ApiResult<Evaluation> {
    let mut done = Evaluation::default();
    for seen in observe(state, now).await? {
        done.observed += 1;
        match alerts::apply(state, &seen, now).await? {
            Transition::Unchanged => {}
            Transition::Fired => done.fired += 1,
            Transition::Repeated => done.repeated += 1,
            Transition::Resolved => done.resolved += 1,
            Transition::Held => done.held += 1,
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn the_last_hour_weighs_the_previous_one_by_what_is_left_of_it() {
        assert_eq!(last_hour(3, 10, at("2026-12-01T10:00:00Z")), 13.0);
        assert_eq!(last_hour(3, 10, at("2026-12-01T10:30:00Z")), 8.0);
        assert_eq!(last_hour(3, 10, at("2026-12-01T10:45:00Z")), 5.5);
        assert_eq!(last_hour(0, 0, at("2026-12-01T10:15:00Z")), 0.0);
    }

    #[test]
    fn the_seed_thresholds() {
        let critical = RULES.iter().find(|r| r.severity == Severity::Critical);
        let high = RULES.iter().find(|r| r.severity == Severity::High);
        assert_eq!(critical.map(|r| r.threshold), Some(5.0));
        assert_eq!(high.map(|r| r.threshold), Some(20.0));
    }
}
