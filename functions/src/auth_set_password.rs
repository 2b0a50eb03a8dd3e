//! `POST /api/auth/set-password {token, password}`: sets the password of an account staff
//! created, with the one-time link they were given (72 hours). An unknown, used or
//! expired link is 400 `invalid_token`; a weak password 400 `validation_failed`. Public,
//! with the sign-in routes' rate limit.

use lambda_http::{Body, Request, Response};
use shared::{
    http::no_content,
    input::parse_json,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    users::lifecycle::{set_password, SetPassword},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::SignIn);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Identity,
    "sets the password of a staff-made account with its one-time link",
    &[Route::post("/api/auth/set-password").without_authorizer()],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(set(state, req))
}

async fn set(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let body: SetPassword = parse_json(&req)?;
    set_password(state, &body).await?;
    Ok(no_content())
}
