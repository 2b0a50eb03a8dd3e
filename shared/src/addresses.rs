//! Addresses: validation, geocoding and storage, shared by the address routes, order
//! creation (inline addresses) and partner drafts; and each account's address book.
//!
//! An address that orders use is never rewritten: orders keep the address they were
//! placed with, so an edit becomes a new address that takes the old one's place in the
//! book, and a removed one is retired (hidden) rather than deleted.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    auth::{Caller, Permission},
    db::{p, FromRow, GenericClient, RowExt, Transaction},
    error::{ApiError, ApiResult, Context, FieldError},
    geo::{self, AddressQuery, Point},
    input::{bounded_text, Cursor, Lines, Page, PageRequest, Validator},
    AppState,
};

/// An address as clients send it.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AddressInput {
    pub name: Option<String>,
    pub street1: String,
    pub street2: Option<String>,
    pub city: String,
    pub state: String,
    pub zip: Option<String>,
    pub county: Option<String>,
    pub location_number: Option<String>,
    pub parking_loading: Option<String>,
    #[serde(default)]
    pub is_restaurant: bool,
    #[serde(default)]
    pub is_shared: bool,
}

/// A checked address, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidAddress {
    pub name: Option<String>,
    pub street1: String,
    pub street2: Option<String>,
    pub city: String,
    pub state: String,
    pub zip: Option<String>,
    pub county: Option<String>,
    pub location_number: Option<String>,
    pub parking_loading: Option<String>,
    pub is_restaurant: bool,
    pub is_shared: bool,
}

/// Checks every field, naming each as `<prefix>.<field>` (`pickupAddress.zip`).
pub fn validate(v: &mut Validator, prefix: &str, input: &AddressInput) -> Option<ValidAddress> {
    let field = |name: &str| {
        if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}.{name}")
        }
    };
    let optional = |v: &mut Validator, name: &str, value: &Option<String>, max: usize| {
        v.optional_text(&field(name), value.as_deref(), max, Lines::One)
    };
    let street1 = v.text(&field("street1"), &input.street1, 200);
    let city = v.text(&field("city"), &input.city, 100);
    let state = v.take(
        bounded_text(&field("state"), &input.state, 2, 2, Lines::One).and_then(|s| {
            if s.chars().all(|c| c.is_ascii_alphabetic()) {
                Ok(s.to_ascii_uppercase())
            } else {
                Err(FieldError::new(
                    field("state"),
                    "must be a two-letter state code",
                ))
            }
        }),
    );
    let zip = optional(v, "zip", &input.zip, 10);
    if let Some(zip) = &zip {
        let digits: String = zip.chars().filter(char::is_ascii_digit).collect();
        let shaped = (zip.len() == 5 && digits.len() == 5)
            || (zip.len() == 10 && digits.len() == 9 && zip.as_bytes()[5] == b'-');
        v.check(
            shaped,
            &field("zip"),
            "must be a ZIP code like 94103 or 94103-1234",
        );
    }
    let valid = ValidAddress {
        name: optional(v, "name", &input.name, 200),
        street2: optional(v, "street2", &input.street2, 200),
        county: optional(v, "county", &input.county, 100),
        location_number: optional(v, "locationNumber", &input.location_number, 50),
        parking_loading: optional(v, "parkingLoading", &input.parking_loading, 500),
        street1: street1?,
        city: city?,
        state: state?,
        zip,
        is_restaurant: input.is_restaurant,
        is_shared: input.is_shared,
    };
    Some(valid)
}

/// Geocodes and stores an address; returns its id and position (if it could be placed).
pub async fn insert(
    state: &AppState,
    client: &impl GenericClient,
    address: &ValidAddress,
    created_by: Uuid,
) -> ApiResult<(Uuid, Option<Point>)> {
    let placed = geo::geocode(
        state,
        client,
        &AddressQuery {
            street: &address.street1,
            city: &address.city,
            state: &address.state,
            zip: address.zip.as_deref(),
        },
    )
    .await?;
    let wkt = placed.map(|(point, _)| point.wkt());
    let source = placed.map(|(_, source)| source.as_str());
    let id: Uuid = client
        .query_typed_one(
            "INSERT INTO addresses (name, street1, street2, city, state, zip, county, location_number,
                 parking_loading, is_restaurant, is_shared, location, geocode_source, created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, ST_GeogFromText($12), $13, $14)
             RETURNING id",
            &[
                p(&address.name),
                p(&address.street1),
                p(&address.street2),
                p(&address.city),
                p(&address.state),
                p(&address.zip),
                p(&address.county),
                p(&address.location_number),
                p(&address.parking_loading),
                p(&address.is_restaurant),
                p(&address.is_shared),
                p(&wkt),
                p(&source),
                p(&created_by),
            ],
        )
        .await?
        .col("id")?;
    Ok((id, placed.map(|(point, _)| point)))
}

/// An address as the address routes show it.
#[derive(Debug, Clone, Serialize, PartialEq, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub id: Uuid,
    pub name: Option<String>,
    pub street1: String,
    pub street2: Option<String>,
    pub city: String,
    pub state: String,
    pub zip: Option<String>,
    pub county: Option<String>,
    pub location_number: Option<String>,
    pub parking_loading: Option<String>,
    pub is_restaurant: bool,
    pub is_shared: bool,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub geocode_source: Option<String>,
    pub alias: Option<String>,
    pub is_default: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Selects [`Address`] from `addresses a` left-joined to the caller's link `ua`.
pub const ADDRESS_SELECT: &str =
    "SELECT a.id, a.name, a.street1, a.street2, a.city, a.state, a.zip, a.county,
        a.location_number, a.parking_loading, a.is_restaurant, a.is_shared,
        ST_Y(a.location::geometry) AS latitude, ST_X(a.location::geometry) AS longitude, a.geocode_source,
        ua.alias, coalesce(ua.is_default, false) AS is_default, a.created_at
    FROM addresses a";

/// Whether the caller may use an address on an order: linked to them, made by them,
/// shared, or `any` (callers who manage every address).
pub async fn usable_by(
    client: &impl GenericClient,
    address_id: Uuid,
    user_id: Uuid,
    any: bool,
) -> ApiResult<bool> {
    let row = client
        .query_typed_one(
            "SELECT EXISTS (SELECT 1 FROM addresses a WHERE a.id = $1 AND a.deleted_at IS NULL AND
                ($3 OR a.is_shared OR a.created_by = $2 OR EXISTS (
                    SELECT 1 FROM user_addresses ua WHERE ua.address_id = a.id AND ua.user_id = $2))) AS usable",
            &[p(&address_id), p(&user_id), p(&any)],
        )
        .await?;
    row.col("usable")
}

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

/// Only callers allowed to share addresses (partner restaurants) mark one shared,
/// whichever route stores it: 403 for anyone else.
pub fn check_sharing(caller: &Caller, input: &AddressInput) -> ApiResult<()> {
    if input.is_shared {
        caller.require(Permission::ShareAddresses)?;
    }
    Ok(())
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
pub async fn find_in_book(
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
pub async fn update(
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
pub async fn remove_from_book(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn input(zip: &str, state: &str) -> AddressInput {
        AddressInput {
            street1: "100 Main St".into(),
            city: "San Jose".into(),
            state: state.into(),
            zip: Some(zip.into()),
            ..AddressInput::default()
        }
    }

    #[test]
    fn zips_and_states_are_checked() {
        for (zip, state, ok) in [
            ("95113", "ca", true),
            ("95113-1234", "CA", true),
            ("9511", "CA", false),
            ("95113-12", "CA", false),
            ("abcde", "CA", false),
            ("95113", "Cal", false),
            ("95113", "C1", false),
        ] {
            let valid = Validator::validate(|v| validate(v, "pickupAddress", &input(zip, state)));
            assert_eq!(valid.is_ok(), ok, "{zip} {state}");
            if ok {
                assert_eq!(valid.expect("valid").state, "CA");
            }
        }
    }

    #[test]
    fn field_names_carry_the_prefix() {
        let err = Validator::validate(|v| validate(v, "deliveryAddress", &AddressInput::default()))
            .expect_err("empty");
        let fields = err.details.as_ref().expect("details").to_string();
        assert!(
            fields.contains("deliveryAddress.street1") && fields.contains("deliveryAddress.city"),
            "{fields}"
        );
    }
}
