//! Which webhook events each partner hears (`GET | PUT
//! /api/admin/partners/{slug}/webhook-events`): staff who manage webhooks read and
//! replace the list, each change audited. An event left out is never enqueued for the
//! partner (`orders::partner_events`); the catalogue is [`WebhookEvent`]. Staff may also
//! send a partner a signed sample of any event (`POST /api/admin/webhooks/test`).

use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    audit::{self, Entity},
    auth::{rbac::Caller, Permission},
    db::{p, GenericClient, RowExt},
    error::{ApiError, ApiResult, Context, FieldError},
    orders::partner_events::WebhookEvent,
    outbox::relay::{send_once, TestSend},
    AppState,
};

/// A partner's subscriptions.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Subscriptions {
    pub partner: String,
    pub events: Vec<WebhookEvent>,
    /// Every event a partner may subscribe to.
    pub available: Vec<WebhookEvent>,
}

/// `{events: [...]}`: the whole new list (empty: the partner hears nothing).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscriptionsInput {
    pub events: Option<Vec<String>>,
}

async fn read(client: &impl GenericClient, slug: &str) -> ApiResult<(Uuid, Vec<WebhookEvent>)> {
    let row = client
        .query_typed_opt(
            "SELECT id, webhook_events FROM api_partners WHERE slug = $1",
            &[p(&slug)],
        )
        .await
        .context("reading the partner's subscriptions")?
        .ok_or_else(|| ApiError::not_found("partner"))?;
    // Never chosen: every event. An event no longer in the catalogue is not shown.
    let events = match row.col::<Option<Vec<String>>>("webhook_events")? {
        Some(stored) => stored.iter().filter_map(|e| e.parse().ok()).collect(),
        None => WebhookEvent::ALL.to_vec(),
    };
    Ok((row.col("id")?, events))
}

fn answer(slug: &str, events: Vec<WebhookEvent>) -> Subscriptions {
    Subscriptions {
        partner: slug.to_owned(),
        events,
        available: WebhookEvent::ALL.to_vec(),
    }
}

pub async fn get(state: &AppState, caller: &Caller, slug: &str) -> ApiResult<Subscriptions> {
    caller.require(Permission::ManageWebhooks)?;
    let client = state.db.get().await?;
    let (_, events) = read(&*client, slug).await?;
    Ok(answer(slug, events))
}

/// Replaces the list: each entry must be a catalogued event (a 400 names the bad ones);
/// repeats count once. Audited with the list before and after.
pub async fn replace(
    state: &AppState,
    caller: &Caller,
    slug: &str,
    input: &SubscriptionsInput,
) -> ApiResult<Subscriptions> {
    caller.require(Permission::ManageWebhooks)?;
    let Some(requested) = &input.events else {
        return Err(ApiError::validation(vec![FieldError::new(
            "events",
            "is required (a list of event names, or [] for none)",
        )]));
    };
    let mut errors = Vec::new();
    let mut events: Vec<WebhookEvent> = Vec::new();
    for (i, name) in requested.iter().enumerate() {
        match name.parse::<WebhookEvent>() {
            Ok(event) if !events.contains(&event) => events.push(event),
            Ok(_) => {}
            Err(e) => errors.push(FieldError::new(format!("events[{i}]"), e)),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    events.sort_by_key(|e| WebhookEvent::ALL.iter().position(|a| a == e));
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let (partner_id, before) = read(&tx, slug).await?;
    let names: Vec<String> = events.iter().map(|e| e.as_str().to_owned()).collect();
    tx.execute_typed(
        "UPDATE api_partners SET webhook_events = $2 WHERE id = $1",
        &[p(&partner_id), p(&names)],
    )
    .await
    .context("replacing the partner's subscriptions")?;
    let changes = audit::diff(
        &serde_json::json!({ "webhookEvents": before }),
        &serde_json::json!({ "webhookEvents": events }),
    );
    audit::record(
        &tx,
        Entity::ApiPartner,
        partner_id,
        "WEBHOOK_EVENTS",
        caller.user_id,
        changes,
        None,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(partner = slug, events = ?names, "webhook subscriptions replaced");
    Ok(answer(slug, events))
}

/// `{partner, event}`: which partner gets a sample of which event.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestRequest {
    pub partner: Option<String>,
    pub event: Option<String>,
}

/// A sample body of `event` as the partner would receive it, marked `test: true` and
/// about no real order.
fn sample(event: WebhookEvent, event_id: Uuid, prefix: &str) -> Value {
    let now = Utc::now();
    let mut body = json!({
        "eventId": event_id,
        "test": true,
        "orderId": Uuid::nil(),
        "orderCode": "SAMPLE",
        "orderNumber": format!("{prefix}SAMPLE"),
        "timestamp": now,
    });
    let details = match event {
        WebhookEvent::StatusChanged => json!({
            "status": "ASSIGNED",
            "driver": { "name": "Sample Driver", "phone": "4155550100" },
        }),
        WebhookEvent::Delayed => json!({
            "event": event,
            "predictedArrival": now + Duration::minutes(40),
            "windowEnd": now + Duration::minutes(25),
            "minutesLate": 15,
        }),
        WebhookEvent::OnTimeAgain => json!({
            "event": event,
            "predictedArrival": now + Duration::minutes(20),
            "windowEnd": now + Duration::minutes(25),
        }),
        WebhookEvent::Unassigned => json!({ "event": event, "orderStatus": "CONFIRMED" }),
        WebhookEvent::DriverArriving => json!({
            "event": event,
            "stop": "dropoff",
            "eta": now + Duration::minutes(4),
            "meters": 900,
        }),
        WebhookEvent::EtaChanged => json!({
            "event": event,
            "etaPickup": null,
            "etaDropoff": now + Duration::minutes(18),
            "previousEtaDropoff": now + Duration::minutes(14),
        }),
        WebhookEvent::DeliveryFailed => json!({
            "event": event,
            "reason": "NO_ONE_THERE",
            "attempt": 1,
            "orderStatus": "ACTIVE",
        }),
    };
    if let (Some(body), Value::Object(details)) = (body.as_object_mut(), details) {
        body.extend(details);
    }
    body
}

/// Sends the partner a signed sample of the event, now, whatever it subscribes to, and
/// answers what its receiver said. 404 for an unknown partner, 409 `no_webhook` for one
/// without a webhook URL.
pub async fn send_test(
    state: &AppState,
    caller: &Caller,
    request: &TestRequest,
) -> ApiResult<TestSend> {
    caller.require(Permission::ManageWebhooks)?;
    let (partner, event) = crate::input::Validator::validate(|v| {
        let partner = v.text(
            "partner",
            request.partner.as_deref().unwrap_or_default(),
            100,
        );
        let event = v.take(
            request
                .event
                .as_deref()
                .unwrap_or_default()
                .parse::<WebhookEvent>()
                .map_err(|e| FieldError::new("event", e)),
        );
        Some((partner?, event?))
    })?;
    let row = {
        let client = state.db.get().await?;
        client
            .query_typed_opt(
                "SELECT order_prefix, webhook_url, webhook_secret_ref FROM api_partners WHERE slug = $1",
                &[p(&partner)],
            )
            .await
            .context("reading the partner's webhook")?
            .ok_or_else(|| ApiError::not_found("partner"))?
    };
    let (Some(url), Some(secret_ref)) = (
        row.col::<Option<String>>("webhook_url")?,
        row.col::<Option<String>>("webhook_secret_ref")?,
    ) else {
        return Err(ApiError::conflict(
            "no_webhook",
            format!("partner {partner} has no webhook URL"),
        ));
    };
    let event_id = Uuid::new_v4();
    let body = sample(event, event_id, &row.col::<String>("order_prefix")?);
    let sent = send_once(state, &partner, &url, &secret_ref, event_id, body).await;
    tracing::info!(%partner, %event, delivered = sent.delivered, status = ?sent.status_code, "test webhook sent");
    Ok(sent)
}
