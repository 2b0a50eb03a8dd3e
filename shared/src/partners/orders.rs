//! Partner orders (the CaterValley contract, shared by CaterCow): drafts, updates, and the
//! shapes partners' existing clients read.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::America::Los_Angeles;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::Partner;
use crate::{
    addresses::{self, ValidAddress},
    db::{p, GenericClient, Transaction},
    error::{ApiError, ApiResult, FieldError},
    input::{bounded_text, Validator},
    orders::intake,
    pricing::{self, dollars, Quote, QuoteInput},
    AppState,
};

/// Drivers pick up this long before the delivery time.
pub const PICKUP_LEAD: Duration = Duration::minutes(45);
/// Drafts must be at least this far ahead.
pub const MIN_NOTICE: Duration = Duration::hours(2);

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

/// A draft after validation.
#[derive(Debug, Clone)]
pub struct CheckedDraft {
    pub order_code: String,
    pub order_number: String,
    pub delivery_at: DateTime<Utc>,
    pub pickup_at: DateTime<Utc>,
    pub head_count: i64,
    pub food_cost_cents: i64,
    pub pickup: ValidAddress,
    pub dropoff: ValidAddress,
    pub pickup_phone: Option<String>,
    pub recipient: String,
    pub instructions: Option<String>,
    pub metadata: Value,
}

fn address(
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

/// Checks a draft: fields (400), then the delivery window (422): more than two hours
/// ahead, between 07:00 and 22:00 in Los Angeles.
pub fn check_draft(
    partner: &Partner,
    draft: &DraftRequest,
    now: DateTime<Utc>,
) -> ApiResult<CheckedDraft> {
    let mut v = Validator::new();
    let code = draft.order_code.trim();
    v.check(!code.is_empty(), "orderCode", "must not be empty");
    v.check(
        code.len() <= 50
            && code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')),
        "orderCode",
        "must be at most 50 of A-Z, 0-9, - and _",
    );
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
    v.check(
        (1..=10_000).contains(&draft.total_item),
        "totalItem",
        "must be a whole number from 1 to 10000",
    );
    let food_cost_cents = v.amount("priceTotal", draft.price_total, intake::MAX_ORDER_DOLLARS);
    let pickup_location = &draft.pickup_location;
    let pickup = address(
        &mut v,
        "pickupLocation",
        &pickup_location.name,
        &pickup_location.address,
        &pickup_location.city,
        &pickup_location.state,
        &pickup_location.zip,
    );
    let drop = &draft.drop_off_location;
    let dropoff = address(
        &mut v,
        "dropOffLocation",
        &drop.name,
        &drop.address,
        &drop.city,
        &drop.state,
        &drop.zip,
    );
    let recipient_name = v.take(bounded_text(
        "dropOffLocation.recipient.name",
        &drop.recipient.name,
        1,
        120,
        false,
    ));
    let phone = v
        .take(bounded_text(
            "dropOffLocation.recipient.phone",
            &drop.recipient.phone,
            10,
            32,
            false,
        ))
        .unwrap_or_default();
    let instructions = drop
        .instructions
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| {
            v.take(bounded_text(
                "dropOffLocation.instructions",
                s,
                1,
                2000,
                true,
            ))
        });
    let pickup_phone = pickup_location
        .phone
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| v.take(bounded_text("pickupLocation.phone", s, 1, 32, false)));
    v.check(
        draft
            .metadata
            .as_ref()
            .is_none_or(|m| m.is_object() && m.to_string().len() <= 10_000),
        "metadata",
        "must be an object of at most 10 KB",
    );
    v.finish()?;
    let (
        Some(date),
        Some(time),
        Some(food_cost_cents),
        Some(pickup),
        Some(dropoff),
        Some(recipient_name),
    ) = (date, time, food_cost_cents, pickup, dropoff, recipient_name)
    else {
        return Err(ApiError::internal("validated draft fields missing"));
    };

    let local = Los_Angeles
        .from_local_datetime(&date.and_time(time))
        .earliest()
        .ok_or_else(|| {
            ApiError::unprocessable(
                "delivery_window",
                "the delivery time does not exist in Los Angeles (clock change)",
            )
        })?;
    let opens = NaiveTime::from_hms_opt(7, 0, 0).unwrap_or_default();
    let closes = NaiveTime::from_hms_opt(22, 0, 0).unwrap_or_default();
    if time < opens || time > closes {
        return Err(ApiError::unprocessable(
            "delivery_window",
            "deliveries are between 07:00 and 22:00 Los Angeles time",
        ));
    }
    let delivery_at = local.with_timezone(&Utc);
    if delivery_at <= now + MIN_NOTICE {
        return Err(ApiError::unprocessable(
            "delivery_window",
            "the delivery must be more than 2 hours from now",
        ));
    }
    let order_number = if code.starts_with(&partner.order_prefix) {
        code.to_owned()
    } else {
        format!("{}{code}", partner.order_prefix)
    };
    Ok(CheckedDraft {
        order_code: code.to_owned(),
        order_number,
        delivery_at,
        pickup_at: delivery_at - PICKUP_LEAD,
        head_count: draft.total_item,
        food_cost_cents,
        pickup,
        dropoff,
        pickup_phone,
        recipient: format!("{recipient_name} ({phone})"),
        instructions,
        metadata: draft.metadata.clone().unwrap_or_else(|| json!({})),
    })
}

/// A draft's stored addresses and its price.
pub struct Placed {
    pub pickup_id: Uuid,
    pub dropoff_id: Uuid,
    pub quote: Quote,
    pub needs_manual_review: bool,
}

/// Stores the draft's addresses, measures the distance and prices it with the partner's
/// configuration.
pub async fn place_and_price(
    state: &AppState,
    tx: &Transaction<'_>,
    partner: &Partner,
    draft: &CheckedDraft,
) -> ApiResult<Placed> {
    let (pickup_id, from) = addresses::insert(state, tx, &draft.pickup, partner.user_id).await?;
    let (dropoff_id, to) = addresses::insert(state, tx, &draft.dropoff, partner.user_id).await?;
    let (distance, needs_manual_review) = intake::distance(state, from, to).await;
    let config = state
        .pricing
        .active(tx, &partner.pricing_config_slug)
        .await?;
    let quote = pricing::calculate(
        &config,
        &QuoteInput {
            head_count: Some(draft.head_count),
            food_cost_cents: Some(draft.food_cost_cents),
            distance_hundredths: distance,
            crosses_toll_bridge: pricing::crosses_toll_bridge(
                &draft.pickup.city,
                &draft.dropoff.city,
                None,
                None,
            ),
            same_day_drives: 0,
            tip_cents: 0,
        },
    )?;
    Ok(Placed {
        pickup_id,
        dropoff_id,
        quote,
        needs_manual_review,
    })
}

/// Records the quote an order was priced with.
pub async fn record_quote(
    client: &impl GenericClient,
    partner: &Partner,
    order_id: Uuid,
    draft: &CheckedDraft,
    quote: &Quote,
) -> ApiResult<()> {
    let inputs = json!({
        "headCount": draft.head_count, "foodCostCents": draft.food_cost_cents,
        "distanceHundredths": quote.distance_hundredths,
    });
    let breakdown = serde_json::to_value(quote)?;
    client
        .execute_typed(
            "INSERT INTO pricing_quotes (configuration_id, order_id, partner_id, inputs, breakdown, delivery_fee_cents)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[p(&quote.configuration_id), p(&order_id), p(&partner.id), p(&inputs), p(&breakdown), p(&quote.delivery_fee_cents)],
        )
        .await?;
    Ok(())
}

/// The draft/update answer partners read.
pub fn priced_response(
    order_id: Uuid,
    order_number: &str,
    draft: &CheckedDraft,
    quote: &Quote,
) -> Value {
    json!({
        "id": order_id,
        "orderNumber": order_number,
        "deliveryPrice": dollars(quote.delivery_fee_cents),
        "totalPrice": dollars(draft.food_cost_cents + quote.delivery_fee_cents),
        "estimatedPickupTime": draft.pickup_at,
        "status": "SUCCESS",
        "breakdown": {
            "basePrice": dollars(quote.base_cents),
            "mileageFee": dollars(quote.mileage_cents),
            "dailyDriveDiscount": dollars(quote.daily_drive_discount_cents),
            "bridgeToll": dollars(quote.bridge_toll_cents),
        },
        "distance": quote.distance_hundredths as f64 / 100.0,
    })
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

/// The draft answer for an order that already exists (a retried draft whose first answer
/// was lost), from what was stored: the same price, not a new one.
pub async fn stored_priced_response(
    client: &impl GenericClient,
    order_id: Uuid,
) -> ApiResult<Value> {
    let row = client
        .query_typed_one(
            "SELECT o.order_number, o.order_total_cents, coalesce(o.delivery_fee_cents, 0), o.pickup_date_time,
                    coalesce((o.delivery_distance_miles * 100)::bigint, 0), coalesce(q.breakdown, '{}'::jsonb)
             FROM orders o
             LEFT JOIN LATERAL (SELECT breakdown FROM pricing_quotes WHERE order_id = o.id ORDER BY created_at DESC LIMIT 1) q ON true
             WHERE o.id = $1",
            &[p(&order_id)],
        )
        .await?;
    let food: i64 = row.get(1);
    let fee: i64 = row.get(2);
    let quote: Value = row.get(5);
    let cents = |name: &str| dollars(quote[name].as_i64().unwrap_or(0));
    Ok(json!({
        "id": order_id,
        "orderNumber": row.get::<_, String>(0),
        "deliveryPrice": dollars(fee),
        "totalPrice": dollars(food + fee),
        "estimatedPickupTime": row.get::<_, DateTime<Utc>>(3),
        "status": "SUCCESS",
        "breakdown": {
            "basePrice": cents("baseCents"),
            "mileageFee": cents("mileageCents"),
            "dailyDriveDiscount": cents("dailyDriveDiscountCents"),
            "bridgeToll": cents("bridgeTollCents"),
        },
        "distance": row.get::<_, i64>(4) as f64 / 100.0,
    }))
}
