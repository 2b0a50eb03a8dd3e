//! `GET /api/dispatch/offers?status=`: auto-dispatch offers newest first in cursor pages,
//! optionally of one status (`PENDING`, `ACCEPTED`, `DECLINED`, `EXPIRED`, `WITHDRAWN`),
//! for staff who dispatch.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    autodispatch::views::list,
    error::FieldError,
    http::ok,
    input::{query_param, PageRequest},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiError, ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "auto-dispatch offers for dispatchers",
    &[Route::get("/api/dispatch/offers").requires(Permission::DispatchDrivers)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(dispatch_offers(state, req))
}

async fn dispatch_offers(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::DispatchDrivers)?;
    let page = PageRequest::from_request(&req)?;
    let status = query_param(&req, "status")
        .map(|s| {
            s.to_ascii_uppercase()
                .parse()
                .map_err(|e: String| ApiError::validation(vec![FieldError::new("status", e)]))
        })
        .transpose()?;
    let client = state.db.get().await?;
    ok(&list(&*client, &caller, status, &page).await?)
}
