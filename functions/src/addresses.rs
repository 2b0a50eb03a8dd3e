//! `GET | POST /api/addresses`: the caller's address book.
//!
//! GET lists the caller's addresses (`?includeShared=true` adds shared ones, such as
//! partner restaurants), newest first, paginated. POST geocodes and saves an address and
//! links it to the caller; only staff may mark an address shared.

use lambda_http::{http::Method, Body, Request, Response};
use shared::{
    addresses::{add_to_book, list_book, AddressInput, BookEntry},
    auth::{caller, Permission},
    error::FieldError,
    http::{created, ok},
    input::{parse_json, query_param, PageRequest},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiError, ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Policy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api).idempotent();

pub const DEPLOY: Deploy = Deploy::api(
    Area::Orders,
    "the caller's address book",
    &[Route::get("/api/addresses"), Route::post("/api/addresses")],
)
    .policies(&[Policy::MapsKeyRead]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(addresses(state, req))
}

async fn addresses(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::OwnAddresses)?;
    if req.method() == Method::POST {
        let input: AddressInput = parse_json(&req)?;
        let entry: BookEntry = parse_json(&req)?;
        let address = add_to_book(state, &caller, &input, &entry).await?;
        return created(&serde_json::json!({ "address": address }));
    }
    let page = PageRequest::from_request(&req)?;
    let include_shared = match query_param(&req, "includeShared") {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::validation(vec![FieldError::new(
                "includeShared",
                "must be true or false",
            )]))
        }
    };
    let client = state.db.get().await?;
    ok(&list_book(&*client, caller.user_id, include_shared, &page).await?)
}
