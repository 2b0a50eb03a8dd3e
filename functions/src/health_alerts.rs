//! `GET | POST /api/health/alerts`: alerts for staff.
//!
//! GET answers `{active[], resolved[] (last 24 h), history[] (latest events), statistics}`.
//! POST `{id}` or `{ids: [...]}` resolves firing alerts by hand (with a resolve
//! notification; each stays quiet until its condition clears) and answers `{resolved[],
//! notFiring[]}`. Both read DynamoDB only and run without the authorizer, accepting a
//! staff token of a live session, so they answer while the database is down.

use lambda_http::{http::Method, Body, Request, Response};
use serde_json::json;
use shared::{
    auth::Permission,
    http::ok,
    input::parse_json,
    monitoring::alerts::{self, ResolveRequest},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    sign_in::session_caller_of,
    ApiResult, AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api).warm_signing_key();

pub const DEPLOY: Deploy = Deploy::api(
    Area::Operations,
    "active alerts, history and statistics; resolve by id (staff)",
    &[
        Route::get("/api/health/alerts").without_authorizer(),
        Route::post("/api/health/alerts").without_authorizer(),
    ],
)
    .policies(&[Policy::MonitoringRead, Policy::SigningKeyRead, Policy::AlertWebhookRead])
    .environment(&[("ALERT_WEBHOOK_SECRET_ID", Cfn::Ref("AlertWebhookSecretName"))]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(health_alerts(state, req))
}

async fn health_alerts(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = session_caller_of(state, &req).await?;
    caller.require(Permission::ViewSystemHealth)?;
    if req.method() == Method::POST {
        caller.require(Permission::ResolveAlerts)?;
        let ids = parse_json::<ResolveRequest>(&req)?.ids()?;
        let resolved = alerts::resolve(state, &ids, caller.user_id).await?;
        let not_firing: Vec<_> = ids
            .iter()
            .filter(|id| !resolved.iter().any(|a| a.id == **id))
            .collect();
        return ok(&json!({ "resolved": resolved, "notFiring": not_firing }));
    }
    ok(&alerts::view(state, chrono::Utc::now()).await?)
}
