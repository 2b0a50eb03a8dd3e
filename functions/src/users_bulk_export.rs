//! `GET /api/users/bulk/export?role=&status=&search=`: the filtered user list as a CSV
//! download (staff), newest first, at most 10 000 rows (`X-Export-Truncated: true` when
//! there were more).

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    export,
    input::query_param,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    users::{admin::UserFilters, bulk::export_csv},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Admin);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Identity,
    "the filtered user list as CSV (staff)",
    &[Route::get("/api/users/bulk/export").requires(Permission::ListUsers)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(users_export(state, req))
}

async fn users_export(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let filters = UserFilters::parse(
        query_param(&req, "role"),
        query_param(&req, "status"),
        query_param(&req, "search"),
    )?;
    let client = state.db.get().await?;
    let (csv, truncated) = export_csv(&*client, &caller, &filters).await?;
    export::response("users.csv", csv, truncated)
}
