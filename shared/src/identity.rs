//! Who a request comes from, derived once per request by the runtime and shared by rate
//! limiting, idempotency scopes and partner authentication.
//!
//! - the signed-in user, as the authorizer vouched for it;
//! - the partner credentials the request presents (`partner` + `x-api-key`), as the slug
//!   and a SHA-256 of the key: claimed, not yet checked;
//! - the source IP as API Gateway saw it (never a client-supplied header).

use lambda_http::Request;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::http::{header, source_ip};

/// Partner credentials as presented: not yet checked against the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerClaim {
    pub slug: String,
    /// SHA-256 of the presented key, hex; what `api_partners.api_key_hash` stores.
    pub key_hash: String,
    /// Whether a key of a plausible length (1 to 256 bytes) was presented at all.
    pub key_present: bool,
}

impl PartnerClaim {
    /// The first 16 hex digits of the key hash: enough to keep one key's budget and
    /// idempotency keys apart from another's, too little to reveal the key.
    pub fn key_tag(&self) -> &str {
        &self.key_hash[..16]
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestIdentity {
    pub user_id: Option<Uuid>,
    pub partner: Option<PartnerClaim>,
    pub source_ip: Option<String>,
}

impl RequestIdentity {
    pub fn of(req: &Request) -> Self {
        Self {
            user_id: crate::auth::caller_id(req).and_then(|id| id.parse().ok()),
            partner: partner_claim(req),
            source_ip: source_ip(req),
        }
    }

    /// The identity the runtime stored on the request, or one derived now (a handler
    /// called without the runtime).
    pub fn from_request(req: &Request) -> Self {
        req.extensions()
            .get::<RequestIdentity>()
            .cloned()
            .unwrap_or_else(|| Self::of(req))
    }

    /// Whose idempotency keys these are: the user, else the partner key, else the IP.
    pub fn idempotency_scope(&self) -> String {
        if let Some(user) = self.user_id {
            return format!("user:{user}");
        }
        if let Some(partner) = &self.partner {
            return format!("partner:{}:{}", partner.slug, partner.key_tag());
        }
        format!("ip:{}", self.ip())
    }

    pub fn ip(&self) -> &str {
        self.source_ip.as_deref().unwrap_or("unknown")
    }
}

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The partner slug and key a request presents, when the slug is shaped like one.
fn partner_claim(req: &Request) -> Option<PartnerClaim> {
    let slug = header(req.headers(), "partner")?
        .trim()
        .to_ascii_lowercase();
    let shaped = (2..=40).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let key = header(req.headers(), "x-api-key").unwrap_or("");
    shaped.then(|| PartnerClaim {
        key_hash: hash_key(key),
        key_present: (1..=256).contains(&key.len()),
        slug,
    })
}
