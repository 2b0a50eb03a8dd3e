//! Idempotency keys (the model is Stripe's), in DynamoDB.
//!
//! A create sent with an `Idempotency-Key` header claims the key with one conditional
//! write, together with a fingerprint of the request. When the work has run, the response
//! is saved on the key. A retry with the same key and the same request gets that response
//! again (`x-idempotent-replay: true`); the same key with another request is a 422; a
//! retry while the first is still running is a 409. Keys live 24 hours. A claim whose
//! request died mid-way is taken over after [`LOCK_SECONDS`]; order creation also stores
//! the key on the order row, so even then no second order is made.

use http::{HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    dynamo::{self, Item},
    error::ApiError,
    text_enum::text_enum,
    AppState,
};

pub const HEADER: &str = "idempotency-key";
pub const REPLAY_HEADER: &str = "x-idempotent-replay";
pub const RETENTION_SECONDS: i64 = 24 * 3600;
/// Longer than any function's timeout: a claim older than this belongs to a dead request.
pub const LOCK_SECONDS: i64 = 60;

/// The request's idempotency key: 1 to 255 visible ASCII characters.
pub fn key(req: &Request) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(HEADER) else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or("").trim();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        ));
    }
    Ok(Some(key.to_owned()))
}

/// What identifies "the same request": method, path, query and body.
pub fn fingerprint(req: &Request) -> String {
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str());
    hasher.update(b"\n");
    hasher.update(req.uri().path());
    hasher.update(b"?");
    hasher.update(req.uri().query().unwrap_or(""));
    hasher.update(b"\n");
    hasher.update(crate::input::body_bytes(req, usize::MAX).unwrap_or(&[]));
    hex::encode(hasher.finalize())
}

/// The outcome of claiming a key.
pub enum Claim {
    /// First use: run the request, then [`complete`] or [`release`].
    Fresh,
    /// Already done: send this again.
    Replay(Response<Body>),
}

text_enum! {
    /// Where a claimed key stands.
    pub enum KeyState("idempotency key state") {
        InProgress = "IN_PROGRESS",
        Complete = "COMPLETE",
    }
}

/// A claimed key: `IDEMPOTENCY#<scope>#<key>` / `KEY`; the response is saved on it once
/// the work has run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyItem {
    pk: String,
    sk: String,
    state: KeyState,
    fingerprint: String,
    /// Seconds: after it, a claim still in progress belongs to a dead request.
    locked_until: i64,
    /// Seconds (the table's TTL attribute).
    expires_at: i64,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    content_type: Option<String>,
}

/// The key of a claim, as [`KeyItem`] spells it.
#[derive(Serialize)]
struct Key {
    pk: String,
    sk: &'static str,
}

fn item_key(scope: &str, key: &str) -> Result<Item, ApiError> {
    dynamo::to_item(&Key {
        pk: format!("IDEMPOTENCY#{scope}#{key}"),
        sk: "KEY",
    })
}

fn store_error(err: impl Into<crate::error::BoxError>) -> ApiError {
    ApiError::service_unavailable("the idempotency store is unavailable")
        .in_category(crate::error::Category::ExternalService)
        .with_source(err)
}

/// Claims `key` within `scope` for the request with `fingerprint`: [`Claim::Fresh`] when
/// the request is to run, the saved response when it already ran, and a 422 for a key
/// used by another request or a 409 while the first is still running.
#[tracing::instrument(name = "claim_idempotency_key", skip_all)]
pub async fn claim(
    state: &AppState,
    scope: &str,
    key: &str,
    fingerprint: &str,
    now: i64,
) -> Result<Claim, ApiError> {
    if put_claim(state, scope, key, fingerprint, now).await? {
        return Ok(Claim::Fresh);
    }
    // Gone since the claim failed (expired and removed): as for a different request.
    let Some(item) = read_claim(state, scope, key).await? else {
        return Err(reused());
    };
    if item.fingerprint != fingerprint {
        return Err(reused());
    }
    if item.state != KeyState::Complete {
        return Err(ApiError::conflict(
            "request_in_progress",
            "a request with this Idempotency-Key is still being processed; retry shortly",
        ));
    }
    Ok(Claim::Replay(replay(item)))
}

/// Writes the claim unless the key is taken, and says whether it did. One conditional
/// write, so two requests racing for a key cannot both win. The key is free when it was
/// never used, has expired, or is held for the same request by a claim past its lock
/// ([`LOCK_SECONDS`]), which belongs to a dead request.
#[tracing::instrument(name = "put_idempotency_claim", skip_all)]
async fn put_claim(
    state: &AppState,
    scope: &str,
    key: &str,
    fingerprint: &str,
    now: i64,
) -> Result<bool, ApiError> {
    let item = dynamo::to_item(&KeyItem {
        pk: format!("IDEMPOTENCY#{scope}#{key}"),
        sk: "KEY".to_owned(),
        state: KeyState::InProgress,
        fingerprint: fingerprint.to_owned(),
        locked_until: now + LOCK_SECONDS,
        expires_at: now + RETENTION_SECONDS,
        status: None,
        body: None,
        content_type: None,
    })?;
    let claimed = state
        .dynamodb
        .put_item()
        .table_name(&state.config.resources.app_table)
        .set_item(Some(item))
        .condition_expression(
            "attribute_not_exists(pk) OR expiresAt <= :now OR (#state = :running AND lockedUntil <= :now AND fingerprint = :fp)",
        )
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":now", dynamo::number(now))
        .expression_attribute_values(":running", dynamo::text(KeyState::InProgress.as_str()))
        .expression_attribute_values(":fp", dynamo::text(fingerprint))
        .send()
        .await;
    match claimed {
        Ok(_) => Ok(true),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(false)
        }
        Err(err) => Err(store_error(err)),
    }
}

/// The key's claim as stored, read consistently so a claim just written is seen.
#[tracing::instrument(name = "read_idempotency_claim", skip_all)]
async fn read_claim(state: &AppState, scope: &str, key: &str) -> Result<Option<KeyItem>, ApiError> {
    let existing = state
        .dynamodb
        .get_item()
        .table_name(&state.config.resources.app_table)
        .set_key(Some(item_key(scope, key)?))
        .consistent_read(true)
        .send()
        .await
        .map_err(store_error)?;
    existing
        .item()
        .map(dynamo::from_item::<KeyItem>)
        .transpose()
}

/// The saved response, marked as a replay.
fn replay(item: KeyItem) -> Response<Body> {
    let status = item
        .status
        .and_then(|n| StatusCode::from_u16(n).ok())
        .unwrap_or(StatusCode::OK);
    let mut response = Response::new(Body::Text(item.body.unwrap_or_default()));
    *response.status_mut() = status;
    if let Ok(content_type) = HeaderValue::from_str(&item.content_type.unwrap_or_default()) {
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, content_type);
    }
    response
        .headers_mut()
        .insert(REPLAY_HEADER, HeaderValue::from_static("true"));
    response
}

fn reused() -> ApiError {
    ApiError::unprocessable(
        "idempotency_key_reused",
        "this Idempotency-Key was used for a different request",
    )
}

/// Saves the response on the key, for replays.
#[tracing::instrument(name = "save_idempotent_response", skip_all)]
pub async fn complete(
    state: &AppState,
    scope: &str,
    key: &str,
    response: &Response<Body>,
) -> Result<(), ApiError> {
    let body = match response.body() {
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => String::new(),
    };
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    state
        .dynamodb
        .update_item()
        .table_name(&state.config.resources.app_table)
        .set_key(Some(item_key(scope, key)?))
        .update_expression("SET #state = :done, #status = :status, body = :body, contentType = :ct")
        .expression_attribute_names("#state", "state")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":done", dynamo::text(KeyState::Complete.as_str()))
        .expression_attribute_values(":status", dynamo::number(response.status().as_u16()))
        .expression_attribute_values(":body", dynamo::text(body))
        .expression_attribute_values(":ct", dynamo::text(content_type))
        .send()
        .await
        .map_err(store_error)?;
    Ok(())
}

/// Gives the key back (the request failed before doing anything worth remembering).
pub async fn release(state: &AppState, scope: &str, key: &str) -> Result<(), ApiError> {
    state
        .dynamodb
        .delete_item()
        .table_name(&state.config.resources.app_table)
        .set_key(Some(item_key(scope, key)?))
        .send()
        .await
        .map_err(store_error)?;
    Ok(())
}

/// Whether a response is the request's final answer, worth replaying. Server errors, auth
/// failures, rate limits and concurrency refusals are not: a retry may go differently.
pub fn is_final(status: StatusCode) -> bool {
    !(status.is_server_error()
        || matches!(
            status,
            StatusCode::UNAUTHORIZED
                | StatusCode::FORBIDDEN
                | StatusCode::REQUEST_TIMEOUT
                | StatusCode::CONFLICT
                | StatusCode::TOO_MANY_REQUESTS
        ))
}
