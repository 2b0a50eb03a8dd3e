//! `GET | POST /api/catering-requests`: catering orders.
//!
//! POST creates one (CLIENT, VENDOR, staff); an `Idempotency-Key` makes a retried create
//! return the first order. GET lists the catering orders the caller may see.

use lambda_http::{http::Method, Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    http::{created, ok},
    idempotency,
    input::{parse_json, PageRequest, Query},
    orders::{
        intake::{create_order, CateringFields, DetailsFields, OrderBasics},
        list::{list, OrderFilters},
        rules::OrderType,
        Scope,
    },
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Policy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api).idempotent();

pub const DEPLOY: Deploy = Deploy::api(
    Area::Orders,
    "catering orders",
    &[
        Route::get("/api/catering-requests"),
        Route::post("/api/catering-requests").requires(Permission::CreateOrders),
    ],
)
    .policies(&[Policy::MapsKeyRead]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(catering_requests(state, req))
}

async fn catering_requests(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    if req.method() == Method::POST {
        caller.require(Permission::CreateOrders)?;
        let basics: OrderBasics = parse_json(&req)?;
        let fields: CateringFields = parse_json(&req)?;
        let details = DetailsFields::Catering(fields);
        let key = idempotency::key(&req)?;
        let order = create_order(state, &caller, &basics, &details, key).await?;
        return created(&serde_json::json!({ "order": order }));
    }
    caller.require(Permission::ViewOrders)?;
    let filters = OrderFilters {
        order_type: Some(OrderType::Catering),
        ..OrderFilters::from_query(&Query::of(&req))?
    };
    let page = PageRequest::from_request(&req)?;
    let client = state.db.get().await?;
    ok(&list(&*client, Scope::of(&caller), &filters, &page).await?)
}
