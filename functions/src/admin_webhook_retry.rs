//! `POST /api/admin/webhooks/{id}/retry`: re-queues a dead message (by its event id) with a
//! fresh retry horizon; the relay delivers it on its next run (ADMIN, SUPER_ADMIN).

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    db::p,
    http::ok,
    input::path_uuid,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiError, ApiResult, AppState,
};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Admin);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(retry(state, req))
}

async fn retry(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::ManageWebhooks)?;
    let event_id = path_uuid(&req, "id")?;
    let horizon_secs = state.config.outbox.horizon.as_secs_f64();
    let client = state.db.get().await?;
    let row = client
        .query_typed_opt(
            "UPDATE outbox SET status = 'PENDING', next_attempt_at = now(), dead_at = NULL,
                    retry_until = now() + make_interval(secs => $2)
             WHERE event_id = $1 AND status = 'DEAD'
             RETURNING id",
            &[p(&event_id), p(&horizon_secs)],
        )
        .await?;
    if row.is_none() {
        let exists = client
            .query_typed_opt(
                "SELECT status FROM outbox WHERE event_id = $1",
                &[p(&event_id)],
            )
            .await?;
        return Err(match exists {
            None => ApiError::not_found("message"),
            Some(r) => ApiError::conflict(
                "not_dead",
                format!(
                    "only dead messages are retried; this one is {}",
                    r.get::<_, String>(0)
                ),
            ),
        });
    }
    tracing::info!(event_id = %event_id, by = %caller.user_id, "dead outbox message re-queued");
    ok(&serde_json::json!({ "eventId": event_id, "status": "PENDING" }))
}
