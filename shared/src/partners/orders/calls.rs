//! The partner's calls: draft, update, confirm, and the view of its own order. Each runs
//! in one transaction.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{
    fields::check_draft,
    order_id,
    priced::{place_and_price, record_quote, PricedOrder},
    ConfirmRequest, DraftRequest, UpdateTarget, ASSIGNMENT_LEAD, PICKUP_LEAD,
};
use crate::{
    db::{p, OnConstraint, RowExt, Transaction},
    error::{ApiError, ApiResult, Context},
    input::{Lines, Validator},
    orders::{
        change_status, create, history,
        partner_events::lifecycle,
        rules::{CateringDetails, OrderDetails, OrderNotes, Schedule},
        status::{DriverStatus, OrderStatus},
        Actor, ActorType, StatusChange,
    },
    partners::Partner,
    AppState,
};

/// Drafts an order at the partner's price in one transaction. A retried draft whose
/// saved answer is gone but whose order exists answers with that order as stored.
pub async fn draft(
    state: &AppState,
    partner: &Partner,
    body: &DraftRequest,
    idempotency_key: Option<String>,
) -> ApiResult<PricedOrder> {
    let draft = check_draft(partner, body, Utc::now())?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    if let Some(key) = &idempotency_key {
        if let Some(existing) = create::by_idempotency_key(&tx, partner.user_id, key).await? {
            let response = PricedOrder::stored(&tx, existing.id).await?;
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
    let inserted = create::insert(&tx, &order, Actor::Partner(partner.id)).await?;
    if !inserted.existing {
        record_quote(&tx, partner, inserted.id, &draft, &placed.quote)
            .await
            .context("recording the draft's quote")?;
    }
    tx.commit().await.context("saving the partner draft")?;
    tracing::info!(partner = %partner.slug, order_id = %inserted.id, order_number = %inserted.order_number, "partner draft");
    Ok(PricedOrder::quoted(
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
) -> ApiResult<PricedOrder> {
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
    Ok(PricedOrder::quoted(
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
