//! `POST /api/register`: the original's name for `POST /api/auth/signup`, the same
//! account rules (CLIENT, VENDOR or DRIVER only; never a staff role) and the same limit
//! of five sign-ups a minute per client IP.

use lambda_http::{Body, Request, Response};
use shared::{
    http::created,
    input::parse_json,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    users::{register, Signup},
    ApiResult, AppState,
};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::SignUp);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(signup(state, req))
}

async fn signup(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let body: Signup = parse_json(&req)?;
    let user = register(state, &body).await?;
    created(&serde_json::json!({ "user": user }))
}
