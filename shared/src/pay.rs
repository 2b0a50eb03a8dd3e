//! Driver pay, recorded on the delivery by the status change that completes it, from the same
//! inputs as the customer's quote: a base by head-count tier (`driver_pay_tiers`, data),
//! mileage ($7 flat up to 10 miles, else $0.70 for every mile), a $10 bonus, the bridge
//! toll when the trip crosses one (Ready Set pays it to the driver whoever the client),
//! and the tip.
//!
//! A failed delivery attempt ([`record_failed_attempt`]) pays its driver the trip as if
//! delivered (base, mileage, bonus and toll: the driver drove it and the failure was not
//! theirs to prevent) but not the tip, which goes with the food to whoever delivers it.

use serde::Serialize;
use uuid::Uuid;

use crate::{
    db::{p, GenericClient, RowExt, Transaction},
    error::{ApiError, ApiResult, Context},
    geo::{self, crosses_toll_bridge, estimated_road_hundredths},
    money::dollars,
};

/// Up to this distance mileage is a flat amount (hundredths of a mile: 10 miles).
pub const FLAT_MILEAGE_UP_TO_HUNDREDTHS: i64 = 1_000;
pub const FLAT_MILEAGE_CENTS: i64 = 700;
/// Beyond the flat distance, this for every mile driven (all of them).
pub const PER_MILE_CENTS: i64 = 70;
pub const BONUS_CENTS: i64 = 1_000;
pub const BRIDGE_TOLL_CENTS: i64 = 850;

/// What a delivery pays, in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pay {
    pub base_cents: i64,
    pub mileage_cents: i64,
    pub bonus_cents: i64,
    pub toll_cents: i64,
    pub tip_cents: i64,
}

impl Pay {
    pub fn total_cents(&self) -> i64 {
        self.base_cents + self.mileage_cents + self.bonus_cents + self.toll_cents + self.tip_cents
    }
}

/// Mileage pay for a trip of `hundredths` of a mile.
pub fn mileage_cents(hundredths: i64) -> i64 {
    if hundredths <= FLAT_MILEAGE_UP_TO_HUNDREDTHS {
        FLAT_MILEAGE_CENTS
    } else {
        // Cents per mile × hundredths / 100, rounded half up.
        (PER_MILE_CENTS * hundredths + 50) / 100
    }
}

/// The pay from its inputs: the tier's base, the trip, the toll, the tip.
pub fn calculate(base_cents: i64, hundredths: i64, crosses_bridge: bool, tip_cents: i64) -> Pay {
    Pay {
        base_cents,
        mileage_cents: mileage_cents(hundredths),
        bonus_cents: BONUS_CENTS,
        toll_cents: if crosses_bridge { BRIDGE_TOLL_CENTS } else { 0 },
        tip_cents,
    }
}

/// A delivery's pay as the driver's stats and history show it, in dollars.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct PayView {
    pub base: f64,
    pub mileage: f64,
    pub bonus: f64,
    pub tolls: f64,
    pub tips: f64,
    pub total: f64,
}

impl From<Pay> for PayView {
    fn from(pay: Pay) -> Self {
        Self {
            base: dollars(pay.base_cents),
            mileage: dollars(pay.mileage_cents),
            bonus: dollars(pay.bonus_cents),
            tolls: dollars(pay.toll_cents),
            tips: dollars(pay.tip_cents),
            total: dollars(pay.total_cents()),
        }
    }
}

/// What the order pays its driver, and over how many hundredths of a mile. Distance:
/// the order's priced distance, else the estimate between its addresses. `None` when
/// the order does not exist.
pub async fn estimate(
    client: &impl GenericClient,
    order_id: Uuid,
) -> ApiResult<Option<(Pay, i64)>> {
    let Some(row) = client
        .query_typed_opt(
            "SELECT o.headcount, o.tip_cents,
                    round(o.delivery_distance_miles * 100)::int8 AS hundredths,
                    pa.city AS pickup_city, pa.county AS pickup_county,
                    da.city AS dropoff_city, da.county AS dropoff_county,
                    ST_Y(pa.location::geometry) AS pickup_lat, ST_X(pa.location::geometry) AS pickup_lng,
                    ST_Y(da.location::geometry) AS dropoff_lat, ST_X(da.location::geometry) AS dropoff_lng,
                    (SELECT t.base_cents FROM driver_pay_tiers t
                      WHERE t.min_head_count <= COALESCE(o.headcount, 0)
                        AND (t.max_head_count IS NULL OR COALESCE(o.headcount, 0) <= t.max_head_count)
                      ORDER BY t.tier_number LIMIT 1) AS base_cents
               FROM orders o
               JOIN addresses pa ON pa.id = o.pickup_address_id
               JOIN addresses da ON da.id = o.delivery_address_id
              WHERE o.id = $1",
            &[p(&order_id)],
        )
        .await
        .context("reading what the delivery pays")?
    else {
        return Ok(None);
    };
    let base_cents: i64 = row
        .col::<Option<i64>>("base_cents")?
        .ok_or_else(|| ApiError::internal("no driver pay tier covers this head count"))?;
    let point = |prefix: &str| geo::point_at(&row, prefix);
    let hundredths = match row.col::<Option<i64>>("hundredths")? {
        Some(h) => h,
        None => match (point("pickup")?, point("dropoff")?) {
            (Some(a), Some(b)) => estimated_road_hundredths(a, b),
            _ => FLAT_MILEAGE_UP_TO_HUNDREDTHS,
        },
    };
    let crosses = crosses_toll_bridge(
        &row.col::<String>("pickup_city")?,
        &row.col::<String>("dropoff_city")?,
        row.col::<Option<String>>("pickup_county")?.as_deref(),
        row.col::<Option<String>>("dropoff_county")?.as_deref(),
    );
    let pay = calculate(base_cents, hundredths, crosses, row.col("tip_cents")?);
    Ok(Some((pay, hundredths)))
}

/// Records the pay of the order's current delivery, inside the status change that
/// completes it, as [`estimate`] reckons it.
pub async fn record(tx: &Transaction<'_>, order_id: Uuid) -> ApiResult<Option<Pay>> {
    record_ended(tx, order_id, Ending::Completed).await
}

/// Records the pay of the order's current delivery, which ended in a failed attempt:
/// the trip without the tip. Call it before the dispatch closes.
pub async fn record_failed_attempt(tx: &Transaction<'_>, order_id: Uuid) -> ApiResult<Option<Pay>> {
    record_ended(tx, order_id, Ending::Failed).await
}

/// How a delivery ended, for its pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Completed,
    Failed,
}

async fn record_ended(
    tx: &Transaction<'_>,
    order_id: Uuid,
    ending: Ending,
) -> ApiResult<Option<Pay>> {
    let Some(delivery) = tx
        .query_typed_opt(
            "SELECT d.id FROM dispatches ds JOIN deliveries d ON d.dispatch_id = ds.id
              WHERE ds.order_id = $1 AND ds.unassigned_at IS NULL",
            &[p(&order_id)],
        )
        .await
        .context("reading the order's delivery")?
    else {
        // Completed without a dispatched driver (staff closing an order): nobody to pay.
        return Ok(None);
    };
    let delivery_id: Uuid = delivery.col("id")?;
    let Some((mut pay, hundredths)) = estimate(tx, order_id).await? else {
        return Ok(None);
    };
    let failed = ending == Ending::Failed;
    if failed {
        pay.tip_cents = 0;
    }
    let miles = hundredths as f64 / 100.0;
    tx.execute_typed(
        "UPDATE deliveries SET pay_base_cents = $2, pay_mileage_cents = $3, pay_bonus_cents = $4,
                pay_toll_cents = $5, pay_tip_cents = $6, pay_total_cents = $7,
                pay_distance_miles = round($8::numeric, 2), completed_at = now(),
                failed_at = CASE WHEN $9 THEN now() END
          WHERE id = $1",
        &[
            p(&delivery_id),
            p(&pay.base_cents),
            p(&pay.mileage_cents),
            p(&pay.bonus_cents),
            p(&pay.toll_cents),
            p(&pay.tip_cents),
            p(&pay.total_cents()),
            p(&miles),
            p(&failed),
        ],
    )
    .await
    .context("recording the driver's pay")?;
    Ok(Some(pay))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mileage_is_flat_to_ten_miles_then_paid_for_every_mile() {
        assert_eq!(mileage_cents(0), 700);
        assert_eq!(mileage_cents(1_000), 700);
        // 10.01 miles: every mile at $0.70, $7.007 → $7.01.
        assert_eq!(mileage_cents(1_001), 701);
        assert_eq!(mileage_cents(1_410), 987);
        assert_eq!(mileage_cents(2_000), 1_400);
    }

    #[test]
    fn pay_adds_base_mileage_bonus_toll_and_tip() {
        let pay = calculate(3_300, 1_410, true, 500);
        assert_eq!(pay.total_cents(), 3_300 + 987 + 1_000 + 850 + 500);
        let pay = calculate(2_300, 300, false, 0);
        assert_eq!(pay.total_cents(), 2_300 + 700 + 1_000);
        let view = PayView::from(pay);
        assert_eq!(view.total, 40.0);
    }
}
