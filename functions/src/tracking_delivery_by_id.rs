//! `GET /api/tracking/deliveries/{id}`: one delivery with its status and proofs, for its
//! driver and staff; anyone else gets 404.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::caller,
    drivers::deliveries::by_id,
    http::ok,
    input::path_uuid,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "one delivery and its proofs",
    &[Route::get("/api/tracking/deliveries/{id}")],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(delivery_by_id(state, req))
}

async fn delivery_by_id(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let id = path_uuid(&req, "id")?;
    let client = state.db.get().await?;
    ok(&serde_json::json!({ "delivery": by_id(&*client, &caller, id).await? }))
}
