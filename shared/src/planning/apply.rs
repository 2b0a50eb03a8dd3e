//! Applying a solved plan (`POST /api/dispatch/plans/{planId}/apply`): every planned
//! order assigned to its route's driver through the one dispatch path
//! ([`crate::drivers::dispatch::assign_planned`]: dispatch, delivery, status history,
//! partner outbox), with the planned times and sequence recorded on each delivery, in one
//! transaction. A plan made before any of its orders or drivers' windows changed is
//! refused (409 `plan_stale`, naming what changed) rather than applied blind.

use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::{
    inputs::Fingerprint,
    plans::{read, PlanStatus, PlanView},
    PlanResult, StopKind,
};
use crate::{
    auth::{rbac::Caller, Permission},
    db::{p, RowExt, Transaction},
    drivers::dispatch::assign_planned,
    error::{ApiError, ApiResult, FieldError},
    orders::status::DriverStatus,
    AppState,
};

/// What applying did.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    pub plan: PlanView,
    /// Orders assigned.
    pub assigned: usize,
    /// Drivers given a route.
    pub drivers: usize,
}

pub async fn apply(state: &AppState, caller: &Caller, plan_id: Uuid) -> ApiResult<Applied> {
    caller.require(Permission::DispatchDrivers)?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let row = tx
        .query_typed_opt(
            "SELECT status, inputs, result FROM dispatch_plans WHERE id = $1 FOR UPDATE",
            &[p(&plan_id)],
        )
        .await?
        .ok_or_else(|| ApiError::not_found("plan"))?;
    let status: PlanStatus = row.col("status")?;
    match status {
        PlanStatus::Solved => {}
        PlanStatus::Applied => {
            return Err(ApiError::conflict(
                "plan_applied",
                "this plan was applied already",
            ))
        }
        PlanStatus::Failed => {
            return Err(ApiError::conflict(
                "plan_failed",
                "this plan failed; ask for a new one",
            ))
        }
        PlanStatus::Queued | PlanStatus::Solving => {
            return Err(ApiError::conflict(
                "plan_not_solved",
                "this plan is still solving; apply it once it is solved",
            ))
        }
    }
    let stored = |column: &str| -> ApiResult<serde_json::Value> {
        row.col::<Option<serde_json::Value>>(column)?
            .ok_or_else(|| ApiError::internal(format!("a solved plan without its {column}")))
    };
    let result: PlanResult = serde_json::from_value(stored("result")?)
        .map_err(|e| ApiError::internal(format!("a stored plan result: {e}")))?;
    let made_from: Fingerprint = serde_json::from_value(stored("inputs")?)
        .map_err(|e| ApiError::internal(format!("a stored plan's inputs: {e}")))?;
    let changed = changes_since(&tx, &result, &made_from).await?;
    if !changed.is_empty() {
        return Err(ApiError::conflict(
            "plan_stale",
            format!(
                "{} of the plan's orders or drivers' windows changed after it was made; ask for a new plan",
                changed.len()
            ),
        )
        .with_details(json!(changed)));
    }
    let mut assigned = 0;
    for route in &result.routes {
        for (sequence, stop) in route.stops.iter().enumerate() {
            match stop.kind {
                StopKind::Pickup => {
                    let delivery = if stop.already_assigned {
                        current_delivery(&tx, stop.order_id, route.driver_id).await?
                    } else {
                        assigned += 1;
                        assign_planned(&tx, caller, stop.order_id, route.driver_id).await?
                    };
                    let sequence = i16::try_from(sequence)
                        .map_err(|_| ApiError::internal("a route of over 32,767 stops"))?;
                    tx.execute_typed(
                        "UPDATE deliveries SET plan_id = $2, planned_pickup_at = $3,
                                planned_dropoff_at = $3, planned_sequence = $4
                          WHERE id = $1",
                        &[
                            p(&delivery),
                            p(&plan_id),
                            p(&stop.service_start_at),
                            p(&sequence),
                        ],
                    )
                    .await?;
                }
                StopKind::Dropoff => {
                    tx.execute_typed(
                        "UPDATE deliveries SET planned_dropoff_at = $3
                          WHERE order_id = $1 AND driver_id = $2 AND plan_id = $4",
                        &[
                            p(&stop.order_id),
                            p(&route.driver_id),
                            p(&stop.service_start_at),
                            p(&plan_id),
                        ],
                    )
                    .await?;
                }
            }
        }
    }
    tx.execute_typed(
        "UPDATE dispatch_plans SET status = 'APPLIED', applied_at = now(), applied_by = $2
          WHERE id = $1",
        &[p(&plan_id), p(&caller.user_id)],
    )
    .await?;
    let plan = read(&tx, caller, plan_id).await?;
    tx.commit().await?;
    tracing::info!(plan_id = %plan_id, assigned, drivers = result.routes.len(), by = %caller.user_id, "plan applied");
    Ok(Applied {
        plan,
        assigned,
        drivers: result.routes.len(),
    })
}

/// The delivery of an order this driver has already (an insert plan's kept order).
async fn current_delivery(
    tx: &Transaction<'_>,
    order_id: Uuid,
    driver_id: Uuid,
) -> ApiResult<Uuid> {
    tx.query_typed_one(
        "SELECT d.id FROM deliveries d
           JOIN dispatches ds ON ds.id = d.dispatch_id AND ds.unassigned_at IS NULL
          WHERE d.order_id = $1 AND d.driver_id = $2",
        &[p(&order_id), p(&driver_id)],
    )
    .await?
    .col("id")
}

/// The plan's orders and windows that are no longer as it was made from: changed,
/// removed, or (orders) given a driver or settled since.
async fn changes_since(
    tx: &Transaction<'_>,
    result: &PlanResult,
    made_from: &Fingerprint,
) -> ApiResult<Vec<FieldError>> {
    let mut changed = Vec::new();
    let planned: Vec<Uuid> = result
        .routes
        .iter()
        .flat_map(|r| r.stops.iter().map(|s| s.order_id))
        .collect();
    let kept: std::collections::HashMap<Uuid, Uuid> = result
        .routes
        .iter()
        .flat_map(|r| {
            r.stops
                .iter()
                .filter(|s| s.already_assigned)
                .map(|s| (s.order_id, r.driver_id))
        })
        .collect();
    let rows = tx
        .query_typed(
            "SELECT o.id, o.order_number, o.updated_at, o.driver_status,
                    (SELECT ds.driver_id FROM dispatches ds
                      WHERE ds.order_id = o.id AND ds.unassigned_at IS NULL) AS driver_id,
                    o.driver_status IS NOT NULL OR NOT order_is_open(o.status) OR o.deleted_at IS NOT NULL
                    OR EXISTS (SELECT 1 FROM dispatches ds WHERE ds.order_id = o.id AND ds.unassigned_at IS NULL)
                      AS taken
               FROM orders o WHERE o.id = ANY($1)",
            &[p(&planned)],
        )
        .await?;
    for row in &rows {
        let id: Uuid = row.col("id")?;
        let number: String = row.col("order_number")?;
        let updated: chrono::DateTime<chrono::Utc> = row.col("updated_at")?;
        let as_planned = match kept.get(&id) {
            // Kept with its driver: still that driver's, and not started.
            Some(driver) => {
                row.col::<Option<Uuid>>("driver_id")? == Some(*driver)
                    && row.col::<Option<DriverStatus>>("driver_status")?
                        == Some(DriverStatus::Assigned)
            }
            None => !row.col::<bool>("taken")?,
        };
        if !as_planned {
            changed.push(FieldError::new(
                "orders",
                format!("{number} changed driver, started or ended"),
            ));
        } else if made_from.orders.get(&id) != Some(&updated) {
            changed.push(FieldError::new("orders", format!("{number} changed")));
        }
    }
    let windows: Vec<Uuid> = result.routes.iter().map(|r| r.window_id).collect();
    let rows = tx
        .query_typed(
            "SELECT id, updated_at FROM driver_availability WHERE id = ANY($1)",
            &[p(&windows)],
        )
        .await?;
    for window in &windows {
        let now = rows
            .iter()
            .find(|r| r.col::<Uuid>("id").ok() == Some(*window))
            .map(|r| r.col::<chrono::DateTime<chrono::Utc>>("updated_at"))
            .transpose()?;
        if now.is_none() || now.as_ref() != made_from.windows.get(window) {
            changed.push(FieldError::new(
                "windows",
                format!("availability window {window} changed or was removed"),
            ));
        }
    }
    Ok(changed)
}
