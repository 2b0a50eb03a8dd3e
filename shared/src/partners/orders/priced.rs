//! A draft's places and price: its addresses stored, the distance measured, the quote of
//! the partner's configuration recorded, and the answer partners read.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::fields::CheckedDraft;
use crate::{
    addresses,
    db::{p, GenericClient, RowExt, Transaction},
    error::ApiResult,
    geo,
    money::{dollars, miles},
    partners::Partner,
    pricing::{self, Quote, QuoteInput},
    AppState,
};

/// A draft's stored addresses and its price.
pub(super) struct Placed {
    pub(super) pickup_id: Uuid,
    pub(super) dropoff_id: Uuid,
    pub(super) quote: Quote,
    pub(super) needs_manual_review: bool,
}

/// Stores the draft's addresses, measures the distance and prices it with the partner's
/// configuration.
pub(super) async fn place_and_price(
    state: &AppState,
    tx: &Transaction<'_>,
    partner: &Partner,
    draft: &CheckedDraft,
) -> ApiResult<Placed> {
    let (pickup_id, from) = addresses::insert(state, tx, &draft.pickup, partner.user_id).await?;
    let (dropoff_id, to) = addresses::insert(state, tx, &draft.dropoff, partner.user_id).await?;
    let (distance, needs_manual_review) = geo::route_distance(state, from, to).await;
    let config = state
        .pricing
        .active(tx, &partner.pricing_config_slug)
        .await?;
    let quote = pricing::calculate(
        &config,
        &QuoteInput {
            head_count: Some(i64::from(draft.head_count)),
            food_cost_cents: Some(draft.food_cost_cents),
            distance_hundredths: distance,
            crosses_toll_bridge: pricing::crosses_toll_bridge(
                &draft.pickup.city,
                &draft.dropoff.city,
                None,
                None,
            ),
            same_day_drives: 0,
            tip_cents: 0,
        },
    )?;
    Ok(Placed {
        pickup_id,
        dropoff_id,
        quote,
        needs_manual_review,
    })
}

/// Records the quote an order was priced with.
pub(super) async fn record_quote(
    client: &impl GenericClient,
    partner: &Partner,
    order_id: Uuid,
    draft: &CheckedDraft,
    quote: &Quote,
) -> ApiResult<()> {
    let inputs = json!({
        "headCount": draft.head_count, "foodCostCents": draft.food_cost_cents,
        "distanceHundredths": quote.distance_hundredths,
    });
    let breakdown = serde_json::to_value(quote)?;
    client
        .execute_typed(
            "INSERT INTO pricing_quotes (configuration_id, order_id, partner_id, inputs, breakdown, delivery_fee_cents)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[p(&quote.configuration_id), p(&order_id), p(&partner.id), p(&inputs), p(&breakdown), p(&quote.delivery_fee_cents)],
        )
        .await?;
    Ok(())
}

/// The parts of a delivery price in cents, as a quote has them and as its recorded
/// breakdown keeps them (absent parts are zero).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct PriceParts {
    base_cents: i64,
    mileage_cents: i64,
    daily_drive_discount_cents: i64,
    bridge_toll_cents: i64,
}

impl From<&Quote> for PriceParts {
    fn from(quote: &Quote) -> Self {
        Self {
            base_cents: quote.base_cents,
            mileage_cents: quote.mileage_cents,
            daily_drive_discount_cents: quote.daily_drive_discount_cents,
            bridge_toll_cents: quote.bridge_toll_cents,
        }
    }
}

/// The draft and update answer partners read, in dollars and miles.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PricedOrder {
    id: Uuid,
    order_number: String,
    delivery_price: f64,
    total_price: f64,
    estimated_pickup_time: DateTime<Utc>,
    status: &'static str,
    breakdown: Breakdown,
    distance: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Breakdown {
    base_price: f64,
    mileage_fee: f64,
    daily_drive_discount: f64,
    bridge_toll: f64,
}

/// What a priced order's answer is made of, in cents and hundredths of a mile.
struct Priced {
    food_cents: i64,
    fee_cents: i64,
    parts: PriceParts,
    distance_hundredths: i64,
}

impl PricedOrder {
    fn new(id: Uuid, order_number: String, pickup_at: DateTime<Utc>, priced: Priced) -> Self {
        let parts = priced.parts;
        Self {
            id,
            order_number,
            delivery_price: dollars(priced.fee_cents),
            total_price: dollars(priced.food_cents + priced.fee_cents),
            estimated_pickup_time: pickup_at,
            status: "SUCCESS",
            breakdown: Breakdown {
                base_price: dollars(parts.base_cents),
                mileage_fee: dollars(parts.mileage_cents),
                daily_drive_discount: dollars(parts.daily_drive_discount_cents),
                bridge_toll: dollars(parts.bridge_toll_cents),
            },
            distance: miles(priced.distance_hundredths),
        }
    }

    /// The answer for a draft just priced with `quote`.
    pub(super) fn quoted(
        id: Uuid,
        order_number: &str,
        draft: &CheckedDraft,
        quote: &Quote,
    ) -> Self {
        Self::new(
            id,
            order_number.to_owned(),
            draft.pickup_at,
            Priced {
                food_cents: draft.food_cost_cents,
                fee_cents: quote.delivery_fee_cents,
                parts: quote.into(),
                distance_hundredths: quote.distance_hundredths,
            },
        )
    }

    /// The answer for an order that already exists (a retried draft whose first answer
    /// was lost), from what was stored: the same price, not a new one.
    pub(super) async fn stored(client: &impl GenericClient, order_id: Uuid) -> ApiResult<Self> {
        let row = client
            .query_typed_one(
                "SELECT o.order_number, o.order_total_cents, coalesce(o.delivery_fee_cents, 0) AS fee_cents,
                        o.pickup_date_time, coalesce((o.delivery_distance_miles * 100)::bigint, 0) AS distance_hundredths,
                        coalesce(q.breakdown, '{}'::jsonb) AS breakdown
                 FROM orders o
                 LEFT JOIN LATERAL (SELECT breakdown FROM pricing_quotes WHERE order_id = o.id ORDER BY created_at DESC LIMIT 1) q ON true
                 WHERE o.id = $1",
                &[p(&order_id)],
            )
            .await?;
        let breakdown: Value = row.col("breakdown")?;
        Ok(Self::new(
            order_id,
            row.col("order_number")?,
            row.col("pickup_date_time")?,
            Priced {
                food_cents: row.col("order_total_cents")?,
                fee_cents: row.col("fee_cents")?,
                parts: serde_json::from_value(breakdown).unwrap_or_default(),
                distance_hundredths: row.col("distance_hundredths")?,
            },
        ))
    }
}
