//! `GET /ops`: the operations page for staff (health per dependency, the error rate over
//! 24 hours, top error groups, active alerts with a resolve button, latency per route,
//! the outbox). The page is public; everything it shows needs a staff sign-in.

use lambda_http::{Body, Request, Response};
use shared::{
    ops,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Policy, Route};

/// Exempt: a static page, no store behind it.
pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Exempt);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Operations,
    "the operations page (staff sign in on it)",
    &[Route::get("/ops").without_authorizer()],
)
    .only_policies(&[Policy::DatabaseConnect, Policy::RelayWake]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(ops_page(state, req))
}

async fn ops_page(_state: &AppState, _req: Request) -> ApiResult<Response<Body>> {
    ops::page()
}
