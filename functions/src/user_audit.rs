//! `GET /api/users/{userId}/audit?action=&performedBy=&from=&to=&limit=&cursor=`: an
//! account's audit history, newest first, in cursor pages of at most 100 (staff): who,
//! when, what, the values before and after, and why.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    http::ok,
    input::{path_uuid, PageRequest, Query},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    users::history::{list, AuditFilters},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Identity,
    "an account's audit history (staff)",
    &[Route::get("/api/users/{userId}/audit").requires(Permission::ViewAudits)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(audit(state, req))
}

async fn audit(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let user_id = path_uuid(&req, "userId")?;
        let filters = AuditFilters::from_query(&Query::of(&req))?;
    let page = PageRequest::from_request(&req)?;
    let client = state.db.get().await?;
    ok(&list(&*client, &caller, user_id, &filters, &page).await?)
}
