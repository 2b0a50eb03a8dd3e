//! What a driver does with its offer: accept it (the order assigned through the one
//! dispatch path and timed in its route), decline it, or let it lapse (the expiry); each
//! sends the order on to the next driver but the accept.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{candidates, expiry, offers::offer_now};
use crate::{
    auth::{rbac::Caller, Permission},
    db::{p, GenericClient, RowExt},
    drivers::{
        dispatch::{assign_offered, Dispatch},
        offers::{offer_changed, read, Offer, OfferChange, OfferStatus},
    },
    error::{ApiError, ApiResult, Context},
    orders::Actor,
    planning::inputs::by_ids,
    AppState,
};
use chrono::Utc;

/// The caller's driver record: 403 for a driver without one.
pub(super) async fn caller_driver(client: &impl GenericClient, caller: &Caller) -> ApiResult<Uuid> {
    caller.require(Permission::Drive)?;
    client
        .query_typed_opt(
            "SELECT id FROM drivers WHERE user_id = $1 AND deleted_at IS NULL",
            &[p(&caller.user_id)],
        )
        .await?
        .map(|row| row.col("id"))
        .transpose()?
        .ok_or_else(|| ApiError::forbidden("this account has no driver record"))
}

/// Why an offer the driver answered is no longer open: 404 when it is not the driver's,
/// 409 when it was answered, withdrawn or has expired.
async fn closed(client: &impl GenericClient, offer_id: Uuid, driver_id: Uuid) -> ApiError {
    match read(client, offer_id).await {
        Ok(offer) if offer.driver_id == driver_id => match offer.status {
            OfferStatus::Pending => ApiError::conflict("offer_expired", "this offer has expired"),
            status => ApiError::conflict(
                "offer_closed",
                format!("this offer is {}", status.as_str().to_ascii_lowercase()),
            ),
        },
        Ok(_) => ApiError::not_found("offer"),
        Err(e) => e,
    }
}

/// What accepting did: the offer and the dispatch it made.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    pub offer: Offer,
    pub dispatch: Dispatch,
}

/// `POST /api/driver/offers/{offerId}/accept`: the driver takes the order, through the
/// one dispatch path, in one transaction with the offer's change.
#[tracing::instrument(skip(state, caller))]
pub async fn accept(state: &AppState, caller: &Caller, offer_id: Uuid) -> ApiResult<Accepted> {
    let mut client = state.db.get().await?;
    let driver_id = caller_driver(&*client, caller).await?;
    let tx = client.transaction().await?;
    let won = tx
        .query_typed_opt(
            "UPDATE dispatch_offers SET status = 'ACCEPTED', answered_at = now()
              WHERE id = $1 AND driver_id = $2 AND status = 'PENDING' AND expires_at > now()
          RETURNING order_id",
            &[p(&offer_id), p(&driver_id)],
        )
        .await
        .context("accepting the offer")?;
    let Some(row) = won else {
        return Err(closed(&tx, offer_id, driver_id).await);
    };
    let order_id: Uuid = row.col("order_id")?;
    let dispatch = assign_offered(&tx, caller, order_id, driver_id).await?;
    let offer = read(&tx, offer_id).await?;
    offer_changed(
        &tx,
        &offer,
        OfferChange::Accepted,
        Actor::User(caller.user_id),
        "the driver accepted the offer",
    )
    .await?;
    // The driver's route, in order: the delivery timed as the insertion places it.
    if let Some(order) = by_ids(&tx, &[order_id]).await?.pop() {
        if let Some(t) = candidates::timetable(&tx, driver_id, &order, Utc::now()).await? {
            tx.execute_typed(
                "UPDATE deliveries SET offer_id = $2, planned_pickup_at = $3, planned_dropoff_at = $4,
                        planned_sequence = $5
                  WHERE id = $1",
                &[
                    p(&dispatch.delivery_id),
                    p(&offer_id),
                    p(&t.pickup_at),
                    p(&t.dropoff_at.max(t.pickup_at)),
                    p(&t.sequence),
                ],
            )
            .await
            .context("timing the delivery")?;
        }
    }
    tx.commit().await?;
    tracing::info!(%order_id, %driver_id, "offer accepted");
    Ok(Accepted { offer, dispatch })
}

/// `POST /api/driver/offers/{offerId}/decline {reason?}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Decline {
    pub reason: Option<String>,
}

pub const MAX_DECLINE_REASON: usize = 500;

/// The driver passes: the offer closes, and the order goes to the next driver.
#[tracing::instrument(skip(state, caller, decline))]
pub async fn decline(
    state: &AppState,
    caller: &Caller,
    offer_id: Uuid,
    decline: &Decline,
) -> ApiResult<Offer> {
    let mut client = state.db.get().await?;
    let driver_id = caller_driver(&*client, caller).await?;
    let reason = crate::input::Validator::validate(|v| {
        Some(v.optional_text(
            "reason",
            decline.reason.as_deref(),
            MAX_DECLINE_REASON,
            crate::input::Lines::Many,
        ))
    })?;
    let tx = client.transaction().await?;
    let closed_now = tx
        .query_typed_opt(
            "UPDATE dispatch_offers SET status = 'DECLINED', answered_at = now(), decline_reason = $3
              WHERE id = $1 AND driver_id = $2 AND status = 'PENDING'
          RETURNING order_id",
            &[p(&offer_id), p(&driver_id), p(&reason)],
        )
        .await
        .context("declining the offer")?;
    let Some(row) = closed_now else {
        return Err(closed(&tx, offer_id, driver_id).await);
    };
    let order_id: Uuid = row.col("order_id")?;
    let note = match &reason {
        Some(r) => format!("the driver declined the offer: {r}"),
        None => "the driver declined the offer".to_owned(),
    };
    let offer = read(&tx, offer_id).await?;
    offer_changed(
        &tx,
        &offer,
        OfferChange::Declined,
        Actor::User(caller.user_id),
        &note,
    )
    .await?;
    tx.commit().await?;
    // Its connection back to the pool before the calls after the commit.
    drop(client);
    tracing::info!(%order_id, %driver_id, "offer declined");
    offer_now(state, order_id).await;
    Ok(offer)
}

/// Expires the offer if it is still pending and past its time; the order goes to the
/// next driver. A duplicate delivery changes nothing (`false`); an early one (a clock a
/// moment behind the queue's) sends the expiry again for the rest of the time.
#[tracing::instrument(skip(state))]
pub async fn expire(state: &AppState, offer_id: Uuid) -> ApiResult<bool> {
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let expired = tx
        .query_typed_opt(
            "UPDATE dispatch_offers SET status = 'EXPIRED', answered_at = now()
              WHERE id = $1 AND status = 'PENDING' AND expires_at <= now()
          RETURNING order_id, driver_id",
            &[p(&offer_id)],
        )
        .await
        .context("expiring the offer")?;
    let Some(row) = expired else {
        drop(tx);
        if let Ok(offer) = read(&*client, offer_id).await {
            if offer.status == OfferStatus::Pending {
                expiry::schedule(state, &offer).await;
            }
        }
        return Ok(false);
    };
    let order_id: Uuid = row.col("order_id")?;
    let driver_id: Uuid = row.col("driver_id")?;
    let offer = read(&tx, offer_id).await?;
    offer_changed(
        &tx,
        &offer,
        OfferChange::Expired,
        Actor::System,
        &format!("the offer to driver {driver_id} expired unanswered"),
    )
    .await?;
    tx.commit().await?;
    // Its connection back to the pool before the calls after the commit.
    drop(client);
    tracing::info!(%order_id, %driver_id, "offer expired");
    offer_now(state, order_id).await;
    Ok(true)
}
