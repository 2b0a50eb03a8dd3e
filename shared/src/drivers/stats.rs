//! A driver's figures (`GET /api/drivers/{driverId}/stats?period=`) and its completed
//! deliveries with their pay (`/history`), for the driver itself and staff. Periods are
//! calendar periods in the business's time zone (Pacific).

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::pay::{Pay, PayView};
use crate::{
    db::{p, FromRow, GenericClient, Row, RowExt},
    error::{ApiResult, Context},
    input::{Cursor, Page, PageRequest},
    text_enum::text_enum,
};

text_enum! {
    /// Which figures: since the start of today, this week, this month, or ever.
    pub enum Period("period") {
        Today = "today",
        Week = "week",
        Month = "month",
        All = "all",
    }
}

impl Period {
    /// The `date_trunc` unit of the period, or `None` for all time.
    fn unit(self) -> Option<&'static str> {
        match self {
            Period::Today => Some("day"),
            Period::Week => Some("week"),
            Period::Month => Some("month"),
            Period::All => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryCounts {
    pub completed: i64,
    pub open: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct ShiftFigures {
    #[row(rename = "shift_count")]
    pub count: i64,
    #[row(with = hundredths)]
    pub hours: f64,
    #[row(with = hundredths)]
    pub tracked_miles: f64,
    #[row(with = hundredths)]
    pub reported_miles: f64,
}

/// Figures shown to two decimals.
fn hundredths(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DriverStats {
    pub driver_id: Uuid,
    pub period: Period,
    /// Start of the period (none for all time).
    pub since: Option<DateTime<Utc>>,
    pub deliveries: DeliveryCounts,
    /// Miles the completed deliveries were paid for.
    pub delivered_miles: f64,
    pub earnings: PayView,
    pub shifts: ShiftFigures,
}

/// The pay in the columns `<name>_base_cents` … `<name>_tip_cents`, as shown.
fn pay_view(row: &Row, name: &str) -> ApiResult<PayView> {
    Ok(pay_of(row, &format!("{name}_"))?.into())
}

fn pay_of(row: &Row, prefix: &str) -> ApiResult<Pay> {
    let cents = |name: &str| -> ApiResult<i64> {
        Ok(row
            .col::<Option<i64>>(&format!("{prefix}{name}"))?
            .unwrap_or(0))
    };
    Ok(Pay {
        base_cents: cents("base_cents")?,
        mileage_cents: cents("mileage_cents")?,
        bonus_cents: cents("bonus_cents")?,
        toll_cents: cents("toll_cents")?,
        tip_cents: cents("tip_cents")?,
    })
}

pub async fn stats(
    client: &impl GenericClient,
    driver_id: Uuid,
    period: Period,
) -> ApiResult<DriverStats> {
    let since: Option<DateTime<Utc>> = match period.unit() {
        None => None,
        Some(unit) => client
            .query_typed_one(
                "SELECT date_trunc($1, now() AT TIME ZONE 'America/Los_Angeles')
                          AT TIME ZONE 'America/Los_Angeles' AS since",
                &[p(&unit)],
            )
            .await?
            .col("since")?,
    };
    let sql = format!(
        "SELECT
               (SELECT count(*) FROM deliveries d WHERE d.driver_id = $1 AND d.completed_at IS NOT NULL
                   AND d.failed_at IS NULL
                   AND ($2::timestamptz IS NULL OR d.completed_at >= $2)) AS completed,
               (SELECT {} FROM drivers d WHERE d.id = $1) AS open,
               p.*, s.*
               FROM (SELECT sum(pay_base_cents)::int8 AS pay_base_cents, sum(pay_mileage_cents)::int8 AS pay_mileage_cents,
                            sum(pay_bonus_cents)::int8 AS pay_bonus_cents, sum(pay_toll_cents)::int8 AS pay_toll_cents,
                            sum(pay_tip_cents)::int8 AS pay_tip_cents,
                            COALESCE(sum(pay_distance_miles), 0)::float8 AS delivered_miles
                       FROM deliveries WHERE driver_id = $1 AND completed_at IS NOT NULL
                        AND ($2::timestamptz IS NULL OR completed_at >= $2)) p,
                    (SELECT count(*) AS shift_count,
                            COALESCE(sum(extract(epoch FROM COALESCE(end_time, now()) - start_time)), 0)::float8 / 3600 AS hours,
                            COALESCE(sum(total_distance_miles), 0)::float8 AS tracked_miles,
                            COALESCE(sum(reported_miles), 0)::float8 AS reported_miles
                       FROM driver_shifts WHERE driver_id = $1
                        AND ($2::timestamptz IS NULL OR start_time >= $2)) s",
        super::roster::active_deliveries("d")
    );
    let row = client
        .query_typed_one(&sql, &[p(&driver_id), p(&since)])
        .await
        .context("reading the driver's figures")?;
    Ok(DriverStats {
        driver_id,
        period,
        since,
        deliveries: DeliveryCounts::from_row(&row)?,
        delivered_miles: hundredths(row.col("delivered_miles")?),
        earnings: pay_view(&row, "pay")?,
        shifts: ShiftFigures::from_row(&row)?,
    })
}

/// A delivery the driver finished and what it paid: completed, or a failed attempt (paid
/// the trip without the tip, see [`crate::pay`]).
#[derive(Debug, Clone, Serialize, PartialEq, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct PaidDelivery {
    #[row(rename = "id")]
    pub delivery_id: Uuid,
    pub order_id: Option<Uuid>,
    pub order_number: Option<String>,
    pub completed_at: DateTime<Utc>,
    pub miles: Option<f64>,
    #[row(read = pay_view)]
    pub pay: PayView,
}

/// The driver's completed deliveries, newest first in pages.
pub async fn history(
    client: &impl GenericClient,
    driver_id: Uuid,
    page: &PageRequest,
) -> ApiResult<Page<PaidDelivery>> {
    let (after_time, after_id) = page.after.as_ref().map(|c| (c.at, c.id)).unzip();
    let rows = client
        .query_typed(
            "SELECT d.id, d.order_id, o.order_number, d.completed_at, d.pay_distance_miles::float8 AS miles,
                    d.pay_base_cents, d.pay_mileage_cents, d.pay_bonus_cents, d.pay_toll_cents, d.pay_tip_cents
               FROM deliveries d LEFT JOIN orders o ON o.id = d.order_id
              WHERE d.driver_id = $1 AND d.completed_at IS NOT NULL
                AND ($2::timestamptz IS NULL OR (d.completed_at, d.id) < ($2, $3))
              ORDER BY d.completed_at DESC, d.id DESC LIMIT $4",
            &[p(&driver_id), p(&after_time), p(&after_id), p(&page.fetch_limit())],
        )
        .await
        .context("listing the driver's deliveries")?;
    let items = rows
        .iter()
        .map(PaidDelivery::from_row)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page, |d| Cursor {
        at: d.completed_at,
        id: d.delivery_id,
    }))
}
