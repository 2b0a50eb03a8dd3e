//! Delivering outbox messages.
//!
//! Each message is handled in its own transaction: pick the oldest due message whose
//! order has no earlier pending or dead message of the same kind (a dead message holds
//! its order's later ones back until it is re-queued, so a partner never sees an order's
//! status go backwards; a dead driver push holds nothing back, as a stale push is worth
//! nothing), with `FOR UPDATE SKIP LOCKED` (so
//! relays running side by side never take the same one), deliver it, record the attempt,
//! and update the message. If the relay dies mid-delivery the transaction rolls back and
//! the message is picked up again: delivery is at least once.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::RngExt;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::{customer::SendError, destination, signature, OutboxKind};
use crate::{
    config::OutboxSettings,
    db::{p, FromRow},
    error::{ApiError, ApiResult},
    AppState,
};

pub const TIMESTAMP_HEADER: &str = "x-readyset-timestamp";
pub const EVENT_ID_HEADER: &str = "x-readyset-event-id";
/// The `partner` header Ready Set sends on CaterValley's status call.
pub const READYSET_PARTNER_ID: &str = "readyset";

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RelayReport {
    pub delivered: u32,
    pub retrying: u32,
    pub dead: u32,
    pub skipped: u32,
}

#[derive(FromRow)]
struct Due {
    id: i64,
    event_id: Uuid,
    kind: OutboxKind,
    order_id: Option<Uuid>,
    payload: Value,
    attempts: i32,
    retry_until: DateTime<Utc>,
    /// The partner's slug; none for customer emails.
    #[row(rename = "slug")]
    partner: Option<String>,
    webhook_url: Option<String>,
    webhook_secret_ref: Option<String>,
    status_call_url: Option<String>,
    status_call_key_ref: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Delivered,
    /// Worth trying again later (timeouts, 408, 429, 5xx, unreachable).
    Retry,
    /// Will never succeed as it stands (other 4xx, refused destination, no destination).
    Permanent,
    /// Has nowhere or no one to go to by design (a driver push without a push channel, a
    /// text while texts are off or to a number that opted out).
    Skipped,
}

struct Attempt {
    outcome: Outcome,
    status_code: Option<i32>,
    latency_ms: i32,
    error: Option<String>,
}

/// Delivers due messages until none is left, `max_messages` were handled, or `deadline`.
pub async fn run(
    state: &AppState,
    max_messages: usize,
    deadline: Instant,
) -> ApiResult<RelayReport> {
    let mut report = RelayReport::default();
    for _ in 0..max_messages {
        if Instant::now() >= deadline {
            break;
        }
        match deliver_next(state).await? {
            None => break,
            Some(Outcome::Delivered) => report.delivered += 1,
            Some(Outcome::Retry) => report.retrying += 1,
            Some(Outcome::Permanent) => report.dead += 1,
            Some(Outcome::Skipped) => report.skipped += 1,
        }
    }
    Ok(report)
}

/// Handles one due message; `None` when nothing is due. A retry past the horizon is
/// reported as `Permanent` (the message is dead).
async fn deliver_next(state: &AppState) -> ApiResult<Option<Outcome>> {
    let settings = &state.config.outbox;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let horizon_secs = settings.horizon.as_secs_f64();
    let Some(row) = tx
        .query_typed_opt(
            "SELECT o.id, o.event_id, o.kind, o.order_id, o.payload, o.attempts,
                    coalesce(o.retry_until, o.created_at + make_interval(secs => $1)) AS retry_until,
                    ap.slug, ap.webhook_url, ap.webhook_secret_ref, ap.status_call_url, ap.status_call_key_ref
             FROM outbox o LEFT JOIN api_partners ap ON ap.id = o.partner_id
             WHERE o.status = 'PENDING' AND o.next_attempt_at <= now()
               AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.order_id = o.order_id AND e.kind = o.kind
                               AND (e.status = 'PENDING' OR (e.status = 'DEAD' AND e.kind <> 'DRIVER_PUSH'))
                               AND e.id < o.id)
             ORDER BY o.next_attempt_at, o.id
             LIMIT 1
             FOR UPDATE OF o SKIP LOCKED",
            &[p(&horizon_secs)],
        )
        .await?
    else {
        return Ok(None);
    };
    let due = Due::from_row(&row)?;
    let attempt = deliver(state, &due).await;
    tx.execute_typed(
        "INSERT INTO outbox_attempts (outbox_id, status_code, latency_ms, error, succeeded) VALUES ($1, $2, $3, $4, $5)",
        &[p(&due.id), p(&attempt.status_code), p(&attempt.latency_ms), p(&attempt.error), p(&(attempt.outcome == Outcome::Delivered))],
    )
    .await?;
    let attempts = due.attempts + 1;
    let outcome = match attempt.outcome {
        Outcome::Delivered => {
            tx.execute_typed(
                "UPDATE outbox SET status = 'DELIVERED', attempts = $2, delivered_at = now(), last_error = NULL WHERE id = $1",
                &[p(&due.id), p(&attempts)],
            )
            .await?;
            Outcome::Delivered
        }
        Outcome::Retry => {
            let delay = backoff(settings, attempts);
            let next = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
            if next > due.retry_until {
                mark_dead(&tx, &due, attempts, attempt.error.as_deref()).await?;
                Outcome::Permanent
            } else {
                tx.execute_typed(
                    "UPDATE outbox SET attempts = $2, next_attempt_at = $3, last_error = $4 WHERE id = $1",
                    &[p(&due.id), p(&attempts), p(&next), p(&attempt.error)],
                )
                .await?;
                Outcome::Retry
            }
        }
        Outcome::Permanent => {
            mark_dead(&tx, &due, attempts, attempt.error.as_deref()).await?;
            Outcome::Permanent
        }
        Outcome::Skipped => {
            tx.execute_typed(
                "UPDATE outbox SET status = 'SKIPPED', attempts = $2, last_error = $3 WHERE id = $1",
                &[p(&due.id), p(&attempts), p(&attempt.error)],
            )
            .await?;
            Outcome::Skipped
        }
    };
    tx.commit().await?;
    Ok(Some(outcome))
}

async fn mark_dead(
    tx: &crate::db::Transaction<'_>,
    due: &Due,
    attempts: i32,
    error: Option<&str>,
) -> ApiResult<()> {
    tx.execute_typed(
        "UPDATE outbox SET status = 'DEAD', attempts = $2, dead_at = now(), last_error = $3 WHERE id = $1",
        &[p(&due.id), p(&attempts), p(&error)],
    )
    .await?;
    // The log line monitoring alarms on: a partner will not hear of this change.
    tracing::error!(
        alert = "outbox_dead_message",
        event_id = %due.event_id,
        kind = %due.kind,
        order_id = ?due.order_id,
        partner = due.partner.as_deref().unwrap_or("-"),
        attempts,
        error = error.unwrap_or(""),
        "outbox message is dead"
    );
    Ok(())
}

/// What a test send got: the receiver's answer, or why there was none.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TestSend {
    pub event_id: Uuid,
    pub delivered: bool,
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub error: Option<String>,
}

/// Sends `payload` once to a partner's webhook, signed and checked as a real delivery is,
/// without the outbox (a sample belongs to no order, and is not retried).
pub async fn send_once(
    state: &AppState,
    partner: &str,
    webhook_url: &str,
    webhook_secret_ref: &str,
    event_id: Uuid,
    payload: Value,
) -> TestSend {
    let due = Due {
        id: 0,
        event_id,
        kind: OutboxKind::PartnerWebhook,
        order_id: None,
        payload,
        attempts: 0,
        retry_until: Utc::now(),
        partner: Some(partner.to_owned()),
        webhook_url: Some(webhook_url.to_owned()),
        webhook_secret_ref: Some(webhook_secret_ref.to_owned()),
        status_call_url: None,
        status_call_key_ref: None,
    };
    let attempt = deliver(state, &due).await;
    TestSend {
        event_id,
        delivered: attempt.outcome == Outcome::Delivered,
        status_code: attempt.status_code,
        latency_ms: attempt.latency_ms,
        error: attempt.error,
    }
}

/// The delay before retry number `attempts`: the base doubled per attempt, capped, with
/// jitter over its upper half so retries from many messages spread out.
pub fn backoff(settings: &OutboxSettings, attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    let full = settings
        .retry_base
        .saturating_mul(1u32 << exponent)
        .min(settings.retry_max);
    let half = full / 2;
    half + full
        .saturating_sub(half)
        .mul_f64(rand::rng().random::<f64>())
}

#[tracing::instrument(name = "deliver_outbox_message", skip_all, fields(event_id = %due.event_id, kind = %due.kind))]
async fn deliver(state: &AppState, due: &Due) -> Attempt {
    let started = Instant::now();
    let result = try_deliver(state, due).await;
    let latency_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    match result {
        Ok(status) => {
            let outcome = match status {
                200..=299 => Outcome::Delivered,
                408 | 429 | 500..=599 => Outcome::Retry,
                _ => Outcome::Permanent,
            };
            let error =
                (outcome != Outcome::Delivered).then(|| format!("receiver answered {status}"));
            Attempt {
                outcome,
                status_code: Some(i32::from(status)),
                latency_ms,
                error,
            }
        }
        Err((outcome, error)) => Attempt {
            outcome,
            status_code: None,
            latency_ms,
            error: Some(error),
        },
    }
}

/// Sends the message; the receiver's status code, or why nothing was received.
async fn try_deliver(state: &AppState, due: &Due) -> Result<u16, (Outcome, String)> {
    let permanent = |e: String| (Outcome::Permanent, e);
    let transient = |e: String| (Outcome::Retry, e);
    let push = state.config.outbox.driver_push.as_ref();
    let (url, secret_ref) = match due.kind {
        OutboxKind::PartnerWebhook => (
            due.webhook_url.as_deref(),
            due.webhook_secret_ref.as_deref(),
        ),
        OutboxKind::CatervalleyStatus => (
            due.status_call_url.as_deref(),
            due.status_call_key_ref.as_deref(),
        ),
        OutboxKind::DriverPush => match push {
            Some(channel) => (Some(channel.url.as_str()), Some(channel.secret_id.as_str())),
            None => {
                return Err((
                    Outcome::Skipped,
                    "no driver push channel is configured (DRIVER_PUSH_URL)".into(),
                ))
            }
        },
        // SES or SNS accepted it: recorded as a 200 beside the webhooks' receiver answers.
        OutboxKind::CustomerEmail => {
            return customer_outcome(super::email::send(state, &due.payload).await)
        }
        OutboxKind::CustomerSms => {
            return customer_outcome(super::sms::send(state, &due.payload).await)
        }
    };
    let (Some(url), Some(secret_ref)) = (url, secret_ref) else {
        return Err(permanent(format!(
            "partner {} has no {} destination configured",
            due.partner.as_deref().unwrap_or("-"),
            due.kind
        )));
    };
    let secret = crate::secrets::secret_string(state, secret_ref)
        .await
        .map_err(|e: ApiError| {
            transient(format!("secret {secret_ref} unavailable: {}", e.message))
        })?;
    let settings = &state.config.outbox;
    let target = destination::check(url, settings.allow_insecure_destinations)
        .await
        .map_err(|refused| match refused {
            // DNS trouble passes; a forbidden destination does not.
            destination::Refused::Unresolved => transient(refused.to_string()),
            _ => permanent(refused.to_string()),
        })?;
    let body = serde_json::to_vec(&due.payload).map_err(|e| permanent(e.to_string()))?;
    let client = reqwest::Client::builder()
        .resolve_to_addrs(&target.host, &target.addresses)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(settings.timeout)
        .build()
        .map_err(|e| transient(e.to_string()))?;
    let request = signed_request(&client, &target, due, &secret, &body);
    let response = request.body(body).send().await.map_err(|e| {
        let kind = if e.is_timeout() {
            "timed out"
        } else {
            "failed"
        };
        // Without the URL: partners may put tokens in their webhook URLs.
        transient(format!(
            "request {kind}: {}",
            crate::error::chain(&e.without_url())
        ))
    })?;
    Ok(response.status().as_u16())
}

/// A customer message's send as the relay records it.
fn customer_outcome(sent: Result<(), SendError>) -> Result<u16, (Outcome, String)> {
    sent.map(|()| 200).map_err(|e| match e {
        SendError::Retry(e) => (Outcome::Retry, e),
        SendError::Permanent(e) => (Outcome::Permanent, e),
        SendError::Skipped(e) => (Outcome::Skipped, e),
    })
}

/// The POST of a message to its checked destination, with its event id and time, and
/// the credentials of its kind: a partner webhook signed with the partner's secrets
/// (newest signs the legacy header), CaterValley's status call with our partner key.
fn signed_request(
    client: &reqwest::Client,
    target: &destination::Destination,
    due: &Due,
    secret: &str,
    body: &[u8],
) -> reqwest::RequestBuilder {
    let sent_at = Utc::now().timestamp();
    let request = client
        .post(target.url.clone())
        .header("content-type", "application/json")
        .header("user-agent", "ReadySet-Webhooks/1")
        .header(EVENT_ID_HEADER, due.event_id.to_string())
        .header(TIMESTAMP_HEADER, sent_at.to_string());
    match due.kind {
        // The push channel checks what it receives as a partner checks its webhooks.
        OutboxKind::PartnerWebhook | OutboxKind::DriverPush => {
            let secrets = signature::secrets(secret);
            let newest = secrets.first().copied().unwrap_or_default();
            request
                .header(
                    signature::HEADER,
                    signature::header_value(&secrets, sent_at, body),
                )
                .header(
                    signature::LEGACY_HEADER,
                    signature::hmac_hex(newest.as_bytes(), body),
                )
        }
        OutboxKind::CatervalleyStatus => request
            .header("partner", READYSET_PARTNER_ID)
            .header("x-api-key", secret),
        // Sent through SES or SNS; never an HTTP request.
        OutboxKind::CustomerEmail | OutboxKind::CustomerSms => request,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> OutboxSettings {
        OutboxSettings {
            retry_base: Duration::from_millis(1000),
            retry_max: Duration::from_secs(60),
            horizon: Duration::from_secs(3600),
            timeout: Duration::from_secs(10),
            allow_insecure_destinations: false,
            driver_push: None,
            relay_function: None,
            retention: chrono::Duration::days(15),
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_and_a_cap() {
        let s = settings();
        for (attempt, full) in [(1, 1000), (2, 2000), (3, 4000), (7, 60_000), (40, 60_000)] {
            for _ in 0..50 {
                let delay = backoff(&s, attempt).as_millis();
                assert!(
                    (full / 2..=full).contains(&delay),
                    "attempt {attempt}: {delay}"
                );
            }
        }
    }
}
