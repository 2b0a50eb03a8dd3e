//! `POST /api/cater-valley/orders/update` and `POST /api/partners/orders/update`: a partner
//! changes its own draft while it is PENDING or ACTIVE (else 422), and gets the new price.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::{
    db::p,
    http::ok,
    input::parse_json,
    partners::{
        authenticate,
        orders::{
            check_draft, order_id, place_and_price, priced_response, record_quote, DraftRequest,
        },
    },
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiError, ApiResult, AppState,
};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Partner)
    .idempotent()
    .partner_errors();

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(update(state, req))
}

/// The update's `id`; the rest of the body is read as a [`DraftRequest`].
#[derive(Debug, Deserialize)]
struct UpdateTarget {
    id: String,
}

async fn update(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let partner = authenticate(state, &req).await?;
    let target: UpdateTarget = parse_json(&req)?;
    let body: DraftRequest = parse_json(&req)?;
    let id = order_id("id", &target.id)?;
    let draft = check_draft(&partner, &body, chrono::Utc::now())?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let row = tx
        .query_typed_opt(
            "SELECT status FROM orders WHERE id = $1 AND partner_id = $2 AND deleted_at IS NULL FOR UPDATE",
            &[p(&id), p(&partner.id)],
        )
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    let status: String = row.get(0);
    if status != "PENDING" && status != "ACTIVE" {
        return Err(ApiError::unprocessable(
            "order_not_editable",
            format!("a {status} order can no longer be updated"),
        ));
    }
    let placed = place_and_price(state, &tx, &partner, &draft).await?;
    tx.execute_typed(
        "UPDATE orders SET order_number = $3, partner_order_code = $4, pickup_address_id = $5, delivery_address_id = $6,
             pickup_date_time = $7, arrival_date_time = $8, client_attention = $9, special_notes = $10, headcount = $11,
             order_total_cents = $12, delivery_fee_cents = $13, delivery_distance_miles = $14::numeric / 100,
             pricing_configuration_id = $15, needs_manual_review = $16, metadata = $17
         WHERE id = $1 AND partner_id = $2",
        &[
            p(&id), p(&partner.id), p(&draft.order_number), p(&draft.order_code), p(&placed.pickup_id), p(&placed.dropoff_id),
            p(&draft.pickup_at), p(&draft.delivery_at), p(&draft.recipient), p(&draft.instructions),
            p(&i32::try_from(draft.head_count).unwrap_or(i32::MAX)), p(&draft.food_cost_cents),
            p(&placed.quote.delivery_fee_cents), p(&placed.quote.distance_hundredths), p(&placed.quote.configuration_id),
            p(&placed.needs_manual_review), p(&draft.metadata),
        ],
    )
    .await
    .map_err(|err| match ApiError::from(err) {
        e if e.code == "already_exists" => ApiError::conflict("order_exists", format!("order {} already exists", draft.order_number)),
        e => e,
    })?;
    record_quote(&tx, &partner, id, &draft, &placed.quote).await?;
    tx.commit().await?;
    ok(&priced_response(
        id,
        &draft.order_number,
        &draft,
        &placed.quote,
    ))
}
