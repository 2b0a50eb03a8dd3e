//! `DELETE /api/users/{userId}/purge {confirmed: true, reason}`: removes a soft-deleted
//! account's personal data and files for good (SUPER_ADMIN only; the reason is at least
//! 10 characters and audited). Orders and audit rows stay, anonymised. 409 `not_deleted`
//! before a soft delete, `purged` when done already.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    http::ok,
    input::{parse_json, path_uuid},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    users::lifecycle::{purge, PurgeRequest},
    ApiResult, AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy, Route, Statement};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Admin);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Identity,
    "removes a deleted account's personal data and files (SUPER_ADMIN)",
    &[Route::delete("/api/users/{userId}/purge").requires(Permission::PurgeUsers)],
)
    .policies(&[
        Policy::SessionRegistryQuery,
        Policy::Allow(&[
            Statement::allow(&["s3:DeleteObject"], &[Cfn::Sub("${UploadsBucketArn}/*")]),
        ]),
    ]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(purge_user(state, req))
}

async fn purge_user(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let user_id = path_uuid(&req, "userId")?;
    let body: PurgeRequest = parse_json(&req)?;
    ok(&purge(state, &caller, user_id, &body).await?)
}
