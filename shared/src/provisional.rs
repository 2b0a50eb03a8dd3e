//! Provisional approvals: what the session authorizer answers when a store it reads is
//! unavailable, and how the runtime completes the check before any handler runs.
//!
//! Why: API Gateway (HTTP API, simple responses) turns an authorizer that fails into its
//! own 500 `{"message":"Internal Server Error"}`, and an authorizer cannot answer 503. So
//! while PostgreSQL (the account, the session cut-off) or DynamoDB (the session) was down,
//! every route behind the authorizer looked like a server bug to clients' retry logic and
//! to the 5xx alarms, while the public routes answered 503.
//!
//! So when a store is unavailable, the authorizer checks what needs none (the token's
//! signature, algorithm, expiry, issuer and audience: a token that fails is still refused
//! there) and approves *provisionally*: its context names the token's caller and carries
//! [`PROVISIONAL`]. The runtime, finding the marker on any route (whatever permission the
//! route requires, or none), makes the whole decision ([`sign_in::authorize`]) before the
//! handler: a store still down is a 503 (with `Retry-After`, like every 503); a session
//! that has ended is a 401 and an account that is no longer active a 403; otherwise the
//! caller it found (with the account's role, not the token's) replaces the provisional
//! one. A provisional approval therefore never lets a request do what it could not with
//! every store up: it only moves the check from the authorizer to the function.
//!
//! API Gateway caches the authorizer's answer per `Authorization` header for the
//! authorizer's TTL (`AuthorizerResultTtlInSeconds` in `template.yaml`, 60 s), provisional
//! answers included. After recovery, a token approved provisionally is therefore checked
//! again by the function on every request until that answer expires: a session read and
//! an account query more per request, for at most the TTL.

use lambda_http::Request;

use crate::{
    auth::{self, bearer_token, Caller},
    error::{ApiError, ApiResult},
    sign_in::{self, Denial},
    AppState,
};

/// The context key of a provisional approval (value `"true"`). Only the authorizer
/// writes the context, so a client cannot add or remove it.
pub use crate::auth::context::PROVISIONAL;

/// The authorizer's answer on a bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Token, session and account all checked.
    Approved(Caller),
    /// The token verifies, but a store was unavailable: the function checks the rest.
    /// The role is the token's until then.
    Provisional(Caller),
    Denied(Denial),
}

/// Decides on a bearer token, provisionally when a store it needs is unavailable. Err
/// only when even the token cannot be checked (its signing key cannot be read) or on an
/// unexpected failure.
pub async fn verdict(state: &AppState, token: &str) -> ApiResult<Verdict> {
    let unavailable = match sign_in::authorize(state, token).await {
        Ok(Ok(caller)) => return Ok(Verdict::Approved(caller)),
        Ok(Err(denial)) => return Ok(Verdict::Denied(denial)),
        Err(err) if is_outage(&err) => err,
        Err(err) => return Err(err),
    };
    let keys = state.jwt().await?;
    let Ok(claims) = keys.verify(token) else {
        return Ok(Verdict::Denied(Denial::BadToken));
    };
    tracing::warn!(
        user_id = %claims.sub,
        error = %crate::error::chain(&unavailable),
        "approved provisionally: a store is unavailable, the function checks the session and account"
    );
    Ok(Verdict::Provisional(Caller {
        user_id: claims.sub,
        role: claims.role,
        session_id: claims.sid,
    }))
}

/// A store was unreachable or timed out (not a bug, not a refusal).
fn is_outage(err: &ApiError) -> bool {
    err.status == http::StatusCode::SERVICE_UNAVAILABLE
}

/// Completes a provisional approval before the handler runs: the request as it was when
/// the authorizer checked everything, or with the caller the whole decision found.
pub async fn complete(state: &AppState, req: Request) -> ApiResult<Request> {
    if !auth::is_provisional(&req) {
        return Ok(req);
    }
    let vouched = auth::caller(&req)?;
    let token = crate::http::header(req.headers(), "authorization")
        .and_then(bearer_token)
        .ok_or_else(|| ApiError::unauthorized("authentication required"))?;
    let caller = match sign_in::authorize(state, token).await? {
        Ok(caller) => caller,
        Err(Denial::AccountInactive) => {
            return Err(
                ApiError::forbidden("the account is not active").with_code("account_inactive")
            )
        }
        Err(Denial::BadToken | Denial::SessionEnded) => {
            return Err(ApiError::unauthorized(
                "the token is invalid or its session has ended",
            ))
        }
    };
    // The authorizer judged this request's own header, so the two agree; if they ever
    // did not, neither is trusted.
    if (caller.user_id, caller.session_id) != (vouched.user_id, vouched.session_id) {
        return Err(ApiError::unauthorized(
            "the token does not match its approval",
        ));
    }
    tracing::info!(
        role = caller.role.as_str(),
        "provisional approval confirmed"
    );
    Ok(auth::with_caller(req, &caller))
}
