//! API partners (CaterValley, CaterCow): authentication by `partner` + `x-api-key`
//! headers. Keys are random and long, so a SHA-256 of the key is stored (never the key)
//! and compared in constant time. Failed authentications count per client IP
//! ([`RateClass::PartnerAuthFailures`]); an IP past that budget gets 429, even with the
//! right key, until its window ends.

pub mod orders;

use lambda_http::Request;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::{
    db::{p, RowExt},
    error::{ApiError, ApiResult},
    identity::RequestIdentity,
    ratelimit::{self, RateClass},
    AppState,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub order_prefix: String,
    pub pricing_config_slug: String,
    /// The account that owns the partner's orders.
    pub user_id: Uuid,
    pub webhook_url: Option<String>,
    pub webhook_secret_ref: Option<String>,
}

/// The partner whose `x-api-key` the request carries; 401 otherwise, without saying which
/// header was wrong.
pub async fn authenticate(state: &AppState, req: &Request) -> ApiResult<Partner> {
    let identity = RequestIdentity::from_request(req);
    let failures_key = format!("ip:{}", identity.ip());
    if let Some(locked_out) =
        ratelimit::spent(state, req, RateClass::PartnerAuthFailures, &failures_key).await
    {
        return Err(locked_out);
    }
    match check_claim(state, &identity).await? {
        Some(partner) => Ok(partner),
        None => {
            ratelimit::charge(state, req, RateClass::PartnerAuthFailures, &failures_key).await?;
            Err(ApiError::unauthorized("invalid partner credentials"))
        }
    }
}

async fn check_claim(state: &AppState, identity: &RequestIdentity) -> ApiResult<Option<Partner>> {
    let Some(claim) = identity.partner.as_ref().filter(|c| c.key_present) else {
        return Ok(None);
    };
    let client = state.db.get().await?;
    let row = client
        .query_typed_opt(
            "SELECT id, slug, name, order_prefix, pricing_config_slug, user_id, webhook_url, webhook_secret_ref, api_key_hash
             FROM api_partners WHERE slug = $1 AND is_active",
            &[p(&claim.slug)],
        )
        .await?;
    // Compare even for an unknown partner, so timing reveals nothing.
    let stored: String = match &row {
        Some(row) => row.col("api_key_hash")?,
        None => "0".repeat(64),
    };
    let matches = bool::from(claim.key_hash.as_bytes().ct_eq(stored.as_bytes()));
    let (Some(row), true) = (row, matches) else {
        return Ok(None);
    };
    let user_id: Option<Uuid> = row.col("user_id")?;
    Ok(Some(Partner {
        id: row.col("id")?,
        slug: row.col("slug")?,
        name: row.col("name")?,
        order_prefix: row.col("order_prefix")?,
        pricing_config_slug: row.col("pricing_config_slug")?,
        user_id: user_id.ok_or_else(|| {
            ApiError::internal(format!("partner {} has no owning account", claim.slug))
        })?,
        webhook_url: row.col("webhook_url")?,
        webhook_secret_ref: row.col("webhook_secret_ref")?,
    }))
}
