//! The dashboards: the platform's figures for staff (`/api/dashboard-metrics`) and a
//! vendor's own (`/api/vendor/metrics`), over a rolling period. One statement each, a range
//! scan of the orders index on `created_at` (per vendor, of `(user_id, created_at)`),
//! cached five minutes per container and answered with an `ETag`, so an unchanged
//! dashboard costs a `304` and no query.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration as StdDuration, Instant},
};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    auth::{Caller, Permission},
    db::{p, GenericClient, RowExt},
    error::{ApiError, ApiResult, FieldError},
    orders::status::{DriverStatus, OrderStatus},
    AppState,
};

/// How long computed figures are served again.
pub const CACHE_FOR: StdDuration = StdDuration::from_secs(300);
/// The most dashboards one container keeps (staff can ask for any vendor's): past it the
/// oldest goes first.
const CACHE_ENTRIES: usize = 256;

/// The window the figures cover, ending now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Day,
    Week,
    Month,
    Year,
}

impl Period {
    pub fn parse(raw: Option<&str>) -> ApiResult<Self> {
        match raw.unwrap_or("month") {
            "day" => Ok(Period::Day),
            "week" => Ok(Period::Week),
            "month" => Ok(Period::Month),
            "year" => Ok(Period::Year),
            _ => Err(ApiError::validation(vec![FieldError::new(
                "period",
                "must be day, week, month or year",
            )])),
        }
    }

    fn length(self) -> Duration {
        match self {
            Period::Day => Duration::days(1),
            Period::Week => Duration::weeks(1),
            Period::Month => Duration::days(30),
            Period::Year => Duration::days(365),
        }
    }
}

/// The figures of one dashboard.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metrics {
    pub period: Period,
    pub since: DateTime<Utc>,
    pub computed_at: DateTime<Utc>,
    pub vendor_id: Option<Uuid>,
    pub orders: i64,
    pub orders_by_status: serde_json::Value,
    pub completed_orders: i64,
    pub cancelled_orders: i64,
    /// Order totals of the orders not cancelled, in dollars.
    pub revenue: f64,
    pub delivery_fees: f64,
    /// Deliveries completed in the period.
    pub deliveries_completed: i64,
    /// Drivers on duty now (staff dashboard only).
    pub active_drivers: Option<i64>,
}

/// One dashboard's answer: the JSON body and its entity tag.
#[derive(Debug, Clone)]
pub struct Answer {
    pub body: Arc<Vec<u8>>,
    pub etag: String,
}

/// Which dashboard: a vendor's (all vendors when `None`) over a period.
type DashboardKey = (Option<Uuid>, Period);

/// Computed dashboards and when they were computed, per container.
#[derive(Clone, Default)]
pub struct MetricsCache {
    entries: Arc<Mutex<HashMap<DashboardKey, (Instant, Answer)>>>,
}

async fn compute(
    client: &impl GenericClient,
    vendor: Option<Uuid>,
    period: Period,
) -> ApiResult<Metrics> {
    let now = Utc::now();
    let since = now - period.length();
    let row = client
        .query_typed_one(
            "WITH o AS (
                 SELECT status, order_total_cents, delivery_fee_cents FROM orders
                  WHERE deleted_at IS NULL AND created_at >= $1 AND ($2::uuid IS NULL OR user_id = $2))
             SELECT (SELECT count(*) FROM o) AS orders,
                    (SELECT coalesce(jsonb_object_agg(status, n), '{}'::jsonb)
                       FROM (SELECT status, count(*) AS n FROM o GROUP BY status) s) AS by_status,
                    (SELECT count(*) FROM o WHERE order_is_handed_over(status)) AS completed,
                    (SELECT count(*) FROM o WHERE status = $4) AS cancelled,
                    (SELECT coalesce(sum(order_total_cents), 0)::int8 FROM o WHERE status <> $4) AS revenue_cents,
                    (SELECT coalesce(sum(delivery_fee_cents), 0)::int8 FROM o WHERE status <> $4) AS fee_cents,
                    (SELECT count(*) FROM deliveries d JOIN orders od ON od.id = d.order_id
                      WHERE d.status = $3 AND d.actual_arrival >= $1
                        AND ($2::uuid IS NULL OR od.user_id = $2)) AS deliveries,
                    CASE WHEN $2::uuid IS NULL THEN
                        (SELECT count(*) FROM drivers WHERE is_active AND is_on_duty AND deleted_at IS NULL)
                    END AS active_drivers",
            &[
                p(&since),
                p(&vendor),
                p(&DriverStatus::Completed),
                p(&OrderStatus::Cancelled),
            ],
        )
        .await?;
    let dollars = crate::money::dollars;
    Ok(Metrics {
        period,
        since,
        computed_at: now,
        vendor_id: vendor,
        orders: row.col("orders")?,
        orders_by_status: row.col("by_status")?,
        completed_orders: row.col("completed")?,
        cancelled_orders: row.col("cancelled")?,
        revenue: dollars(row.col("revenue_cents")?),
        delivery_fees: dollars(row.col("fee_cents")?),
        deliveries_completed: row.col("deliveries")?,
        active_drivers: row.col("active_drivers")?,
    })
}

/// The figures for `vendor` (all of the platform when `None`), from the cache when they
/// are younger than [`CACHE_FOR`].
async fn cached(state: &AppState, vendor: Option<Uuid>, period: Period) -> ApiResult<Answer> {
    let key = (vendor, period);
    if let Ok(entries) = state.dashboards.entries.lock() {
        if let Some((at, answer)) = entries.get(&key) {
            if at.elapsed() < CACHE_FOR {
                return Ok(answer.clone());
            }
        }
    }
    let client = state.db.get().await?;
    let metrics = compute(&*client, vendor, period).await?;
    let body = serde_json::to_vec(&serde_json::json!({ "metrics": metrics }))?;
    let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&body))[..32]);
    let answer = Answer {
        body: Arc::new(body),
        etag,
    };
    if let Ok(mut entries) = state.dashboards.entries.lock() {
        entries.retain(|_, (at, _)| at.elapsed() < CACHE_FOR);
        if entries.len() >= CACHE_ENTRIES {
            let oldest = entries
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| *k);
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
            }
        }
        entries.insert(key, (Instant::now(), answer.clone()));
    }
    Ok(answer)
}

/// The staff dashboard.
pub async fn platform(state: &AppState, caller: &Caller, period: Period) -> ApiResult<Answer> {
    caller.require(Permission::ViewAllOrders)?;
    cached(state, None, period).await
}

/// A vendor's own dashboard; staff name the vendor (`vendorId`).
pub async fn vendor(
    state: &AppState,
    caller: &Caller,
    asked: Option<Uuid>,
    period: Period,
) -> ApiResult<Answer> {
    caller.require(Permission::ViewVendorOrders)?;
    let vendor = if caller.can(Permission::ViewAnyVendorOrders) {
        asked.ok_or_else(|| {
            ApiError::validation(vec![FieldError::new("vendorId", "is required for staff")])
        })?
    } else if asked.is_none_or(|id| id == caller.user_id) {
        caller.user_id
    } else {
        return Err(ApiError::forbidden("you may only see your own metrics"));
    };
    cached(state, Some(vendor), period).await
}

/// The response: the body with its `ETag`, or `304` when the client holds it already.
pub fn respond(
    answer: &Answer,
    if_none_match: Option<&str>,
) -> ApiResult<lambda_http::Response<lambda_http::Body>> {
    use http::{header, HeaderValue, StatusCode};
    let matches = if_none_match.is_some_and(|tags| {
        tags.split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == answer.etag || t == "*")
    });
    let mut response = if matches {
        let mut r = lambda_http::Response::new(lambda_http::Body::Empty);
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let mut r =
            lambda_http::Response::new(lambda_http::Body::Binary(answer.body.as_ref().clone()));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    };
    let headers = response.headers_mut();
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(&answer.etag).map_err(ApiError::internal)?,
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    Ok(response)
}
