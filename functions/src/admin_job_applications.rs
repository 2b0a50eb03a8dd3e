//! `GET /api/admin/job-applications`: driver applications, newest first, in cursor pages
//! (`?status=&limit=&cursor=`; staff). Answers `{items, nextCursor}`.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::Permission,
    users::applications::{list, ApplicationFilters},
    auth::caller,
    http::ok,
    input::{query_param, PageRequest},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Identity,
    "driver applications in cursor pages (staff)",
    &[Route::get("/api/admin/job-applications").requires(Permission::ReviewApplications)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(applications(state, req))
}

async fn applications(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let filters = ApplicationFilters::parse(query_param(&req, "status"))?;
    let page = PageRequest::from_request(&req)?;
    ok(&list(state, &caller, &filters, &page).await?)
}
