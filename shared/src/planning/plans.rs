//! Dispatch plans as the API shows them: asking for one (`POST /api/dispatch/plans`, which
//! checks what it can at once and hands the solving to the planner job) and following it
//! (`GET /api/dispatch/plans/{planId}`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{
    inputs::{self, Days},
    PlanResult,
};
use crate::{
    auth::{rbac::Caller, Permission},
    db::{p, FromRow, GenericClient, OnConstraint, RowExt},
    error::{ApiError, ApiResult, FieldError},
    input::Validator,
    text_enum::text_enum,
    AppState,
};

/// A plan's budget when the request names none.
pub const DEFAULT_TIME_LIMIT_SECONDS: i32 = 30;
/// The planner job runs at most 15 minutes; this leaves it time to load and store.
pub const MAX_TIME_LIMIT_SECONDS: i32 = 840;
pub const MAX_ORDERS: usize = 2000;
pub const MAX_DRIVERS: usize = 200;
/// The most days one plan covers.
pub const MAX_DAYS: i64 = 7;
/// A queued or solving plan this long past its budget has lost its job (a crash, a
/// timeout): it is marked failed so the days can be planned again.
const STALL_GRACE_SECONDS: i32 = 300;

text_enum! {
    /// Where a plan stands.
    pub enum PlanStatus("plan status") {
        Queued = "QUEUED",
        Solving = "SOLVING",
        Solved = "SOLVED",
        Failed = "FAILED",
        Applied = "APPLIED",
    }
}

/// `POST /api/dispatch/plans`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewPlan {
    /// One day; or `from` and `to`.
    pub date: Option<NaiveDate>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Only these orders (each must be due on the days and still need a driver).
    pub order_ids: Option<Vec<Uuid>>,
    /// Only these drivers' availability.
    pub driver_ids: Option<Vec<Uuid>>,
    pub time_limit_seconds: Option<i32>,
    /// `plan` (the default): the days' unassigned orders into routes. `insert`: those
    /// fitted into the drivers' routes as they stand, each order that has a driver kept
    /// with it and any delivery under way left where it is.
    pub mode: Option<PlanMode>,
}

/// How a plan treats the orders that have drivers already (`plan` or `insert`, as the
/// API spells it; `PLAN` or `INSERT` in the database).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanMode {
    Plan,
    Insert,
}

impl PlanMode {
    pub fn as_sql(self) -> &'static str {
        match self {
            PlanMode::Plan => "PLAN",
            PlanMode::Insert => "INSERT",
        }
    }

    /// The mode a stored plan has (the column's CHECK admits only the two).
    pub fn from_sql(text: String) -> Self {
        match text.as_str() {
            "INSERT" => PlanMode::Insert,
            _ => PlanMode::Plan,
        }
    }
}

/// A plan as `GET /api/dispatch/plans/{planId}` shows it.
#[derive(Debug, Clone, Serialize, PartialEq, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct PlanView {
    pub id: Uuid,
    pub status: PlanStatus,
    #[row(rename = "service_from")]
    pub from: NaiveDate,
    #[row(rename = "service_to")]
    pub to: NaiveDate,
    pub order_ids: Option<Vec<Uuid>>,
    pub driver_ids: Option<Vec<Uuid>>,
    pub time_limit_seconds: i32,
    #[row(with = PlanMode::from_sql)]
    pub mode: PlanMode,
    pub requested_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub applied_at: Option<DateTime<Utc>>,
    pub applied_by: Option<Uuid>,
    /// The search so far: `{generation, bestCost, routes, unassigned, elapsedSeconds}`.
    pub progress: Option<serde_json::Value>,
    #[row(read = result_of)]
    pub result: Option<PlanResult>,
    pub error: Option<String>,
}

fn result_of(row: &crate::db::Row, column: &str) -> ApiResult<Option<PlanResult>> {
    row.col::<Option<serde_json::Value>>(column)?
        .map(|value| {
            serde_json::from_value(value)
                .map_err(|e| ApiError::internal(format!("a stored plan result: {e}")))
        })
        .transpose()
}

const PLAN_SELECT: &str = "
    SELECT id, status, service_from, service_to, order_ids, driver_ids, time_limit_seconds, mode,
           requested_by, created_at, started_at, finished_at, applied_at, applied_by, progress,
           result, error
      FROM dispatch_plans";

/// A request, checked: the days, the budget, and the lists within their limits.
struct Checked {
    days: Days,
    time_limit: i32,
}

fn check(request: &NewPlan) -> ApiResult<Checked> {
    Validator::validate(|v| {
        let days = match (request.date, request.from, request.to) {
            (Some(date), None, None) => Some(Days {
                from: date,
                to: date,
            }),
            (None, Some(from), Some(to)) => {
                v.check(to >= from, "to", "must not be before from");
                v.check(
                    (to - from).num_days() < MAX_DAYS,
                    "to",
                    &format!("a plan covers at most {MAX_DAYS} days"),
                );
                Some(Days { from, to })
            }
            _ => {
                v.push(FieldError::new(
                    "date",
                    "give a date, or from and to (not both)",
                ));
                None
            }
        };
        let time_limit = request
            .time_limit_seconds
            .unwrap_or(DEFAULT_TIME_LIMIT_SECONDS);
        v.check(
            (1..=MAX_TIME_LIMIT_SECONDS).contains(&time_limit),
            "timeLimitSeconds",
            &format!("must be 1 to {MAX_TIME_LIMIT_SECONDS}"),
        );
        for (field, ids) in [
            ("orderIds", &request.order_ids),
            ("driverIds", &request.driver_ids),
        ] {
            if let Some(ids) = ids {
                v.check(
                    !ids.is_empty(),
                    field,
                    "must name at least one, or be left out",
                );
            }
        }
        Some(Checked {
            days: days?,
            time_limit,
        })
    })
}

/// Queues a plan of the days' unassigned orders for the drivers available, and hands it
/// to the planner job. Refused before anything is written: unknown orders or drivers
/// (404 naming them), orders due on other days or that have a driver (422 naming them),
/// no availability on the days (422), over 2,000 orders or 200 drivers (422), and a plan
/// already solving any of the days (409 naming it).
pub async fn create(state: &AppState, caller: &Caller, request: &NewPlan) -> ApiResult<PlanView> {
    caller.require(Permission::DispatchDrivers)?;
    let checked = check(request)?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    fail_stalled(&tx).await?;
    let days = checked.days;
    for (code, what, count, limit) in [
        (
            "too_many_orders",
            "orders",
            request.order_ids.as_ref().map(Vec::len),
            MAX_ORDERS,
        ),
        (
            "too_many_drivers",
            "drivers",
            request.driver_ids.as_ref().map(Vec::len),
            MAX_DRIVERS,
        ),
    ] {
        if let Some(count) = count.filter(|n| *n > limit) {
            return Err(too_many(code, what, count, limit));
        }
    }
    let orders = inputs::orders(&tx, days, request.order_ids.as_deref()).await?;
    if let Some(named) = &request.order_ids {
        let unknown: Vec<&Uuid> = named
            .iter()
            .filter(|id| !orders.iter().any(|o| o.id == **id))
            .collect();
        if !unknown.is_empty() {
            return Err(unknown_ids("order", "orderIds", unknown));
        }
        let refused: Vec<FieldError> = orders
            .iter()
            .filter_map(|o| {
                let why = if o.service_date < days.from || o.service_date > days.to {
                    Some(format!(
                        "is due on {}, outside the plan's days",
                        o.service_date
                    ))
                } else {
                    o.taken.clone()
                };
                why.map(|why| {
                    FieldError::new("orderIds", format!("{} ({}): {why}", o.order_number, o.id))
                })
            })
            .collect();
        if !refused.is_empty() {
            return Err(ApiError::unprocessable(
                "orders_not_plannable",
                format!("{} of the orders cannot be planned", refused.len()),
            )
            .with_details(json!(refused)));
        }
    }
    if let Some(drivers) = &request.driver_ids {
        let unknown = inputs::unknown_drivers(&tx, drivers).await?;
        if !unknown.is_empty() {
            return Err(unknown_ids("driver", "driverIds", unknown.iter()));
        }
    }
    let windows = inputs::windows(&tx, days, request.driver_ids.as_deref()).await?;
    if windows.is_empty() {
        return Err(ApiError::unprocessable(
            "no_available_drivers",
            format!(
                "no driver has availability from {} to {}; add drivers' availability first",
                days.from, days.to
            ),
        ));
    }
    if orders.len() > MAX_ORDERS {
        return Err(too_many(
            "too_many_orders",
            "orders",
            orders.len(),
            MAX_ORDERS,
        ));
    }
    let mut drivers: Vec<Uuid> = windows.iter().map(|w| w.driver_id).collect();
    drivers.sort_unstable();
    drivers.dedup();
    if drivers.len() > MAX_DRIVERS {
        return Err(too_many(
            "too_many_drivers",
            "drivers",
            drivers.len(),
            MAX_DRIVERS,
        ));
    }
    if let Some(solving) = solving_on(&tx, days).await? {
        return Err(in_progress(solving));
    }
    let planner = state
        .config
        .drivers
        .planner_function
        .clone()
        .ok_or_else(|| {
            ApiError::service_unavailable("route planning is not configured in this deployment")
        })?;
    let id: Uuid = tx
        .query_typed_one(
            "INSERT INTO dispatch_plans (service_from, service_to, order_ids, driver_ids,
                 time_limit_seconds, requested_by, mode)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[
                p(&days.from),
                p(&days.to),
                p(&request.order_ids),
                p(&request.driver_ids),
                p(&checked.time_limit),
                p(&caller.user_id),
                p(&request.mode.unwrap_or(PlanMode::Plan).as_sql()),
            ],
        )
        .await
        .on_constraint("dispatch_plans_one_solving", || {
            ApiError::conflict("plan_in_progress", "another plan of these days is solving")
        })?
        .col("id")?;
    tx.commit().await?;
    tracing::info!(plan_id = %id, from = %days.from, to = %days.to, orders = orders.len(),
        drivers = drivers.len(), by = %caller.user_id, "plan queued");
    if let Err(err) = super::hand_to_planner(state, &planner, id).await {
        let message = "the planner could not be started; try again";
        fail(&*state.db.get().await?, id, message).await?;
        return Err(ApiError::service_unavailable(message).with_source(err));
    }
    read(&*state.db.get().await?, caller, id).await
}

/// 404 naming each id of `field` that exists nowhere.
fn unknown_ids<'a>(what: &str, field: &str, ids: impl IntoIterator<Item = &'a Uuid>) -> ApiError {
    let details: Vec<FieldError> = ids
        .into_iter()
        .map(|id| FieldError::new(field, format!("{id} does not exist")))
        .collect();
    ApiError::not_found(what).with_details(json!(details))
}

/// 422 for a plan over one of its size limits.
fn too_many(code: &'static str, what: &str, count: usize, limit: usize) -> ApiError {
    ApiError::unprocessable(
        code,
        format!("{count} {what}; one plan takes at most {limit}"),
    )
}

fn in_progress(plan: Uuid) -> ApiError {
    ApiError::conflict(
        "plan_in_progress",
        format!("plan {plan} is solving these days; follow it or wait for it"),
    )
    .with_details(json!({ "planId": plan }))
}

/// A plan queued or solving any of `days`.
async fn solving_on(client: &impl GenericClient, days: Days) -> ApiResult<Option<Uuid>> {
    client
        .query_typed_opt(
            "SELECT id FROM dispatch_plans
              WHERE status IN ('QUEUED', 'SOLVING')
                AND daterange(service_from, service_to, '[]') && daterange($1, $2, '[]')",
            &[p(&days.from), p(&days.to)],
        )
        .await?
        .map(|row| row.col("id"))
        .transpose()
}

/// Marks failed the plans whose job has stopped without answering.
async fn fail_stalled(client: &impl GenericClient) -> ApiResult<()> {
    let stalled = client
        .execute_typed(
            "UPDATE dispatch_plans
                SET status = 'FAILED', finished_at = now(),
                    error = 'the planner stopped without answering'
              WHERE status IN ('QUEUED', 'SOLVING')
                AND created_at < now() - make_interval(secs => time_limit_seconds + $1)",
            &[p(&STALL_GRACE_SECONDS)],
        )
        .await?;
    if stalled > 0 {
        tracing::warn!(stalled, "plans whose planner stopped were marked failed");
    }
    Ok(())
}

/// Records a plan's failure.
pub async fn fail(client: &impl GenericClient, id: Uuid, error: &str) -> ApiResult<()> {
    client
        .execute_typed(
            "UPDATE dispatch_plans SET status = 'FAILED', error = $2, finished_at = now()
              WHERE id = $1 AND status IN ('QUEUED', 'SOLVING')",
            &[p(&id), p(&error)],
        )
        .await?;
    Ok(())
}

/// One plan, for staff who dispatch.
pub async fn read(client: &impl GenericClient, caller: &Caller, id: Uuid) -> ApiResult<PlanView> {
    caller.require(Permission::DispatchDrivers)?;
    let row = client
        .query_typed_opt(&format!("{PLAN_SELECT} WHERE id = $1"), &[p(&id)])
        .await?
        .ok_or_else(|| ApiError::not_found("plan"))?;
    PlanView::from_row(&row)
}
