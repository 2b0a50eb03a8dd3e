//! `GET /api/admin/webhooks`: partner deliveries for operators (ADMIN, SUPER_ADMIN).
//!
//! Lists outbox messages newest first with their recent attempts, filtered by
//! `?partner=<slug>`, `?order=<order id or number>` and `?status=PENDING|DELIVERED|DEAD`.

use lambda_http::{Body, Request, Response};
use serde::Serialize;
use shared::{
    auth::{caller, Permission},
    db::p,
    error::FieldError,
    http::ok,
    input::{parse_uuid, query_param, Cursor, Page, PageRequest},
    orders::parse_order_number,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiError, ApiResult, AppState,
};
use uuid::Uuid;

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Admin);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(list(state, req))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Message {
    event_id: Uuid,
    kind: String,
    order_id: Uuid,
    order_number: String,
    partner: String,
    status: String,
    attempts: i32,
    next_attempt_at: chrono::DateTime<chrono::Utc>,
    last_error: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
    delivered_at: Option<chrono::DateTime<chrono::Utc>>,
    dead_at: Option<chrono::DateTime<chrono::Utc>>,
    payload: serde_json::Value,
    recent_attempts: serde_json::Value,
}

async fn list(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    caller(&req)?.require(Permission::ManageWebhooks)?;
    let page = PageRequest::from_request(&req)?;
    let partner = query_param(&req, "partner").map(str::to_ascii_lowercase);
    let status = query_param(&req, "status")
        .map(|s| match s {
            "PENDING" | "DELIVERED" | "DEAD" => Ok(s.to_owned()),
            _ => Err(ApiError::validation(vec![FieldError::new(
                "status",
                "must be PENDING, DELIVERED or DEAD",
            )])),
        })
        .transpose()?;
    let (order_id, order_number) = match query_param(&req, "order") {
        None => (None, None),
        Some(raw) if raw.len() == 36 && raw.contains('-') => {
            (Some(parse_uuid("order", raw)?), None)
        }
        Some(raw) => (None, Some(parse_order_number(raw)?)),
    };
    let (after_time, after_id) = page.after.as_ref().map(|c| (c.at, c.id)).unzip();
    let client = state.db.get().await?;
    let rows = client
        .query_typed(
            "SELECT m.event_id, m.kind, m.order_id, o.order_number, ap.slug, m.status, m.attempts, m.next_attempt_at,
                    m.last_error, m.created_at, m.delivered_at, m.dead_at, m.payload,
                    coalesce((SELECT jsonb_agg(jsonb_build_object('attemptedAt', a.attempted_at, 'statusCode', a.status_code,
                                     'latencyMs', a.latency_ms, 'error', a.error, 'succeeded', a.succeeded) ORDER BY a.attempted_at DESC)
                              FROM (SELECT * FROM outbox_attempts WHERE outbox_id = m.id ORDER BY attempted_at DESC LIMIT 5) a), '[]'::jsonb)
             FROM outbox m
             JOIN orders o ON o.id = m.order_id
             JOIN api_partners ap ON ap.id = m.partner_id
             WHERE ($1::text IS NULL OR ap.slug = $1)
               AND ($2::text IS NULL OR m.status = $2)
               AND ($3::uuid IS NULL OR m.order_id = $3)
               AND ($4::text IS NULL OR o.order_number = $4)
               AND ($5::timestamptz IS NULL OR (m.created_at, m.event_id) < ($5, $6))
             ORDER BY m.created_at DESC, m.event_id DESC
             LIMIT $7",
            &[p(&partner), p(&status), p(&order_id), p(&order_number), p(&after_time), p(&after_id), p(&page.fetch_limit())],
        )
        .await?;
    let messages: Vec<Message> = rows
        .iter()
        .map(|r| Message {
            event_id: r.get(0),
            kind: r.get(1),
            order_id: r.get(2),
            order_number: r.get(3),
            partner: r.get(4),
            status: r.get(5),
            attempts: r.get(6),
            next_attempt_at: r.get(7),
            last_error: r.get(8),
            created_at: r.get(9),
            delivered_at: r.get(10),
            dead_at: r.get(11),
            payload: r.get(12),
            recent_attempts: r.get(13),
        })
        .collect();
    ok(&Page::from_rows(messages, &page, |m| Cursor {
        at: m.created_at,
        id: m.event_id,
    }))
}
