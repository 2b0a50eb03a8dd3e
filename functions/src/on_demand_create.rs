//! `POST /api/on-demand/create`: an on-demand (courier) delivery. `Idempotency-Key` makes a
//! retried create return the first order.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::{
    auth::{caller, Permission},
    http::created,
    idempotency,
    input::{bounded_text, parse_json, Validator},
    orders::{
        create::OrderType,
        intake::{check_basics, create_order, OrderBasics, TypeFields},
    },
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiError, ApiResult, AppState,
};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api).idempotent();

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(create(state, req))
}

/// The on-demand fields of the body; the common ones are read as [`OrderBasics`] from
/// the same body, so errors name their fields.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OnDemandFields {
    item_delivered: String,
    vehicle_type: String,
    length: Option<f64>,
    width: Option<f64>,
    height: Option<f64>,
    weight: Option<f64>,
}

async fn create(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::CreateOrders)?;
    let common: OrderBasics = parse_json(&req)?;
    let body: OnDemandFields = parse_json(&req)?;
    let mut v = Validator::new();
    let basics = check_basics(&mut v, &common, chrono::Utc::now(), caller.role.is_staff());
    let item = v.take(bounded_text(
        "itemDelivered",
        &body.item_delivered,
        1,
        200,
        false,
    ));
    let vehicle = body.vehicle_type.to_ascii_uppercase();
    v.check(
        matches!(vehicle.as_str(), "CAR" | "VAN" | "TRUCK"),
        "vehicleType",
        "must be CAR, VAN or TRUCK",
    );
    for (field, value, max) in [
        ("length", body.length, 1000.0),
        ("width", body.width, 1000.0),
        ("height", body.height, 1000.0),
        ("weight", body.weight, 10000.0),
    ] {
        v.check(
            value.is_none_or(|x| x.is_finite() && x > 0.0 && x <= max),
            field,
            &format!("must be more than 0 and at most {max}"),
        );
    }
    v.finish()?;
    let basics = basics.ok_or_else(|| ApiError::internal("validated basics missing"))?;
    let fields = TypeFields {
        order_type: OrderType::OnDemand,
        headcount: None,
        need_host: None,
        hours_needed: None,
        number_of_hosts: None,
        item_delivered: item,
        vehicle_type: Some(vehicle),
        dimensions: [body.length, body.width, body.height, body.weight],
    };
    let order = create_order(state, &caller, basics, fields, idempotency::key(&req)?).await?;
    created(&serde_json::json!({ "order": order }))
}
