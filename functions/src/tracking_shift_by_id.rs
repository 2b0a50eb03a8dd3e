//! `GET /api/tracking/shifts/{id}`: one shift with its tracked and reported mileage and
//! point count, for its driver and staff; anyone else gets 404.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::caller,
    drivers::shifts,
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
    "one shift with its mileage",
    &[Route::get("/api/tracking/shifts/{id}")],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(shift_by_id(state, req))
}

async fn shift_by_id(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let shift_id = path_uuid(&req, "id")?;
    let client = state.db.get().await?;
    let shift = shifts::by_id(&*client, &caller, shift_id).await?;
    ok(&serde_json::json!({ "shift": shift }))
}
