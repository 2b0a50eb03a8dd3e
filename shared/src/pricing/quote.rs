//! Quoting a delivery for a caller: where the distance comes from, which configuration
//! prices it, and the record every quote leaves.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    calculate, cents_from_dollars, crosses_toll_bridge, dollars, hundredths_from_miles, QuoteInput,
    FALLBACK_DISTANCE_HUNDREDTHS,
};
use crate::{
    addresses::{self, AddressInput},
    db::{p, GenericClient},
    error::{ApiError, ApiResult, FieldError},
    geo::{self, AddressQuery},
    input::Validator,
    AppState,
};

/// The configuration used when a request names none.
pub const DEFAULT_CONFIG: &str = "catervalley";

/// A price request as clients send it (both calculator routes accept these names).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct QuoteRequest {
    #[serde(alias = "headcount")]
    pub head_count: Option<i64>,
    /// Dollars.
    pub food_cost: Option<f64>,
    /// Miles; computed from the addresses when absent.
    #[serde(alias = "mileage")]
    pub distance: Option<f64>,
    pub pickup_address: Option<AddressInput>,
    pub delivery_address: Option<AddressInput>,
    #[serde(alias = "requiresBridge")]
    pub crosses_bridge: Option<bool>,
    #[serde(default, alias = "tips")]
    pub tip: f64,
    #[serde(default)]
    pub same_day_drives: u32,
    #[serde(alias = "clientConfigId")]
    pub client_config: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Breakdown {
    pub base_price: f64,
    pub mileage_fee: f64,
    pub daily_drive_discount: f64,
    pub bridge_toll: f64,
    pub tip: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct QuoteResponse {
    pub quote_id: Uuid,
    pub delivery_fee: f64,
    pub total: f64,
    pub breakdown: Breakdown,
    pub distance: f64,
    pub needs_manual_review: bool,
    pub head_count_tier: Option<i32>,
    pub food_cost_tier: Option<i32>,
    pub configuration: serde_json::Value,
}

/// Prices the request with the named (or default) configuration and records the quote.
pub async fn quote(
    state: &AppState,
    client: &impl GenericClient,
    request: &QuoteRequest,
    user_id: Option<Uuid>,
) -> ApiResult<QuoteResponse> {
    let mut v = Validator::new();
    v.check(
        request
            .head_count
            .is_none_or(|h| (0..=100_000).contains(&h)),
        "headCount",
        "must be a whole number from 0 to 100000",
    );
    let food_cost_cents = request
        .food_cost
        .map(|f| cents_from_dollars(f).filter(|c| *c >= 0));
    v.check(
        food_cost_cents.is_none_or(|c| c.is_some()),
        "foodCost",
        "must be an amount of 0 or more",
    );
    let distance = request.distance.map(hundredths_from_miles);
    v.check(
        distance.is_none_or(|d| d.is_some()),
        "distance",
        "must be a number of miles from 0 to 100000",
    );
    let tip_cents = cents_from_dollars(request.tip).filter(|c| *c >= 0);
    v.check(tip_cents.is_some(), "tip", "must be an amount of 0 or more");
    let pickup = request
        .pickup_address
        .as_ref()
        .and_then(|a| addresses::validate(&mut v, "pickupAddress", a));
    let delivery = request
        .delivery_address
        .as_ref()
        .and_then(|a| addresses::validate(&mut v, "deliveryAddress", a));
    v.finish()?;
    let slug = request.client_config.as_deref().unwrap_or(DEFAULT_CONFIG);
    if slug.is_empty()
        || slug.len() > 40
        || !slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(ApiError::validation(vec![FieldError::new(
            "clientConfig",
            "is not a configuration name",
        )]));
    }
    let config = state.pricing.active(client, slug).await?;

    let (distance_hundredths, needs_manual_review) = match (distance.flatten(), &pickup, &delivery)
    {
        (Some(d), _, _) => (d, false),
        (None, Some(from), Some(to)) => {
            let place = |a: &addresses::ValidAddress| {
                let a = a.clone();
                async move {
                    geo::geocode(
                        state,
                        client,
                        &AddressQuery {
                            street: &a.street1,
                            city: &a.city,
                            state: &a.state,
                            zip: a.zip.as_deref(),
                        },
                    )
                    .await
                    .map(|placed| placed.map(|(point, _)| point))
                }
            };
            let (a, b) = (place(from).await?, place(to).await?);
            crate::orders::intake::distance(state, a, b).await
        }
        _ => (FALLBACK_DISTANCE_HUNDREDTHS, true),
    };
    let crosses_bridge = request
        .crosses_bridge
        .unwrap_or_else(|| match (&pickup, &delivery) {
            (Some(a), Some(b)) => {
                crosses_toll_bridge(&a.city, &b.city, a.county.as_deref(), b.county.as_deref())
            }
            _ => false,
        });
    let input = QuoteInput {
        head_count: request.head_count,
        food_cost_cents: food_cost_cents.flatten(),
        distance_hundredths,
        crosses_toll_bridge: crosses_bridge,
        same_day_drives: request.same_day_drives,
        tip_cents: tip_cents.unwrap_or(0),
    };
    let priced = calculate(&config, &input)?;
    let breakdown = Breakdown {
        base_price: dollars(priced.base_cents),
        mileage_fee: dollars(priced.mileage_cents),
        daily_drive_discount: dollars(priced.daily_drive_discount_cents),
        bridge_toll: dollars(priced.bridge_toll_cents),
        tip: dollars(priced.tip_cents),
    };
    let inputs = serde_json::json!({
        "headCount": input.head_count, "foodCostCents": input.food_cost_cents,
        "distanceHundredths": input.distance_hundredths, "crossesTollBridge": input.crosses_toll_bridge,
        "sameDayDrives": input.same_day_drives, "tipCents": input.tip_cents,
    });
    let recorded = serde_json::to_value(&priced)?;
    let quote_id: Uuid = client
        .query_typed_one(
            "INSERT INTO pricing_quotes (configuration_id, user_id, inputs, breakdown, delivery_fee_cents)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[p(&config.id), p(&user_id), p(&inputs), p(&recorded), p(&priced.delivery_fee_cents)],
        )
        .await?
        .get(0);
    Ok(QuoteResponse {
        quote_id,
        delivery_fee: dollars(priced.delivery_fee_cents),
        total: dollars(priced.delivery_fee_cents + priced.tip_cents),
        breakdown,
        distance: distance_hundredths as f64 / 100.0,
        needs_manual_review,
        head_count_tier: priced.head_count_tier,
        food_cost_tier: priced.food_cost_tier,
        configuration: serde_json::json!({ "slug": config.slug, "version": config.version, "name": config.name }),
    })
}
