//! Order lists: filtered by status, type, pickup date range and text, newest first, with
//! keyset pagination, within the caller's scope.

use chrono::{NaiveDate, TimeZone, Utc};
use uuid::Uuid;

use super::{rules::OrderType, status::OrderStatus, Order, Scope, ORDER_SELECT};
use crate::{
    db::{p, FromRow, GenericClient},
    error::{ApiError, ApiResult, Context, FieldError},
    input::{bounded_text, escape_like, parse_date, Cursor, Lines, Page, PageRequest, Query},
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFilters {
    pub status: Option<OrderStatus>,
    pub order_type: Option<OrderType>,
    /// Pickup on or after this day (UTC).
    pub from: Option<NaiveDate>,
    /// Pickup on or before this day (UTC).
    pub to: Option<NaiveDate>,
    pub search: Option<String>,
    /// Only orders owned by this account (`/api/user-orders`, `/api/vendor/orders`).
    pub owner: Option<Uuid>,
}

impl OrderFilters {
    /// Reads `?status=&type=&startDate=&endDate=&search=`, rejecting malformed values.
    pub fn from_query(query: &Query) -> ApiResult<Self> {
        let mut errors = Vec::new();
        let status = query.get("status").and_then(|s| {
            s.parse::<OrderStatus>()
                .map_err(|e| errors.push(FieldError::new("status", e)))
                .ok()
        });
        let order_type = query
            .get("type")
            .and_then(|t| match t.to_ascii_lowercase().as_str() {
                "catering" => Some(OrderType::Catering),
                "on_demand" | "on-demand" | "ondemand" => Some(OrderType::OnDemand),
                _ => {
                    errors.push(FieldError::new("type", "must be catering or on_demand"));
                    None
                }
            });
        let mut date = |name: &str| {
            query
                .get(name)
                .and_then(|d| parse_date(name, d).map_err(|e| errors.push(e)).ok())
        };
        let from = date("startDate");
        let to = date("endDate");
        if let (Some(from), Some(to)) = (from, to) {
            if from > to {
                errors.push(FieldError::new("endDate", "must not be before startDate"));
            }
        }
        let search = query.get("search").and_then(|s| {
            bounded_text("search", s, 1, 100, Lines::One)
                .map_err(|e| errors.push(e))
                .ok()
        });
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        Ok(Self {
            status,
            order_type,
            from,
            to,
            search,
            owner: None,
        })
    }
}

/// One page of the orders the scope allows and the filters select.
#[tracing::instrument(name = "list_orders", skip_all)]
pub async fn list(
    client: &impl GenericClient,
    scope: Scope,
    filters: &OrderFilters,
    page: &PageRequest,
) -> ApiResult<Page<Order>> {
    let from = filters
        .from
        .map(|d| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()));
    let to = filters
        .to
        .and_then(|d| d.succ_opt())
        .map(|d| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()));
    let search = filters
        .search
        .as_ref()
        .map(|s| format!("%{}%", escape_like(s)));
    let (after_time, after_id) = page.after.as_ref().map(|c| (c.at, c.id)).unzip();
    let sql = format!(
        "{ORDER_SELECT}
         WHERE o.deleted_at IS NULL AND {scope}
           AND ($4::text IS NULL OR o.status = $4)
           AND ($5::text IS NULL OR o.order_type = $5)
           AND ($6::timestamptz IS NULL OR o.pickup_date_time >= $6)
           AND ($7::timestamptz IS NULL OR o.pickup_date_time < $7)
           AND ($8::text IS NULL OR o.order_number ILIKE $8 OR o.client_attention ILIKE $8 OR o.partner_order_code ILIKE $8)
           AND ($9::uuid IS NULL OR o.user_id = $9)
           AND ($10::timestamptz IS NULL OR (o.created_at, o.id) < ($10, $11))
         ORDER BY o.created_at DESC, o.id DESC
         LIMIT $12",
        scope = scope.sql(1)
    );
    let [all, dispatched, user] = scope.params();
    let rows = client
        .query_typed(
            &sql,
            &[
                all,
                dispatched,
                user,
                p(&filters.status),
                p(&filters.order_type),
                p(&from),
                p(&to),
                p(&search),
                p(&filters.owner),
                p(&after_time),
                p(&after_id),
                p(&page.fetch_limit()),
            ],
        )
        .await
        .context("listing orders")?;
    let orders = rows
        .iter()
        .map(Order::from_row)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Page::from_rows(orders, page, |o| Cursor {
        at: o.created_at,
        id: o.id,
    }))
}
