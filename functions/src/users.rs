//! `GET | POST /api/users`: the admin panel's user list, and accounts made by staff.
//!
//! `GET ?role=&status=&search=&limit=&cursor=` (staff); `status=DELETED` lists
//! soft-deleted accounts, which are hidden otherwise. `POST {email, role, name,
//! contactName?, companyName?, phone?, website?}` (ADMIN: non-staff roles; SUPER_ADMIN:
//! any) answers 201 with the account and its one-time `setPasswordToken` (72 hours),
//! shown only here; 409 `email_taken`.

use lambda_http::{http::Method, Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    http::{created, ok},
    input::{parse_json, query_param, PageRequest},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    users::{
        admin::{list, UserFilters},
        lifecycle::{create_by_staff, NewAccount},
    },
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Admin);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Identity,
    "the admin user list (staff), accounts made by staff (ADMIN, SUPER_ADMIN)",
    &[
        Route::get("/api/users").requires(Permission::ListUsers),
        Route::post("/api/users").requires(Permission::CreateUsers),
    ],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(users(state, req))
}

async fn users(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    if req.method() == Method::POST {
        let body: NewAccount = parse_json(&req)?;
        return created(&create_by_staff(state, &caller, &body).await?);
    }
    caller.require(Permission::ListUsers)?;
    let page = PageRequest::from_request(&req)?;
    let filters = UserFilters::parse(
        query_param(&req, "role"),
        query_param(&req, "status"),
        query_param(&req, "search"),
    )?;
    let client = state.db.get().await?;
    ok(&list(&*client, &filters, &page).await?)
}
