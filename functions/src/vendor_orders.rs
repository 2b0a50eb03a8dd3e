//! `GET /api/vendor/orders`: a vendor's orders (staff may pass `?vendorId=` to see one
//! vendor's), with the filters and pagination of `/api/orders`.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    http::ok,
    input::{parse_uuid, query_param, PageRequest, Query},
    orders::{
        list::{list, OrderFilters},
        Scope,
    },
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiError, ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Orders,
    "a vendor's orders",
    &[Route::get("/api/vendor/orders").requires(Permission::ViewVendorOrders)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(vendor_orders(state, req))
}

async fn vendor_orders(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::ViewVendorOrders)?;
    // A vendor sees their own; staff see one vendor's (`?vendorId=`) or every order.
    let asked = query_param(&req, "vendorId")
        .map(|v| parse_uuid("vendorId", v))
        .transpose()?;
    let owner = if caller.can(Permission::ViewAnyVendorOrders) {
        asked
    } else if asked.is_none_or(|id| id == caller.user_id) {
        Some(caller.user_id)
    } else {
        return Err(ApiError::forbidden("you may only see your own vendor orders"));
    };
    let filters = OrderFilters {
        owner,
        ..OrderFilters::from_query(&Query::of(&req))?
    };
    let page = PageRequest::from_request(&req)?;
    let client = state.db.get().await?;
    ok(&list(&*client, Scope::of(&caller), &filters, &page).await?)
}
