//! `GET /api/track/{token}` (public, no account): what a tracking link shows, the order's
//! number and status and, while the delivery is in progress, the driver's first name,
//! position and ETA. An altered or expired link is a 404.

use lambda_http::{Body, Request, Response};
use shared::{
    drivers::tracking::public_view,
    http::ok,
    input::path_param,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Policy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api).warm_signing_key();

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "public tracking of one order by a signed link",
    &[Route::get("/api/track/{token}").without_authorizer()],
)
    .policies(&[Policy::SigningKeyRead]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(track(state, req))
}

async fn track(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let token = path_param(&req, "token")?;
    ok(&public_view(state, token).await?)
}
