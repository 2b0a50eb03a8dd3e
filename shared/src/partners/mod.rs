//! API partners (CaterValley, CaterCow): authentication by `partner` + `x-api-key`
//! headers. Keys are random and long, so a SHA-256 of the key is stored (never the key)
//! and compared in constant time. Failed authentications count per client IP
//! ([`RateClass::PartnerAuthFailures`]); an IP past that budget gets 429, even with the
//! right key, until its window ends.
//!
//! - [`keys`]: rotating a partner's key, the replaced one valid for an overlap.
//! - [`orders`]: the partner order routes.
//! - [`subscriptions`]: which webhook events each partner hears.

pub mod keys;
pub mod orders;
pub mod subscriptions;

use lambda_http::Request;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::{
    db::{p, FromRow, RowExt},
    error::{ApiError, ApiResult},
    identity::RequestIdentity,
    ratelimit::{self, RateClass},
    AppState,
};

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
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
            ratelimit::charge(
                state,
                ratelimit::Drawn::of(req),
                RateClass::PartnerAuthFailures,
                &failures_key,
            )
            .await?;
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
            "SELECT id, slug, name, order_prefix, pricing_config_slug, user_id, webhook_url, webhook_secret_ref,
                    api_key_hash,
                    CASE WHEN previous_key_valid_until > now() THEN previous_api_key_hash END AS previous_hash
             FROM api_partners WHERE slug = $1 AND is_active",
            &[p(&claim.slug)],
        )
        .await?;
    // Compare with both keys even for an unknown partner, so timing reveals nothing.
    let unknown = "0".repeat(64);
    let (stored, previous): (String, Option<String>) = match &row {
        Some(row) => (row.col("api_key_hash")?, row.col("previous_hash")?),
        None => (unknown.clone(), None),
    };
    let presented = claim.key_hash.as_bytes();
    let current = bool::from(presented.ct_eq(stored.as_bytes()));
    let replaced =
        bool::from(presented.ct_eq(previous.as_deref().unwrap_or(unknown.as_str()).as_bytes()))
            && previous.is_some();
    let (Some(row), true) = (row, current || replaced) else {
        return Ok(None);
    };
    if replaced {
        // Operators watch for these to end before the overlap does.
        tracing::info!(partner = %claim.slug, "partner authenticated with its replaced key");
    }
    // A partner without an owning account is a 500 naming `user_id`.
    Partner::from_row(&row).map(Some)
}
