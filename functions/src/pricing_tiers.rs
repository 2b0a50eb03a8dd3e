//! `GET | PUT /api/pricing/tiers`: pricing configurations.
//!
//! GET shows the active version of one configuration (`?config=catervalley`) or of all.
//! PUT (ADMIN, SUPER_ADMIN) publishes a new version of a configuration: the old version
//! stays for the quotes and orders that used it, and every container picks up the new one
//! within the pricing cache's five minutes.

use lambda_http::{http::Method, Body, Request, Response};
use serde::Deserialize;
use shared::{
    auth::{caller, Caller, Permission},
    db::p,
    http::{created, ok},
    input::{bounded_text, parse_json, query_param, Validator},
    pricing::{hundredths_from_miles, load_active},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiError, ApiResult, AppState,
};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(tiers(state, req))
}

async fn tiers(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::QuotePrices)?;
    if req.method() == Method::PUT {
        return publish(state, &caller, &req).await;
    }
    let client = state.db.get().await?;
    let slugs: Vec<String> = match query_param(&req, "config") {
        Some(slug) => vec![slug.to_owned()],
        None => client
            .query_typed(
                "SELECT slug FROM pricing_configurations WHERE is_active ORDER BY slug",
                &[],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect(),
    };
    let mut configurations = Vec::with_capacity(slugs.len());
    for slug in &slugs {
        configurations.push(load_active(&*client, slug).await?);
    }
    ok(&serde_json::json!({ "configurations": configurations }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewConfiguration {
    slug: String,
    name: String,
    distance_threshold: f64,
    mileage_rate: f64,
    minimum_fee: f64,
    #[serde(default)]
    bridge_toll: f64,
    #[serde(default)]
    charge_bridge_toll: bool,
    beyond_threshold_uses_within_fee: bool,
    #[serde(default)]
    daily_drive_discount: f64,
    tiers: Vec<NewTier>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewTier {
    tier_number: i32,
    min_head_count: i32,
    max_head_count: Option<i32>,
    min_food_cost: f64,
    max_food_cost: Option<f64>,
    within_fee: Option<f64>,
    beyond_fee: Option<f64>,
    /// Percent of food cost, for open-ended tiers (10 = 10%).
    food_cost_percent: Option<f64>,
}

async fn publish(state: &AppState, caller: &Caller, req: &Request) -> ApiResult<Response<Body>> {
    caller.require(Permission::ManagePricing)?;
    let body: NewConfiguration = parse_json(req)?;
    let mut v = Validator::new();
    let slug_ok = !body.slug.is_empty()
        && body.slug.len() <= 40
        && body
            .slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    v.check(slug_ok, "slug", "must be 1 to 40 of a-z, 0-9 and -");
    let name = v.take(bounded_text("name", &body.name, 1, 100, false));
    const MAX_FEE_DOLLARS: i64 = 100_000;
    let money =
        |v: &mut Validator, field: &str, dollars: f64| v.amount(field, dollars, MAX_FEE_DOLLARS);
    // The column holds up to 9999.99 miles.
    let threshold = hundredths_from_miles(body.distance_threshold).filter(|h| *h <= 999_999);
    v.check(
        threshold.is_some(),
        "distanceThreshold",
        "must be a number of miles from 0 to 9999.99",
    );
    let rate = money(&mut v, "mileageRate", body.mileage_rate);
    let minimum = money(&mut v, "minimumFee", body.minimum_fee);
    let toll = money(&mut v, "bridgeToll", body.bridge_toll);
    let discount = money(&mut v, "dailyDriveDiscount", body.daily_drive_discount);
    v.check(
        !body.tiers.is_empty() && body.tiers.len() <= 20,
        "tiers",
        "must have 1 to 20 tiers",
    );
    let mut tiers = Vec::new();
    for (i, tier) in body.tiers.iter().enumerate() {
        let field = |name: &str| format!("tiers[{i}].{name}");
        v.check(
            tier.tier_number >= 1
                && body
                    .tiers
                    .iter()
                    .filter(|t| t.tier_number == tier.tier_number)
                    .count()
                    == 1,
            &field("tierNumber"),
            "must be unique and at least 1",
        );
        v.check(
            tier.min_head_count >= 0
                && tier.max_head_count.is_none_or(|m| m >= tier.min_head_count),
            &field("maxHeadCount"),
            "must not be below minHeadCount",
        );
        let min_food = money(&mut v, &field("minFoodCost"), tier.min_food_cost);
        let max_food = tier
            .max_food_cost
            .and_then(|m| money(&mut v, &field("maxFoodCost"), m));
        let within = tier
            .within_fee
            .and_then(|f| money(&mut v, &field("withinFee"), f));
        let beyond = tier
            .beyond_fee
            .and_then(|f| money(&mut v, &field("beyondFee"), f));
        let basis_points = tier.food_cost_percent.map(|p| (p * 100.0).round());
        v.check(
            basis_points.is_none_or(|bp| (0.0..=10_000.0).contains(&bp)),
            &field("foodCostPercent"),
            "must be from 0 to 100",
        );
        v.check(
            within.is_some() || basis_points.is_some(),
            &field("withinFee"),
            "give withinFee or foodCostPercent",
        );
        v.check(
            max_food.is_none_or(|m| Some(m) >= min_food),
            &field("maxFoodCost"),
            "must not be below minFoodCost",
        );
        tiers.push((
            tier,
            min_food,
            max_food,
            within,
            beyond,
            basis_points.map(|bp| bp as i32),
        ));
    }
    v.finish()?;
    let (Some(threshold), Some(rate), Some(minimum), Some(toll), Some(discount)) =
        (threshold, rate, minimum, toll, discount)
    else {
        return Err(ApiError::internal("validated values missing"));
    };

    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    // Serialise publishers of one configuration: the version number is read then written.
    tx.execute_typed(
        "SELECT pg_advisory_xact_lock(hashtext($1))",
        &[p(&body.slug)],
    )
    .await?;
    let version: i32 = tx
        .query_typed_one(
            "SELECT coalesce(max(version), 0) + 1 FROM pricing_configurations WHERE slug = $1",
            &[p(&body.slug)],
        )
        .await?
        .get(0);
    tx.execute_typed(
        "UPDATE pricing_configurations SET is_active = false WHERE slug = $1 AND is_active",
        &[p(&body.slug)],
    )
    .await?;
    let threshold_miles = threshold as f64 / 100.0;
    let id: uuid::Uuid = tx
        .query_typed_one(
            "INSERT INTO pricing_configurations (slug, version, name, is_active, distance_threshold_miles, mileage_rate_cents,
                 minimum_fee_cents, bridge_toll_cents, charge_bridge_toll, beyond_threshold_uses_within_fee,
                 daily_drive_discount_cents, created_by)
             VALUES ($1, $2, $3, true, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            &[
                p(&body.slug), p(&version), p(&name), p(&threshold_miles), p(&rate), p(&minimum), p(&toll),
                p(&body.charge_bridge_toll), p(&body.beyond_threshold_uses_within_fee), p(&discount), p(&caller.user_id),
            ],
        )
        .await?
        .get(0);
    for (tier, min_food, max_food, within, beyond, basis_points) in &tiers {
        tx.execute_typed(
            "INSERT INTO pricing_tiers (configuration_id, tier_number, min_head_count, max_head_count, min_food_cost_cents,
                 max_food_cost_cents, within_fee_cents, beyond_fee_cents, food_cost_basis_points)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[p(&id), p(&tier.tier_number), p(&tier.min_head_count), p(&tier.max_head_count), p(&min_food.unwrap_or(0)), p(max_food), p(within), p(beyond), p(basis_points)],
        )
        .await?;
    }
    let saved = load_active(&tx, &body.slug).await?;
    tx.commit().await?;
    state.pricing.invalidate(&body.slug);
    tracing::info!(slug = %body.slug, version, by = %caller.user_id, "pricing configuration published");
    created(&serde_json::json!({ "configuration": saved }))
}
