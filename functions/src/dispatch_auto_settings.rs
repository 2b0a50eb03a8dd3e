//! `GET /api/dispatch/auto-settings`: what auto-dispatch does for each order type
//! (`{settings: [...]}`), for staff who dispatch.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    autodispatch::settings::list,
    http::ok,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "auto-dispatch settings",
    &[Route::get("/api/dispatch/auto-settings").requires(Permission::DispatchDrivers)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(auto_settings(state, req))
}

async fn auto_settings(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::DispatchDrivers)?;
    let client = state.db.get().await?;
    ok(&serde_json::json!({ "settings": list(&*client, &caller).await? }))
}
