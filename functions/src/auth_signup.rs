//! `POST /api/auth/signup`: creates a CLIENT, VENDOR or DRIVER account.
//!
//! Clients and vendors can sign in at once; drivers start PENDING until staff approve them.
//! Five sign-ups a minute per client IP.

use lambda_http::{Body, Request, Response};
use shared::{
    http::created,
    input::parse_json,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    users::{register, Signup},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::SignUp);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Identity,
    "creates a CLIENT, VENDOR or DRIVER account",
    // A much smaller budget than the stage's: sign-up is what account farming hits.
    &[Route::post("/api/auth/signup")
        .without_authorizer()
        .throttle(10, 5)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(signup(state, req))
}

async fn signup(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let body: Signup = parse_json(&req)?;
    let user = register(state, &body).await?;
    created(&serde_json::json!({ "user": user }))
}
