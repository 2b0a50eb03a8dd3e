//! Addresses: validation, geocoding and storage, shared by the address routes, order
//! creation (inline addresses) and partner drafts; and each account's address book.
//!
//! An address that orders use is never rewritten: orders keep the address they were
//! placed with, so an edit becomes a new address that takes the old one's place in the
//! book, and a removed one is retired (hidden) rather than deleted ([`book`]).

pub mod book;

pub use book::{add_to_book, list_book, AddressUpdate, BookEntry};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    auth::{Caller, Permission},
    db::{p, FromRow, GenericClient, RowExt},
    error::{ApiResult, FieldError},
    geo::{self, AddressQuery, Point},
    input::{bounded_text, Lines, Validator},
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
#[tracing::instrument(name = "insert_address", skip_all)]
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

/// Only callers allowed to share addresses (partner restaurants) mark one shared,
/// whichever route stores it: 403 for anyone else.
pub fn check_sharing(caller: &Caller, input: &AddressInput) -> ApiResult<()> {
    if input.is_shared {
        caller.require(Permission::ShareAddresses)?;
    }
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
