//! `POST /api/users/bulk/status | role | delete | restore {userIds[≤ 100], status?,
//! role?, reason?}`: one function for the four literal paths (literal, so that
//! `/api/users/bulk/restore` never reads as `/api/users/{userId}/restore`). Each account
//! is judged by the single route's rules, all in one transaction, one audit row per
//! account changed. Answers `{results {success[], failed[{id, reason}], totalSuccess,
//! totalFailed}}`: an account that may not be changed (unknown id, another's rank, a
//! SUPER_ADMIN) fails alone.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    http::ok,
    input::parse_json,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    users::bulk::{run, BulkAction, BulkRequest},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Admin);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Identity,
    "one rule-checked, audited change for up to 100 accounts",
    &[
        Route::post("/api/users/bulk/status").named("PostStatus").requires(Permission::UpdateUsers),
        Route::post("/api/users/bulk/role").named("PostRole").requires(Permission::ChangeRoles),
        Route::post("/api/users/bulk/delete").named("PostDelete").requires(Permission::DeleteUsers),
        Route::post("/api/users/bulk/restore")
            .named("PostRestore")
            .requires(Permission::RestoreUsers),
    ],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(bulk(state, req))
}

async fn bulk(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let action = BulkAction::of_path(req.uri().path())?;
    let body: BulkRequest = parse_json(&req)?;
    ok(&run(state, &caller, action, &body).await?)
}
