//! `GET /api/users`: the admin panel's user list, filtered and paginated (staff only).
//!
//! `?role=&status=&search=&limit=&cursor=`; `status=DELETED` lists soft-deleted accounts,
//! which are hidden otherwise.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    http::ok,
    input::{query_param, PageRequest},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    users::admin::{list, UserFilters},
    ApiResult, AppState,
};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Admin);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(list_users(state, req))
}

async fn list_users(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    caller(&req)?.require(Permission::ListUsers)?;
    let page = PageRequest::from_request(&req)?;
    let filters = UserFilters::parse(
        query_param(&req, "role"),
        query_param(&req, "status"),
        query_param(&req, "search"),
    )?;
    let client = state.db.get().await?;
    ok(&list(&*client, &filters, &page).await?)
}
