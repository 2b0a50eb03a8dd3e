//! `GET /api/cater-valley/orders/{id}` and `GET /api/partners/orders/{id}`: a partner's own
//! order with its lifecycle status and last ten events, so a partner can catch up after an
//! outage. Another partner's order is a 404.

use lambda_http::{Body, Request, Response};
use shared::{
    db::p,
    http::ok,
    input::path_param,
    orders::{
        history,
        status::{partner_lifecycle, DriverStatus, OrderStatus},
    },
    partners::{authenticate, orders::order_id},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiError, ApiResult, AppState,
};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Partner).partner_errors();

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(order(state, req))
}

async fn order(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let partner = authenticate(state, &req).await?;
    let id = order_id("id", path_param(&req, "id")?)?;
    let client = state.db.get().await?;
    let row = client
        .query_typed_opt(
            "SELECT partner_order_code, order_number, status, driver_status, arrival_date_time
             FROM orders WHERE id = $1 AND partner_id = $2 AND deleted_at IS NULL",
            &[p(&id), p(&partner.id)],
        )
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    let status: OrderStatus = row
        .get::<_, String>(2)
        .parse()
        .map_err(ApiError::internal)?;
    let driver: Option<DriverStatus> = row
        .get::<_, Option<String>>(3)
        .map(|d| d.parse())
        .transpose()
        .map_err(ApiError::internal)?;
    let delivery: chrono::DateTime<chrono::Utc> = row.get(4);
    let events: Vec<serde_json::Value> = history(&*client, id, 10)
        .await?
        .into_iter()
        .map(|e| {
            let mut event = serde_json::json!({ "status": e.status, "driverStatus": e.driver_status, "timestamp": e.timestamp });
            if let (Some(lat), Some(lng)) = (e.latitude, e.longitude) {
                event["location"] = serde_json::json!({ "lat": lat, "lng": lng });
            }
            if let Some(note) = e.note {
                event["notes"] = serde_json::json!(note);
            }
            event
        })
        .collect();
    ok(&serde_json::json!({
        "status": "SUCCESS",
        "order": {
            "id": id,
            "orderCode": row.get::<_, Option<String>>(0),
            "orderNumber": row.get::<_, String>(1),
            "orderStatus": status,
            "lifecycleStatus": partner_lifecycle(status, driver).unwrap_or(status.as_str()),
            "deliveryDate": delivery,
            "events": events,
        }
    }))
}
