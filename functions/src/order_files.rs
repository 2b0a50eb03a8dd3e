//! `GET /api/orders/{order_number}/files`: the order's active files, newest first, in
//! cursor pages, for those who may see the order (its owner, its assigned driver, staff);
//! anyone else gets 404.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::caller,
    http::ok,
    input::{path_param, PageRequest},
    orders::parse_order_number,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    uploads::list::for_order,
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Orders,
    "pages of an order's files",
    &[Route::get("/api/orders/{order_number}/files")],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(order_files(state, req))
}

async fn order_files(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let number = parse_order_number(path_param(&req, "order_number")?)?;
    let page = PageRequest::from_request(&req)?;
    let client = state.db.get().await?;
    ok(&for_order(&*client, &caller, &number, &page).await?)
}
