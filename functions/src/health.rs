//! `GET | HEAD /api/health`: whether the API and its dependencies are up.
//!
//! `healthy` and `degraded` (S3 or the maps provider failing, memory high) answer 200,
//! `unhealthy` (the database or DynamoDB down) 503, so a load balancer or uptime check
//! can act on the status code alone; HEAD answers the status without a body. Anyone sees `{status, timestamp}`; a staff
//! bearer token (of a live session, checked even while the database is down) also gets
//! every dependency with its latency and what failed. A healthy result is reused for a
//! few seconds (`HEALTH_CACHE_SECONDS`), so frequent polling costs no extra AWS calls;
//! `timestamp` says when the checks ran.

use lambda_http::{http::StatusCode, Body, Request, Response};
use shared::{
    auth::Permission,
    health,
    http::{json, without_body_for_head},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    sign_in::optional_caller,
    ApiResult, AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy, Route, Statement};

/// Exempt from per-identity limits: uptime checks poll it, and it must answer while
/// DynamoDB (where the counters live) is down.
pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Exempt).warm_signing_key();

pub const DEPLOY: Deploy = Deploy::api(
    Area::Operations,
    "whether the API is up; every dependency for staff tokens",
    &[
        Route::get("/api/health").without_authorizer(),
        Route::head("/api/health").without_authorizer(),
    ],
)
    .policies(&[
        Policy::SigningKeyRead,
        Policy::Allow(&[
            Statement::allow(&["dynamodb:DescribeTable"], &[Cfn::Ref("AppTableArn")]),
            Statement::allow(&["s3:ListBucket"], &[Cfn::Ref("UploadsBucketArn")]),
        ]),
    ]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(health_check(state, req))
}

async fn health_check(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let (report, caller) = tokio::join!(health::check_recent(state), optional_caller(state, &req));
    let status = if report.is_serving() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let response = if caller.is_some_and(|c| c.can(Permission::ViewSystemHealth)) {
        json(status, &*report)
    } else {
        json(status, &report.liveness())
    }?;
    Ok(without_body_for_head(&req, response))
}
