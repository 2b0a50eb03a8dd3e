//! API partners (CaterValley, CaterCow): authentication by `partner` + `x-api-key`
//! headers. Keys are random and long, so a SHA-256 of the key is stored (never the key)
//! and compared in constant time.

pub mod orders;

use lambda_http::Request;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::{
    db::p,
    error::{ApiError, ApiResult},
    http::header,
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

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The partner slug a request names, if it is shaped like one (for rate-limit and
/// idempotency scopes, before authentication).
pub fn claimed_slug(req: &Request) -> Option<String> {
    let slug = header(req.headers(), "partner")?
        .trim()
        .to_ascii_lowercase();
    (2..=40).contains(&slug.len()).then_some(slug).filter(|s| {
        s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    })
}

/// The partner whose `x-api-key` the request carries; 401 otherwise, without saying which
/// header was wrong.
pub async fn authenticate(state: &AppState, req: &Request) -> ApiResult<Partner> {
    let refused = || ApiError::unauthorized("invalid partner credentials");
    let slug = claimed_slug(req).ok_or_else(refused)?;
    let key = header(req.headers(), "x-api-key")
        .filter(|k| !k.is_empty() && k.len() <= 256)
        .ok_or_else(refused)?;
    let client = state.db.get().await?;
    let row = client
        .query_typed_opt(
            "SELECT id, slug, name, order_prefix, pricing_config_slug, user_id, webhook_url, webhook_secret_ref, api_key_hash
             FROM api_partners WHERE slug = $1 AND is_active",
            &[p(&slug)],
        )
        .await?;
    // Hash and compare even for an unknown partner, so timing reveals nothing.
    let presented = hash_key(key);
    let stored: String = row
        .as_ref()
        .map(|r| r.get(8))
        .unwrap_or_else(|| "0".repeat(64));
    let matches = bool::from(presented.as_bytes().ct_eq(stored.as_bytes()));
    let (Some(row), true) = (row, matches) else {
        return Err(refused());
    };
    let user_id: Option<Uuid> = row.get(5);
    Ok(Partner {
        id: row.get(0),
        slug: row.get(1),
        name: row.get(2),
        order_prefix: row.get(3),
        pricing_config_slug: row.get(4),
        user_id: user_id
            .ok_or_else(|| ApiError::internal(format!("partner {slug} has no owning account")))?,
        webhook_url: row.get(6),
        webhook_secret_ref: row.get(7),
    })
}
