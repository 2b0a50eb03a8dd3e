//! The configuration model (a versioned configuration and its tiers, as stored) and the
//! per-container cache of the active versions.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use serde::Serialize;
use uuid::Uuid;

use super::load::load_active;
use crate::{
    db::{FromRow, GenericClient},
    error::ApiResult,
};

/// Configurations are re-read after this long, so an admin's new version reaches every
/// container within five minutes.
pub const CACHE_TTL: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Tier {
    pub tier_number: i32,
    pub min_head_count: i32,
    pub max_head_count: Option<i32>,
    pub min_food_cost_cents: i64,
    pub max_food_cost_cents: Option<i64>,
    pub within_fee_cents: Option<i64>,
    pub beyond_fee_cents: Option<i64>,
    /// A percentage of food cost instead of a fixed fee (1000 = 10%).
    pub food_cost_basis_points: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct PricingConfig {
    pub id: Uuid,
    pub slug: String,
    pub version: i32,
    pub name: String,
    #[row(rename = "threshold_hundredths")]
    pub distance_threshold_hundredths: i64,
    pub mileage_rate_cents: i64,
    pub minimum_fee_cents: i64,
    pub bridge_toll_cents: i64,
    pub charge_bridge_toll: bool,
    pub beyond_threshold_uses_within_fee: bool,
    pub daily_drive_discount_cents: i64,
    /// Read from its own table.
    #[row(skip)]
    pub tiers: Vec<Tier>,
}

/// A configuration and when it was read.
type CacheEntry = (Instant, Arc<PricingConfig>);

/// Active configurations by slug, cached per container for [`CACHE_TTL`].
#[derive(Clone, Default)]
pub struct PricingCache {
    entries: Arc<RwLock<HashMap<String, CacheEntry>>>,
}

impl PricingCache {
    pub async fn active(
        &self,
        client: &impl GenericClient,
        slug: &str,
    ) -> ApiResult<Arc<PricingConfig>> {
        if let Some(config) = self.cached(slug) {
            return Ok(config);
        }
        let config = Arc::new(load_active(client, slug).await?);
        if let Ok(mut entries) = self.entries.write() {
            entries.insert(slug.to_owned(), (Instant::now(), Arc::clone(&config)));
        }
        Ok(config)
    }

    fn cached(&self, slug: &str) -> Option<Arc<PricingConfig>> {
        let entries = self.entries.read().ok()?;
        let (at, config) = entries.get(slug)?;
        (at.elapsed() < CACHE_TTL).then(|| Arc::clone(config))
    }

    /// Forgets a configuration (after this container saved a new version of it).
    pub fn invalidate(&self, slug: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(slug);
        }
    }
}
