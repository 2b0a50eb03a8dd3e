//! `GET | POST /api/catering-requests`: catering orders.
//!
//! POST creates one (CLIENT, VENDOR, staff); an `Idempotency-Key` makes a retried create
//! return the first order. GET lists the catering orders the caller may see.

use lambda_http::{http::Method, Body, Request, Response};
use serde::Deserialize;
use shared::{
    auth::{caller, Caller, Permission},
    http::{created, ok},
    idempotency,
    input::{parse_json, PageRequest, Validator},
    orders::{
        create::OrderType,
        intake::{check_basics, create_order, OrderBasics, TypeFields},
        list::{list, OrderFilters},
        Scope,
    },
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiError, ApiResult, AppState,
};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api).idempotent();

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(catering_requests(state, req))
}

async fn catering_requests(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    if req.method() == Method::POST {
        create(state, &caller, &req).await
    } else {
        caller.require(Permission::ViewOrders)?;
        let filters = OrderFilters {
            order_type: Some("CATERING"),
            ..OrderFilters::from_request(&req)?
        };
        let page = PageRequest::from_request(&req)?;
        let client = state.db.get().await?;
        ok(&list(&*client, Scope::of(&caller), &filters, &page).await?)
    }
}

/// The catering fields of the body; the common ones are read as [`OrderBasics`] from the
/// same body, so errors name their fields.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CateringFields {
    headcount: i64,
    need_host: Option<String>,
    hours_needed: Option<f64>,
    number_of_hosts: Option<i64>,
}

async fn create(state: &AppState, caller: &Caller, req: &Request) -> ApiResult<Response<Body>> {
    caller.require(Permission::CreateOrders)?;
    let common: OrderBasics = parse_json(req)?;
    let body: CateringFields = parse_json(req)?;
    let mut v = Validator::new();
    let basics = check_basics(&mut v, &common, chrono::Utc::now(), caller.role.is_staff());
    v.check(
        (1..=10_000).contains(&body.headcount),
        "headcount",
        "must be a whole number from 1 to 10000",
    );
    let need_host = body
        .need_host
        .as_deref()
        .unwrap_or("NO")
        .to_ascii_uppercase();
    v.check(
        need_host == "YES" || need_host == "NO",
        "needHost",
        "must be YES or NO",
    );
    v.check(
        body.hours_needed
            .is_none_or(|h| h.is_finite() && (0.0..=24.0).contains(&h)),
        "hoursNeeded",
        "must be from 0 to 24",
    );
    let hosts = body
        .number_of_hosts
        .unwrap_or(if need_host == "YES" { 1 } else { 0 });
    v.check(
        (0..=50).contains(&hosts),
        "numberOfHosts",
        "must be from 0 to 50",
    );
    v.check(
        need_host != "YES" || hosts >= 1,
        "numberOfHosts",
        "must be at least 1 when a host is needed",
    );
    v.finish()?;
    let basics = basics.ok_or_else(|| ApiError::internal("validated basics missing"))?;
    let fields = TypeFields {
        order_type: OrderType::Catering,
        headcount: i32::try_from(body.headcount).ok(),
        need_host: Some(need_host),
        hours_needed: body.hours_needed,
        number_of_hosts: i32::try_from(hosts).ok(),
        item_delivered: None,
        vehicle_type: None,
        dimensions: [None; 4],
    };
    let order = create_order(state, caller, basics, fields, idempotency::key(req)?).await?;
    created(&serde_json::json!({ "order": order }))
}
