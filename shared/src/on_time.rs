//! On-time analytics (`GET /api/analytics/deliveries`): how the deliveries due in a range of
//! business days went, per day, driver, client, vendor or partner, with the whole range's
//! figures beside them.
//!
//! What counts, and why:
//! - A delivery counts on the business day (Pacific, as every order date) its order is
//!   due, so a day's figures do not move once its deliveries are done. A delivery is one
//!   driver's dispatch of an order: a failed attempt and the redelivery are two.
//! - It is **on time** when the driver arrived at the drop-off (reported `ARRIVED_TO_CLIENT`,
//!   or completed without reporting it) no later than the order's arrival time, the end of
//!   its window; arriving early is on time.
//! - Its **delay** is how late that arrival was, capped at 90 minutes as Onfleet caps it,
//!   so one forgotten status does not swamp a month. The mean and p90 are over the late
//!   deliveries only: the on-time rate already says how many were late, the delay says by
//!   how much. The p90 interpolates between the closest ranks (`percentile_cont`).
//! - **Service time** is the time at a stop: at the pickup from arrival to picked up, at the
//!   drop-off from arrival to completed; each capped at 30 minutes.
//! - **Deliveries per driver-hour** divides completed deliveries by the hours drivers were
//!   on shift, cut at the days' bounds. Only staff see it, and only grouped by day or
//!   driver (and for the whole range then): a client's orders share their drivers' hours
//!   with everyone else's, so no share of them is the client's.
//! - **Failed attempts** are the failed delivery attempts drivers reported (each one, even
//!   when the same driver then delivered the order).
//!
//! Staff see every order; a client or vendor sees the orders it placed, and nothing else.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    auth::{Caller, Permission},
    db::{p, GenericClient, Row, RowExt},
    error::{ApiError, ApiResult, Context, FieldError},
    export::Csv,
    pacific,
    text_enum::text_enum,
};

/// The longest range one request covers, in days.
pub const MAX_DAYS: i64 = 92;
/// Delays are capped at this many minutes.
pub const DELAY_CAP_MINUTES: f64 = 90.0;
/// Service times are capped at this many minutes.
pub const SERVICE_CAP_MINUTES: f64 = 30.0;

text_enum! {
    /// What the figures are grouped by.
    pub enum GroupBy("grouping") {
        Day = "day",
        Driver = "driver",
        Client = "client",
        Vendor = "vendor",
        Partner = "partner",
    }
}

impl GroupBy {
    /// The group's key and label (SQL over the `ended` rows), and which rows belong to a
    /// group at all.
    fn sql(self) -> (&'static str, &'static str, &'static str) {
        match self {
            GroupBy::Day => (
                "to_char(day, 'YYYY-MM-DD')",
                "to_char(day, 'YYYY-MM-DD')",
                "true",
            ),
            GroupBy::Driver => ("driver_id::text", "driver_name", "true"),
            GroupBy::Client => ("user_id::text", "orderer_name", "orderer_role = 'CLIENT'"),
            GroupBy::Vendor => ("user_id::text", "orderer_name", "orderer_role = 'VENDOR'"),
            GroupBy::Partner => ("partner_id::text", "partner_name", "partner_id IS NOT NULL"),
        }
    }

    /// Whether drivers' shift hours belong to the groups: only days and drivers own them.
    fn has_driver_hours(self) -> bool {
        matches!(self, GroupBy::Day | GroupBy::Driver)
    }
}

/// A request, checked: business days `from` to `to`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: GroupBy,
}

impl Query {
    /// Checks the range: `to` not before `from`, at most [`MAX_DAYS`] days. Every problem
    /// is a 400 naming its field.
    pub fn new(from: NaiveDate, to: NaiveDate, group_by: GroupBy) -> ApiResult<Self> {
        if to < from {
            return Err(ApiError::validation(vec![FieldError::new(
                "to",
                "must not be before from",
            )]));
        }
        // Years a business has orders in; also keeps the day after `to` representable.
        let years = 2000..=2200;
        if !years.contains(&from.year()) || !years.contains(&to.year()) {
            return Err(ApiError::validation(vec![FieldError::new(
                if years.contains(&from.year()) {
                    "to"
                } else {
                    "from"
                },
                "must be a date between the years 2000 and 2200",
            )]));
        }
        if (to - from).num_days() >= MAX_DAYS {
            return Err(ApiError::validation(vec![FieldError::new(
                "to",
                format!("a range covers at most {MAX_DAYS} days"),
            )]));
        }
        Ok(Self { from, to, group_by })
    }

    fn start(&self) -> ApiResult<DateTime<Utc>> {
        pacific::midnight(self.from)
    }

    fn end(&self) -> ApiResult<DateTime<Utc>> {
        let next = self
            .to
            .checked_add_days(chrono::Days::new(1))
            .ok_or_else(|| ApiError::validation(vec![FieldError::new("to", "is out of range")]))?;
        pacific::midnight(next)
    }
}

/// One group's figures (or the whole range's).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Figures {
    /// Completed deliveries.
    pub deliveries: i64,
    pub on_time: i64,
    pub late: i64,
    /// `onTime / deliveries`; none without deliveries.
    pub on_time_rate: Option<f64>,
    /// Over the late deliveries, each capped at 90 minutes.
    pub delay_mean_minutes: Option<f64>,
    pub delay_p90_minutes: Option<f64>,
    /// Each stop's time capped at 30 minutes.
    pub pickup_service_mean_minutes: Option<f64>,
    pub dropoff_service_mean_minutes: Option<f64>,
    pub failed_attempts: i64,
    /// Staff only, grouped by day or driver.
    pub driver_hours: Option<f64>,
    pub deliveries_per_driver_hour: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// The day (`YYYY-MM-DD`) or the driver's, client's, vendor's or partner's id.
    pub key: String,
    /// What a person reads: the day, or a name (none when the account has none, or once
    /// its data is purged; a driver's email is never shown).
    pub label: Option<String>,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: GroupBy,
    pub time_zone: &'static str,
    /// Ordered by key (days in order).
    pub groups: Vec<Group>,
    pub total: Figures,
}

/// The report for `query`, over what `caller` may see: every order for staff, the orders
/// it placed for a client or vendor.
pub async fn report(
    client: &impl GenericClient,
    caller: &Caller,
    query: Query,
) -> ApiResult<Report> {
    caller.require(Permission::ViewDeliveryAnalytics)?;
    let everyone = caller.can(Permission::ViewAllOrders);
    let orderer: Option<Uuid> = (!everyone).then_some(caller.user_id);
    let (start, end) = (query.start()?, query.end()?);

    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut total = Figures::default();
    for row in delivery_rows(client, query.group_by, start, end, orderer).await? {
        let key: Option<String> = row.col("key")?;
        let figures = figures_of(&row)?;
        match key {
            Some(key) => {
                let label = row.col("label")?;
                groups.insert(
                    key.clone(),
                    Group {
                        key,
                        label,
                        figures,
                    },
                );
            }
            None => total = figures,
        }
    }
    if everyone && query.group_by.has_driver_hours() {
        for row in shift_hours(client, query, start, end).await? {
            // The total's row comes without any shift too, its sum NULL.
            let Some(hours) = row.col::<Option<f64>>("hours")? else {
                continue;
            };
            let key: Option<String> = row.col("key")?;
            let figures = match key {
                Some(key) => {
                    let label = row.col("label")?;
                    &mut groups
                        .entry(key.clone())
                        .or_insert_with(|| Group {
                            key,
                            label,
                            figures: Figures::default(),
                        })
                        .figures
                }
                None => &mut total,
            };
            figures.driver_hours = Some(hundredths(hours));
        }
        for figures in groups
            .values_mut()
            .map(|g| &mut g.figures)
            .chain([&mut total])
        {
            let hours = figures.driver_hours.get_or_insert(0.0);
            figures.deliveries_per_driver_hour =
                (*hours > 0.0).then(|| hundredths(figures.deliveries as f64 / *hours));
        }
    }
    Ok(Report {
        from: query.from,
        to: query.to,
        group_by: query.group_by,
        time_zone: pacific::ZONE,
        groups: groups.into_values().collect(),
        total,
    })
}

/// The deliveries that ended, grouped, with the range's total as the row without a key.
async fn delivery_rows(
    client: &impl GenericClient,
    group_by: GroupBy,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    orderer: Option<Uuid>,
) -> ApiResult<Vec<Row>> {
    let (key, label, belongs) = group_by.sql();
    // A completed delivery, or a failed attempt as kept in `failed_attempts` (a driver sent
    // back after one reuses its delivery row, which then completes).
    // `late_by` counts from the drop-off arrival, or the completion when none was reported.
    // A stop without its times has no service time: filtered out, as GREATEST and LEAST
    // would read a NULL as the other value.
    let sql = format!(
        "WITH ended AS (
             SELECT s.driver_id, o.user_id, ou.role AS orderer_role, o.partner_id,
                    (o.arrival_date_time AT TIME ZONE 'America/Los_Angeles')::date AS day,
                    du.name AS driver_name,
                    COALESCE(ou.company_name, ou.name) AS orderer_name,
                    ap.name AS partner_name,
                    s.failed,
                    extract(epoch FROM s.arrived - o.arrival_date_time) / 60 AS late_by,
                    s.pickup_minutes, s.dropoff_minutes
               FROM orders o
               JOIN (SELECT d.order_id, d.driver_id, false AS failed,
                            COALESCE(d.actual_arrival, d.completed_at) AS arrived,
                            extract(epoch FROM d.picked_up_at - d.pickup_arrival) / 60 AS pickup_minutes,
                            extract(epoch FROM d.completed_at - d.actual_arrival) / 60 AS dropoff_minutes
                       FROM deliveries d
                      WHERE d.completed_at IS NOT NULL AND d.failed_at IS NULL
                     UNION ALL
                     SELECT fa.order_id, fa.driver_id, true, NULL::timestamptz, NULL::numeric, NULL::numeric
                       FROM failed_attempts fa) s ON s.order_id = o.id
               JOIN users ou ON ou.id = o.user_id
               JOIN drivers dr ON dr.id = s.driver_id
               JOIN users du ON du.id = dr.user_id
               LEFT JOIN api_partners ap ON ap.id = o.partner_id
              WHERE o.arrival_date_time >= $1 AND o.arrival_date_time < $2
                AND o.deleted_at IS NULL
                AND ($3::uuid IS NULL OR o.user_id = $3)
         )
         SELECT {key} AS key, {label} AS label,
                count(*) FILTER (WHERE NOT failed) AS deliveries,
                count(*) FILTER (WHERE NOT failed AND late_by <= 0) AS on_time,
                count(*) FILTER (WHERE NOT failed AND late_by > 0) AS late,
                avg(LEAST(late_by, $4)) FILTER (WHERE NOT failed AND late_by > 0)::float8 AS delay_mean,
                (percentile_cont(0.9) WITHIN GROUP (ORDER BY LEAST(late_by, $4))
                    FILTER (WHERE NOT failed AND late_by > 0))::float8 AS delay_p90,
                avg(LEAST(GREATEST(pickup_minutes, 0), $5))
                    FILTER (WHERE NOT failed AND pickup_minutes IS NOT NULL)::float8 AS pickup_service,
                avg(LEAST(GREATEST(dropoff_minutes, 0), $5))
                    FILTER (WHERE NOT failed AND dropoff_minutes IS NOT NULL)::float8 AS dropoff_service,
                count(*) FILTER (WHERE failed) AS failed_attempts
           FROM ended
          WHERE {belongs}
          GROUP BY GROUPING SETS (({key}, {label}), ())"
    );
    client
        .query_typed(
            &sql,
            &[
                p(&start),
                p(&end),
                p(&orderer),
                p(&DELAY_CAP_MINUTES),
                p(&SERVICE_CAP_MINUTES),
            ],
        )
        .await
        .context("reading the deliveries' figures")
}

/// Drivers' hours on shift in the range, cut at each business day's bounds, per day or
/// driver, with the range's total as the row without a key.
async fn shift_hours(
    client: &impl GenericClient,
    query: Query,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> ApiResult<Vec<Row>> {
    let (key, label) = match query.group_by {
        GroupBy::Driver => ("s.driver_id::text", "du.name"),
        _ => (
            "to_char(days.day, 'YYYY-MM-DD')",
            "to_char(days.day, 'YYYY-MM-DD')",
        ),
    };
    let sql = format!(
        "SELECT {key} AS key, {label} AS label,
                (sum(extract(epoch FROM LEAST(COALESCE(s.end_time, now()), days.day_end)
                                        - GREATEST(s.start_time, days.day_start))) / 3600)::float8 AS hours
           FROM (SELECT g::date AS day,
                        g::date::timestamp AT TIME ZONE 'America/Los_Angeles' AS day_start,
                        (g::date + 1)::timestamp AT TIME ZONE 'America/Los_Angeles' AS day_end
                   FROM generate_series($3::date, $4::date, interval '1 day') AS g) days
           JOIN driver_shifts s ON s.start_time < days.day_end
                               AND COALESCE(s.end_time, now()) > days.day_start
           JOIN drivers dr ON dr.id = s.driver_id
           JOIN users du ON du.id = dr.user_id
          WHERE s.start_time < $2 AND COALESCE(s.end_time, now()) > $1
          GROUP BY GROUPING SETS (({key}, {label}), ())"
    );
    client
        .query_typed(&sql, &[p(&start), p(&end), p(&query.from), p(&query.to)])
        .await
        .context("reading the drivers' shift hours")
}

fn figures_of(row: &Row) -> ApiResult<Figures> {
    let deliveries: i64 = row.col("deliveries")?;
    let on_time: i64 = row.col("on_time")?;
    let minutes = |name: &str| -> ApiResult<Option<f64>> {
        Ok(row.col::<Option<f64>>(name)?.map(hundredths))
    };
    Ok(Figures {
        deliveries,
        on_time,
        late: row.col("late")?,
        on_time_rate: (deliveries > 0).then(|| ratio(on_time, deliveries)),
        delay_mean_minutes: minutes("delay_mean")?,
        delay_p90_minutes: minutes("delay_p90")?,
        pickup_service_mean_minutes: minutes("pickup_service")?,
        dropoff_service_mean_minutes: minutes("dropoff_service")?,
        failed_attempts: row.col("failed_attempts")?,
        driver_hours: None,
        deliveries_per_driver_hour: None,
    })
}

/// A share to four decimals (a percentage to two).
fn ratio(part: i64, whole: i64) -> f64 {
    (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0
}

/// Minutes and hours to two decimals.
fn hundredths(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The report as a CSV download: a row per group, then the total.
pub fn csv(report: &Report) -> ApiResult<Vec<u8>> {
    let mut csv = Csv::new(&[
        report.group_by.as_str(),
        "label",
        "deliveries",
        "on_time",
        "late",
        "on_time_rate",
        "delay_mean_minutes",
        "delay_p90_minutes",
        "pickup_service_mean_minutes",
        "dropoff_service_mean_minutes",
        "failed_attempts",
        "driver_hours",
        "deliveries_per_driver_hour",
    ])?;
    let cell = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let groups = report
        .groups
        .iter()
        .map(|g| (g.key.as_str(), g.label.as_deref().unwrap_or(""), &g.figures))
        .chain([("total", "", &report.total)]);
    for (key, label, f) in groups {
        csv.row([
            key.to_owned(),
            label.to_owned(),
            f.deliveries.to_string(),
            f.on_time.to_string(),
            f.late.to_string(),
            cell(f.on_time_rate),
            cell(f.delay_mean_minutes),
            cell(f.delay_p90_minutes),
            cell(f.pickup_service_mean_minutes),
            cell(f.dropoff_service_mean_minutes),
            f.failed_attempts.to_string(),
            cell(f.driver_hours),
            cell(f.deliveries_per_driver_hour),
        ])?;
    }
    csv.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("date")
    }

    #[test]
    fn a_range_is_checked() {
        assert!(Query::new(day("2026-11-02"), day("2026-11-01"), GroupBy::Day).is_err());
        assert!(Query::new(day("2026-01-01"), day("2026-04-03"), GroupBy::Day).is_err());
        let q = Query::new(day("2026-01-01"), day("2026-04-02"), GroupBy::Day).expect("92 days");
        // Pacific midnights, across the change to daylight time.
        assert_eq!(
            q.start().expect("start").to_rfc3339(),
            "2026-01-01T08:00:00+00:00"
        );
        assert_eq!(
            q.end().expect("end").to_rfc3339(),
            "2026-04-03T07:00:00+00:00"
        );
    }

    #[test]
    fn the_csv_has_a_row_per_group_and_the_total() {
        let figures = Figures {
            deliveries: 4,
            on_time: 3,
            late: 1,
            on_time_rate: Some(0.75),
            delay_mean_minutes: Some(12.5),
            ..Figures::default()
        };
        let report = Report {
            from: day("2026-11-01"),
            to: day("2026-11-01"),
            group_by: GroupBy::Driver,
            time_zone: "America/Los_Angeles",
            groups: vec![Group {
                key: "k".into(),
                label: Some("=cmd".into()),
                figures: figures.clone(),
            }],
            total: figures,
        };
        let text = String::from_utf8(csv(&report).expect("csv")).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("driver,label,deliveries,on_time"));
        assert_eq!(lines[1], "k,'=cmd,4,3,1,0.75,12.5,,,,0,,");
        assert!(lines[2].starts_with("total,,4,"));
    }
}
