//! A series' recurrence: an RFC 5545 `RRULE` value, parsed and expanded by the `rrule`
//! crate, kept to what a weekly catering order needs: `FREQ=DAILY` or `FREQ=WEEKLY`, an
//! `INTERVAL` of 1 to 4 (every other week is `INTERVAL=2`), `BYDAY` of plain weekdays
//! (weekdays are `BYDAY=MO,TU,WE,TH,FR`) and `WKST`. The series' `endsOn` is its end, so
//! `COUNT` and `UNTIL` are refused, and so are parts that set times (the series' pickup and
//! arrival times do) or months and positions (not a weekly order's).
//!
//! The rule yields dates only: it is counted from the series' first day at noon, Pacific
//! (noon is never skipped or repeated by a clock change), and each date's times come from
//! the series' local times, so an order keeps its wall-clock time across daylight saving.

use chrono::{Datelike, NaiveDate, NaiveTime, TimeZone};
use chrono_tz::America::Los_Angeles;
use rrule::{Frequency, NWeekday, RRule, Unvalidated};

use crate::error::FieldError;

/// The most dates one expansion yields: a year of a daily rule, with room to spare.
const MAX_DATES: u16 = 400;

/// A checked rule, in its normalised spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule(String);

impl Rule {
    /// Parses and checks `text` (without the `RRULE:` prefix); a 400 names `field`.
    pub fn parse(field: &str, text: &str) -> Result<Self, FieldError> {
        let refuse = |why: &str| FieldError::new(field, why);
        let text = text.trim();
        if text.is_empty() || text.len() > 200 || text.contains(['\n', '\r', ':']) {
            return Err(refuse(
                "must be one RRULE value such as FREQ=WEEKLY;BYDAY=MO",
            ));
        }
        let rule: RRule<Unvalidated> = text
            .parse()
            .map_err(|e| refuse(&format!("is not an RFC 5545 rule: {e}")))?;
        if !matches!(rule.get_freq(), Frequency::Daily | Frequency::Weekly) {
            return Err(refuse("FREQ must be DAILY or WEEKLY"));
        }
        if !(1..=4).contains(&rule.get_interval()) {
            return Err(refuse("INTERVAL must be 1 to 4"));
        }
        if rule.get_count().is_some() || rule.get_until().is_some() {
            return Err(refuse("COUNT and UNTIL are not used: endsOn ends a series"));
        }
        if !rule.get_by_hour().is_empty()
            || !rule.get_by_minute().is_empty()
            || !rule.get_by_second().is_empty()
        {
            return Err(refuse(
                "times come from pickupTime and arrivalTime, not the rule",
            ));
        }
        if !rule.get_by_month().is_empty()
            || !rule.get_by_month_day().is_empty()
            || !rule.get_by_year_day().is_empty()
            || !rule.get_by_week_no().is_empty()
            || !rule.get_by_set_pos().is_empty()
        {
            return Err(refuse("only BYDAY, INTERVAL and WKST may shape a series"));
        }
        if rule
            .get_by_weekday()
            .iter()
            .any(|d| matches!(d, NWeekday::Nth(..)))
        {
            return Err(refuse("BYDAY takes plain weekdays (MO, not 1MO)"));
        }
        let normalised = rule.to_string();
        // Expanding once proves the rule sound from any start.
        Rule(normalised.clone())
            .dates(
                NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
                NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
                NaiveDate::from_ymd_opt(2026, 1, 31).unwrap_or_default(),
            )
            .map_err(|e| refuse(&e))?;
        Ok(Rule(normalised))
    }

    /// A stored rule (checked when it was stored).
    pub fn stored(text: String) -> Self {
        Rule(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The series' dates from `from` to `to` (both included), counting from `starts_on`.
    pub fn dates(
        &self,
        starts_on: NaiveDate,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<NaiveDate>, String> {
        if to < from {
            return Ok(Vec::new());
        }
        let noon = |day: NaiveDate| {
            let local = day.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default());
            rrule::Tz::America__Los_Angeles
                .from_local_datetime(&local)
                .single()
                .ok_or_else(|| format!("noon of {day} in Pacific time"))
        };
        let rule: RRule<Unvalidated> = self.0.parse().map_err(|e| format!("{e}"))?;
        let set = rule
            .build(noon(starts_on)?)
            .map_err(|e| format!("{e}"))?
            .after(noon(from)?)
            .before(noon(to)?);
        let found = set.all(MAX_DATES);
        Ok(found
            .dates
            .into_iter()
            .map(|d| d.with_timezone(&Los_Angeles).date_naive())
            .filter(|d| *d >= from && *d <= to && d.year() > 0)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("date")
    }

    fn dates(rule: &str, starts: &str, from: &str, to: &str) -> Vec<String> {
        Rule::parse("rule", rule)
            .expect("a rule")
            .dates(day(starts), day(from), day(to))
            .expect("dates")
            .iter()
            .map(|d| d.to_string())
            .collect()
    }

    #[test]
    fn weekly_every_other_week_and_weekdays() {
        // 2026-12-07 is a Monday.
        assert_eq!(
            dates(
                "FREQ=WEEKLY;BYDAY=MO,WE",
                "2026-12-07",
                "2026-12-07",
                "2026-12-20"
            ),
            ["2026-12-07", "2026-12-09", "2026-12-14", "2026-12-16"]
        );
        assert_eq!(
            dates(
                "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
                "2026-12-07",
                "2026-12-10",
                "2027-01-10"
            ),
            ["2026-12-22", "2027-01-05"]
        );
        assert_eq!(
            dates(
                "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
                "2026-12-10",
                "2026-12-07",
                "2026-12-15"
            ),
            ["2026-12-10", "2026-12-11", "2026-12-14", "2026-12-15"]
        );
        // Across the change to daylight time (2027-03-14): every Monday still comes.
        assert_eq!(
            dates("FREQ=WEEKLY", "2027-03-01", "2027-03-01", "2027-03-22"),
            ["2027-03-01", "2027-03-08", "2027-03-15", "2027-03-22"]
        );
    }

    #[test]
    fn rules_a_series_cannot_use_are_refused() {
        for (rule, says) in [
            ("", "one RRULE value"),
            ("FREQ=HOURLY", "DAILY or WEEKLY"),
            ("FREQ=MONTHLY;BYMONTHDAY=1", "DAILY or WEEKLY"),
            ("FREQ=WEEKLY;INTERVAL=9", "INTERVAL"),
            ("FREQ=WEEKLY;COUNT=3", "endsOn"),
            ("FREQ=WEEKLY;BYHOUR=9", "pickupTime"),
            ("FREQ=WEEKLY;BYDAY=1MO", "plain weekdays"),
            ("FREQ=WEEKLY;BYDAY=XX", "RFC 5545"),
            ("DTSTART:20260101T000000Z", "one RRULE value"),
            ("nonsense", "RFC 5545"),
        ] {
            let refused = Rule::parse("rule", rule).expect_err(rule);
            assert!(refused.reason.contains(says), "{rule}: {}", refused.reason);
        }
        assert_eq!(
            Rule::parse("rule", " FREQ=WEEKLY;INTERVAL=1;BYDAY=MO ")
                .expect("a rule")
                .as_str(),
            "FREQ=WEEKLY;BYDAY=MO"
        );
    }
}
