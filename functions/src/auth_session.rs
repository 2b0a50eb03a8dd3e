//! `GET /api/auth/session`: `{user {id, email, type, driverId, name}, expires}` for the
//! signed-in account (the driver app learns its driver id here); 401 once the session
//! has ended.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::caller,
    http::ok,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    users::session_view,
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Identity,
    "the signed-in account and its driver id",
    &[Route::get("/api/auth/session")],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(session(state, req))
}

async fn session(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    ok(&session_view(state, &caller).await?)
}
