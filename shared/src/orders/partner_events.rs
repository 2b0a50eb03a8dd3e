//! What a partner hears when one of its orders changes status, decided inside the status
//! change's transaction and written to the outbox for delivery after commit.
//!
//! - A lifecycle webhook (ASSIGNED, PICKED_UP, ON_THE_WAY, ARRIVED, DELIVERED, CANCELLED)
//!   to partners with a webhook URL, whenever the lifecycle status moves.
//! - CaterValley's status call, with the original platform's mapping: driver `ASSIGNED` and
//!   `EN_ROUTE_TO_VENDOR` are `CONFIRM`; `ARRIVED_AT_VENDOR` and `PICKED_UP` are `READY`;
//!   `EN_ROUTE_TO_CLIENT` and `ARRIVED_TO_CLIENT` are `ON_THE_WAY`; `COMPLETED` is
//!   `COMPLETED`; a cancellation is `CANCELLED`. Each value is sent at most once per order
//!   and never one that comes before a value already sent.
//!
//! - Other events (`delivery.delayed`, `delivery.on_time_again` when a delivery's
//!   prediction changes, `order.unassigned`) to partners with a webhook URL
//!   ([`enqueue_event`]); the body names the event and carries its details.
//!
//! Each webhook goes only to a partner subscribed to its [`WebhookEvent`]
//! (`api_partners.webhook_events`); an unsubscribed event is not enqueued.
//!
//! Notes written with a change are internal unless the partner wrote them itself.

use chrono::Utc;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{
    status::{DriverStatus, OrderStatus},
    Actor, StatusChange, StatusChanged,
};
use crate::{
    db::{p, Row, RowExt, Transaction},
    error::ApiResult,
    outbox::{self, NewMessage, OutboxKind},
    text_enum::text_enum,
};

text_enum! {
    /// The lifecycle status partners' webhooks and order views carry.
    pub enum Lifecycle("lifecycle status") {
        Assigned = "ASSIGNED",
        PickedUp = "PICKED_UP",
        OnTheWay = "ON_THE_WAY",
        Arrived = "ARRIVED",
        Delivered = "DELIVERED",
        Cancelled = "CANCELLED",
    }
}

text_enum! {
    /// CaterValley's legacy status values, in the order an order goes through them.
    #[derive(PartialOrd, Ord)]
    pub enum CaterValleyStatus("CaterValley status") {
        Confirm = "CONFIRM",
        Ready = "READY",
        OnTheWay = "ON_THE_WAY",
        Completed = "COMPLETED",
        Cancelled = "CANCELLED",
    }
}

/// The lifecycle status of an order, or `None` before a driver is involved. An order
/// moved forward by staff without driver updates maps by its own status (IN_PROGRESS is
/// ON_THE_WAY).
pub fn lifecycle(order: OrderStatus, driver: Option<DriverStatus>) -> Option<Lifecycle> {
    use DriverStatus as D;
    Some(match (order, driver) {
        (OrderStatus::Cancelled, _) => Lifecycle::Cancelled,
        (OrderStatus::Completed | OrderStatus::Delivered, _) | (_, Some(D::Completed)) => {
            Lifecycle::Delivered
        }
        (_, Some(D::ArrivedToClient)) => Lifecycle::Arrived,
        (_, Some(D::EnRouteToClient)) => Lifecycle::OnTheWay,
        (_, Some(D::PickedUp)) => Lifecycle::PickedUp,
        (_, Some(D::Assigned | D::EnRouteToVendor | D::ArrivedAtVendor))
        | (OrderStatus::Assigned, None) => Lifecycle::Assigned,
        (OrderStatus::InProgress, None) => Lifecycle::OnTheWay,
        (OrderStatus::Pending | OrderStatus::Confirmed | OrderStatus::Active, None) => return None,
    })
}

/// CaterValley's status value of an order, or `None` before a driver is assigned. Driver
/// progress decides; an order moved by staff without driver updates maps by its own
/// status.
pub fn catervalley_status(
    order: OrderStatus,
    driver: Option<DriverStatus>,
) -> Option<CaterValleyStatus> {
    use CaterValleyStatus as Cv;
    use DriverStatus as D;
    Some(match (order, driver) {
        (OrderStatus::Cancelled, _) => Cv::Cancelled,
        (OrderStatus::Completed | OrderStatus::Delivered, _) | (_, Some(D::Completed)) => {
            Cv::Completed
        }
        (_, Some(D::EnRouteToClient | D::ArrivedToClient)) | (OrderStatus::InProgress, None) => {
            Cv::OnTheWay
        }
        (_, Some(D::ArrivedAtVendor | D::PickedUp)) => Cv::Ready,
        (_, Some(D::Assigned | D::EnRouteToVendor)) | (OrderStatus::Assigned, None) => Cv::Confirm,
        (OrderStatus::Pending | OrderStatus::Confirmed | OrderStatus::Active, None) => return None,
    })
}

/// What the status-change function knows about the order's partner.
#[derive(Debug, Clone)]
pub struct PartnerTarget {
    pub partner_id: Uuid,
    pub order_prefix: String,
    pub order_number: String,
    pub order_code: Option<String>,
    pub has_webhook: bool,
    pub has_status_call: bool,
}

impl PartnerTarget {
    /// From the status change's locking query; `None` for orders without a partner.
    pub(super) fn from_row(row: &Row) -> ApiResult<Option<Self>> {
        let Some(partner_id) = row.col::<Option<Uuid>>("partner_id")? else {
            return Ok(None);
        };
        Ok(Some(Self {
            partner_id,
            order_prefix: row
                .col::<Option<String>>("order_prefix")?
                .unwrap_or_default(),
            order_number: row.col("order_number")?,
            order_code: row.col("partner_order_code")?,
            has_webhook: row.col::<Option<bool>>("has_webhook")?.unwrap_or(false),
            has_status_call: row.col::<Option<bool>>("has_status_call")?.unwrap_or(false),
        }))
    }
}

/// Writes one outbox message per side effect of a status change, inside its transaction.
/// Returns how many were written.
pub async fn enqueue(
    tx: &Transaction<'_>,
    partner: &PartnerTarget,
    changed: &StatusChanged,
    change: &StatusChange,
) -> ApiResult<usize> {
    let mut written = 0;
    let now = Utc::now();
    let (from, to) = (changed.from, changed.to);
    let moved_to = lifecycle(to.order, to.driver);
    if partner.has_webhook && moved_to.is_some() && moved_to != lifecycle(from.order, from.driver) {
        let event_id = Uuid::new_v4();
        let mut payload = json!({
            "eventId": event_id,
            "orderId": changed.order_id,
            "orderCode": partner.order_code,
            "orderNumber": partner.order_number,
            "status": moved_to,
            "timestamp": now,
        });
        if let Some(driver) = current_driver(tx, changed.order_id).await? {
            payload["driver"] = driver;
        }
        if let Some((lng, lat)) = change.location {
            payload["location"] = json!({ "lat": lat, "lng": lng });
        }
        if let Some(note) = partner_visible_note(partner, change) {
            payload["notes"] = json!(note);
        }
        outbox::enqueue(
            tx,
            &NewMessage {
                event_id,
                kind: OutboxKind::PartnerWebhook,
                order_id: Some(changed.order_id),
                partner_id: Some(partner.partner_id),
                history_id: Some(changed.history_id),
                payload,
                retry_until: None,
            },
        )
        .await?;
        written += 1;
    }
    if let (true, Some(status)) = (
        partner.has_status_call,
        catervalley_status(to.order, to.driver),
    ) {
        let already = last_status_call(tx, changed.order_id).await?;
        if already.is_none_or(|sent| status > sent) {
            let number = partner
                .order_number
                .strip_prefix(&partner.order_prefix)
                .unwrap_or(&partner.order_number);
            outbox::enqueue(
                tx,
                &NewMessage {
                    event_id: Uuid::new_v4(),
                    kind: OutboxKind::CatervalleyStatus,
                    order_id: Some(changed.order_id),
                    partner_id: Some(partner.partner_id),
                    history_id: Some(changed.history_id),
                    payload: json!({ "orderNumber": number, "status": status, "timestamp": now }),
                    retry_until: None,
                },
            )
            .await?;
            written += 1;
        }
    }
    Ok(written)
}

text_enum! {
    /// The webhook events partners may subscribe to (the catalogue: `docs/webhooks.md`).
    pub enum WebhookEvent("webhook event") {
        /// The order's lifecycle status moved (the body's `status`).
        StatusChanged = "order.status_changed",
        /// The delivery is predicted to miss its window.
        Delayed = "delivery.delayed",
        /// A delayed delivery is predicted inside its window again.
        OnTimeAgain = "delivery.on_time_again",
        /// The driver was taken off the order before the pickup; another will come.
        Unassigned = "order.unassigned",
        /// The drop ETA moved 2 minutes or more (at most every 30 s per order).
        EtaChanged = "delivery.eta_changed",
        /// The driver is close to a stop (once per stop).
        DriverArriving = "driver.arriving",
        /// The driver could not hand the food over; the order goes back to dispatch.
        DeliveryFailed = "delivery.failed",
    }
}

/// Queues an event webhook for the order's partner, if it has a webhook and subscribes:
/// `{eventId, event, orderId, orderCode, orderNumber, timestamp, ...details}`. Returns
/// how many messages were written.
pub async fn enqueue_event(
    tx: &Transaction<'_>,
    order_id: Uuid,
    history_id: Option<i64>,
    event: WebhookEvent,
    details: Value,
) -> ApiResult<usize> {
    let row = tx
        .query_typed_one(
            "SELECT o.partner_id, o.order_number, o.partner_order_code,
                    ap.order_prefix, ap.webhook_url IS NOT NULL
                        AND (ap.webhook_events IS NULL OR $2 = ANY(ap.webhook_events)) AS has_webhook,
                    ap.status_call_url IS NOT NULL AS has_status_call
               FROM orders o LEFT JOIN api_partners ap ON ap.id = o.partner_id
              WHERE o.id = $1",
            &[p(&order_id), p(&event)],
        )
        .await?;
    let Some(partner) = PartnerTarget::from_row(&row)?.filter(|p| p.has_webhook) else {
        return Ok(0);
    };
    let event_id = Uuid::new_v4();
    let mut payload = json!({
        "eventId": event_id,
        "event": event,
        "orderId": order_id,
        "orderCode": partner.order_code,
        "orderNumber": partner.order_number,
        "timestamp": Utc::now(),
    });
    if let (Some(payload), Value::Object(details)) = (payload.as_object_mut(), details) {
        payload.extend(details);
    }
    outbox::enqueue(
        tx,
        &NewMessage {
            event_id,
            kind: OutboxKind::PartnerWebhook,
            order_id: Some(order_id),
            partner_id: Some(partner.partner_id),
            history_id,
            payload,
            retry_until: None,
        },
    )
    .await?;
    Ok(1)
}

/// A change's note as the partner may see it: only what the partner wrote itself.
pub fn partner_visible_note<'a>(
    partner: &PartnerTarget,
    change: &'a StatusChange,
) -> Option<&'a str> {
    (change.actor == Actor::Partner(partner.partner_id))
        .then_some(change.note.as_deref())
        .flatten()
}

/// The furthest CaterValley status already queued for the order.
async fn last_status_call(
    tx: &Transaction<'_>,
    order_id: Uuid,
) -> ApiResult<Option<CaterValleyStatus>> {
    let rows = tx
        .query_typed(
            "SELECT payload->>'status' AS status FROM outbox WHERE order_id = $1 AND kind = $2",
            &[p(&order_id), p(&OutboxKind::CatervalleyStatus)],
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| r.col::<Option<String>>("status").ok().flatten())
        .filter_map(|s| s.parse::<CaterValleyStatus>().ok())
        .max())
}

/// The driver currently dispatched to the order, as partners see them.
async fn current_driver(tx: &Transaction<'_>, order_id: Uuid) -> ApiResult<Option<Value>> {
    let row = tx
        .query_typed_opt(
            "SELECT u.name, coalesce(dr.phone, u.phone) AS phone FROM dispatches ds
             JOIN drivers dr ON dr.id = ds.driver_id JOIN users u ON u.id = dr.user_id
             WHERE ds.order_id = $1 AND ds.unassigned_at IS NULL",
            &[p(&order_id)],
        )
        .await?;
    row.map(|r| {
        Ok(json!({
            "name": r.col::<Option<String>>("name")?,
            "phone": r.col::<Option<String>>("phone")?,
        }))
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use CaterValleyStatus as Cv;
    use DriverStatus as D;
    use OrderStatus as O;

    #[test]
    fn partners_see_lifecycle_statuses() {
        assert_eq!(lifecycle(O::Confirmed, None), None);
        assert_eq!(lifecycle(O::Assigned, None), Some(Lifecycle::Assigned));
        assert_eq!(
            lifecycle(O::Assigned, Some(D::Assigned)),
            Some(Lifecycle::Assigned)
        );
        assert_eq!(lifecycle(O::InProgress, None), Some(Lifecycle::OnTheWay));
        assert_eq!(
            lifecycle(O::InProgress, Some(D::ArrivedAtVendor)),
            Some(Lifecycle::Assigned)
        );
        assert_eq!(
            lifecycle(O::InProgress, Some(D::PickedUp)),
            Some(Lifecycle::PickedUp)
        );
        assert_eq!(
            lifecycle(O::InProgress, Some(D::EnRouteToClient)),
            Some(Lifecycle::OnTheWay)
        );
        assert_eq!(
            lifecycle(O::InProgress, Some(D::ArrivedToClient)),
            Some(Lifecycle::Arrived)
        );
        assert_eq!(
            lifecycle(O::Completed, Some(D::Completed)),
            Some(Lifecycle::Delivered)
        );
        assert_eq!(
            lifecycle(O::Cancelled, Some(D::PickedUp)),
            Some(Lifecycle::Cancelled)
        );
    }

    #[test]
    fn catervalley_hears_the_original_mapping() {
        for (driver, expected) in [
            (D::Assigned, Cv::Confirm),
            (D::EnRouteToVendor, Cv::Confirm),
            (D::ArrivedAtVendor, Cv::Ready),
            (D::PickedUp, Cv::Ready),
            (D::EnRouteToClient, Cv::OnTheWay),
            (D::ArrivedToClient, Cv::OnTheWay),
            (D::Completed, Cv::Completed),
        ] {
            let order = driver.implied_order_status().expect("implied");
            assert_eq!(
                catervalley_status(order, Some(driver)),
                Some(expected),
                "{driver}"
            );
        }
        assert_eq!(catervalley_status(O::Confirmed, None), None, "acceptance");
        assert_eq!(catervalley_status(O::Pending, None), None);
        assert_eq!(catervalley_status(O::Assigned, None), Some(Cv::Confirm));
        assert_eq!(catervalley_status(O::InProgress, None), Some(Cv::OnTheWay));
        assert_eq!(catervalley_status(O::Completed, None), Some(Cv::Completed));
        assert_eq!(
            catervalley_status(O::Cancelled, Some(D::PickedUp)),
            Some(Cv::Cancelled)
        );
        assert!(Cv::Confirm < Cv::Ready && Cv::Ready < Cv::OnTheWay);
        assert!(Cv::OnTheWay < Cv::Completed && Cv::Completed < Cv::Cancelled);
    }
}
