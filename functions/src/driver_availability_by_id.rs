//! One planned availability window: `PUT /api/drivers/availability/{windowId}` replaces
//! it (the body of adding one; 200 `{window}`), `DELETE` removes it (204). The driver's
//! own windows, or any for staff who dispatch; another driver's is 404. A window that
//! has ended is kept as it was (409 `availability_ended`).

use lambda_http::{http::Method, Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    drivers::availability::{remove, replace, WindowInput},
    http::{no_content, ok},
    input::{parse_json, path_uuid},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "changing or removing one planned availability window",
    &[
        Route::put("/api/drivers/availability/{windowId}")
            .requires(Permission::PlanAvailability),
        Route::delete("/api/drivers/availability/{windowId}")
            .requires(Permission::PlanAvailability),
    ],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(availability_by_id(state, req))
}

async fn availability_by_id(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::PlanAvailability)?;
    let window_id = path_uuid(&req, "windowId")?;
    if req.method() == Method::DELETE {
        remove(state, &caller, window_id).await?;
        return Ok(no_content());
    }
    let input: WindowInput = parse_json(&req)?;
    ok(&serde_json::json!({ "window": replace(state, &caller, window_id, &input).await? }))
}
