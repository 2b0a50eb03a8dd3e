//! `GET | PUT /api/pricing/tiers`: pricing configurations (staff).
//!
//! GET shows the active version of one configuration (`?config=catervalley`) or of all.
//! PUT (ADMIN, SUPER_ADMIN) publishes a new version of a configuration: the old version
//! stays for the quotes and orders that used it, and every container picks up the new one
//! within the pricing cache's five minutes.

use lambda_http::{http::Method, Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    http::{created, ok},
    input::{parse_json, query_param},
    pricing::publish::{active_configurations, publish, NewConfiguration},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Orders,
    "pricing configurations and new versions",
    &[
        Route::get("/api/pricing/tiers").requires(Permission::ViewPricing),
        Route::put("/api/pricing/tiers").requires(Permission::ManagePricing),
    ],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(tiers(state, req))
}

async fn tiers(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    if req.method() == Method::PUT {
        caller.require(Permission::ManagePricing)?;
        let body: NewConfiguration = parse_json(&req)?;
        let saved = publish(state, &caller, &body).await?;
        return created(&serde_json::json!({ "configuration": saved }));
    }
    caller.require(Permission::ViewPricing)?;
    let client = state.db.get().await?;
    let configurations = active_configurations(&*client, query_param(&req, "config")).await?;
    ok(&serde_json::json!({ "configurations": configurations }))
}
