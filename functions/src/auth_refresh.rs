//! `POST /api/auth/refresh`: swaps a refresh token for a new access token and a new
//! refresh token. The old refresh token stops working; presenting it again revokes the
//! session. The token comes in the body (API clients) or the refresh cookie (the web app,
//! which must then pass the CSRF check).

use lambda_http::{http, Body, Request, Response};
use serde::Deserialize;
use shared::{
    auth::{clearing_cookies, csrf, sessions, token_response, REFRESH_COOKIE},
    input::{body_bytes, parse_json, MAX_BODY_BYTES},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    users, ApiError, ApiResult, AppState,
};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Auth);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(refresh(state, req))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RefreshRequest {
    refresh_token: String,
}

async fn refresh(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let has_body = body_bytes(&req, MAX_BODY_BYTES)?
        .iter()
        .any(|b| !b.is_ascii_whitespace());
    let presented = if has_body {
        parse_json::<RefreshRequest>(&req)?.refresh_token
    } else {
        let cookie = csrf::cookie(&req, REFRESH_COOKIE).ok_or_else(|| {
            ApiError::unauthorized("a refresh token is required").with_code("invalid_refresh_token")
        })?;
        csrf::verify(&req, &state.config.auth.allowed_origins)?;
        cookie.to_owned()
    };
    let secure = state.config.auth.secure_cookies;
    // A refused refresh also clears the web app's cookies, so it stops retrying them.
    let refused = |message: &str| {
        clearing_cookies(secure).into_iter().fold(
            ApiError::unauthorized(message.to_owned()).with_code("invalid_refresh_token"),
            |err, cookie| err.with_header(http::header::SET_COOKIE, cookie),
        )
    };
    let (session, next_token) = match sessions::rotate(state, &presented).await {
        Ok(rotated) => rotated,
        Err(sessions::RefreshError::Invalid) => {
            return Err(refused("the refresh token is invalid or expired"))
        }
        Err(sessions::RefreshError::Reused) => {
            return Err(refused("the refresh token was already used; sign in again"))
        }
        Err(sessions::RefreshError::Store(err)) => return Err(err),
    };
    let user = {
        let client = state.db.get().await?;
        users::find(&*client, session.user_id).await?
    };
    let Some(user) = user.filter(|u| u.is_active()) else {
        sessions::revoke(state, session.id).await?;
        return Err(refused("the account is no longer active"));
    };
    token_response(state, &user, &session, &next_token).await
}
