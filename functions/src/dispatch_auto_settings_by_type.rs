//! `PUT /api/dispatch/auto-settings/{orderType}` (`CATERING` or `ON_DEMAND`): replaces
//! what auto-dispatch does for that order type, `{enabled, acceptanceSeconds,
//! horizonMinutes, maxAttempts, maxCarried: {car, van, truck}}` → 200 `{settings}`.
//! Each field out of its range is a 400 naming it; every change is audited.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    autodispatch::settings::{update, SettingsInput},
    error::FieldError,
    http::ok,
    input::{parse_json, path_param},
    orders::rules::OrderType,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiError, ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "changing one order type's auto-dispatch settings",
    &[Route::put("/api/dispatch/auto-settings/{orderType}").requires(Permission::DispatchDrivers)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(auto_settings_by_type(state, req))
}

async fn auto_settings_by_type(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::DispatchDrivers)?;
    let order_type: OrderType = path_param(&req, "orderType")?
        .to_ascii_uppercase()
        .parse()
        .map_err(|e: String| ApiError::validation(vec![FieldError::new("orderType", e)]))?;
    let input: SettingsInput = parse_json(&req)?;
    ok(&serde_json::json!({ "settings": update(state, &caller, order_type, &input).await? }))
}
