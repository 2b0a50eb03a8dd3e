//! Quoting a delivery for a caller: where the distance comes from, which configuration
//! prices it, and the record every quote leaves.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{calculate, crosses_toll_bridge, publish::is_slug, PricingConfig, Quote, QuoteInput};
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
    let slug = configuration_slug(request, caller)?;
    let config = state.pricing.active(client, slug).await?;
    let (distance_hundredths, needs_manual_review) = distance(state, client, &checked).await?;
    let input = QuoteInput {
        head_count: request.head_count,
        food_cost_cents: checked.food_cost_cents,
        distance_hundredths,
        crosses_toll_bridge: crosses_bridge(request, &checked),
        same_day_drives: request.same_day_drives,
        tip_cents: checked.tip_cents,
    };
    let priced = calculate(&config, &input)?;
    let quote_id = record(client, &config, caller.user_id, &input, &priced).await?;
    Ok(response(quote_id, &config, &priced, needs_manual_review))
}

/// The configuration the request names, or the default; another one only for callers
/// who may read the configurations (a 403 for the others).
fn configuration_slug<'a>(request: &'a QuoteRequest, caller: &Caller) -> ApiResult<&'a str> {
    let slug = request.client_config.as_deref().unwrap_or(DEFAULT_CONFIG);
    if slug != DEFAULT_CONFIG && !caller.can(Permission::ViewPricing) {
        return Err(ApiError::forbidden(
            "only staff price with another configuration",
        ));
    }
    Ok(slug)
}

/// The distance to price and whether the quote needs a manual review: the distance the
/// request gives, else the driving distance between its two addresses, else (either
/// address missing or unknown) the fallback distance, flagged.
async fn distance(
    state: &AppState,
    client: &impl GenericClient,
    checked: &CheckedQuote,
) -> ApiResult<(i64, bool)> {
    match (checked.distance, &checked.pickup, &checked.delivery) {
        (Some(d), _, _) => Ok((d, false)),
        (None, Some(from), Some(to)) => {
            let (a, b) = (
                place(state, client, from).await?,
                place(state, client, to).await?,
            );
            Ok(geo::route_distance(state, a, b).await)
        }
        _ => Ok((geo::FALLBACK_DISTANCE_HUNDREDTHS, true)),
    }
}

/// Where an address is, as the geocoder places it; `None` when nothing is known of it.
async fn place(
    state: &AppState,
    client: &impl GenericClient,
    address: &addresses::ValidAddress,
) -> ApiResult<Option<geo::Point>> {
    let query = AddressQuery {
        street: &address.street1,
        city: &address.city,
        state: &address.state,
        zip: address.zip.as_deref(),
    };
    let placed = geo::geocode(state, client, &query).await?;
    Ok(placed.map(|(point, _)| point))
}

/// Whether the delivery crosses a toll bridge: as the request says, else as its two
/// addresses' cities and counties tell; without both addresses, no.
fn crosses_bridge(request: &QuoteRequest, checked: &CheckedQuote) -> bool {
    request
        .crosses_bridge
        .unwrap_or_else(|| match (&checked.pickup, &checked.delivery) {
            (Some(a), Some(b)) => {
                crosses_toll_bridge(&a.city, &b.city, a.county.as_deref(), b.county.as_deref())
            }
            _ => false,
        })
}

/// Records the quote (its inputs and breakdown, and the configuration version that
/// priced it) and returns its id: every price shown can be traced to its rules.
#[tracing::instrument(name = "record_quote", skip_all, fields(configuration_id = %config.id))]
async fn record(
    client: &impl GenericClient,
    config: &PricingConfig,
    user_id: Uuid,
    input: &QuoteInput,
    priced: &Quote,
) -> ApiResult<Uuid> {
    let user_id = Some(user_id);
    let inputs = serde_json::json!({
        "headCount": input.head_count, "foodCostCents": input.food_cost_cents,
        "distanceHundredths": input.distance_hundredths, "crossesTollBridge": input.crosses_toll_bridge,
        "sameDayDrives": input.same_day_drives, "tipCents": input.tip_cents,
    });
    let recorded = serde_json::to_value(priced)?;
    client
        .query_typed_one(
            "INSERT INTO pricing_quotes (configuration_id, user_id, inputs, breakdown, delivery_fee_cents)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[p(&config.id), p(&user_id), p(&inputs), p(&recorded), p(&priced.delivery_fee_cents)],
        )
        .await?
        .col("id")
}

/// The quote as clients read it: dollars, and the configuration that priced it.
fn response(
    quote_id: Uuid,
    config: &PricingConfig,
    priced: &Quote,
    needs_manual_review: bool,
) -> QuoteResponse {
    QuoteResponse {
        quote_id,
        delivery_fee: dollars(priced.delivery_fee_cents),
        total: dollars(priced.delivery_fee_cents + priced.tip_cents),
        breakdown: Breakdown {
            base_price: dollars(priced.base_cents),
            mileage_fee: dollars(priced.mileage_cents),
            daily_drive_discount: dollars(priced.daily_drive_discount_cents),
            bridge_toll: dollars(priced.bridge_toll_cents),
            tip: dollars(priced.tip_cents),
        },
        distance: miles(priced.distance_hundredths),
        needs_manual_review,
        head_count_tier: priced.head_count_tier,
        food_cost_tier: priced.food_cost_tier,
        configuration: serde_json::json!({ "slug": config.slug, "version": config.version, "name": config.name }),
    }
}
