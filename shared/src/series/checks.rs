//! What a series must be before it is stored: its times, its order template (saved
//! addresses and order fields only), and its order checked by the rules of any order.

use chrono::{DateTime, NaiveTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{today, Series};
use crate::{
    addresses,
    auth::Caller,
    db::GenericClient,
    error::{ApiError, ApiResult, FieldError},
    orders::intake,
};

/// The fields of an order a series' template may hold besides its two addresses; the
/// times come from the series.
pub(super) const TEMPLATE_FIELDS: [&str; 10] = [
    "headcount",
    "needHost",
    "hoursNeeded",
    "numberOfHosts",
    "brokerage",
    "clientAttention",
    "pickupNotes",
    "specialNotes",
    "orderTotal",
    "tip",
];

/// Checked times: `HH:MM` each, arrival after pickup.
pub(super) fn check_times(
    pickup: &str,
    arrival: &str,
) -> Result<(NaiveTime, NaiveTime), Vec<FieldError>> {
    let parse = |field: &str, text: &str| {
        NaiveTime::parse_from_str(text, "%H:%M")
            .map_err(|_| FieldError::new(field, "must be a time HH:MM (24-hour, Pacific)"))
    };
    match (parse("pickupTime", pickup), parse("arrivalTime", arrival)) {
        (Ok(p), Ok(a)) if a > p => Ok((p, a)),
        (Ok(_), Ok(_)) => Err(vec![FieldError::new(
            "arrivalTime",
            "must be after pickupTime",
        )]),
        (p, a) => Err([p.err(), a.err()].into_iter().flatten().collect()),
    }
}

/// A template: saved addresses and order fields only, checked as the first date's order.
pub(super) fn check_template(order: &Value) -> Result<Map<String, Value>, Vec<FieldError>> {
    let Some(order) = order.as_object() else {
        return Err(vec![FieldError::new("order", "must be an object")]);
    };
    let mut errors = Vec::new();
    for field in order.keys() {
        let allowed = TEMPLATE_FIELDS.contains(&field.as_str())
            || field == "pickupAddressId"
            || field == "deliveryAddressId";
        if !allowed {
            let why = match field.as_str() {
                "pickupDateTime" | "arrivalDateTime" => {
                    "comes from the series' pickupTime and arrivalTime"
                }
                "pickupAddress" | "deliveryAddress" => {
                    "a series uses saved addresses: give pickupAddressId and deliveryAddressId"
                }
                _ => "is not a field of a series' order",
            };
            errors.push(FieldError::new(format!("order.{field}"), why));
        }
    }
    for field in ["pickupAddressId", "deliveryAddressId"] {
        if !order.get(field).is_some_and(Value::is_string) {
            errors.push(FieldError::new(format!("order.{field}"), "is required"));
        }
    }
    if errors.is_empty() {
        Ok(order.clone())
    } else {
        Err(errors)
    }
}

/// Checks a series as it will be stored: its order, placed on its first date to come
/// by `owner`, passes every order rule, and its addresses are the owner's to use.
pub(super) async fn check_series(
    client: &impl GenericClient,
    owner: &Caller,
    series: &Series,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let first = series
        .dates(today(now), today(now) + chrono::Duration::days(400))?
        .into_iter()
        .find(|d| series.times_on(*d).is_ok_and(|(pickup, _)| pickup > now));
    let Some(first) = first else {
        return Err(ApiError::validation(vec![FieldError::new(
            "rule",
            "has no date to come before the series ends",
        )]));
    };
    let (basics, details) = series.order_body(first)?;
    intake::check_only(owner, &basics, &details, now)?;
    for (field, id) in [
        ("order.pickupAddressId", &basics.pickup_address_id),
        ("order.deliveryAddressId", &basics.delivery_address_id),
    ] {
        let usable = match id.as_deref().map(Uuid::parse_str) {
            Some(Ok(id)) => addresses::usable_by(client, id, owner.user_id, false).await?,
            _ => false,
        };
        if !usable {
            return Err(ApiError::validation(vec![FieldError::new(
                field,
                "is not an address the series' client may use",
            )]));
        }
    }
    Ok(())
}
