//! What drivers must record before completing an order (staff who dispatch):
//! - `GET /api/dispatch/completion-requirements` → `{orderTypes, clients}`: every rule;
//! - `PUT /api/dispatch/completion-requirements/{orderType}` and
//!   `PUT /api/dispatch/completion-requirements/clients/{userId}` `{photo, signature}` →
//!   `{requirements}`: an order type's rule, or one client's, which replaces its order
//!   type's;
//! - `DELETE /api/dispatch/completion-requirements/clients/{userId}` → 204: the client
//!   follows its order type's rule again.
//!
//! Every change is audited. A driver's COMPLETED without a required proof is a 422 naming it.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    error::FieldError,
    http::{no_content, ok, route_key},
    input::{parse_json, path_param, path_uuid},
    orders::{
        completion::{clear_client, list, set, RequirementsInput, Scope},
        rules::OrderType,
    },
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiError, ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Orders,
    "what drivers must record before completing an order",
    &[
        Route::get("/api/dispatch/completion-requirements")
            .named("List")
            .requires(Permission::DispatchDrivers),
        Route::put("/api/dispatch/completion-requirements/{orderType}")
            .named("OrderType")
            .requires(Permission::DispatchDrivers),
        Route::put("/api/dispatch/completion-requirements/clients/{userId}")
            .named("Client")
            .requires(Permission::DispatchDrivers),
        Route::delete("/api/dispatch/completion-requirements/clients/{userId}")
            .named("ClientRemoved")
            .requires(Permission::DispatchDrivers),
    ],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(completion_requirements(state, req))
}

async fn completion_requirements(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::DispatchDrivers)?;
    match route_key(&req).as_deref() {
        Some("GET /api/dispatch/completion-requirements") => {
            let client = state.db.get().await?;
            ok(&list(&*client, &caller).await?)
        }
        Some("DELETE /api/dispatch/completion-requirements/clients/{userId}") => {
            clear_client(state, &caller, path_uuid(&req, "userId")?).await?;
            Ok(no_content())
        }
        Some("PUT /api/dispatch/completion-requirements/clients/{userId}") => {
            let user_id = path_uuid(&req, "userId")?;
            let input: RequirementsInput = parse_json(&req)?;
            let rule = set(state, &caller, Scope::Client(user_id), &input).await?;
            ok(&serde_json::json!({ "requirements": rule }))
        }
        _ => {
            let order_type: OrderType = path_param(&req, "orderType")?
                .to_ascii_uppercase()
                .parse()
                .map_err(|e: String| ApiError::validation(vec![FieldError::new("orderType", e)]))?;
            let input: RequirementsInput = parse_json(&req)?;
            let rule = set(state, &caller, Scope::OrderType(order_type), &input).await?;
            ok(&serde_json::json!({ "requirements": rule }))
        }
    }
}
