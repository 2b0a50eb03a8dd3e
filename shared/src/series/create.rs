//! A new series (`POST /api/order-series`).

use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::{
    checks::{check_series, check_template, check_times},
    owner_of,
    rule::Rule,
    with_next, Series, SeriesView, DEFAULT_HORIZON_DAYS, MAX_HORIZON_DAYS,
};
use crate::{
    auth::{Caller, Permission},
    db::{p, RowExt},
    error::{ApiError, ApiResult, Context, FieldError},
    AppState,
};

/// A new series as `POST /api/order-series` takes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewSeries {
    /// Staff: whose series it is. A client or vendor makes its own.
    pub user_id: Option<Uuid>,
    pub rule: String,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    /// `HH:MM`, Pacific.
    pub pickup_time: String,
    pub arrival_time: String,
    pub horizon_days: Option<i32>,
    /// The catering order: saved addresses and the fields of [`TEMPLATE_FIELDS`].
    pub order: Value,
}

/// Creates a series: a client or vendor its own, staff anyone's (`userId`).
#[tracing::instrument(name = "create_order_series", skip_all)]
pub async fn create(state: &AppState, caller: &Caller, new: &NewSeries) -> ApiResult<SeriesView> {
    caller.require(Permission::CreateOrders)?;
    let owner_id = match new.user_id {
        Some(id) if id != caller.user_id => {
            caller.require(Permission::ManageOrders)?;
            id
        }
        _ if caller.role.is_staff() => {
            return Err(ApiError::validation(vec![FieldError::new(
                "userId",
                "is required for staff: whose orders the series places",
            )]))
        }
        _ => caller.user_id,
    };
    let mut errors = Vec::new();
    let rule = Rule::parse("rule", &new.rule)
        .map_err(|e| errors.push(e))
        .ok();
    let times = check_times(&new.pickup_time, &new.arrival_time)
        .map_err(|e| errors.extend(e))
        .ok();
    let template = check_template(&new.order)
        .map_err(|e| errors.extend(e))
        .ok();
    let horizon = new.horizon_days.unwrap_or(DEFAULT_HORIZON_DAYS);
    if !(1..=MAX_HORIZON_DAYS).contains(&horizon) {
        errors.push(FieldError::new(
            "horizonDays",
            format!("must be 1 to {MAX_HORIZON_DAYS}"),
        ));
    }
    if new.ends_on.is_some_and(|end| end < new.starts_on) {
        errors.push(FieldError::new("endsOn", "must not be before startsOn"));
    }
    let (Some(rule), Some((pickup_time, arrival_time)), Some(template), true) =
        (rule, times, template, errors.is_empty())
    else {
        return Err(ApiError::validation(errors));
    };
    let mut client = state.db.get().await?;
    let owner = owner_of(&*client, owner_id).await?.ok_or_else(|| {
        ApiError::validation(vec![FieldError::new(
            "userId",
            "must be an active client or vendor",
        )])
    })?;
    let now = Utc::now();
    let mut series = Series {
        id: Uuid::new_v4(),
        user_id: owner.user_id,
        rule,
        starts_on: new.starts_on,
        ends_on: new.ends_on,
        pickup_time,
        arrival_time,
        horizon_days: horizon,
        template,
        paused_at: None,
        generation: 0,
        created_at: now,
        updated_at: now,
    };
    check_series(&*client, &owner, &series, now).await?;
    let tx = client.transaction().await?;
    let row = tx
        .query_typed_one(
            "INSERT INTO order_series (id, user_id, created_by, rule, starts_on, ends_on, pickup_time,
                                       arrival_time, horizon_days, template)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             RETURNING created_at, updated_at",
            &[
                p(&series.id),
                p(&series.user_id),
                p(&caller.user_id),
                p(&series.rule.as_str()),
                p(&series.starts_on),
                p(&series.ends_on),
                p(&series.pickup_time),
                p(&series.arrival_time),
                p(&series.horizon_days),
                p(&Value::Object(series.template.clone())),
            ],
        )
        .await
        .context("storing the series")?;
    series.created_at = row.col("created_at")?;
    series.updated_at = row.col("updated_at")?;
    let view = with_next(&tx, &series, now).await?;
    tx.commit().await.context("saving the series")?;
    tracing::info!(series_id = %series.id, owner = %series.user_id, rule = series.rule.as_str(), "order series created");
    Ok(view)
}
