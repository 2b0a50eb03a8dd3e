//! `GET | PATCH | DELETE /api/addresses/{addressId}`: one address of the caller's book.
//!
//! Only addresses linked to the caller are visible (staff see all); others answer 404.
//! PATCH re-geocodes when the location changes; an address orders already use is not
//! rewritten: the edit becomes a new address (new id) in its place in the book. DELETE
//! removes it from the book and retires it, while orders that used it keep it.

use lambda_http::{http::Method, Body, Request, Response};
use serde::Deserialize;
use shared::{
    addresses::{self, Address, AddressInput, ADDRESS_SELECT},
    auth::{caller, Caller, Permission},
    db::{p, Transaction},
    geo::{self, AddressQuery},
    http::{no_content, ok},
    input::{bounded_text, parse_json, path_uuid, Validator},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiError, ApiResult, AppState,
};
use uuid::Uuid;

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(address_by_id(state, req))
}

/// Visible: linked to the caller, or any for staff.
const VISIBLE: &str = "a.id = $1 AND a.deleted_at IS NULL AND ($3 OR ua.user_id IS NOT NULL)";

async fn address_by_id(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::OwnAddresses)?;
    let address_id = path_uuid(&req, "addressId")?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let current = find(&tx, &caller, address_id).await?;
    let response = match *req.method() {
        Method::GET => ok(&serde_json::json!({ "address": current }))?,
        Method::PATCH => update(state, &tx, &caller, current, &req).await?,
        Method::DELETE => {
            tx.execute_typed(
                "DELETE FROM user_addresses WHERE address_id = $1 AND user_id = $2",
                &[p(&address_id), p(&caller.user_id)],
            )
            .await?;
            tx.execute_typed(
                "UPDATE addresses SET deleted_at = now() WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM user_addresses WHERE address_id = $1)",
                &[p(&address_id)],
            )
            .await?;
            no_content()
        }
        _ => {
            return Err(ApiError::new(
                lambda_http::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "use GET, PATCH or DELETE",
            ))
        }
    };
    tx.commit().await?;
    Ok(response)
}

async fn find(tx: &Transaction<'_>, caller: &Caller, address_id: Uuid) -> ApiResult<Address> {
    let sql = format!(
        "{ADDRESS_SELECT} LEFT JOIN user_addresses ua ON ua.address_id = a.id AND ua.user_id = $2
         WHERE {VISIBLE} FOR UPDATE OF a"
    );
    let row = tx
        .query_typed_opt(
            &sql,
            &[
                p(&address_id),
                p(&caller.user_id),
                p(&caller.role.is_staff()),
            ],
        )
        .await?
        .ok_or_else(|| ApiError::not_found("address"))?;
    Ok(Address::from_row(&row))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AddressUpdate {
    name: Option<String>,
    street1: Option<String>,
    street2: Option<String>,
    city: Option<String>,
    state: Option<String>,
    zip: Option<String>,
    county: Option<String>,
    location_number: Option<String>,
    parking_loading: Option<String>,
    is_restaurant: Option<bool>,
    alias: Option<String>,
}

async fn update(
    state: &AppState,
    tx: &Transaction<'_>,
    caller: &Caller,
    current: Address,
    req: &Request,
) -> ApiResult<Response<Body>> {
    let body: AddressUpdate = parse_json(req)?;
    // Validate the address as it will be after the update.
    let merged = AddressInput {
        name: body.name.clone().or(current.name.clone()),
        street1: body.street1.clone().unwrap_or(current.street1.clone()),
        street2: body.street2.clone().or(current.street2.clone()),
        city: body.city.clone().unwrap_or(current.city.clone()),
        state: body.state.clone().unwrap_or(current.state.clone()),
        zip: body.zip.clone().or(current.zip.clone()),
        county: body.county.clone().or(current.county.clone()),
        location_number: body
            .location_number
            .clone()
            .or(current.location_number.clone()),
        parking_loading: body
            .parking_loading
            .clone()
            .or(current.parking_loading.clone()),
        is_restaurant: body.is_restaurant.unwrap_or(current.is_restaurant),
        is_shared: current.is_shared,
    };
    let mut v = Validator::new();
    let valid = addresses::validate(&mut v, "", &merged);
    let alias = body
        .alias
        .as_deref()
        .and_then(|a| v.take(bounded_text("alias", a, 1, 50, false)));
    v.finish()?;
    let valid = valid.ok_or_else(|| ApiError::internal("validated address missing"))?;
    let moved = valid.street1 != current.street1
        || valid.city != current.city
        || valid.state != current.state
        || valid.zip != current.zip;
    let in_use: bool = tx
        .query_typed_one(
            "SELECT EXISTS (SELECT 1 FROM orders WHERE pickup_address_id = $1 OR delivery_address_id = $1)",
            &[p(&current.id)],
        )
        .await?
        .get(0);
    let id = if in_use {
        // Orders keep the address they were placed with: the edit becomes a new address
        // that takes the old one's place in the address book (every book, for staff).
        let (new_id, _) = addresses::insert(state, tx, &valid, caller.user_id).await?;
        tx.execute_typed(
            "UPDATE user_addresses SET address_id = $2 WHERE address_id = $1 AND ($3 OR user_id = $4)",
            &[p(&current.id), p(&new_id), p(&caller.role.is_staff()), p(&caller.user_id)],
        )
        .await?;
        tx.execute_typed(
            "UPDATE addresses SET deleted_at = now() WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM user_addresses WHERE address_id = $1)",
            &[p(&current.id)],
        )
        .await?;
        new_id
    } else {
        update_in_place(state, tx, current.id, &valid, moved).await?;
        current.id
    };
    if alias.is_some() {
        tx.execute_typed(
            "UPDATE user_addresses SET alias = $3 WHERE address_id = $1 AND user_id = $2",
            &[p(&id), p(&caller.user_id), p(&alias)],
        )
        .await?;
    }
    ok(&serde_json::json!({ "address": find(tx, caller, id).await? }))
}

/// Rewrites an address no order uses, geocoding it again when it moved.
async fn update_in_place(
    state: &AppState,
    tx: &Transaction<'_>,
    id: Uuid,
    valid: &addresses::ValidAddress,
    moved: bool,
) -> ApiResult<()> {
    let placed = if moved {
        geo::geocode(
            state,
            tx,
            &AddressQuery {
                street: &valid.street1,
                city: &valid.city,
                state: &valid.state,
                zip: valid.zip.as_deref(),
            },
        )
        .await?
    } else {
        None
    };
    let wkt = placed.map(|(point, _)| point.wkt());
    let source = placed.map(|(_, s)| s.as_str());
    tx.execute_typed(
        "UPDATE addresses SET name = $2, street1 = $3, street2 = $4, city = $5, state = $6, zip = $7, county = $8,
             location_number = $9, parking_loading = $10, is_restaurant = $11,
             location = CASE WHEN $12 THEN ST_GeogFromText($13) ELSE location END,
             geocode_source = CASE WHEN $12 THEN $14 ELSE geocode_source END
         WHERE id = $1",
        &[
            p(&id), p(&valid.name), p(&valid.street1), p(&valid.street2), p(&valid.city), p(&valid.state),
            p(&valid.zip), p(&valid.county), p(&valid.location_number), p(&valid.parking_loading), p(&valid.is_restaurant),
            p(&moved), p(&wkt), p(&source),
        ],
    )
    .await?;
    Ok(())
}
