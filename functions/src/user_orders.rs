//! `GET /api/user-orders`: the orders the caller placed, whatever their role, with the
//! same filters and pagination as `/api/orders`.

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
    "the orders the caller placed",
    &[Route::get("/api/user-orders")],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(user_orders(state, req))
}

async fn user_orders(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::ViewOrders)?;
    let filters = OrderFilters {
        owner: Some(caller.user_id),
        ..OrderFilters::from_query(&Query::of(&req))?
    };
    let page = PageRequest::from_request(&req)?;
    let client = state.db.get().await?;
    ok(&list(&*client, Scope::of(&caller), &filters, &page).await?)
}
