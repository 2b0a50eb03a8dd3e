//! A draft's fields, checked: the order rules every order obeys plus the partner
//! contract's delivery window.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::America::Los_Angeles;
use serde_json::{json, Value};

use super::{DraftRequest, MIN_NOTICE, PICKUP_LEAD, WINDOW_CLOSES, WINDOW_OPENS};
use crate::{
    addresses::{self, ValidAddress},
    error::{ApiError, ApiResult},
    input::{Lines, Validator},
    orders::rules,
    partners::Partner,
};

/// A draft after validation.
#[derive(Debug, Clone)]
pub(super) struct CheckedDraft {
    pub(super) order_code: String,
    pub(super) order_number: String,
    pub(super) delivery_at: DateTime<Utc>,
    pub(super) pickup_at: DateTime<Utc>,
    pub(super) head_count: i32,
    pub(super) food_cost_cents: i64,
    pub(super) pickup: ValidAddress,
    pub(super) dropoff: ValidAddress,
    pub(super) pickup_phone: Option<String>,
    pub(super) recipient: String,
    pub(super) instructions: Option<String>,
    pub(super) metadata: Value,
}

/// The fields of a draft, checked; the delivery time is checked afterwards as a 422.
struct DraftFields {
    code: String,
    date: NaiveDate,
    time: NaiveTime,
    head_count: i32,
    food_cost_cents: i64,
    pickup: ValidAddress,
    dropoff: ValidAddress,
    recipient_name: String,
    phone: String,
    instructions: Option<String>,
    pickup_phone: Option<String>,
}

fn location(
    v: &mut Validator,
    prefix: &str,
    name: &str,
    street: &str,
    city: &str,
    state: &str,
    zip: &Option<String>,
) -> Option<ValidAddress> {
    let input = addresses::AddressInput {
        name: Some(name.to_owned()),
        street1: street.to_owned(),
        city: city.to_owned(),
        state: state.to_owned(),
        zip: zip.clone(),
        ..addresses::AddressInput::default()
    };
    addresses::validate(v, prefix, &input)
}

fn check_fields(v: &mut Validator, draft: &DraftRequest) -> Option<DraftFields> {
    let code = draft.order_code.trim();
    check_code(v, code);
    let (date, time) = when(v, draft);
    let head_count = rules::headcount(v, "totalItem", draft.total_item);
    let food_cost_cents = rules::order_amount(v, "priceTotal", draft.price_total);
    let pick = &draft.pickup_location;
    let pickup = location(
        v,
        "pickupLocation",
        &pick.name,
        &pick.address,
        &pick.city,
        &pick.state,
        &pick.zip,
    );
    let drop = &draft.drop_off_location;
    let dropoff = location(
        v,
        "dropOffLocation",
        &drop.name,
        &drop.address,
        &drop.city,
        &drop.state,
        &drop.zip,
    );
    let recipient_name = v.text("dropOffLocation.recipient.name", &drop.recipient.name, 120);
    let phone = v.take(crate::input::bounded_text(
        "dropOffLocation.recipient.phone",
        &drop.recipient.phone,
        10,
        32,
        Lines::One,
    ));
    let instructions = v.optional_text(
        "dropOffLocation.instructions",
        drop.instructions.as_deref(),
        2000,
        Lines::Many,
    );
    let pickup_phone = v.optional_text(
        "pickupLocation.phone",
        pick.phone.as_deref(),
        32,
        Lines::One,
    );
    v.check(
        draft
            .metadata
            .as_ref()
            .is_none_or(|m| m.is_object() && m.to_string().len() <= 10_000),
        "metadata",
        "must be an object of at most 10 KB",
    );
    Some(DraftFields {
        code: code.to_owned(),
        date: date?,
        time: time?,
        head_count: head_count?,
        food_cost_cents: food_cost_cents?,
        pickup: pickup?,
        dropoff: dropoff?,
        recipient_name: recipient_name?,
        phone: phone?,
        instructions,
        pickup_phone,
    })
}

/// An order code: 1 to 50 of A-Z, 0-9, `-` and `_`.
fn check_code(v: &mut Validator, code: &str) {
    v.check(!code.is_empty(), "orderCode", "must not be empty");
    v.check(
        code.len() <= 50
            && code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')),
        "orderCode",
        "must be at most 50 of A-Z, 0-9, - and _",
    );
}

/// The delivery day (`2026-11-27`) and time (`12:30`), strictly as the contract spells
/// them.
fn when(v: &mut Validator, draft: &DraftRequest) -> (Option<NaiveDate>, Option<NaiveTime>) {
    let date = NaiveDate::parse_from_str(&draft.delivery_date, "%Y-%m-%d")
        .ok()
        .filter(|_| draft.delivery_date.len() == 10);
    v.check(
        date.is_some(),
        "deliveryDate",
        "must be a date like 2026-11-27",
    );
    let time = NaiveTime::parse_from_str(&draft.delivery_time, "%H:%M")
        .ok()
        .filter(|_| draft.delivery_time.len() == 5);
    v.check(time.is_some(), "deliveryTime", "must be a time like 12:30");
    (date, time)
}

/// Checks a draft: fields (400), then the delivery window (422).
pub(super) fn check_draft(
    partner: &Partner,
    draft: &DraftRequest,
    now: DateTime<Utc>,
) -> ApiResult<CheckedDraft> {
    let fields = Validator::validate(|v| check_fields(v, draft))?;
    let window = |message: &str| ApiError::unprocessable("delivery_window", message.to_owned());
    let local = Los_Angeles
        .from_local_datetime(&fields.date.and_time(fields.time))
        .earliest()
        .ok_or_else(|| window("the delivery time does not exist in Los Angeles (clock change)"))?;
    let opens = NaiveTime::from_hms_opt(WINDOW_OPENS, 0, 0).unwrap_or_default();
    let closes = NaiveTime::from_hms_opt(WINDOW_CLOSES, 0, 0).unwrap_or_default();
    if fields.time < opens || fields.time >= closes {
        return Err(window(
            "deliveries are from 07:00 up to 22:00 Los Angeles time",
        ));
    }
    let delivery_at = local.with_timezone(&Utc);
    if delivery_at <= now + MIN_NOTICE {
        return Err(window("the delivery must be more than 2 hours from now"));
    }
    if delivery_at > now + rules::BOOKING_HORIZON {
        return Err(window("the delivery must be within 365 days from now"));
    }
    let code = fields.code;
    let order_number = if code.starts_with(&partner.order_prefix) {
        code.clone()
    } else {
        format!("{}{code}", partner.order_prefix)
    };
    Ok(CheckedDraft {
        order_code: code,
        order_number,
        delivery_at,
        pickup_at: delivery_at - PICKUP_LEAD,
        head_count: fields.head_count,
        food_cost_cents: fields.food_cost_cents,
        pickup: fields.pickup,
        dropoff: fields.dropoff,
        pickup_phone: fields.pickup_phone,
        recipient: format!("{} ({})", fields.recipient_name, fields.phone),
        instructions: fields.instructions,
        metadata: draft.metadata.clone().unwrap_or_else(|| json!({})),
    })
}
