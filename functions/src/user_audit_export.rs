//! `GET /api/users/{userId}/audit/export?action=&performedBy=&from=&to=`: the same history
//! as a CSV download (staff), newest first, at most 10 000 rows (`X-Export-Truncated:
//! true` when there were more; narrow it with `from`/`to`).

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    export,
    input::{path_uuid, Query},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    users::history::{export_csv, AuditFilters},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Admin);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Identity,
    "an account's audit history as CSV (staff)",
    &[Route::get("/api/users/{userId}/audit/export").requires(Permission::ViewAudits)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(audit_export(state, req))
}

async fn audit_export(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let user_id = path_uuid(&req, "userId")?;
        let filters = AuditFilters::from_query(&Query::of(&req))?;
    let client = state.db.get().await?;
    let (csv, truncated) = export_csv(&*client, &caller, user_id, &filters).await?;
    export::response(&format!("audit-{user_id}.csv"), csv, truncated)
}
