//! Dispatch: staff assign a driver to an order (`POST /api/orders/assignDriver`) or take
//! one off it before the pickup (`POST /api/orders/unassignDriver`), and a driver's
//! assignments are listed for dispatch and for the driver's own feed.
//!
//! The first assignment moves the driver status to `ASSIGNED` through
//! [`orders::change_status`] (history, partner outbox); a reassignment closes the old
//! dispatch, opens the new one and writes a history note. Each dispatch has its
//! delivery, which carries the proof of delivery and later the driver's pay.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::roster::{
    nearest_available, require_driver, DriverSummary, NearQuery, NearbyDriver, DEFAULT_NEAREST,
    DEFAULT_RADIUS_M,
};
use crate::{
    auth::{rbac::Caller, Permission},
    db::{p, FromRow, GenericClient, RowExt, Transaction},
    error::{ApiError, ApiResult, Context},
    geo::Point,
    input::{Cursor, Page, PageRequest},
    orders::{
        self,
        edit::{self, lock_visible, OrderRef},
        rules::OrderType,
        status::DriverStatus,
        Actor, Order, StatusChange, ORDER_SELECT,
    },
    AppState,
};

/// `{orderId, driverId?, orderType?}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignRequest {
    pub order_id: Uuid,
    pub driver_id: Option<Uuid>,
    /// `catering` or `on_demand`, as the dispatch screen sends it; checked against the order.
    pub order_type: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Dispatch {
    pub id: Uuid,
    pub order_id: Uuid,
    pub driver_id: Uuid,
    pub assigned_by: Option<Uuid>,
    pub assigned_at: DateTime<Utc>,
    pub delivery_id: Uuid,
    /// The driver this dispatch replaced, on a reassignment (known to the assignment,
    /// not stored).
    #[row(skip)]
    pub reassigned_from: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Assigned {
    pub order: Order,
    pub dispatch: Option<Dispatch>,
    /// Without a `driverId`: the nearest available drivers to the pickup.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestions: Option<Vec<NearbyDriver>>,
}

fn check_type(order: &Order, claimed: Option<&str>) -> ApiResult<()> {
    let Some(claimed) = claimed else {
        return Ok(());
    };
    let parsed = claimed
        .to_ascii_uppercase()
        .replace("ONDEMAND", "ON_DEMAND")
        .parse::<OrderType>();
    match parsed {
        Ok(kind) if kind == order.order_type => Ok(()),
        Ok(_) => Err(ApiError::unprocessable(
            "order_type_mismatch",
            format!("the order is a {} order", order.order_type),
        )),
        Err(_) => Err(ApiError::validation(vec![crate::error::FieldError::new(
            "orderType",
            "must be catering or on_demand",
        )])),
    }
}

/// Assigns (or reassigns) the order's driver in one transaction: the order is checked
/// and locked, then the driver checked, the dispatch and delivery opened and the history
/// written. Without a driver it answers the nearest available ones instead.
#[tracing::instrument(name = "assign_driver", skip_all, fields(order_id = %req.order_id))]
pub async fn assign(state: &AppState, caller: &Caller, req: &AssignRequest) -> ApiResult<Assigned> {
    caller.require(Permission::DispatchDrivers)?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let order = lock_visible(&tx, caller, OrderRef::Id(req.order_id)).await?;
    check_type(&order, req.order_type.as_deref())?;
    check_open(&order)?;
    let Some(driver_id) = req.driver_id else {
        let suggestions = suggestions_for(&tx, &order).await?;
        return Ok(Assigned {
            order,
            dispatch: None,
            suggestions: Some(suggestions),
        });
    };
    let driver = active_driver(&tx, driver_id).await?;
    let previous = lock_current_driver(&tx, order.id).await?;
    if previous == Some(driver_id) {
        // Assigned already: the same dispatch, nothing new.
        let dispatch = current_dispatch(&tx, order.id).await?;
        tx.commit().await?;
        return Ok(Assigned {
            order,
            dispatch,
            suggestions: None,
        });
    }
    check_capacity(&driver)?;
    dispatch_to(&tx, caller, &order, &driver, previous).await?;
    let dispatch = current_dispatch(&tx, order.id).await?.map(|d| Dispatch {
        reassigned_from: previous,
        ..d
    });
    let order = lock_visible(&tx, caller, OrderRef::Id(order.id)).await?;
    tx.commit().await?;
    tracing::info!(order_id = %order.id, %driver_id, reassigned_from = ?previous, "driver assigned");
    Ok(Assigned {
        order,
        dispatch,
        suggestions: None,
    })
}

/// Assigns an order of an applied plan inside the plan's transaction, through the same
/// dispatch, delivery and history as [`assign`]; returns the delivery. The order must
/// still be open and without a driver (the plan was made so). The live cap on a driver's
/// open deliveries does not apply: a plan hands a driver the day's orders in sequence,
/// and the plan itself keeps the load within the vehicle at every stop.
pub async fn assign_planned(
    tx: &Transaction<'_>,
    caller: &Caller,
    order_id: Uuid,
    driver_id: Uuid,
) -> ApiResult<Uuid> {
    caller.require(Permission::DispatchDrivers)?;
    let order = lock_visible(tx, caller, OrderRef::Id(order_id)).await?;
    check_open(&order)?;
    let driver = active_driver(tx, driver_id).await?;
    if lock_current_driver(tx, order.id).await?.is_some() {
        return Err(ApiError::conflict(
            "order_has_driver",
            format!("order {} has a driver already", order.order_number),
        ));
    }
    dispatch_to(tx, caller, &order, &driver, None).await?;
    current_dispatch(tx, order.id)
        .await?
        .map(|d| d.delivery_id)
        .ok_or_else(|| ApiError::internal("a dispatch without its delivery"))
}

/// Assigns the order of an accepted offer to the driver who accepted it, inside the
/// accept's transaction, through the same dispatch, delivery and history as [`assign`].
/// The caller is that driver: the pending offer it holds is its right to the order. The
/// order must still be open and without a driver, and the driver under its cap.
pub async fn assign_offered(
    tx: &Transaction<'_>,
    caller: &Caller,
    order_id: Uuid,
    driver_id: Uuid,
) -> ApiResult<Dispatch> {
    let order = edit::lock_by_id(tx, order_id).await?;
    check_open(&order)?;
    let driver = active_driver(tx, driver_id).await?;
    if lock_current_driver(tx, order.id).await?.is_some() {
        return Err(ApiError::conflict(
            "order_has_driver",
            format!("order {} has a driver already", order.order_number),
        ));
    }
    check_capacity(&driver)?;
    dispatch_to(tx, caller, &order, &driver, None).await?;
    current_dispatch(tx, order.id)
        .await?
        .ok_or_else(|| ApiError::internal("an accepted offer without its dispatch"))
}

/// `{orderId, reason}`: why the driver is taken off, in the dispatcher's words.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnassignRequest {
    pub order_id: Uuid,
    pub reason: Option<String>,
}

pub const MAX_UNASSIGN_REASON: usize = 500;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Unassigned {
    pub order: Order,
    /// The driver taken off the order.
    pub driver_id: Uuid,
}

/// Takes the driver off an order not yet picked up (the driver fell ill, the car broke
/// down), in one transaction: the dispatch closes, the driver status clears and the order
/// goes back to what it was before its driver, with the reason in its history. The order
/// is then dispatchable again: a dispatcher may assign it at any time, and auto-dispatch
/// offers it to another driver when it is on for the order type.
#[tracing::instrument(name = "unassign_driver", skip_all, fields(order_id = %req.order_id))]
pub async fn unassign(
    state: &AppState,
    caller: &Caller,
    req: &UnassignRequest,
) -> ApiResult<Unassigned> {
    caller.require(Permission::DispatchDrivers)?;
    let reason = crate::input::Validator::validate(|v| {
        v.text(
            "reason",
            req.reason.as_deref().unwrap_or_default(),
            MAX_UNASSIGN_REASON,
        )
    })?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let order = lock_visible(&tx, caller, OrderRef::Id(req.order_id)).await?;
    check_open(&order)?;
    let Some(driver_id) = lock_current_driver(&tx, order.id).await? else {
        return Err(ApiError::conflict(
            "no_driver",
            format!("order {} has no driver to take off", order.order_number),
        ));
    };
    if order.driver_status.is_some_and(|d| !d.before_pickup()) {
        return Err(ApiError::conflict(
            "order_picked_up",
            format!(
                "the driver has picked order {} up ({}): reassign it instead",
                order.order_number,
                order.driver_status.map(|d| d.as_str()).unwrap_or_default()
            ),
        ));
    }
    tx.execute_typed(
        "UPDATE dispatches SET unassigned_at = now() WHERE order_id = $1 AND unassigned_at IS NULL",
        &[p(&order.id)],
    )
    .await
    .context("closing the dispatch")?;
    // An assigned order has no pending offer (an assignment withdraws it).
    orders::release_driver(
        &tx,
        order.id,
        Actor::User(caller.user_id),
        &format!("driver {driver_id} taken off the order: {reason}"),
    )
    .await?;
    let order = lock_visible(&tx, caller, OrderRef::Id(order.id)).await?;
    tx.commit().await?;
    tracing::info!(order_id = %order.id, %driver_id, "driver unassigned");
    Ok(Unassigned { order, driver_id })
}

/// 409 when the driver has as many open deliveries as it may.
fn check_capacity(driver: &DriverSummary) -> ApiResult<()> {
    if driver.active_deliveries >= i64::from(driver.max_active_deliveries) {
        return Err(ApiError::conflict(
            "driver_at_capacity",
            format!(
                "this driver already has {} open deliveries",
                driver.active_deliveries
            ),
        ));
    }
    Ok(())
}

/// 409 for an order whose story has ended: it takes no driver.
fn check_open(order: &Order) -> ApiResult<()> {
    if order.status.is_settled() {
        return Err(ApiError::conflict(
            "order_closed",
            format!("a {} order takes no driver", order.status),
        ));
    }
    Ok(())
}

/// The driver, if it exists (404) and is active (409).
async fn active_driver(client: &impl GenericClient, driver_id: Uuid) -> ApiResult<DriverSummary> {
    let driver = require_driver(client, driver_id).await?;
    if !driver.is_active {
        return Err(ApiError::conflict(
            "driver_inactive",
            "this driver is not active",
        ));
    }
    Ok(driver)
}

/// The nearest available drivers to the order's pickup (none when it has no position).
async fn suggestions_for(
    client: &impl GenericClient,
    order: &Order,
) -> ApiResult<Vec<NearbyDriver>> {
    let pickup = order
        .pickup_address
        .latitude
        .zip(order.pickup_address.longitude)
        .map(|(lat, lng)| Point { lat, lng });
    match pickup {
        Some(point) => {
            let query = NearQuery {
                point,
                radius_m: DEFAULT_RADIUS_M,
                limit: DEFAULT_NEAREST,
            };
            nearest_available(client, query).await
        }
        None => Ok(Vec::new()),
    }
}

/// Locks the order's current dispatch, if any; its driver.
async fn lock_current_driver(tx: &Transaction<'_>, order_id: Uuid) -> ApiResult<Option<Uuid>> {
    tx.query_typed_opt(
        "SELECT id, driver_id FROM dispatches WHERE order_id = $1 AND unassigned_at IS NULL FOR UPDATE",
        &[p(&order_id)],
    )
    .await
    .context("reading the order's dispatch")?
    .map(|row| row.col("driver_id"))
    .transpose()
}

/// Closes the previous dispatch, opens the driver's and its delivery (on the driver's
/// open shift, at the order's driver status), and writes the history: the first driver
/// moves the order to ASSIGNED; a replacement is a note naming both.
async fn dispatch_to(
    tx: &Transaction<'_>,
    caller: &Caller,
    order: &Order,
    driver: &DriverSummary,
    previous: Option<Uuid>,
) -> ApiResult<()> {
    if previous.is_some() {
        tx.execute_typed(
            "UPDATE dispatches SET unassigned_at = now() WHERE order_id = $1 AND unassigned_at IS NULL",
            &[p(&order.id)],
        )
        .await
        .context("closing the previous dispatch")?;
    }
    // Whoever assigns, a pending auto-dispatch offer of the order is withdrawn.
    super::offers::withdraw(tx, order.id, Actor::User(caller.user_id)).await?;
    let dispatch_id: Uuid = tx
        .query_typed_one(
            "INSERT INTO dispatches (order_id, driver_id, assigned_by) VALUES ($1, $2, $3) RETURNING id",
            &[p(&order.id), p(&driver.id), p(&caller.user_id)],
        )
        .await
        .context("dispatching the driver")?
        .col("id")?;
    tx.execute_typed(
        "INSERT INTO deliveries (order_id, driver_id, dispatch_id, shift_id, status, pickup_location, delivery_location)
         SELECT o.id, $2, $3,
                (SELECT s.id FROM driver_shifts s WHERE s.driver_id = $2 AND shift_is_open(s.status)),
                COALESCE(o.driver_status, $4), pa.location, da.location
           FROM orders o JOIN addresses pa ON pa.id = o.pickup_address_id
                         JOIN addresses da ON da.id = o.delivery_address_id
          WHERE o.id = $1
         ON CONFLICT (order_id, driver_id)
         DO UPDATE SET dispatch_id = EXCLUDED.dispatch_id, shift_id = EXCLUDED.shift_id, status = EXCLUDED.status",
        &[
            p(&order.id),
            p(&driver.id),
            p(&dispatch_id),
            p(&DriverStatus::Assigned),
        ],
    )
    .await
    .context("opening the delivery")?;
    let actor = Actor::User(caller.user_id);
    let name = driver.name.as_deref().unwrap_or("a driver");
    match (order.driver_status, previous) {
        (None, _) => {
            let change = StatusChange {
                order: None,
                driver: Some(DriverStatus::Assigned),
                actor,
                note: Some(format!("assigned to {name}")),
                location: None,
            };
            orders::change_status(tx, order.id, &change).await?;
        }
        (Some(_), previous) => {
            let note = match previous {
                Some(from) => format!("driver {from} replaced by {name} ({})", driver.id),
                None => format!("assigned to {name}"),
            };
            orders::record_note(tx, order.id, actor, &note).await?;
        }
    }
    Ok(())
}

async fn current_dispatch(
    client: &impl GenericClient,
    order_id: Uuid,
) -> ApiResult<Option<Dispatch>> {
    let row = client
        .query_typed_opt(
            "SELECT ds.id, ds.order_id, ds.driver_id, ds.assigned_by, ds.assigned_at, d.id AS delivery_id
               FROM dispatches ds JOIN deliveries d ON d.dispatch_id = ds.id
              WHERE ds.order_id = $1 AND ds.unassigned_at IS NULL",
            &[p(&order_id)],
        )
        .await
        .context("reading the dispatch")?;
    row.map(|row| Dispatch::from_row(&row)).transpose()
}

/// One order a driver was dispatched to.
#[derive(Debug, Clone, Serialize, PartialEq, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Assignment {
    pub dispatch_id: Uuid,
    pub assigned_at: DateTime<Utc>,
    pub unassigned_at: Option<DateTime<Utc>>,
    #[row(flatten)]
    pub order: Order,
}

/// Which of a driver's assignments to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Current dispatches of orders not yet settled: the driver's feed (a DELIVERED order
    /// stays on it until its driver completes it).
    Open,
    /// Every dispatch, past ones too.
    All,
}

/// A driver's assignments, newest first in pages.
#[tracing::instrument(skip(client, page))]
pub async fn assignments(
    client: &impl GenericClient,
    driver_id: Uuid,
    which: Which,
    page: &PageRequest,
) -> ApiResult<Page<Assignment>> {
    let (after_time, after_id) = page.after.as_ref().map(|c| (c.at, c.id)).unzip();
    let open_only = which == Which::Open;
    let sql = format!(
        "SELECT * FROM ({ORDER_SELECT}) o
           JOIN (SELECT id AS dispatch_id, order_id AS dispatched_order, assigned_at, unassigned_at
                   FROM dispatches WHERE driver_id = $1) ds ON ds.dispatched_order = o.id
          WHERE ($2 = false OR (ds.unassigned_at IS NULL AND NOT order_is_settled(o.status)))
            AND ($3::timestamptz IS NULL OR (ds.assigned_at, ds.dispatch_id) < ($3, $4))
          ORDER BY ds.assigned_at DESC, ds.dispatch_id DESC
          LIMIT $5"
    );
    let rows = client
        .query_typed(
            &sql,
            &[
                p(&driver_id),
                p(&open_only),
                p(&after_time),
                p(&after_id),
                p(&page.fetch_limit()),
            ],
        )
        .await
        .context("listing the driver's assignments")?;
    let items = rows
        .iter()
        .map(Assignment::from_row)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page, |a| Cursor {
        at: a.assigned_at,
        id: a.dispatch_id,
    }))
}
