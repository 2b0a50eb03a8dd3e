//! Failed delivery attempts (`POST /api/orders/{order_number}/failed-attempt`): the order's
//! assigned driver, with the food on board, could not hand it over. With a reason from
//! the list and a photo at the drop-off, in one transaction:
//! - the driver is paid the trip without the tip ([`crate::pay`]) and the dispatch closes;
//! - the order goes back to dispatch (ACTIVE) through [`orders::fail_attempt`], so its
//!   history, its partner (`delivery.failed`) and its customer hear it once;
//! - the attempt is kept (`failed_attempts`), one per dispatch.
//!
//! Auto-dispatch, when on for the order's type, then offers it afresh (the handler).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Coordinates;
use crate::{
    auth::{rbac::Caller, Permission},
    db::{p, GenericClient, RowExt},
    error::{ApiError, ApiResult, Context, FieldError},
    geo::Point,
    input::{bounded_text, Lines, Validator},
    orders::{
        self,
        edit::{lock_by_id, lock_visible, OrderRef},
        status::FailureReason,
        Actor, Order,
    },
    pay::{Pay, PayView},
    uploads::proof::{check_upload, ProofKind},
    AppState,
};

/// `{reason, photoUploadId, note?, location?}` as the driver app sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailedAttemptReport {
    pub reason: Option<String>,
    pub photo_upload_id: Option<String>,
    pub note: Option<String>,
    pub location: Option<Coordinates>,
}

/// A report that passed its checks.
struct Checked {
    reason: FailureReason,
    photo_upload_id: Uuid,
    note: Option<String>,
    location: Option<Point>,
}

impl FailedAttemptReport {
    fn check(&self) -> ApiResult<Checked> {
        Validator::validate(|v| {
            let reason = v.take(match self.reason.as_deref() {
                None => Err(FieldError::new("reason", "is required")),
                Some(raw) => raw
                    .parse::<FailureReason>()
                    .map_err(|e| FieldError::new("reason", e)),
            });
            let photo = v.take(match self.photo_upload_id.as_deref() {
                None => Err(FieldError::new(
                    "photoUploadId",
                    "is required: a photo at the drop-off",
                )),
                Some(raw) => Uuid::parse_str(raw)
                    .map_err(|_| FieldError::new("photoUploadId", "must be an upload id")),
            });
            let note = match self.note.as_deref() {
                None => Some(None),
                Some(text) => v
                    .take(bounded_text("note", text, 1, 500, Lines::Many))
                    .map(Some),
            };
            let location = match self.location {
                None => Some(None),
                Some(c) => v.take(c.checked("location")).map(Some),
            };
            Some(Checked {
                reason: reason?,
                photo_upload_id: photo?,
                note: note?,
                location: location?,
            })
        })
    }
}

/// A recorded failed attempt.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FailedAttempt {
    pub id: Uuid,
    pub driver_id: Uuid,
    pub reason: FailureReason,
    /// How many attempts of the order have failed, this one included.
    pub attempt: i64,
    pub photo_upload_id: Uuid,
    pub note: Option<String>,
    /// What the attempt pays its driver: the trip, without the tip.
    pub pay: Option<PayView>,
    pub created_at: DateTime<Utc>,
}

/// The order as it now reads, and the attempt.
#[derive(Debug, Clone)]
pub struct Failed {
    pub order: Order,
    pub attempt: FailedAttempt,
}

/// The caller's current dispatch of the order, as its driver: (dispatch, driver); 403
/// otherwise (the caller sees the order, as its owner or staff, but does not drive it).
async fn own_dispatch(
    client: &impl GenericClient,
    caller: &Caller,
    order_id: Uuid,
) -> ApiResult<(Uuid, Uuid)> {
    orders::dispatch_driven_by(client, order_id, caller.user_id)
        .await?
        .ok_or_else(|| ApiError::forbidden(NOT_THE_DRIVER))
}

/// 404 unless the caller sees the order, 403 unless they drive it: asked before the
/// report's body is read, so a caller who may not report learns nothing of what a report
/// must carry. [`report`] checks again under the order's lock.
pub async fn require_reporter(
    state: &AppState,
    caller: &Caller,
    order_number: &str,
) -> ApiResult<()> {
    caller.require(Permission::Drive)?;
    let client = state.db.get().await?;
    let order_id = orders::visible_id(&*client, caller, OrderRef::Number(order_number))
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    own_dispatch(&*client, caller, order_id).await.map(|_| ())
}

const NOT_THE_DRIVER: &str = "only the order's assigned driver reports a failed attempt";

/// 409 unless the food is on board: before the pickup the order is not yet attempted
/// (staff take the driver off instead), and a closed order takes no attempt.
fn check_on_board(order: &Order) -> ApiResult<()> {
    if order.status.is_settled() {
        return Err(ApiError::conflict(
            "order_closed",
            format!("a {} order takes no delivery attempt", order.status),
        ));
    }
    match order.driver_status {
        Some(driver) if !driver.before_pickup() => Ok(()),
        status => Err(ApiError::conflict(
            "not_picked_up",
            format!(
                "order {} is not picked up ({}): a delivery is attempted with the food on board",
                order.order_number,
                status.map(|d| d.as_str()).unwrap_or("no driver status")
            ),
        )),
    }
}

#[tracing::instrument(name = "report_failed_attempt", skip_all)]
pub async fn report(
    state: &AppState,
    caller: &Caller,
    order_number: &str,
    report: &FailedAttemptReport,
) -> ApiResult<Failed> {
    caller.require(Permission::Drive)?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let order = lock_visible(&tx, caller, OrderRef::Number(order_number)).await?;
    let (dispatch_id, driver_id) = own_dispatch(&tx, caller, order.id).await?;
    let checked = report.check()?;
    check_on_board(&order)?;
    check_upload(
        &tx,
        caller,
        ProofKind::Photo,
        order.id,
        checked.photo_upload_id,
    )
    .await?;
    let pay: Option<Pay> = crate::pay::record_failed_attempt(&tx, order.id).await?;
    tx.execute_typed(
        "UPDATE dispatches SET unassigned_at = now() WHERE id = $1",
        &[p(&dispatch_id)],
    )
    .await
    .context("closing the dispatch")?;
    let attempt: i64 = tx
        .query_typed_one(
            "SELECT count(*) + 1 AS attempt FROM failed_attempts WHERE order_id = $1",
            &[p(&order.id)],
        )
        .await
        .context("counting the order's failed attempts")?
        .col("attempt")?;
    let history_note = format!(
        "delivery attempt {attempt} failed ({}){}",
        checked.reason,
        checked
            .note
            .as_deref()
            .map(|n| format!(": {n}"))
            .unwrap_or_default()
    );
    let changed = orders::fail_attempt(
        &tx,
        order.id,
        Actor::User(caller.user_id),
        &history_note,
        checked.reason,
        attempt,
    )
    .await?;
    let location = checked
        .location
        .map(|l| format!("SRID=4326;POINT({} {})", l.lng, l.lat));
    let row = tx
        .query_typed_one(
            "INSERT INTO failed_attempts
                (order_id, dispatch_id, driver_id, reason, note, photo_upload_id, location, history_id)
             VALUES ($1, $2, $3, $4, $5, $6, ST_GeogFromText($7), $8)
             RETURNING id, created_at",
            &[
                p(&order.id),
                p(&dispatch_id),
                p(&driver_id),
                p(&checked.reason),
                p(&checked.note),
                p(&checked.photo_upload_id),
                p(&location),
                p(&changed.history_id),
            ],
        )
        .await
        .context("recording the failed attempt")?;
    let attempt = FailedAttempt {
        id: row.col("id")?,
        driver_id,
        reason: checked.reason,
        attempt,
        photo_upload_id: checked.photo_upload_id,
        note: checked.note,
        pay: pay.map(PayView::from),
        created_at: row.col("created_at")?,
    };
    // The driver no longer sees the order it was taken off: read it as it now stands.
    let order = lock_by_id(&tx, order.id).await?;
    tx.commit().await?;
    tracing::info!(
        order_id = %order.id,
        %driver_id,
        reason = %attempt.reason,
        attempt = attempt.attempt,
        "delivery attempt failed; order back with dispatch"
    );
    Ok(Failed { order, attempt })
}
