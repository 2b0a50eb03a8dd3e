//! `POST /api/orders/{order_number}/pod` and `/signature`: the order's assigned driver
//! attaches a completed upload (`{uploadId}`, category `POD` or `SIGNATURE`, made for this
//! order) to their delivery of it. Answers `{delivery}` with both proofs as they stand.
//! Others who see the order get 403, everyone else 404; another's, pending or misfiled
//! upload is 404 or 422; a cancelled order 409.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    http::ok,
    input::{parse_json, path_param},
    orders::parse_order_number,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    uploads::proof::{attach, ProofKind, ProofRequest},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api).idempotent();

pub const DEPLOY: Deploy = Deploy::api(
    Area::Orders,
    "the assigned driver's proof of delivery",
    &[
        Route::post("/api/orders/{order_number}/pod").named("Pod").requires(Permission::Drive),
        Route::post("/api/orders/{order_number}/signature")
            .named("Signature")
            .requires(Permission::Drive),
    ],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(order_proof(state, req))
}

async fn order_proof(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let number = parse_order_number(path_param(&req, "order_number")?)?;
    // The template routes only `/pod` and `/signature` here.
    let kind = if req.uri().path().ends_with("/signature") {
        ProofKind::Signature
    } else {
        ProofKind::Photo
    };
    let request: ProofRequest = parse_json(&req)?;
    let delivery = attach(state, &caller, &number, kind, &request).await?;
    ok(&serde_json::json!({ "delivery": delivery }))
}
