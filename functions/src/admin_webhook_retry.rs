//! `POST /api/admin/webhooks/{id}/retry`: re-queues a dead message (by its event id) with a
//! fresh retry horizon; the relay delivers it on its next run (ADMIN, SUPER_ADMIN).

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    http::ok,
    input::path_uuid,
    outbox::{admin::retry, MessageStatus},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Admin);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Operations,
    "re-queues a dead message",
    &[Route::post("/api/admin/webhooks/{id}/retry").requires(Permission::ManageWebhooks)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(retry_message(state, req))
}

async fn retry_message(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::ManageWebhooks)?;
    let event_id = path_uuid(&req, "id")?;
    let client = state.db.get().await?;
    retry(&*client, event_id, state.config.outbox.horizon).await?;
    tracing::info!(event_id = %event_id, by = %caller.user_id, "dead outbox message re-queued");
    ok(&serde_json::json!({ "eventId": event_id, "status": MessageStatus::Pending }))
}
