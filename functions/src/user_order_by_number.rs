//! `GET /api/user-orders/{order_number}`: one order the caller placed, with its status
//! history, whatever the caller's role. Another's order is a 404, staff included (they
//! read any order at `/api/orders/{order_number}`).

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    http::ok,
    input::path_param,
    orders::{find_owned, history, parse_order_number},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Orders,
    "one order the caller placed",
    &[Route::get("/api/user-orders/{order_number}")],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(user_order(state, req))
}

async fn user_order(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::ViewOrders)?;
    let number = parse_order_number(path_param(&req, "order_number")?)?;
    let client = state.db.get().await?;
    let order = find_owned(&*client, &number, Some(caller.user_id)).await?;
    let entries = history(&*client, order.id, 50).await?;
    ok(&serde_json::json!({ "order": order, "statusHistory": entries }))
}
