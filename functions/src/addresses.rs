//! `GET | POST /api/addresses`: the caller's address book.
//!
//! GET lists the caller's addresses (`?includeShared=true` adds shared ones, such as
//! partner restaurants), newest first, paginated. POST geocodes and saves an address and
//! links it to the caller; only staff may mark an address shared.

use lambda_http::{http::Method, Body, Request, Response};
use serde::Deserialize;
use shared::{
    addresses::{self, Address, AddressInput, ADDRESS_SELECT},
    auth::{caller, Caller, Permission},
    db::p,
    http::{created, ok},
    input::{bounded_text, parse_json, query_param, Cursor, Page, PageRequest, Validator},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiError, ApiResult, AppState,
};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api).idempotent();

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(addresses(state, req))
}

async fn addresses(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::OwnAddresses)?;
    if req.method() == Method::POST {
        create(state, &caller, &req).await
    } else {
        list(state, &caller, &req).await
    }
}

async fn list(state: &AppState, caller: &Caller, req: &Request) -> ApiResult<Response<Body>> {
    let page = PageRequest::from_request(req)?;
    let include_shared = match query_param(req, "includeShared") {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "validation_failed",
                "includeShared must be true or false",
            ))
        }
    };
    let (after_time, after_id) = page.after.as_ref().map(|c| (c.at, c.id)).unzip();
    let sql = format!(
        "{ADDRESS_SELECT}
         LEFT JOIN user_addresses ua ON ua.address_id = a.id AND ua.user_id = $1
         WHERE a.deleted_at IS NULL AND (ua.user_id IS NOT NULL OR ($2 AND a.is_shared))
           AND ($3::timestamptz IS NULL OR (a.created_at, a.id) < ($3, $4))
         ORDER BY a.created_at DESC, a.id DESC
         LIMIT $5"
    );
    let client = state.db.get().await?;
    let rows = client
        .query_typed(
            &sql,
            &[
                p(&caller.user_id),
                p(&include_shared),
                p(&after_time),
                p(&after_id),
                p(&page.fetch_limit()),
            ],
        )
        .await?;
    let items: Vec<Address> = rows.iter().map(Address::from_row).collect();
    ok(&Page::from_rows(items, &page, |a| Cursor {
        at: a.created_at,
        id: a.id,
    }))
}

/// The address-book fields of the body; the address itself is read as [`AddressInput`].
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BookEntry {
    alias: Option<String>,
    #[serde(default)]
    is_default: bool,
}

async fn create(state: &AppState, caller: &Caller, req: &Request) -> ApiResult<Response<Body>> {
    let input: AddressInput = parse_json(req)?;
    let body: BookEntry = parse_json(req)?;
    let mut v = Validator::new();
    let address = addresses::validate(&mut v, "", &input);
    let alias = body
        .alias
        .as_deref()
        .and_then(|a| v.take(bounded_text("alias", a, 1, 50, false)));
    v.check(
        !input.is_shared || caller.role.is_staff(),
        "isShared",
        "only staff may share addresses",
    );
    v.finish()?;
    let address = address.ok_or_else(|| ApiError::internal("validated address missing"))?;

    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let (id, _) = addresses::insert(state, &tx, &address, caller.user_id).await?;
    if body.is_default {
        tx.execute_typed(
            "UPDATE user_addresses SET is_default = false WHERE user_id = $1",
            &[p(&caller.user_id)],
        )
        .await?;
    }
    tx.execute_typed(
        "INSERT INTO user_addresses (user_id, address_id, alias, is_default) VALUES ($1, $2, $3, $4)",
        &[p(&caller.user_id), p(&id), p(&alias), p(&body.is_default)],
    )
    .await?;
    let sql = format!("{ADDRESS_SELECT} LEFT JOIN user_addresses ua ON ua.address_id = a.id AND ua.user_id = $2 WHERE a.id = $1");
    let row = tx
        .query_typed_one(&sql, &[p(&id), p(&caller.user_id)])
        .await?;
    tx.commit().await?;
    created(&serde_json::json!({ "address": Address::from_row(&row) }))
}
