//! Partner orders (the CaterValley contract, shared by CaterCow): drafts, updates,
//! confirmation, the order view, and the shapes partners' existing clients read.
//!
//! Field rules are the ones every order obeys ([`crate::orders::rules`]); the contract adds
//! the delivery window: more than two hours ahead, within the booking horizon, from 07:00
//! up to (not including) 22:00 Los Angeles time, else 422.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::America::Los_Angeles;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::Partner;
use crate::{
    addresses::{self, ValidAddress},
    db::{p, GenericClient, OnConstraint, RowExt, Transaction},
    error::{ApiError, ApiResult, Context, FieldError},
    geo,
    input::{Lines, Validator},
    money::{dollars, miles},
    orders::{
        change_status, create, history,
        partner_events::lifecycle,
        rules::{self, CateringDetails, OrderDetails, OrderNotes, Schedule},
        status::{DriverStatus, OrderStatus},
        Actor, ActorType, StatusChange,
    },
    pricing::{self, Quote, QuoteInput},
    AppState,
};

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

/// A draft after validation.
#[derive(Debug, Clone)]
struct CheckedDraft {
    order_code: String,
    order_number: String,
    delivery_at: DateTime<Utc>,
    pickup_at: DateTime<Utc>,
    head_count: i32,
    food_cost_cents: i64,
    pickup: ValidAddress,
    dropoff: ValidAddress,
    pickup_phone: Option<String>,
    recipient: String,
    instructions: Option<String>,
    metadata: Value,
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

/// Checks a draft: fields (400), then the delivery window (422).
fn check_draft(
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

/// A draft's stored addresses and its price.
struct Placed {
    pickup_id: Uuid,
    dropoff_id: Uuid,
    quote: Quote,
    needs_manual_review: bool,
}

/// Stores the draft's addresses, measures the distance and prices it with the partner's
/// configuration.
async fn place_and_price(
    state: &AppState,
    tx: &Transaction<'_>,
    partner: &Partner,
    draft: &CheckedDraft,
) -> ApiResult<Placed> {
    let (pickup_id, from) = addresses::insert(state, tx, &draft.pickup, partner.user_id).await?;
    let (dropoff_id, to) = addresses::insert(state, tx, &draft.dropoff, partner.user_id).await?;
    let (distance, needs_manual_review) = geo::route_distance(state, from, to).await;
    let config = state
        .pricing
        .active(tx, &partner.pricing_config_slug)
        .await?;
    let quote = pricing::calculate(
        &config,
        &QuoteInput {
            head_count: Some(i64::from(draft.head_count)),
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
async fn record_quote(
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
fn priced_response(
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
        "distance": miles(quote.distance_hundredths),
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
async fn stored_priced_response(client: &impl GenericClient, order_id: Uuid) -> ApiResult<Value> {
    let row = client
        .query_typed_one(
            "SELECT o.order_number, o.order_total_cents, coalesce(o.delivery_fee_cents, 0) AS fee_cents,
                    o.pickup_date_time, coalesce((o.delivery_distance_miles * 100)::bigint, 0) AS distance_hundredths,
                    coalesce(q.breakdown, '{}'::jsonb) AS breakdown
             FROM orders o
             LEFT JOIN LATERAL (SELECT breakdown FROM pricing_quotes WHERE order_id = o.id ORDER BY created_at DESC LIMIT 1) q ON true
             WHERE o.id = $1",
            &[p(&order_id)],
        )
        .await?;
    let food: i64 = row.col("order_total_cents")?;
    let fee: i64 = row.col("fee_cents")?;
    let quote: Value = row.col("breakdown")?;
    let cents = |name: &str| dollars(quote[name].as_i64().unwrap_or(0));
    Ok(json!({
        "id": order_id,
        "orderNumber": row.col::<String>("order_number")?,
        "deliveryPrice": dollars(fee),
        "totalPrice": dollars(food + fee),
        "estimatedPickupTime": row.col::<DateTime<Utc>>("pickup_date_time")?,
        "status": "SUCCESS",
        "breakdown": {
            "basePrice": cents("baseCents"),
            "mileageFee": cents("mileageCents"),
            "dailyDriveDiscount": cents("dailyDriveDiscountCents"),
            "bridgeToll": cents("bridgeTollCents"),
        },
        "distance": miles(row.col("distance_hundredths")?),
    }))
}

/// Drafts an order at the partner's price in one transaction. A retried draft whose
/// saved answer is gone but whose order exists answers with that order as stored.
pub async fn draft(
    state: &AppState,
    partner: &Partner,
    body: &DraftRequest,
    idempotency_key: Option<String>,
) -> ApiResult<Value> {
    let draft = check_draft(partner, body, Utc::now())?;
    let mut client = state.db.get().await?;
    let mut tx = client.transaction().await?;
    if let Some(key) = &idempotency_key {
        if let Some(existing) = create::by_idempotency_key(&tx, partner.user_id, key).await? {
            let response = stored_priced_response(&tx, existing.id).await?;
            tx.commit().await?;
            return Ok(response);
        }
    }
    let placed = place_and_price(state, &tx, partner, &draft).await?;
    let order = create::NewOrder {
        order_number: Some(draft.order_number.clone()),
        user_id: partner.user_id,
        partner: Some(create::PartnerOrigin {
            partner_id: partner.id,
            order_code: draft.order_code.clone(),
        }),
        pickup_address_id: placed.pickup_id,
        delivery_address_id: placed.dropoff_id,
        status: OrderStatus::Pending,
        schedule: Schedule {
            pickup_at: draft.pickup_at,
            arrival_at: draft.delivery_at,
        },
        notes: OrderNotes {
            brokerage: Some(partner.name.clone()),
            client_attention: Some(draft.recipient.clone()),
            pickup_notes: draft
                .pickup_phone
                .as_ref()
                .map(|phone| format!("Pickup phone: {phone}")),
            special_notes: draft.instructions.clone(),
        },
        details: OrderDetails::Catering(CateringDetails::drop_off(draft.head_count)),
        order_total_cents: draft.food_cost_cents,
        tip_cents: 0,
        priced: Some(create::Priced {
            delivery_fee_cents: placed.quote.delivery_fee_cents,
            configuration_id: placed.quote.configuration_id,
        }),
        distance_hundredths: Some(placed.quote.distance_hundredths),
        needs_manual_review: placed.needs_manual_review,
        metadata: draft.metadata.clone(),
        idempotency_key,
    };
    let inserted = create::insert(&mut tx, &order, Actor::Partner(partner.id)).await?;
    if !inserted.existing {
        record_quote(&tx, partner, inserted.id, &draft, &placed.quote)
            .await
            .context("recording the draft's quote")?;
    }
    tx.commit().await.context("saving the partner draft")?;
    tracing::info!(partner = %partner.slug, order_id = %inserted.id, order_number = %inserted.order_number, "partner draft");
    Ok(priced_response(
        inserted.id,
        &inserted.order_number,
        &draft,
        &placed.quote,
    ))
}

/// Statuses in which a partner may still update or confirm its draft.
fn awaits_partner(status: OrderStatus) -> bool {
    matches!(status, OrderStatus::Pending | OrderStatus::Active)
}

/// Locks one of the partner's own orders and returns its status; 404 for any other.
async fn lock_own(tx: &Transaction<'_>, partner: &Partner, id: Uuid) -> ApiResult<OrderStatus> {
    tx.query_typed_opt(
        "SELECT status FROM orders WHERE id = $1 AND partner_id = $2 AND deleted_at IS NULL FOR UPDATE",
        &[p(&id), p(&partner.id)],
    )
    .await?
    .ok_or_else(|| ApiError::not_found("order"))?
    .col("status")
}

/// Changes the partner's own draft while it is PENDING or ACTIVE (else 422) and re-prices
/// it.
pub async fn update(
    state: &AppState,
    partner: &Partner,
    target: &UpdateTarget,
    body: &DraftRequest,
) -> ApiResult<Value> {
    let id = order_id("id", &target.id)?;
    let draft = check_draft(partner, body, Utc::now())?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let status = lock_own(&tx, partner, id).await?;
    if !awaits_partner(status) {
        return Err(ApiError::unprocessable(
            "order_not_editable",
            format!("a {status} order can no longer be updated"),
        ));
    }
    let placed = place_and_price(state, &tx, partner, &draft).await?;
    tx.execute_typed(
        "UPDATE orders SET order_number = $3, partner_order_code = $4, pickup_address_id = $5, delivery_address_id = $6,
             pickup_date_time = $7, arrival_date_time = $8, client_attention = $9, special_notes = $10, headcount = $11,
             order_total_cents = $12, delivery_fee_cents = $13, delivery_distance_miles = $14::numeric / 100,
             pricing_configuration_id = $15, needs_manual_review = $16, metadata = $17
         WHERE id = $1 AND partner_id = $2",
        &[
            p(&id), p(&partner.id), p(&draft.order_number), p(&draft.order_code), p(&placed.pickup_id), p(&placed.dropoff_id),
            p(&draft.pickup_at), p(&draft.delivery_at), p(&draft.recipient), p(&draft.instructions),
            p(&draft.head_count), p(&draft.food_cost_cents),
            p(&placed.quote.delivery_fee_cents), p(&placed.quote.distance_hundredths), p(&placed.quote.configuration_id),
            p(&placed.needs_manual_review), p(&draft.metadata),
        ],
    )
    .await
    .on_constraint("orders_order_number_key", || {
        ApiError::conflict("order_exists", format!("order {} already exists", draft.order_number))
    })?;
    record_quote(&tx, partner, id, &draft, &placed.quote).await?;
    tx.commit().await?;
    Ok(priced_response(
        id,
        &draft.order_number,
        &draft,
        &placed.quote,
    ))
}

/// The partner accepts its draft (CONFIRMED) or rejects it (CANCELLED with the reason),
/// through the one status-change function; only while the draft awaits it (else 422).
pub async fn confirm(
    state: &AppState,
    partner: &Partner,
    body: &ConfirmRequest,
) -> ApiResult<Value> {
    let id = order_id("id", &body.id)?;
    let reason = Validator::validate(|v| {
        Some(v.optional_text("reason", body.reason.as_deref(), 1000, Lines::Many))
    })?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let status = lock_own(&tx, partner, id).await?;
    if !awaits_partner(status) {
        return Err(ApiError::unprocessable(
            "order_not_confirmable",
            format!("a {status} order can no longer be confirmed or rejected"),
        ));
    }
    let target = if body.is_accepted {
        OrderStatus::Confirmed
    } else {
        OrderStatus::Cancelled
    };
    // An ACTIVE draft is already past confirmation: accepting it again changes nothing.
    let already_accepted = body.is_accepted && status == OrderStatus::Active;
    if !already_accepted {
        let change = StatusChange {
            order: Some(target),
            driver: None,
            actor: Actor::Partner(partner.id),
            note: reason,
            location: None,
        };
        change_status(&tx, id, &change).await?;
    }
    let row = tx
        .query_typed_one(
            "SELECT order_number, pickup_date_time FROM orders WHERE id = $1",
            &[p(&id)],
        )
        .await?;
    tx.commit().await?;
    let pickup_at: DateTime<Utc> = row.col("pickup_date_time")?;
    let message = if body.is_accepted {
        "Order confirmed; a driver will be assigned shortly"
    } else {
        "Order cancelled"
    };
    Ok(json!({
        "id": id,
        "orderNumber": row.col::<String>("order_number")?,
        "status": target,
        "message": message,
        "estimatedDeliveryTime": pickup_at + PICKUP_LEAD,
        "driverAssignment": {
            "expectedAssignmentTime": Utc::now() + ASSIGNMENT_LEAD,
            "trackingAvailable": body.is_accepted,
        },
    }))
}

/// The partner's own order with its lifecycle status and last ten events, so a partner
/// can catch up after an outage. Notes are shown only where the partner wrote them.
pub async fn view(state: &AppState, partner: &Partner, id: Uuid) -> ApiResult<Value> {
    let client = state.db.get().await?;
    let row = client
        .query_typed_opt(
            "SELECT partner_order_code, order_number, status, driver_status, arrival_date_time
             FROM orders WHERE id = $1 AND partner_id = $2 AND deleted_at IS NULL",
            &[p(&id), p(&partner.id)],
        )
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    let status: OrderStatus = row.col("status")?;
    let driver: Option<DriverStatus> = row.col("driver_status")?;
    let events: Vec<Value> = history(&*client, id, 10)
        .await?
        .into_iter()
        .map(|e| {
            let mut event = json!({ "status": e.status, "driverStatus": e.driver_status, "timestamp": e.timestamp });
            if let (Some(lat), Some(lng)) = (e.latitude, e.longitude) {
                event["location"] = json!({ "lat": lat, "lng": lng });
            }
            let own_note = e.actor_type == ActorType::Partner && e.actor_id == Some(partner.id);
            if let (true, Some(note)) = (own_note, e.note) {
                event["notes"] = json!(note);
            }
            event
        })
        .collect();
    let lifecycle_status = lifecycle(status, driver).map_or(status.as_str(), |l| l.as_str());
    Ok(json!({
        "status": "SUCCESS",
        "order": {
            "id": id,
            "orderCode": row.col::<Option<String>>("partner_order_code")?,
            "orderNumber": row.col::<String>("order_number")?,
            "orderStatus": status,
            "lifecycleStatus": lifecycle_status,
            "deliveryDate": row.col::<DateTime<Utc>>("arrival_date_time")?,
            "events": events,
        }
    }))
}
