//! `GET /api/admin/webhooks/{id}/attempts`: every delivery attempt still kept of one outbox
//! message (by its event id), newest first, with its answer code, latency and error
//! (ADMIN, SUPER_ADMIN). The message list shows only each one's five latest.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    http::ok,
    input::{path_uuid, PageRequest},
    outbox::admin::attempts,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Admin);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Operations,
    "every delivery attempt of one outbox message",
    &[Route::get("/api/admin/webhooks/{id}/attempts").requires(Permission::ManageWebhooks)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(message_attempts(state, req))
}

async fn message_attempts(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    caller(&req)?.require(Permission::ManageWebhooks)?;
    let event_id = path_uuid(&req, "id")?;
    let page = PageRequest::from_request(&req)?;
    let client = state.db.get().await?;
    ok(&attempts(&*client, event_id, &page).await?)
}
