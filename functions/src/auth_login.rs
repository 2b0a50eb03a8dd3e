//! `POST /api/auth/login`: email and password for an access token and a refresh token.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::{
    auth::{passwords, sessions, token_response, UserStatus},
    input::parse_json,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    users::{find_for_login, normalize_email},
    ApiError, ApiResult, AppState,
};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Auth);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(login(state, req))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    email: String,
    password: String,
}

async fn login(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let body: LoginRequest = parse_json(&req)?;
    // One answer for every failure, so the route does not reveal which emails exist.
    let rejected = || {
        ApiError::unauthorized("email or password is incorrect").with_code("invalid_credentials")
    };
    if body.password.len() > 1024 {
        return Err(rejected());
    }
    let email = normalize_email(&body.email).map_err(|_| rejected())?;
    let account = {
        let client = state.db.get().await?;
        find_for_login(&*client, &email).await?
    };
    let (user, hash) = match account {
        Some((user, hash)) => (Some(user), hash),
        None => (None, None),
    };
    if !passwords::verify(&body.password, hash.as_deref()) {
        return Err(rejected());
    }
    let user = user.ok_or_else(rejected)?;
    if user.deleted_at.is_some() || user.status == UserStatus::Deleted {
        return Err(rejected());
    }
    if user.status == UserStatus::Pending {
        return Err(
            ApiError::forbidden("the account is waiting for approval").with_code("account_pending")
        );
    }
    let (session, refresh_token) = sessions::create(state, user.id, user.role).await?;
    tracing::info!(user_id = %user.id, session_id = %session.id, "signed in");
    token_response(state, &user, &session, &refresh_token).await
}
