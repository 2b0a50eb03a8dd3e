//! The rules an order's fields and times obey, once, for every route that creates or edits
//! an order (catering requests, on-demand orders, order edits, partner drafts) and for
//! who may still change an order once it is placed.
//!
//! Each check records its problems in a [`Validator`] under the field name the client
//! sent and yields the checked, typed value.

use std::ops::RangeInclusive;

use chrono::{DateTime, Duration, Utc};

use super::status::OrderStatus;
use crate::{
    input::{Lines, Validator},
    text_enum::text_enum,
};

/// People a catering order serves (`headcount`, a partner's `totalItem`).
pub const HEADCOUNT: RangeInclusive<i64> = 1..=10_000;
/// Hosts a catering order may ask for.
pub const HOSTS: RangeInclusive<i64> = 0..=50;
/// Hours of hosting a catering order may ask for.
pub const HOST_HOURS: RangeInclusive<f64> = 0.0..=24.0;
/// Largest food total or tip, in dollars.
pub const MAX_ORDER_DOLLARS: i64 = 1_000_000;
/// How far ahead an order may be scheduled.
pub const BOOKING_HORIZON: Duration = Duration::days(365);
/// How far back staff may record an order that already happened.
pub const BACKDATE_LIMIT: Duration = Duration::days(365);
/// Longest time between pickup and arrival.
pub const LONGEST_TRIP: Duration = Duration::hours(24);
/// Largest length, width or height of an on-demand item, in inches.
pub const MAX_DIMENSION_INCHES: f64 = 1_000.0;
/// Heaviest on-demand item, in pounds.
pub const MAX_WEIGHT_POUNDS: f64 = 10_000.0;

text_enum! {
    /// Catering and on-demand orders share one table and one status machine.
    pub enum OrderType("order type") {
        Catering = "CATERING",
        OnDemand = "ON_DEMAND",
    }
}

impl OrderType {
    /// Prefix of generated order numbers.
    pub fn number_prefix(self) -> &'static str {
        match self {
            OrderType::Catering => "CR",
            OrderType::OnDemand => "OD",
        }
    }
}

text_enum! {
    /// Whether a catering order needs staff on site.
    pub enum NeedHost("needHost value") {
        Yes = "YES",
        No = "NO",
    }
}

text_enum! {
    pub enum VehicleType("vehicle type") {
        Car = "CAR",
        Van = "VAN",
        Truck = "TRUCK",
    }
}

/// Whether an order's owner may still edit, cancel or delete it: only before it is
/// underway. Once a driver is assigned only staff change it, on every route.
pub fn owner_may_change(status: OrderStatus) -> bool {
    matches!(
        status,
        OrderStatus::Pending | OrderStatus::Confirmed | OrderStatus::Active
    )
}

/// A head count within [`HEADCOUNT`].
pub fn headcount(v: &mut Validator, field: &str, value: i64) -> Option<i32> {
    v.check(
        HEADCOUNT.contains(&value),
        field,
        &format!(
            "must be a whole number from {} to {}",
            HEADCOUNT.start(),
            HEADCOUNT.end()
        ),
    );
    HEADCOUNT
        .contains(&value)
        .then(|| i32::try_from(value).ok())
        .flatten()
}

/// When an order is picked up and when it arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub pickup_at: DateTime<Utc>,
    pub arrival_at: DateTime<Utc>,
}

/// Checks a schedule: pickup in the future (or, when `may_backdate`, no more than
/// [`BACKDATE_LIMIT`] in the past), at most [`BOOKING_HORIZON`] ahead, and arrival no
/// earlier than pickup and within [`LONGEST_TRIP`] of it.
pub fn schedule(
    v: &mut Validator,
    pickup_at: DateTime<Utc>,
    arrival_at: DateTime<Utc>,
    now: DateTime<Utc>,
    may_backdate: bool,
) -> Option<Schedule> {
    let errors_before = v.error_count();
    if may_backdate {
        v.check(
            pickup_at >= now - BACKDATE_LIMIT,
            "pickupDateTime",
            "must be within the past year",
        );
    } else {
        v.check(pickup_at > now, "pickupDateTime", "must be in the future");
    }
    v.check(
        pickup_at <= now + BOOKING_HORIZON,
        "pickupDateTime",
        "must be within a year",
    );
    v.check(
        arrival_at >= pickup_at,
        "arrivalDateTime",
        "must not be before pickupDateTime",
    );
    v.check(
        arrival_at <= pickup_at + LONGEST_TRIP,
        "arrivalDateTime",
        "must be within a day of pickupDateTime",
    );
    (v.error_count() == errors_before).then_some(Schedule {
        pickup_at,
        arrival_at,
    })
}

/// The catering fields as a client sends them (on create, or merged with the stored order
/// on an edit).
#[derive(Debug, Clone, Default)]
pub struct CateringInput<'a> {
    pub headcount: i64,
    pub need_host: Option<&'a str>,
    pub hours_needed: Option<f64>,
    pub number_of_hosts: Option<i64>,
}

/// What a catering order needs besides the food: people served and hosts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CateringDetails {
    pub headcount: i32,
    pub need_host: NeedHost,
    pub hours_needed: Option<f64>,
    pub number_of_hosts: i32,
}

impl CateringDetails {
    /// A partner draft: people only, no hosts.
    pub fn drop_off(headcount: i32) -> Self {
        Self {
            headcount,
            need_host: NeedHost::No,
            hours_needed: None,
            number_of_hosts: 0,
        }
    }
}

/// Checks the catering fields together: an order that needs a host has at least one.
pub fn catering(v: &mut Validator, input: &CateringInput<'_>) -> Option<CateringDetails> {
    let headcount = headcount(v, "headcount", input.headcount);
    let need_host = match input.need_host {
        None => Some(NeedHost::No),
        Some(raw) => v.take(
            raw.to_ascii_uppercase()
                .parse::<NeedHost>()
                .map_err(|_| crate::error::FieldError::new("needHost", "must be YES or NO")),
        ),
    };
    v.check(
        input
            .hours_needed
            .is_none_or(|h| h.is_finite() && HOST_HOURS.contains(&h)),
        "hoursNeeded",
        "must be from 0 to 24",
    );
    let hosts = input
        .number_of_hosts
        .unwrap_or(i64::from(need_host == Some(NeedHost::Yes)));
    v.check(
        HOSTS.contains(&hosts),
        "numberOfHosts",
        "must be from 0 to 50",
    );
    v.check(
        need_host != Some(NeedHost::Yes) || hosts >= 1,
        "numberOfHosts",
        "must be at least 1 when a host is needed",
    );
    Some(CateringDetails {
        headcount: headcount?,
        need_host: need_host?,
        hours_needed: input.hours_needed,
        number_of_hosts: i32::try_from(hosts).ok()?,
    })
}

/// The on-demand fields as a client sends them.
#[derive(Debug, Clone, Default)]
pub struct OnDemandInput<'a> {
    pub item_delivered: &'a str,
    pub vehicle_type: &'a str,
    pub length: Option<f64>,
    pub width: Option<f64>,
    pub height: Option<f64>,
    pub weight: Option<f64>,
}

/// What an on-demand order carries and in what.
#[derive(Debug, Clone, PartialEq)]
pub struct OnDemandDetails {
    pub item_delivered: String,
    pub vehicle_type: VehicleType,
    /// Inches and pounds: length, width, height, weight.
    pub length: Option<f64>,
    pub width: Option<f64>,
    pub height: Option<f64>,
    pub weight: Option<f64>,
}

pub fn on_demand(v: &mut Validator, input: &OnDemandInput<'_>) -> Option<OnDemandDetails> {
    let item = v.text("itemDelivered", input.item_delivered, 200);
    let vehicle = v.take(
        input
            .vehicle_type
            .to_ascii_uppercase()
            .parse::<VehicleType>()
            .map_err(|_| crate::error::FieldError::new("vehicleType", "must be CAR, VAN or TRUCK")),
    );
    for (field, value, max) in [
        ("length", input.length, MAX_DIMENSION_INCHES),
        ("width", input.width, MAX_DIMENSION_INCHES),
        ("height", input.height, MAX_DIMENSION_INCHES),
        ("weight", input.weight, MAX_WEIGHT_POUNDS),
    ] {
        v.check(
            value.is_none_or(|x| x.is_finite() && x > 0.0 && x <= max),
            field,
            &format!("must be more than 0 and at most {max}"),
        );
    }
    Some(OnDemandDetails {
        item_delivered: item?,
        vehicle_type: vehicle?,
        length: input.length,
        width: input.width,
        height: input.height,
        weight: input.weight,
    })
}

/// The part of an order only one type has.
#[derive(Debug, Clone, PartialEq)]
pub enum OrderDetails {
    Catering(CateringDetails),
    OnDemand(OnDemandDetails),
}

impl OrderDetails {
    pub fn order_type(&self) -> OrderType {
        match self {
            OrderDetails::Catering(_) => OrderType::Catering,
            OrderDetails::OnDemand(_) => OrderType::OnDemand,
        }
    }
}

/// The free-text fields every order has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderNotes {
    pub brokerage: Option<String>,
    pub client_attention: Option<String>,
    pub pickup_notes: Option<String>,
    pub special_notes: Option<String>,
}

/// The free-text fields as a client sends them.
#[derive(Debug, Clone, Copy, Default)]
pub struct NotesInput<'a> {
    pub brokerage: Option<&'a str>,
    pub client_attention: Option<&'a str>,
    pub pickup_notes: Option<&'a str>,
    pub special_notes: Option<&'a str>,
}

pub fn notes(v: &mut Validator, input: NotesInput<'_>) -> OrderNotes {
    OrderNotes {
        brokerage: v.optional_text("brokerage", input.brokerage, 100, Lines::Many),
        client_attention: v.optional_text(
            "clientAttention",
            input.client_attention,
            200,
            Lines::Many,
        ),
        pickup_notes: v.optional_text("pickupNotes", input.pickup_notes, 2000, Lines::Many),
        special_notes: v.optional_text("specialNotes", input.special_notes, 2000, Lines::Many),
    }
}

/// A food total or tip in dollars, as whole cents within [`MAX_ORDER_DOLLARS`].
pub fn order_amount(v: &mut Validator, field: &str, dollars: f64) -> Option<i64> {
    v.amount(field, dollars, MAX_ORDER_DOLLARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked<T>(check: impl FnOnce(&mut Validator) -> Option<T>) -> Result<T, Vec<String>> {
        Validator::validate(check).map_err(|err| {
            err.details
                .as_ref()
                .and_then(|d| d.as_array())
                .map(|fields| {
                    fields
                        .iter()
                        .map(|f| format!("{}: {}", f["field"], f["reason"]))
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    #[test]
    fn headcounts_are_bounded_the_same_everywhere() {
        for (value, ok) in [(0, false), (1, true), (10_000, true), (10_001, false)] {
            assert_eq!(
                checked(|v| headcount(v, "totalItem", value)).is_ok(),
                ok,
                "{value}"
            );
        }
    }

    #[test]
    fn a_host_is_needed_when_asked_for() {
        let with = |need_host, hosts| {
            checked(|v| {
                catering(
                    v,
                    &CateringInput {
                        headcount: 10,
                        need_host: Some(need_host),
                        hours_needed: None,
                        number_of_hosts: hosts,
                    },
                )
            })
        };
        assert_eq!(
            with("YES", None).expect("defaults to one").number_of_hosts,
            1
        );
        assert!(with("YES", Some(0)).is_err());
        assert_eq!(
            with("no", Some(0)).expect("no host").need_host,
            NeedHost::No
        );
        assert!(with("MAYBE", None).is_err());
    }

    #[test]
    fn schedules_stay_within_a_year_either_way() {
        let now = Utc::now();
        let day = Duration::days(1);
        let ok = |pickup, backdate| {
            checked(|v| schedule(v, pickup, pickup + Duration::minutes(45), now, backdate)).is_ok()
        };
        assert!(ok(now + day, false));
        assert!(!ok(now - day, false), "owners book ahead");
        assert!(ok(now - day, true), "staff record past orders");
        assert!(!ok(now - Duration::days(400), true));
        assert!(!ok(now + Duration::days(366), false));
        let year_1 = DateTime::parse_from_rfc3339("0001-01-01T00:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        assert!(!ok(year_1, true));
        assert!(checked(|v| schedule(v, now + day, now, now, false)).is_err());
        assert!(checked(|v| schedule(v, now + day, now + day * 3, now, false)).is_err());
    }

    #[test]
    fn only_orders_not_yet_underway_stay_with_their_owner() {
        for status in OrderStatus::ALL {
            assert_eq!(
                owner_may_change(status),
                matches!(
                    status,
                    OrderStatus::Pending | OrderStatus::Confirmed | OrderStatus::Active
                ),
                "{status}"
            );
        }
    }
}
