//! `GET | PATCH | DELETE /api/orders/{order_number}`: one order by its number.
//!
//! GET shows the order and its status history. PATCH edits fields (the owner while the
//! order is not yet underway, staff until it is closed); a completed or cancelled order
//! takes no edits (409). DELETE cancels the order and soft-deletes it (the owner before it
//! is underway, or staff).
//! Orders outside the caller's scope answer 404.

use chrono::{DateTime, Utc};
use lambda_http::{http::Method, Body, Request, Response};
use serde::Deserialize;
use shared::orders::intake::MAX_ORDER_DOLLARS;
use shared::{
    auth::{caller, Caller, Permission},
    db::{p, Transaction},
    http::{no_content, ok},
    input::{bounded_text, parse_json, path_param, Validator},
    orders::{
        change_status, history, parse_order_number, status::OrderStatus, Actor, Order, Scope,
        StatusChange, ORDER_SELECT,
    },
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiError, ApiResult, AppState,
};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(order_by_number(state, req))
}

async fn order_by_number(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::ViewOrders)?;
    let number = parse_order_number(path_param(&req, "order_number")?)?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let order = lock_visible(&tx, &caller, &number).await?;
    let response = match *req.method() {
        Method::GET => {
            let entries = history(&tx, order.id, 50).await?;
            ok(&serde_json::json!({ "order": order, "statusHistory": entries }))?
        }
        Method::PATCH => {
            check_editable(&caller, &order)?;
            update(&tx, &caller, &order, &req).await?
        }
        Method::DELETE => {
            check_editable(&caller, &order)?;
            // A live order is cancelled first, through the one status-change function, so
            // its history and its partner hear of it before it disappears.
            let cancel = StatusChange {
                order: Some(OrderStatus::Cancelled),
                driver: None,
                actor: Actor::User(caller.user_id),
                note: Some("order deleted".to_owned()),
                location: None,
            };
            change_status(&tx, order.id, &cancel).await?;
            tx.execute_typed(
                "UPDATE orders SET deleted_at = now() WHERE id = $1",
                &[p(&order.id)],
            )
            .await?;
            tracing::info!(order_id = %order.id, by = %caller.user_id, "order deleted");
            no_content()
        }
        _ => {
            return Err(ApiError::new(
                lambda_http::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "use GET, PATCH or DELETE",
            ))
        }
    };
    tx.commit().await?;
    Ok(response)
}

async fn lock_visible(tx: &Transaction<'_>, caller: &Caller, number: &str) -> ApiResult<Order> {
    let scope = Scope::of(caller);
    let sql = format!(
        "{ORDER_SELECT} WHERE o.order_number = $1 AND o.deleted_at IS NULL AND {} FOR UPDATE OF o",
        Scope::sql(2)
    );
    let row = tx
        .query_typed_opt(
            &sql,
            &[
                p(&number),
                p(&scope.all),
                p(&scope.driver),
                p(&scope.user_id),
            ],
        )
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    Order::from_row(&row)
}

/// Staff edit until an order is closed; its owner only before it is underway; drivers
/// never (they report progress through the driver routes).
fn check_editable(caller: &Caller, order: &Order) -> ApiResult<()> {
    if order.status.is_terminal() {
        return Err(ApiError::conflict(
            "order_closed",
            format!("a {} order cannot be changed", order.status),
        ));
    }
    if caller.can(Permission::ManageOrders) {
        return Ok(());
    }
    if order.user_id != caller.user_id {
        return Err(ApiError::forbidden("you may not change this order"));
    }
    if !matches!(
        order.status,
        OrderStatus::Pending | OrderStatus::Confirmed | OrderStatus::Active
    ) {
        return Err(ApiError::conflict(
            "order_underway",
            format!("a {} order can only be changed by staff", order.status),
        ));
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OrderUpdate {
    pickup_date_time: Option<DateTime<Utc>>,
    arrival_date_time: Option<DateTime<Utc>>,
    brokerage: Option<String>,
    client_attention: Option<String>,
    pickup_notes: Option<String>,
    special_notes: Option<String>,
    headcount: Option<i64>,
    need_host: Option<String>,
    hours_needed: Option<f64>,
    number_of_hosts: Option<i64>,
    item_delivered: Option<String>,
    order_total: Option<f64>,
    tip: Option<f64>,
}

async fn update(
    tx: &Transaction<'_>,
    caller: &Caller,
    order: &Order,
    req: &Request,
) -> ApiResult<Response<Body>> {
    let body: OrderUpdate = parse_json(req)?;
    let mut v = Validator::new();
    let pickup = body.pickup_date_time.unwrap_or(order.pickup_date_time);
    let arrival = body.arrival_date_time.unwrap_or(order.arrival_date_time);
    v.check(
        arrival >= pickup,
        "arrivalDateTime",
        "must not be before pickupDateTime",
    );
    let catering = order.order_type == "CATERING";
    v.check(
        catering
            || (body.headcount.is_none()
                && body.need_host.is_none()
                && body.number_of_hosts.is_none()
                && body.hours_needed.is_none()),
        "headcount",
        "only catering orders have head counts and hosts",
    );
    v.check(
        !catering || body.item_delivered.is_none(),
        "itemDelivered",
        "only on-demand orders have items",
    );
    v.check(
        body.headcount.is_none_or(|h| (1..=10_000).contains(&h)),
        "headcount",
        "must be a whole number from 1 to 10000",
    );
    v.check(
        body.number_of_hosts.is_none_or(|h| (0..=50).contains(&h)),
        "numberOfHosts",
        "must be from 0 to 50",
    );
    v.check(
        body.hours_needed
            .is_none_or(|h| h.is_finite() && (0.0..=24.0).contains(&h)),
        "hoursNeeded",
        "must be from 0 to 24",
    );
    let need_host = body.need_host.as_deref().map(str::to_ascii_uppercase);
    v.check(
        need_host.as_deref().is_none_or(|n| n == "YES" || n == "NO"),
        "needHost",
        "must be YES or NO",
    );
    let mut text = |field: &str, value: &Option<String>, max: usize| {
        value
            .as_deref()
            .and_then(|s| v.take(bounded_text(field, s, 1, max, true)))
    };
    let brokerage = text("brokerage", &body.brokerage, 100);
    let client_attention = text("clientAttention", &body.client_attention, 200);
    let pickup_notes = text("pickupNotes", &body.pickup_notes, 2000);
    let special_notes = text("specialNotes", &body.special_notes, 2000);
    let item_delivered = text("itemDelivered", &body.item_delivered, 200);
    let order_total = body
        .order_total
        .and_then(|d| v.amount("orderTotal", d, MAX_ORDER_DOLLARS));
    let tip = body.tip.and_then(|d| v.amount("tip", d, MAX_ORDER_DOLLARS));
    v.finish()?;
    let headcount = body.headcount.and_then(|h| i32::try_from(h).ok());
    let hosts = body.number_of_hosts.and_then(|h| i32::try_from(h).ok());
    tx.execute_typed(
        "UPDATE orders SET pickup_date_time = $2, arrival_date_time = $3,
            brokerage = COALESCE($4, brokerage), client_attention = COALESCE($5, client_attention),
            pickup_notes = COALESCE($6, pickup_notes), special_notes = COALESCE($7, special_notes),
            headcount = COALESCE($8, headcount), need_host = COALESCE($9, need_host),
            hours_needed = COALESCE($10, hours_needed), number_of_hosts = COALESCE($11, number_of_hosts),
            item_delivered = COALESCE($12, item_delivered), order_total_cents = COALESCE($13, order_total_cents),
            tip_cents = COALESCE($14, tip_cents)
         WHERE id = $1",
        &[
            p(&order.id), p(&pickup), p(&arrival), p(&brokerage), p(&client_attention), p(&pickup_notes),
            p(&special_notes), p(&headcount), p(&need_host), p(&body.hours_needed), p(&hosts), p(&item_delivered),
            p(&order_total), p(&tip),
        ],
    )
    .await?;
    let updated = lock_visible(tx, caller, &order.order_number).await?;
    ok(&serde_json::json!({ "order": updated }))
}
