//! `GET | PUT /api/profile`: one's own account.
//!
//! `PUT` edits the caller's own fields (`name`, `contactName`, `companyName`, `phone`,
//! `website`) and, with `currentPassword`, its `email` (409 `email_taken` when another
//! account has it) or its password (`newPassword`, which ends every other session).
//! Never the role or the status.

use lambda_http::{http::Method, Body, Request, Response};
use shared::{
    auth::caller,
    http::ok,
    input::parse_json,
    ratelimit::{Drawn, RateClass},
    runtime::{HandlerFuture, HttpFunction},
    users::own::{self, OwnProfileUpdate},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Policy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Identity,
    "one own account (fields, email, password)",
    &[Route::get("/api/profile"), Route::put("/api/profile")],
)
    .policies(&[Policy::SessionRegistryQuery]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(profile(state, req))
}

async fn profile(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    match *req.method() {
        Method::PUT => {
            let edit: OwnProfileUpdate = parse_json(&req)?;
            ok(&own::update(state, Drawn::of(&req), &caller, &edit).await?)
        }
        _ => ok(&serde_json::json!({ "user": own::get(state, &caller).await? })),
    }
}
