//! What operators see of outbox deliveries (partner webhooks and status calls, customer
//! emails and texts, driver pushes) and each one's attempts, and re-queuing a dead message.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::{MessageStatus, OutboxKind};
use crate::{
    db::{p, FromRow, GenericClient, RowExt},
    error::{ApiError, ApiResult},
    input::{Cursor, Page, PageRequest},
};

/// A message with its five most recent delivery attempts.
#[derive(Debug, Serialize, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub event_id: Uuid,
    pub kind: OutboxKind,
    pub order_id: Uuid,
    pub order_number: String,
    /// The partner it goes to; none for customer emails and driver pushes.
    #[row(rename = "slug")]
    pub partner: Option<String>,
    pub status: MessageStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub dead_at: Option<DateTime<Utc>>,
    pub payload: Value,
    pub recent_attempts: Value,
}

/// Which messages to list.
#[derive(Debug, Clone, Default)]
pub struct MessageFilters {
    pub partner: Option<String>,
    pub status: Option<MessageStatus>,
    pub order_id: Option<Uuid>,
    pub order_number: Option<String>,
}

/// Messages newest first, filtered, one page.
pub async fn list(
    client: &impl GenericClient,
    filters: &MessageFilters,
    page: &PageRequest,
) -> ApiResult<Page<Message>> {
    let (after_time, after_id) = page.after.as_ref().map(|c| (c.at, c.id)).unzip();
    let rows = client
        .query_typed(
            "SELECT m.event_id, m.kind, m.order_id, o.order_number, ap.slug, m.status, m.attempts, m.next_attempt_at,
                    m.last_error, m.created_at, m.delivered_at, m.dead_at, m.payload,
                    coalesce((SELECT jsonb_agg(jsonb_build_object('attemptedAt', a.attempted_at, 'statusCode', a.status_code,
                                     'latencyMs', a.latency_ms, 'error', a.error, 'succeeded', a.succeeded) ORDER BY a.attempted_at DESC)
                              FROM (SELECT * FROM outbox_attempts WHERE outbox_id = m.id ORDER BY attempted_at DESC LIMIT 5) a),
                             '[]'::jsonb) AS recent_attempts
             FROM outbox m
             JOIN orders o ON o.id = m.order_id
             LEFT JOIN api_partners ap ON ap.id = m.partner_id
             WHERE ($1::text IS NULL OR ap.slug = $1)
               AND ($2::text IS NULL OR m.status = $2)
               AND ($3::uuid IS NULL OR m.order_id = $3)
               AND ($4::text IS NULL OR o.order_number = $4)
               AND ($5::timestamptz IS NULL OR (m.created_at, m.event_id) < ($5, $6))
             ORDER BY m.created_at DESC, m.event_id DESC
             LIMIT $7",
            &[
                p(&filters.partner),
                p(&filters.status),
                p(&filters.order_id),
                p(&filters.order_number),
                p(&after_time),
                p(&after_id),
                p(&page.fetch_limit()),
            ],
        )
        .await?;
    let messages = rows
        .iter()
        .map(Message::from_row)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Page::from_rows(messages, page, |m| Cursor {
        at: m.created_at,
        id: m.event_id,
    }))
}

/// One delivery attempt of a message, as operators see it.
#[derive(Debug, Serialize, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    #[serde(skip)]
    pub id: i64,
    pub attempted_at: DateTime<Utc>,
    /// The receiver's answer (200 for an email or text SES or SNS accepted); none when
    /// nothing answered.
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub error: Option<String>,
    pub succeeded: bool,
}

/// Every attempt still kept of one message (by its event id), newest first; 404 for an
/// unknown message. Attempts are kept for the outbox retention (see [`super::retention`]).
pub async fn attempts(
    client: &impl GenericClient,
    event_id: Uuid,
    page: &PageRequest,
) -> ApiResult<Page<Attempt>> {
    let message: i64 = client
        .query_typed_opt("SELECT id FROM outbox WHERE event_id = $1", &[p(&event_id)])
        .await?
        .ok_or_else(|| ApiError::not_found("message"))?
        .col("id")?;
    let (after_time, after_id) = page.after.as_ref().map(|c| (c.at, c.serial())).unzip();
    let rows = client
        .query_typed(
            "SELECT id, attempted_at, status_code, latency_ms, error, succeeded
               FROM outbox_attempts
              WHERE outbox_id = $1
                AND ($2::timestamptz IS NULL OR (attempted_at, id) < ($2, $3))
              ORDER BY attempted_at DESC, id DESC
              LIMIT $4",
            &[
                p(&message),
                p(&after_time),
                p(&after_id),
                p(&page.fetch_limit()),
            ],
        )
        .await?;
    let attempts = rows
        .iter()
        .map(Attempt::from_row)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Page::from_rows(attempts, page, |a| {
        Cursor::of_serial(a.attempted_at, a.id)
    }))
}

/// Re-queues a dead message with a fresh retry horizon; the relay delivers it on its next
/// run. 404 for an unknown event id, 409 for a message that is not dead.
pub async fn retry(
    client: &impl GenericClient,
    event_id: Uuid,
    horizon: std::time::Duration,
) -> ApiResult<()> {
    let horizon_secs = horizon.as_secs_f64();
    let requeued = client
        .query_typed_opt(
            "UPDATE outbox SET status = 'PENDING', next_attempt_at = now(), dead_at = NULL,
                    retry_until = now() + make_interval(secs => $2)
             WHERE event_id = $1 AND status = 'DEAD'
             RETURNING id",
            &[p(&event_id), p(&horizon_secs)],
        )
        .await?;
    if requeued.is_some() {
        return Ok(());
    }
    let current = client
        .query_typed_opt(
            "SELECT status FROM outbox WHERE event_id = $1",
            &[p(&event_id)],
        )
        .await?;
    Err(match current {
        None => ApiError::not_found("message"),
        Some(row) => ApiError::conflict(
            "not_dead",
            format!(
                "only dead messages are retried; this one is {}",
                row.col::<MessageStatus>("status")?
            ),
        ),
    })
}

/// The outbox's backlog for the analytics view.
#[derive(Debug, Clone, Serialize, PartialEq, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Backlog {
    /// Messages waiting for delivery or a retry.
    pub pending: i64,
    /// How long the oldest of them has waited.
    pub oldest_pending_seconds: Option<f64>,
    /// Messages that gave up since `since`, and in all.
    pub dead_in_window: i64,
    pub dead: i64,
}

pub async fn backlog(client: &impl GenericClient, since: DateTime<Utc>) -> ApiResult<Backlog> {
    // Each count reads its partial index (pending by due time, dead by time of death).
    let row = client
        .query_typed_one(
            "SELECT (SELECT count(*) FROM outbox WHERE status = 'PENDING') AS pending,
                    (SELECT extract(epoch FROM now() - min(created_at))::float8
                       FROM outbox WHERE status = 'PENDING') AS oldest_pending_seconds,
                    (SELECT count(*) FROM outbox WHERE status = 'DEAD' AND dead_at >= $1) AS dead_in_window,
                    (SELECT count(*) FROM outbox WHERE status = 'DEAD') AS dead",
            &[p(&since)],
        )
        .await
        .map_err(ApiError::from)
        .map_err(|e| e.doing("reading the outbox backlog"))?;
    Backlog::from_row(&row)
}
