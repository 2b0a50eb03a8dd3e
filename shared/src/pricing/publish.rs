//! Publishing a new version of a pricing configuration: the old version stays for the
//! quotes and orders that used it, and every container picks up the new one within the
//! pricing cache's five minutes.

use serde::Deserialize;
use uuid::Uuid;

use super::{load_active, PricingConfig};
use crate::{
    auth::Caller,
    db::{p, RowExt},
    input::Validator,
    money::hundredths_from_miles,
    ApiResult, AppState,
};

/// Largest fee, rate or minimum a configuration may set, in dollars.
pub const MAX_FEE_DOLLARS: i64 = 100_000;
/// Tiers a configuration may have.
pub const MAX_TIERS: usize = 20;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewConfiguration {
    pub slug: String,
    pub name: String,
    pub distance_threshold: f64,
    pub mileage_rate: f64,
    pub minimum_fee: f64,
    #[serde(default)]
    pub bridge_toll: f64,
    #[serde(default)]
    pub charge_bridge_toll: bool,
    pub beyond_threshold_uses_within_fee: bool,
    #[serde(default)]
    pub daily_drive_discount: f64,
    pub tiers: Vec<NewTier>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewTier {
    pub tier_number: i32,
    pub min_head_count: i32,
    pub max_head_count: Option<i32>,
    pub min_food_cost: f64,
    pub max_food_cost: Option<f64>,
    pub within_fee: Option<f64>,
    pub beyond_fee: Option<f64>,
    /// Percent of food cost, for open-ended tiers (10 = 10%).
    pub food_cost_percent: Option<f64>,
}

struct CheckedTier {
    tier_number: i32,
    min_head_count: i32,
    max_head_count: Option<i32>,
    min_food_cents: i64,
    max_food_cents: Option<i64>,
    within_cents: Option<i64>,
    beyond_cents: Option<i64>,
    basis_points: Option<i32>,
}

struct CheckedConfiguration {
    name: String,
    threshold_hundredths: i64,
    rate_cents: i64,
    minimum_cents: i64,
    toll_cents: i64,
    discount_cents: i64,
    tiers: Vec<CheckedTier>,
}

/// Whether a slug names a configuration: 1 to 40 of `a-z`, `0-9` and `-`.
pub fn is_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 40
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Dollars (or `None`) as cents within [`MAX_FEE_DOLLARS`]; `Some(None)` when absent.
fn optional_money(v: &mut Validator, field: &str, dollars: Option<f64>) -> Option<Option<i64>> {
    match dollars {
        None => Some(None),
        Some(d) => v.amount(field, d, MAX_FEE_DOLLARS).map(Some),
    }
}

fn check_tier(v: &mut Validator, i: usize, tier: &NewTier, all: &[NewTier]) -> Option<CheckedTier> {
    let field = |name: &str| format!("tiers[{i}].{name}");
    v.check(
        tier.tier_number >= 1
            && all
                .iter()
                .filter(|t| t.tier_number == tier.tier_number)
                .count()
                == 1,
        &field("tierNumber"),
        "must be unique and at least 1",
    );
    v.check(
        tier.min_head_count >= 0 && tier.max_head_count.is_none_or(|m| m >= tier.min_head_count),
        &field("maxHeadCount"),
        "must not be below minHeadCount",
    );
    let min_food = v.amount(&field("minFoodCost"), tier.min_food_cost, MAX_FEE_DOLLARS);
    let max_food = optional_money(v, &field("maxFoodCost"), tier.max_food_cost);
    let within = optional_money(v, &field("withinFee"), tier.within_fee);
    let beyond = optional_money(v, &field("beyondFee"), tier.beyond_fee);
    let basis_points = tier.food_cost_percent.map(|p| (p * 100.0).round());
    v.check(
        basis_points.is_none_or(|bp| (0.0..=10_000.0).contains(&bp)),
        &field("foodCostPercent"),
        "must be from 0 to 100",
    );
    v.check(
        tier.within_fee.is_some() || basis_points.is_some(),
        &field("withinFee"),
        "give withinFee or foodCostPercent",
    );
    v.check(
        tier.max_food_cost.is_none_or(|m| m >= tier.min_food_cost),
        &field("maxFoodCost"),
        "must not be below minFoodCost",
    );
    Some(CheckedTier {
        tier_number: tier.tier_number,
        min_head_count: tier.min_head_count,
        max_head_count: tier.max_head_count,
        min_food_cents: min_food?,
        max_food_cents: max_food?,
        within_cents: within?,
        beyond_cents: beyond?,
        basis_points: basis_points.map(|bp| bp as i32),
    })
}

fn check(v: &mut Validator, body: &NewConfiguration) -> Option<CheckedConfiguration> {
    v.check(
        is_slug(&body.slug),
        "slug",
        "must be 1 to 40 of a-z, 0-9 and -",
    );
    let name = v.text("name", &body.name, 100);
    // The column holds up to 9999.99 miles.
    let threshold = hundredths_from_miles(body.distance_threshold).filter(|h| *h <= 999_999);
    v.check(
        threshold.is_some(),
        "distanceThreshold",
        "must be a number of miles from 0 to 9999.99",
    );
    let rate = v.amount("mileageRate", body.mileage_rate, MAX_FEE_DOLLARS);
    let minimum = v.amount("minimumFee", body.minimum_fee, MAX_FEE_DOLLARS);
    let toll = v.amount("bridgeToll", body.bridge_toll, MAX_FEE_DOLLARS);
    let discount = v.amount(
        "dailyDriveDiscount",
        body.daily_drive_discount,
        MAX_FEE_DOLLARS,
    );
    v.check(
        !body.tiers.is_empty() && body.tiers.len() <= MAX_TIERS,
        "tiers",
        "must have 1 to 20 tiers",
    );
    let tiers: Vec<Option<CheckedTier>> = body
        .tiers
        .iter()
        .enumerate()
        .map(|(i, tier)| check_tier(v, i, tier, &body.tiers))
        .collect();
    Some(CheckedConfiguration {
        name: name?,
        threshold_hundredths: threshold?,
        rate_cents: rate?,
        minimum_cents: minimum?,
        toll_cents: toll?,
        discount_cents: discount?,
        tiers: tiers.into_iter().collect::<Option<Vec<_>>>()?,
    })
}

/// Publishes `body` as the next version of its configuration, in one transaction, and
/// returns it as now active.
pub async fn publish(
    state: &AppState,
    caller: &Caller,
    body: &NewConfiguration,
) -> ApiResult<PricingConfig> {
    let checked = Validator::validate(|v| check(v, body))?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    // Serialise publishers of one configuration: the version number is read then written.
    tx.execute_typed(
        "SELECT pg_advisory_xact_lock(hashtext($1))",
        &[p(&body.slug)],
    )
    .await?;
    let previous = load_active(&tx, &body.slug).await.ok();
    let version: i32 = tx
        .query_typed_one(
            "SELECT coalesce(max(version), 0) + 1 AS version FROM pricing_configurations WHERE slug = $1",
            &[p(&body.slug)],
        )
        .await?
        .col("version")?;
    tx.execute_typed(
        "UPDATE pricing_configurations SET is_active = false WHERE slug = $1 AND is_active",
        &[p(&body.slug)],
    )
    .await?;
    let threshold_miles = crate::money::miles(checked.threshold_hundredths);
    let id: Uuid = tx
        .query_typed_one(
            "INSERT INTO pricing_configurations (slug, version, name, is_active, distance_threshold_miles, mileage_rate_cents,
                 minimum_fee_cents, bridge_toll_cents, charge_bridge_toll, beyond_threshold_uses_within_fee,
                 daily_drive_discount_cents, created_by)
             VALUES ($1, $2, $3, true, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            &[
                p(&body.slug), p(&version), p(&checked.name), p(&threshold_miles), p(&checked.rate_cents),
                p(&checked.minimum_cents), p(&checked.toll_cents), p(&body.charge_bridge_toll),
                p(&body.beyond_threshold_uses_within_fee), p(&checked.discount_cents), p(&caller.user_id),
            ],
        )
        .await?
        .col("id")?;
    for tier in &checked.tiers {
        tx.execute_typed(
            "INSERT INTO pricing_tiers (configuration_id, tier_number, min_head_count, max_head_count, min_food_cost_cents,
                 max_food_cost_cents, within_fee_cents, beyond_fee_cents, food_cost_basis_points)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                p(&id), p(&tier.tier_number), p(&tier.min_head_count), p(&tier.max_head_count), p(&tier.min_food_cents),
                p(&tier.max_food_cents), p(&tier.within_cents), p(&tier.beyond_cents), p(&tier.basis_points),
            ],
        )
        .await?;
    }
    let saved = load_active(&tx, &body.slug).await?;
    let before = previous
        .map(serde_json::to_value)
        .transpose()?
        .unwrap_or(serde_json::Value::Null);
    let changes = crate::audit::diff(&before, &serde_json::to_value(&saved)?);
    crate::audit::record(
        &tx,
        crate::audit::Entity::PricingConfiguration,
        id,
        "PUBLISH",
        caller.user_id,
        changes,
        None,
    )
    .await?;
    tx.commit().await?;
    state.pricing.invalidate(&body.slug);
    tracing::info!(slug = %body.slug, version, by = %caller.user_id, "pricing configuration published");
    Ok(saved)
}

/// The active version of every configuration, by slug.
pub async fn active_configurations(
    client: &impl crate::db::GenericClient,
    slug: Option<&str>,
) -> ApiResult<Vec<PricingConfig>> {
    let slugs: Vec<String> = match slug {
        Some(slug) => vec![slug.to_owned()],
        None => client
            .query_typed(
                "SELECT slug FROM pricing_configurations WHERE is_active ORDER BY slug",
                &[],
            )
            .await?
            .iter()
            .map(|r| r.col("slug"))
            .collect::<ApiResult<_>>()?,
    };
    let mut configurations = Vec::with_capacity(slugs.len());
    for slug in &slugs {
        configurations.push(load_active(client, slug).await?);
    }
    Ok(configurations)
}
