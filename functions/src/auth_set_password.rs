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

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::SignIn);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(set(state, req))
}

async fn set(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let body: SetPassword = parse_json(&req)?;
    set_password(state, &body).await?;
    Ok(no_content())
}
