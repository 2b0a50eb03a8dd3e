//! CloudWatch alarm notifications as SNS delivers them to `alarm-notifier`: each record's
//! `Sns.Message` is the alarm's state change as JSON. `ALARM` opens (or keeps) the alert
//! named after the alarm, `OK` resolves it, `INSUFFICIENT_DATA` is recorded in the
//! history only. A record that is not a CloudWatch alarm is skipped and logged: SNS
//! would retry a failed delivery, and a malformed message never gets better.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    alerts::{self, Observation, Transition},
    Severity,
};
use crate::{
    sns::{SnsDelivery, SnsRecord},
    ApiResult, AppState,
};

/// The rule name of every alert that comes from a CloudWatch alarm; the alarm's name is
/// its group key.
pub const RULE: &str = "cloudwatch-alarm";

/// The part of a CloudWatch alarm state change this uses.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AlarmMessage {
    alarm_name: String,
    #[serde(default)]
    alarm_description: Option<String>,
    new_state_value: String,
    #[serde(default)]
    new_state_reason: Option<String>,
    #[serde(default)]
    trigger: Option<Trigger>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Trigger {
    #[serde(default)]
    threshold: Option<f64>,
}

/// What became of one SNS record.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Handled {
    pub fired: usize,
    pub resolved: usize,
    pub unchanged: usize,
    pub insufficient_data: usize,
    pub skipped: usize,
}

/// The severity an alarm declares by starting its description with `[CRITICAL]`,
/// `[HIGH]`, `[MEDIUM]` or `[LOW]`; HIGH otherwise.
fn severity_of(description: Option<&str>) -> Severity {
    description
        .and_then(|d| d.strip_prefix('['))
        .and_then(|d| d.split_once(']'))
        .and_then(|(level, _)| level.parse().ok())
        .unwrap_or(Severity::High)
}

enum Parsed {
    Alarm(Observation),
    NoData(Observation),
}

fn parse_record(record: &SnsRecord) -> Result<Parsed, String> {
    let message = record.message().ok_or("no Sns.Message")?;
    let alarm: AlarmMessage =
        serde_json::from_str(message).map_err(|e| format!("not a CloudWatch alarm: {e}"))?;
    let reason = alarm
        .new_state_reason
        .as_deref()
        .unwrap_or("no reason given");
    let seen = |firing: bool| Observation {
        rule: RULE.to_owned(),
        group_key: alarm.alarm_name.clone(),
        severity: severity_of(alarm.alarm_description.as_deref()),
        summary: format!("{}: {reason}", alarm.alarm_name),
        value: f64::from(u8::from(firing)),
        threshold: alarm
            .trigger
            .as_ref()
            .and_then(|t| t.threshold)
            .unwrap_or(0.0),
        firing,
        cleared: !firing,
    };
    match alarm.new_state_value.as_str() {
        "ALARM" => Ok(Parsed::Alarm(seen(true))),
        "OK" => Ok(Parsed::Alarm(seen(false))),
        "INSUFFICIENT_DATA" => Ok(Parsed::NoData(seen(false))),
        other => Err(format!("unknown alarm state {other:?}")),
    }
}

/// Handles every record of one SNS delivery at `now`.
pub async fn handle(
    state: &AppState,
    delivery: &SnsDelivery,
    now: DateTime<Utc>,
) -> ApiResult<Handled> {
    let mut handled = Handled::default();
    let records = &delivery.records;
    if records.is_empty() {
        tracing::error!("alarm notification without SNS records; skipped");
        handled.skipped += 1;
    }
    for record in records {
        match parse_record(record) {
            Ok(Parsed::Alarm(seen)) => match alerts::apply(state, &seen, now).await? {
                Transition::Fired | Transition::Repeated => handled.fired += 1,
                Transition::Resolved => handled.resolved += 1,
                Transition::Unchanged | Transition::Held => handled.unchanged += 1,
            },
            Ok(Parsed::NoData(seen)) => {
                alerts::note_insufficient_data(state, &seen, now).await;
                handled.insufficient_data += 1;
            }
            Err(reason) => {
                tracing::error!(%reason, "alarm notification skipped");
                handled.skipped += 1;
            }
        }
    }
    Ok(handled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn descriptions_may_declare_a_severity() {
        assert_eq!(
            severity_of(Some("[CRITICAL] database down")),
            Severity::Critical
        );
        assert_eq!(severity_of(Some("[LOW] noise")), Severity::Low);
        assert_eq!(severity_of(Some("no level")), Severity::High);
        assert_eq!(severity_of(Some("[BOGUS] x")), Severity::High);
        assert_eq!(severity_of(None), Severity::High);
    }

    #[test]
    fn records_parse_into_observations() {
        let record = |message: &str| -> SnsRecord {
            serde_json::from_value(json!({"Sns": {"Message": message}})).expect("a record")
        };
        let alarm = r#"{"AlarmName":"readyset-p99","AlarmDescription":"[CRITICAL] slow","NewStateValue":"ALARM","NewStateReason":"p99 2500 > 2000","Trigger":{"Threshold":2000.0}}"#;
        let Ok(Parsed::Alarm(seen)) = parse_record(&record(alarm)) else {
            panic!("an alarm");
        };
        assert!(seen.firing);
        assert_eq!(seen.group_key, "readyset-p99");
        assert_eq!(seen.severity, Severity::Critical);
        assert_eq!(seen.threshold, 2000.0);
        assert!(parse_record(&record("not json")).is_err());
        let empty: SnsRecord = serde_json::from_value(json!({"Sns": {}})).expect("a record");
        assert!(parse_record(&empty).is_err());
        let odd = r#"{"AlarmName":"x","NewStateValue":"MAYBE"}"#;
        assert!(parse_record(&record(odd)).is_err());
    }
}
