//! Partner orders (the CaterValley contract, shared by CaterCow): drafts, updates,
//! confirmation, the order view, and the shapes partners' existing clients read.
//!
//! Field rules are the ones every order obeys ([`crate::orders::rules`]); the contract adds
//! the delivery window: more than two hours ahead, within the booking horizon, from 07:00
//! up to (not including) 22:00 Los Angeles time, else 422.
//!
//! Its parts: the checked fields of a draft ([`fields`]), its places and price
//! ([`priced`]), and the partner's calls ([`calls`]).

mod calls;
mod fields;
mod priced;

use chrono::Duration;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, FieldError};

pub use calls::{confirm, draft, update, view};
pub use priced::PricedOrder;

/// Drivers pick up this long before the delivery time.
pub const PICKUP_LEAD: Duration = Duration::minutes(45);
/// Drafts must be at least this far ahead.
pub const MIN_NOTICE: Duration = Duration::hours(2);
/// Deliveries happen from this hour, Los Angeles time…
pub const WINDOW_OPENS: u32 = 7;
/// …up to, not including, this one.
pub const WINDOW_CLOSES: u32 = 22;
/// A driver is expected to be assigned this long after confirmation.
pub const ASSIGNMENT_LEAD: Duration = Duration::minutes(15);

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PickupLocation {
    pub name: String,
    pub address: String,
    pub city: String,
    pub state: String,
    pub zip: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    pub name: String,
    pub phone: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DropOffLocation {
    pub name: String,
    pub address: String,
    pub city: String,
    pub state: String,
    pub zip: Option<String>,
    pub instructions: Option<String>,
    pub recipient: Recipient,
}

/// The body of `orders/draft` (and, with `id`, of `orders/update`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DraftRequest {
    pub order_code: String,
    pub delivery_date: String,
    pub delivery_time: String,
    pub total_item: i64,
    pub price_total: f64,
    pub pickup_location: PickupLocation,
    pub drop_off_location: DropOffLocation,
    pub metadata: Option<Value>,
}

/// The `id` of an `orders/update` body; the rest is read as a [`DraftRequest`].
#[derive(Debug, Clone, Deserialize)]
pub struct UpdateTarget {
    pub id: String,
}

/// The body of `orders/confirm`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmRequest {
    pub id: String,
    pub is_accepted: bool,
    pub reason: Option<String>,
}

/// Reads a partner order id: 400 for anything but a canonical UUID.
pub fn order_id(field: &str, raw: &str) -> ApiResult<Uuid> {
    crate::input::parse_uuid(field, raw).map_err(|_| {
        ApiError::validation(vec![FieldError::new(
            field,
            "must be an order id returned by orders/draft",
        )])
    })
}
