//! `POST /api/admin/webhooks/test {partner, event}` → `{eventId, delivered, statusCode,
//! latencyMs, error}`: sends the partner a signed sample of a catalogued event now, as
//! a real delivery is signed and checked, and answers what its receiver said. ADMIN and
//! SUPER_ADMIN; 400 names a missing partner or an unknown event, 404 for an unknown
//! partner, 409 `no_webhook` for one without a webhook URL.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    http::ok,
    input::parse_json,
    partners::subscriptions::{send_test, TestRequest},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Policy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Operations,
    "a signed sample webhook to a partner",
    &[Route::post("/api/admin/webhooks/test").requires(Permission::ManageWebhooks)],
)
.policies(&[Policy::PartnerSecretsRead]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(test_webhook(state, req))
}

async fn test_webhook(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let request: TestRequest = parse_json(&req)?;
    ok(&send_test(state, &caller, &request).await?)
}
