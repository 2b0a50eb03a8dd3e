//! Loading the active version of a configuration, with its tiers, from the database.

use super::{PricingConfig, Tier};
use crate::{
    db::{p, FromRow, GenericClient},
    error::{ApiError, ApiResult},
};

/// The active version of a configuration, with its tiers.
#[tracing::instrument(skip(client))]
pub async fn load_active(client: &impl GenericClient, slug: &str) -> ApiResult<PricingConfig> {
    let row = client
        .query_typed_opt(
            "SELECT id, slug, version, name, (distance_threshold_miles * 100)::bigint AS threshold_hundredths,
                    mileage_rate_cents, minimum_fee_cents, bridge_toll_cents, charge_bridge_toll,
                    beyond_threshold_uses_within_fee, daily_drive_discount_cents
             FROM pricing_configurations WHERE slug = $1 AND is_active",
            &[p(&slug)],
        )
        .await?
        .ok_or_else(|| ApiError::not_found("pricing configuration"))?;
    let mut config = PricingConfig::from_row(&row)?;
    config.tiers = client
        .query_typed(
            "SELECT tier_number, min_head_count, max_head_count, min_food_cost_cents, max_food_cost_cents,
                    within_fee_cents, beyond_fee_cents, food_cost_basis_points
             FROM pricing_tiers WHERE configuration_id = $1 ORDER BY tier_number",
            &[p(&config.id)],
        )
        .await?
        .iter()
        .map(Tier::from_row)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(config)
}
