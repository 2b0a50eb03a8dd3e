//! `GET /api/orders`: every order the caller may see (their own; a driver's assigned
//! ones; all for staff), both types, filtered by `status`, `type`, `startDate`, `endDate`
//! and `search`, newest first, paginated.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    http::ok,
    input::{PageRequest, Query},
    orders::{
        list::{list, OrderFilters},
        Scope,
    },
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Orders,
    "every order the caller may see",
    &[Route::get("/api/orders")],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(orders(state, req))
}

async fn orders(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::ViewOrders)?;
    let filters = OrderFilters::from_query(&Query::of(&req))?;
    let page = PageRequest::from_request(&req)?;
    let client = state.db.get().await?;
    ok(&list(&*client, Scope::of(&caller), &filters, &page).await?)
}
