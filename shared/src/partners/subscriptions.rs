//! Which webhook events each partner hears (`GET | PUT
//! /api/admin/partners/{slug}/webhook-events`): staff who manage webhooks read and
//! replace the list, each change audited. An event left out is never enqueued for the
//! partner (`orders::partner_events`); the catalogue is [`WebhookEvent`].

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    audit::{self, Entity},
    auth::{rbac::Caller, Permission},
    db::{p, GenericClient, RowExt},
    error::{ApiError, ApiResult, Context, FieldError},
    orders::partner_events::WebhookEvent,
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
