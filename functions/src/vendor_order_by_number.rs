//! `GET /api/vendor/orders/{order_number}`: one of a vendor's orders with its status
//! history; a vendor sees only its own (another's is a 404), staff any.

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
    "one of a vendor's orders (the vendor, staff)",
    &[Route::get("/api/vendor/orders/{order_number}").requires(Permission::ViewVendorOrders)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(vendor_order(state, req))
}

async fn vendor_order(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::ViewVendorOrders)?;
    let owner = (!caller.can(Permission::ViewAnyVendorOrders)).then_some(caller.user_id);
    let number = parse_order_number(path_param(&req, "order_number")?)?;
    let client = state.db.get().await?;
    let order = find_owned(&*client, &number, owner).await?;
    let entries = history(&*client, order.id, 50).await?;
    ok(&serde_json::json!({ "order": order, "statusHistory": entries }))
}
