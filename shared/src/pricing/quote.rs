//! Quoting a delivery for a caller: where the distance comes from, which configuration
//! prices it, and the record every quote leaves.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{calculate, crosses_toll_bridge, publish::is_slug, QuoteInput};
use crate::{
    addresses::{self, AddressInput},
    auth::{Caller, Permission},
    db::{p, GenericClient, RowExt},
    error::{ApiError, ApiResult},
    geo::{self, AddressQuery},
    input::Validator,
    money::{dollars, hundredths_from_miles, miles},
    orders::rules,
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

/// A quote request after every check.
struct CheckedQuote {
    food_cost_cents: Option<i64>,
    distance: Option<i64>,
    tip_cents: i64,
    pickup: Option<addresses::ValidAddress>,
    delivery: Option<addresses::ValidAddress>,
}

fn check(v: &mut Validator, request: &QuoteRequest) -> Option<CheckedQuote> {
    let most_people = *rules::HEADCOUNT.end();
    v.check(
        request
            .head_count
            .is_none_or(|h| (0..=most_people).contains(&h)),
        "headCount",
        &format!("must be a whole number from 0 to {most_people}"),
    );
    let food_cost_cents = match request.food_cost {
        None => Some(None),
        Some(dollars) => rules::order_amount(v, "foodCost", dollars).map(Some),
    };
    let distance = request.distance.map(hundredths_from_miles);
    v.check(
        distance.is_none_or(|d| d.is_some()),
        "distance",
        "must be a number of miles from 0 to 100000",
    );
    let tip_cents = rules::order_amount(v, "tip", request.tip);
    let pickup = match &request.pickup_address {
        None => Some(None),
        Some(a) => addresses::validate(v, "pickupAddress", a).map(Some),
    };
    let delivery = match &request.delivery_address {
        None => Some(None),
        Some(a) => addresses::validate(v, "deliveryAddress", a).map(Some),
    };
    let slug = request.client_config.as_deref().unwrap_or(DEFAULT_CONFIG);
    v.check(is_slug(slug), "clientConfig", "is not a configuration name");
    Some(CheckedQuote {
        food_cost_cents: food_cost_cents?,
        distance: distance.flatten(),
        tip_cents: tip_cents?,
        pickup: pickup?,
        delivery: delivery?,
    })
}

/// Prices the request with the named (or default) configuration and records the quote.
/// Only callers who may read the configurations price with one other than the default.
#[tracing::instrument(name = "price_quote", skip_all)]
pub async fn quote(
    state: &AppState,
    client: &impl GenericClient,
    request: &QuoteRequest,
    caller: &Caller,
) -> ApiResult<QuoteResponse> {
    let checked = Validator::validate(|v| check(v, request))?;
    let slug = request.client_config.as_deref().unwrap_or(DEFAULT_CONFIG);
    if slug != DEFAULT_CONFIG && !caller.can(Permission::ViewPricing) {
        return Err(ApiError::forbidden(
            "only staff price with another configuration",
        ));
    }
    let (pickup, delivery) = (checked.pickup, checked.delivery);
    let distance = checked.distance;
    let food_cost_cents = checked.food_cost_cents;
    let tip_cents = checked.tip_cents;
    let user_id = Some(caller.user_id);
    let config = state.pricing.active(client, slug).await?;

    let (distance_hundredths, needs_manual_review) = match (distance, &pickup, &delivery) {
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
            geo::route_distance(state, a, b).await
        }
        _ => (geo::FALLBACK_DISTANCE_HUNDREDTHS, true),
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
        food_cost_cents,
        distance_hundredths,
        crosses_toll_bridge: crosses_bridge,
        same_day_drives: request.same_day_drives,
        tip_cents,
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
        .col("id")?;
    Ok(QuoteResponse {
        quote_id,
        delivery_fee: dollars(priced.delivery_fee_cents),
        total: dollars(priced.delivery_fee_cents + priced.tip_cents),
        breakdown,
        distance: miles(distance_hundredths),
        needs_manual_review,
        head_count_tier: priced.head_count_tier,
        food_cost_tier: priced.food_cost_tier,
        configuration: serde_json::json!({ "slug": config.slug, "version": config.version, "name": config.name }),
    })
}
