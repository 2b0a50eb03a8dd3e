//! `GET | PUT /api/admin/partners/{slug}/webhook-events`: which webhook events a partner
//! hears. GET → `{partner, events, available}`; PUT `{events: [...]}` replaces the list
//! (each a catalogued event, or a 400 naming it; `[]` for none), audited. ADMIN and
//! SUPER_ADMIN; an unknown partner is a 404.

use lambda_http::{http::Method, Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    http::ok,
    input::{parse_json, path_param},
    partners::subscriptions::{get, replace, SubscriptionsInput},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Operations,
    "the webhook events a partner subscribes to",
    &[
        Route::get("/api/admin/partners/{slug}/webhook-events")
            .requires(Permission::ManageWebhooks),
        Route::put("/api/admin/partners/{slug}/webhook-events")
            .requires(Permission::ManageWebhooks),
    ],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(webhook_events(state, req))
}

async fn webhook_events(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let slug = path_param(&req, "slug")?;
    if req.method() == Method::PUT {
        let input: SubscriptionsInput = parse_json(&req)?;
        ok(&replace(state, &caller, slug, &input).await?)
    } else {
        ok(&get(state, &caller, slug).await?)
    }
}
