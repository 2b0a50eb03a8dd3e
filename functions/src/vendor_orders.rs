//! `GET /api/vendor/orders`: a vendor's orders (staff may pass `?vendorId=` to see one
//! vendor's), with the filters and pagination of `/api/orders`.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission, Role},
    http::ok,
    input::{parse_uuid, query_param, PageRequest},
    orders::{
        list::{list, OrderFilters},
        Scope,
    },
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(vendor_orders(state, req))
}

async fn vendor_orders(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::ViewVendorOrders)?;
    // A vendor always sees their own; staff see one vendor's or every order.
    let owner = if caller.role == Role::Vendor {
        Some(caller.user_id)
    } else {
        query_param(&req, "vendorId")
            .map(|v| parse_uuid("vendorId", v))
            .transpose()?
    };
    let filters = OrderFilters {
        owner,
        ..OrderFilters::from_request(&req)?
    };
    let page = PageRequest::from_request(&req)?;
    let client = state.db.get().await?;
    ok(&list(&*client, Scope::of(&caller), &filters, &page).await?)
}
