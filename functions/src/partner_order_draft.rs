//! `POST /api/cater-valley/orders/draft` and `POST /api/partners/orders/draft`: a partner
//! drafts an order and learns its delivery price.
//!
//! Authenticated by `partner` + `x-api-key`. The order number is the partner's prefix plus
//! its order code; a live order with that number is a 409. Errors use the partner API's
//! `{"status":"ERROR","message"}` shape.

use lambda_http::{Body, Request, Response};
use shared::{
    http::created,
    idempotency,
    input::parse_json,
    orders::{create, status::OrderStatus, Actor},
    partners::{
        authenticate,
        orders::{
            check_draft, place_and_price, priced_response, record_quote, stored_priced_response,
            DraftRequest,
        },
    },
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Partner)
    .idempotent()
    .partner_errors();

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(draft(state, req))
}

async fn draft(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let partner = authenticate(state, &req).await?;
    let body: DraftRequest = parse_json(&req)?;
    let draft = check_draft(&partner, &body, chrono::Utc::now())?;
    let idempotency_key = idempotency::key(&req)?;
    let mut client = state.db.get().await?;
    let mut tx = client.transaction().await?;
    // The key's saved answer is gone (expired, or lost before it was saved) but its order
    // is not: answer with that order as stored, and make nothing new.
    if let Some(key) = &idempotency_key {
        if let Some(existing) = create::by_idempotency_key(&tx, partner.user_id, key).await? {
            let response = stored_priced_response(&tx, existing.id).await?;
            tx.commit().await?;
            return created(&response);
        }
    }
    let placed = place_and_price(state, &tx, &partner, &draft).await?;
    let order = create::NewOrder {
        order_type: create::OrderType::Catering,
        order_number: Some(draft.order_number.clone()),
        user_id: partner.user_id,
        partner_id: Some(partner.id),
        partner_order_code: Some(draft.order_code.clone()),
        pickup_address_id: placed.pickup_id,
        delivery_address_id: placed.dropoff_id,
        status: OrderStatus::Pending,
        pickup_at: draft.pickup_at,
        arrival_at: draft.delivery_at,
        brokerage: Some(partner.name.clone()),
        client_attention: Some(draft.recipient.clone()),
        pickup_notes: draft
            .pickup_phone
            .as_ref()
            .map(|phone| format!("Pickup phone: {phone}")),
        special_notes: draft.instructions.clone(),
        headcount: i32::try_from(draft.head_count).ok(),
        need_host: Some("NO".into()),
        hours_needed: None,
        number_of_hosts: None,
        item_delivered: None,
        vehicle_type: None,
        dimensions: [None; 4],
        order_total_cents: draft.food_cost_cents,
        tip_cents: 0,
        delivery_fee_cents: Some(placed.quote.delivery_fee_cents),
        distance_hundredths: Some(placed.quote.distance_hundredths),
        pricing_configuration_id: Some(placed.quote.configuration_id),
        needs_manual_review: placed.needs_manual_review,
        metadata: draft.metadata.clone(),
        idempotency_key,
    };
    let inserted = create::insert(&mut tx, &order, Actor::Partner(partner.id)).await?;
    if !inserted.existing {
        record_quote(&tx, &partner, inserted.id, &draft, &placed.quote).await?;
    }
    tx.commit().await?;
    tracing::info!(partner = %partner.slug, order_id = %inserted.id, order_number = %inserted.order_number, "partner draft");
    created(&priced_response(
        inserted.id,
        &inserted.order_number,
        &draft,
        &placed.quote,
    ))
}
