//! Each account's address book: its page of addresses, adding, editing and removing one.
//! The routes' actions each run in one transaction opened here.

use serde::Deserialize;
use uuid::Uuid;

use super::{check_sharing, insert, validate, Address, AddressInput, ValidAddress, ADDRESS_SELECT};
use crate::{
    auth::{Caller, Permission},
    db::{p, FromRow, GenericClient, RowExt, Transaction},
    error::{ApiError, ApiResult, Context},
    geo::{self, AddressQuery},
    input::{Cursor, Lines, Page, PageRequest, Validator},
    AppState,
};

/// One page of the caller's address book, newest first; with `include_shared` the shared
/// addresses (partner restaurants) too.
pub async fn list_book(
    client: &impl GenericClient,
    user_id: Uuid,
    include_shared: bool,
    page: &PageRequest,
) -> ApiResult<Page<Address>> {
    let (after_time, after_id) = page.after.as_ref().map(|c| (c.at, c.id)).unzip();
    let sql = format!(
        "{ADDRESS_SELECT}
         LEFT JOIN user_addresses ua ON ua.address_id = a.id AND ua.user_id = $1
         WHERE a.deleted_at IS NULL AND (ua.user_id IS NOT NULL OR ($2 AND a.is_shared))
           AND ($3::timestamptz IS NULL OR (a.created_at, a.id) < ($3, $4))
         ORDER BY a.created_at DESC, a.id DESC
         LIMIT $5"
    );
    let rows = client
        .query_typed(
            &sql,
            &[
                p(&user_id),
                p(&include_shared),
                p(&after_time),
                p(&after_id),
                p(&page.fetch_limit()),
            ],
        )
        .await
        .context("listing the address book")?;
    let items = rows
        .iter()
        .map(Address::from_row)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page, |a| Cursor {
        at: a.created_at,
        id: a.id,
    }))
}

/// The address-book fields of a new entry; the address itself is an [`AddressInput`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookEntry {
    pub alias: Option<String>,
    #[serde(default)]
    pub is_default: bool,
}

/// Geocodes and saves an address and links it to the caller's book, in one transaction.
pub async fn add_to_book(
    state: &AppState,
    caller: &Caller,
    input: &AddressInput,
    entry: &BookEntry,
) -> ApiResult<Address> {
    check_sharing(caller, input)?;
    let (address, alias) = Validator::validate(|v| {
        let address = validate(v, "", input);
        let alias = v.optional_text("alias", entry.alias.as_deref(), 50, Lines::One);
        Some((address?, alias))
    })?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let (id, _) = insert(state, &tx, &address, caller.user_id).await?;
    if entry.is_default {
        tx.execute_typed(
            "UPDATE user_addresses SET is_default = false WHERE user_id = $1",
            &[p(&caller.user_id)],
        )
        .await?;
    }
    tx.execute_typed(
        "INSERT INTO user_addresses (user_id, address_id, alias, is_default) VALUES ($1, $2, $3, $4)",
        &[p(&caller.user_id), p(&id), p(&alias), p(&entry.is_default)],
    )
    .await?;
    let saved = find_in_book(&tx, caller, id).await?;
    tx.commit().await?;
    Ok(saved)
}

/// Locks an address of the caller's book (any address for those who manage them all);
/// 404 for others.
async fn find_in_book(
    tx: &Transaction<'_>,
    caller: &Caller,
    address_id: Uuid,
) -> ApiResult<Address> {
    let sql = format!(
        "{ADDRESS_SELECT} LEFT JOIN user_addresses ua ON ua.address_id = a.id AND ua.user_id = $2
         WHERE a.id = $1 AND a.deleted_at IS NULL AND ($3 OR ua.user_id IS NOT NULL)
         FOR UPDATE OF a"
    );
    let row = tx
        .query_typed_opt(
            &sql,
            &[
                p(&address_id),
                p(&caller.user_id),
                p(&caller.can(Permission::ManageAllAddresses)),
            ],
        )
        .await?
        .ok_or_else(|| ApiError::not_found("address"))?;
    Address::from_row(&row)
}

/// The fields an address edit may change; absent ones stay.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddressUpdate {
    pub name: Option<String>,
    pub street1: Option<String>,
    pub street2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip: Option<String>,
    pub county: Option<String>,
    pub location_number: Option<String>,
    pub parking_loading: Option<String>,
    pub is_restaurant: Option<bool>,
    pub alias: Option<String>,
}

/// Edits an address of the caller's book. One that orders use becomes a new address in
/// its place (in every book, for those who manage every address); one that no order uses
/// is rewritten, and geocoded again when it moved.
async fn update(
    state: &AppState,
    tx: &Transaction<'_>,
    caller: &Caller,
    current: &Address,
    edit: &AddressUpdate,
) -> ApiResult<Address> {
    // Checked as the address will be after the edit.
    let merged = AddressInput {
        name: edit.name.clone().or(current.name.clone()),
        street1: edit.street1.clone().unwrap_or(current.street1.clone()),
        street2: edit.street2.clone().or(current.street2.clone()),
        city: edit.city.clone().unwrap_or(current.city.clone()),
        state: edit.state.clone().unwrap_or(current.state.clone()),
        zip: edit.zip.clone().or(current.zip.clone()),
        county: edit.county.clone().or(current.county.clone()),
        location_number: edit
            .location_number
            .clone()
            .or(current.location_number.clone()),
        parking_loading: edit
            .parking_loading
            .clone()
            .or(current.parking_loading.clone()),
        is_restaurant: edit.is_restaurant.unwrap_or(current.is_restaurant),
        is_shared: current.is_shared,
    };
    let (valid, alias) = Validator::validate(|v| {
        let valid = validate(v, "", &merged);
        let alias = v.optional_text("alias", edit.alias.as_deref(), 50, Lines::One);
        Some((valid?, alias))
    })?;
    let in_use: bool = tx
        .query_typed_one(
            "SELECT EXISTS (SELECT 1 FROM orders WHERE pickup_address_id = $1 OR delivery_address_id = $1) AS in_use",
            &[p(&current.id)],
        )
        .await?
        .col("in_use")?;
    let id = if in_use {
        let (new_id, _) = insert(state, tx, &valid, caller.user_id).await?;
        tx.execute_typed(
            "UPDATE user_addresses SET address_id = $2 WHERE address_id = $1 AND ($3 OR user_id = $4)",
            &[p(&current.id), p(&new_id), p(&caller.can(Permission::ManageAllAddresses)), p(&caller.user_id)],
        )
        .await?;
        retire_if_unlisted(tx, current.id).await?;
        new_id
    } else {
        let moved = valid.street1 != current.street1
            || valid.city != current.city
            || valid.state != current.state
            || valid.zip != current.zip;
        rewrite(state, tx, current.id, &valid, moved).await?;
        current.id
    };
    if alias.is_some() {
        tx.execute_typed(
            "UPDATE user_addresses SET alias = $3 WHERE address_id = $1 AND user_id = $2",
            &[p(&id), p(&caller.user_id), p(&alias)],
        )
        .await?;
    }
    find_in_book(tx, caller, id).await
}

/// Removes an address from the caller's book; it is retired once no book lists it, while
/// orders that used it keep it.
async fn remove_from_book(
    tx: &Transaction<'_>,
    caller: &Caller,
    address_id: Uuid,
) -> ApiResult<()> {
    tx.execute_typed(
        "DELETE FROM user_addresses WHERE address_id = $1 AND user_id = $2",
        &[p(&address_id), p(&caller.user_id)],
    )
    .await?;
    retire_if_unlisted(tx, address_id).await
}

async fn retire_if_unlisted(tx: &Transaction<'_>, address_id: Uuid) -> ApiResult<()> {
    tx.execute_typed(
        "UPDATE addresses SET deleted_at = now()
         WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM user_addresses WHERE address_id = $1)",
        &[p(&address_id)],
    )
    .await?;
    Ok(())
}

/// Rewrites an address no order uses, geocoding it again when it moved.
async fn rewrite(
    state: &AppState,
    tx: &Transaction<'_>,
    id: Uuid,
    valid: &ValidAddress,
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

/// An address of the caller's book.
#[tracing::instrument(name = "view_address", skip_all, fields(%address_id))]
pub async fn view(state: &AppState, caller: &Caller, address_id: Uuid) -> ApiResult<Address> {
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let address = find_in_book(&tx, caller, address_id).await?;
    tx.commit().await?;
    Ok(address)
}

/// [`update`] in one transaction: the address as it now reads (perhaps a new id).
#[tracing::instrument(name = "edit_address", skip_all, fields(%address_id))]
pub async fn edit(
    state: &AppState,
    caller: &Caller,
    address_id: Uuid,
    changes: &AddressUpdate,
) -> ApiResult<Address> {
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let current = find_in_book(&tx, caller, address_id).await?;
    let updated = update(state, &tx, caller, &current, changes).await?;
    tx.commit().await?;
    Ok(updated)
}

/// [`remove_from_book`] in one transaction, once the address is found in the book.
#[tracing::instrument(name = "remove_address", skip_all, fields(%address_id))]
pub async fn remove(state: &AppState, caller: &Caller, address_id: Uuid) -> ApiResult<()> {
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    find_in_book(&tx, caller, address_id).await?;
    remove_from_book(&tx, caller, address_id).await?;
    tx.commit().await?;
    Ok(())
}
