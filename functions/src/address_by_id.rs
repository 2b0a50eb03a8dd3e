//! `GET | PATCH | DELETE /api/addresses/{addressId}`: one address of the caller's book.
//!
//! Only addresses in the caller's book are visible (staff see all); others answer 404.
//! PATCH re-geocodes when the location changes; an address orders already use is not
//! rewritten: the edit becomes a new address (new id) in its place in the book. DELETE
//! removes it from the book and retires it, while orders that used it keep it.

use lambda_http::{http::Method, Body, Request, Response};
use serde_json::json;
use shared::{
    addresses::{book, AddressUpdate},
    auth::{caller, Permission},
    http::{no_content, ok},
    input::{parse_json, path_uuid},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Policy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Orders,
    "one saved address",
    &[
        Route::get("/api/addresses/{addressId}"),
        Route::patch("/api/addresses/{addressId}"),
        Route::delete("/api/addresses/{addressId}"),
    ],
)
    .policies(&[Policy::MapsKeyRead]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(address_by_id(state, req))
}

async fn address_by_id(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::OwnAddresses)?;
    let address_id = path_uuid(&req, "addressId")?;
    match *req.method() {
        Method::PATCH => {
            let changes: AddressUpdate = parse_json(&req)?;
            let updated = book::edit(state, &caller, address_id, &changes).await?;
            ok(&json!({ "address": updated }))
        }
        Method::DELETE => {
            book::remove(state, &caller, address_id).await?;
            Ok(no_content())
        }
        _ => ok(&json!({ "address": book::view(state, &caller, address_id).await? })),
    }
}
