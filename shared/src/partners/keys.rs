//! Rotating a partner's API key (the `partner-key-rotate` ops job). A new random key
//! replaces the stored one at once; the replaced key keeps working for the overlap asked
//! for (a week unless told), so the partner switches without a refused call. Only the
//! new key's hash is stored: the key itself is answered once, to the operator.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Duration, Utc};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::{
    db::{p, RowExt},
    error::{ApiError, ApiResult, Context, FieldError},
    identity::hash_key,
    AppState,
};

/// The longest overlap: a partner that has not switched in a month is called, not waited for.
pub const MAX_OVERLAP_HOURS: i64 = 24 * 30;
const DEFAULT_OVERLAP_HOURS: i64 = 24 * 7;

/// The job's event: `{partner, overlapHours?, force?}` (0 ends the replaced key at
/// once). While a key replaced earlier is still valid a rotation is refused, so a rerun
/// cannot end the partner's working key at once, unless `force` says so.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rotation {
    pub partner: String,
    pub overlap_hours: Option<i64>,
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rotated {
    pub partner: String,
    /// The new key, shown only here.
    pub api_key: String,
    /// Until when the replaced key is still accepted.
    pub previous_key_valid_until: DateTime<Utc>,
}

fn new_key() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!("rs_{}", URL_SAFE_NO_PAD.encode(bytes))
}

pub async fn rotate(state: &AppState, rotation: &Rotation) -> ApiResult<Rotated> {
    let hours = rotation.overlap_hours.unwrap_or(DEFAULT_OVERLAP_HOURS);
    if !(0..=MAX_OVERLAP_HOURS).contains(&hours) {
        return Err(ApiError::validation(vec![FieldError::new(
            "overlapHours",
            format!("must be from 0 to {MAX_OVERLAP_HOURS}"),
        )]));
    }
    let key = new_key();
    let valid_until = Utc::now() + Duration::hours(hours);
    let client = state.db.get().await?;
    let row = client
        .query_typed_opt(
            "UPDATE api_partners
                SET previous_api_key_hash = api_key_hash, previous_key_valid_until = $3,
                    api_key_hash = $2
              WHERE slug = $1
                AND ($4 OR previous_key_valid_until IS NULL OR previous_key_valid_until <= now())
              RETURNING slug",
            &[
                p(&rotation.partner),
                p(&hash_key(&key)),
                p(&valid_until),
                p(&rotation.force),
            ],
        )
        .await
        .context("rotating the partner key")?;
    let Some(row) = row else {
        let overlap: Option<DateTime<Utc>> = client
            .query_typed_opt(
                "SELECT previous_key_valid_until FROM api_partners WHERE slug = $1",
                &[p(&rotation.partner)],
            )
            .await?
            .ok_or_else(|| ApiError::not_found("partner"))?
            .col("previous_key_valid_until")?;
        return Err(ApiError::conflict(
            "rotation_in_progress",
            format!(
                "the key replaced last is valid until {}; wait for it or send force",
                overlap.map(|t| t.to_rfc3339()).unwrap_or_default()
            ),
        ));
    };
    let partner: String = row.col("slug")?;
    tracing::info!(partner = %partner, previous_key_valid_until = %valid_until, "partner key rotated");
    Ok(Rotated {
        partner,
        api_key: key,
        previous_key_valid_until: valid_until,
    })
}
