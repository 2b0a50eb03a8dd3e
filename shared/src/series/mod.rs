//! Recurring catering orders: offices order the same lunch every week.
//!
//! A series (`order_series`) is a client's (or vendor's) catering order kept as a template,
//! with a recurrence [`rule`], local pickup and arrival times (Pacific: the same wall-clock
//! time across daylight saving), a first day, an optional last day, a pause and a horizon
//! (data, 14 days unless set). [`materialize`] places each date's order a horizon ahead as
//! an ordinary order (priced, checked and dispatched like any), once per date.
//!
//! - One date is skipped with [`skip`] (an exception: its order, if placed and not yet
//!   dispatched, is cancelled); one date's order is changed like any order. Neither
//!   touches the series.
//! - Editing the series ([`edit`]) changes the orders of dates to come that are not yet
//!   dispatched: their times and order fields follow, and those whose date the new rule
//!   or end no longer has are cancelled. Past and dispatched ones stay as they are. The
//!   addresses are the series': a new place is a new series.
//! - The client sees its series, staff every one (`GET /api/order-series`), each with its
//!   next dates and what became of them.
//!
//! The template names saved addresses (`pickupAddressId`, `deliveryAddressId`): a date's
//! order is placed as its owner would place it, so an address the owner can no longer use
//! fails that date, which is recorded and reported, and the rest of the series goes on.

mod changes;
mod checks;
mod create;
pub mod materialize;
pub mod rule;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use self::rule::Rule;
pub use self::{
    changes::{edit, skip, SeriesEdit},
    create::{create, NewSeries},
};
use crate::{
    auth::{Caller, Permission},
    db::{p, GenericClient, Row, RowExt, Transaction},
    error::{ApiError, ApiResult, Context, FieldError},
    input::{Cursor, Page, PageRequest},
    orders::{
        intake::{CateringFields, DetailsFields, OrderBasics},
        status::OrderStatus,
    },
    pacific::{self, today},
    text_enum::text_enum,
    AppState,
};

/// A series places orders this many days ahead (today counted) unless it says otherwise.
pub const DEFAULT_HORIZON_DAYS: i32 = 14;
/// The furthest ahead a series may place orders.
pub const MAX_HORIZON_DAYS: i32 = 366;
/// How many of its next dates a series' view shows.
const NEXT_DATES: usize = 10;

text_enum! {
    /// What became of a series' date.
    pub enum OccurrenceStatus("occurrence status") {
        /// Its order was placed.
        Created = "CREATED",
        /// An exception: no order (or its order cancelled).
        Skipped = "SKIPPED",
        /// Its order could not be placed; `error` says why.
        Failed = "FAILED",
    }
}
/// A series as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub id: Uuid,
    pub user_id: Uuid,
    pub rule: Rule,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub pickup_time: NaiveTime,
    pub arrival_time: NaiveTime,
    pub horizon_days: i32,
    pub template: Map<String, Value>,
    pub paused_at: Option<DateTime<Utc>>,
    /// How many times its orders to come were cancelled by an edit or a pause.
    pub generation: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const SERIES_SELECT: &str = "SELECT s.id, s.user_id, s.rule, s.starts_on, s.ends_on, s.pickup_time,
        s.arrival_time, s.horizon_days, s.template, s.paused_at, s.generation, s.created_at, s.updated_at
   FROM order_series s";

impl Series {
    fn from_row(row: &Row) -> ApiResult<Self> {
        let template: Value = row.col("template")?;
        Ok(Self {
            id: row.col("id")?,
            user_id: row.col("user_id")?,
            rule: Rule::stored(row.col("rule")?),
            starts_on: row.col("starts_on")?,
            ends_on: row.col("ends_on")?,
            pickup_time: row.col("pickup_time")?,
            arrival_time: row.col("arrival_time")?,
            horizon_days: row.col("horizon_days")?,
            template: template.as_object().cloned().unwrap_or_default(),
            paused_at: row.col("paused_at")?,
            generation: row.col("generation")?,
            created_at: row.col("created_at")?,
            updated_at: row.col("updated_at")?,
        })
    }

    /// The series' dates from `from` to `to`, within its first and last day.
    pub fn dates(&self, from: NaiveDate, to: NaiveDate) -> ApiResult<Vec<NaiveDate>> {
        let to = self.ends_on.map_or(to, |end| end.min(to));
        self.rule
            .dates(self.starts_on, from.max(self.starts_on), to)
            .map_err(ApiError::internal)
    }

    /// The pickup and arrival instants of `date`'s order.
    pub fn times_on(&self, date: NaiveDate) -> ApiResult<(DateTime<Utc>, DateTime<Utc>)> {
        Ok((
            pacific::at(date, self.pickup_time)?,
            pacific::at(date, self.arrival_time)?,
        ))
    }

    /// The order `date` places: the template with that day's times, as a create body.
    pub fn order_body(&self, date: NaiveDate) -> ApiResult<(OrderBasics, DetailsFields)> {
        let (pickup, arrival) = self.times_on(date)?;
        order_body(&self.template, pickup, arrival)
    }

    fn view(&self) -> SeriesView {
        SeriesView {
            id: self.id,
            user_id: self.user_id,
            rule: self.rule.as_str().to_owned(),
            starts_on: self.starts_on,
            ends_on: self.ends_on,
            pickup_time: self.pickup_time.format("%H:%M").to_string(),
            arrival_time: self.arrival_time.format("%H:%M").to_string(),
            time_zone: pacific::ZONE,
            horizon_days: self.horizon_days,
            order: Value::Object(self.template.clone()),
            paused: self.paused_at.is_some(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            next: Vec::new(),
        }
    }
}

fn order_body(
    template: &Map<String, Value>,
    pickup: DateTime<Utc>,
    arrival: DateTime<Utc>,
) -> ApiResult<(OrderBasics, DetailsFields)> {
    let mut body = template.clone();
    body.insert("pickupDateTime".into(), serde_json::to_value(pickup)?);
    body.insert("arrivalDateTime".into(), serde_json::to_value(arrival)?);
    let body = Value::Object(body);
    let invalid =
        |e: serde_json::Error| ApiError::validation(vec![FieldError::new("order", format!("{e}"))]);
    let basics: OrderBasics = serde_json::from_value(body.clone()).map_err(invalid)?;
    let catering: CateringFields = serde_json::from_value(body).map_err(invalid)?;
    Ok((basics, DetailsFields::Catering(catering)))
}

/// A series as its owner and staff see it, with its next dates.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeriesView {
    pub id: Uuid,
    pub user_id: Uuid,
    pub rule: String,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub pickup_time: String,
    pub arrival_time: String,
    pub time_zone: &'static str,
    pub horizon_days: i32,
    pub order: Value,
    pub paused: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// From today: each date, and its order or what became of it (none yet: not placed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub next: Vec<Occurrence>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Occurrence {
    pub date: NaiveDate,
    pub status: Option<OccurrenceStatus>,
    pub order_id: Option<Uuid>,
    pub order_number: Option<String>,
    pub order_status: Option<OrderStatus>,
    pub error: Option<String>,
}

/// The account a series places orders as: an active client or vendor.
pub async fn owner_of(client: &impl GenericClient, user_id: Uuid) -> ApiResult<Option<Caller>> {
    let row = client
        .query_typed_opt(
            "SELECT role FROM users WHERE id = $1 AND status = 'ACTIVE' AND role IN ('CLIENT', 'VENDOR')",
            &[p(&user_id)],
        )
        .await?;
    row.map(|row| {
        Ok(Caller {
            user_id,
            role: row
                .col::<String>("role")?
                .parse()
                .map_err(ApiError::internal)?,
            session_id: Uuid::nil(),
        })
    })
    .transpose()
}
/// A series the caller may see (its own, or any for staff); 404 for any other. `lock`
/// takes its row for a change (the job holds it while it places a date).
async fn visible(
    client: &impl GenericClient,
    caller: &Caller,
    id: Uuid,
    lock: bool,
) -> ApiResult<Series> {
    let everyone = caller.can(Permission::ViewAllOrders);
    let lock = if lock { "FOR UPDATE" } else { "" };
    let row = client
        .query_typed_opt(
            &format!("{SERIES_SELECT} WHERE s.id = $1 AND ($2 OR s.user_id = $3) {lock}"),
            &[p(&id), p(&everyone), p(&caller.user_id)],
        )
        .await?
        .ok_or_else(|| ApiError::not_found("series"))?;
    Series::from_row(&row)
}

async fn lock_visible(tx: &Transaction<'_>, caller: &Caller, id: Uuid) -> ApiResult<Series> {
    visible(tx, caller, id, true).await
}

/// One series with its next dates (read without waiting for the job).
pub async fn view(state: &AppState, caller: &Caller, id: Uuid) -> ApiResult<SeriesView> {
    caller.require(Permission::CreateOrders)?;
    let client = state.db.get().await?;
    let series = visible(&*client, caller, id, false).await?;
    with_next(&*client, &series, Utc::now()).await
}

/// The caller's series (every one for staff), newest first, in pages.
pub async fn list(
    client: &impl GenericClient,
    caller: &Caller,
    page: &PageRequest,
) -> ApiResult<Page<SeriesView>> {
    caller.require(Permission::CreateOrders)?;
    let everyone = caller.can(Permission::ViewAllOrders);
    let (after_time, after_id) = page.after.as_ref().map(|c| (c.at, c.id)).unzip();
    // Staff read the whole list by its own index; everyone else by the owner's.
    let owner = if everyone { "" } else { "s.user_id = $4 AND" };
    let rows = client
        .query_typed(
            &format!(
                "{SERIES_SELECT}
                  WHERE {owner} ($1::timestamptz IS NULL OR (s.created_at, s.id) < ($1, $2))
                  ORDER BY s.created_at DESC, s.id DESC LIMIT $3"
            ),
            &[
                p(&after_time),
                p(&after_id),
                p(&page.fetch_limit()),
                p(&caller.user_id),
            ],
        )
        .await
        .context("listing series")?;
    let items = rows
        .iter()
        .map(|r| Series::from_row(r).map(|s| s.view()))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page, |s| Cursor {
        at: s.created_at,
        id: s.id,
    }))
}

/// The view of `series` with its next dates and what became of each.
async fn with_next(
    client: &impl GenericClient,
    series: &Series,
    now: DateTime<Utc>,
) -> ApiResult<SeriesView> {
    let from = today(now);
    let dates: Vec<NaiveDate> = series
        .dates(
            from,
            from + chrono::Duration::days(i64::from(MAX_HORIZON_DAYS)),
        )?
        .into_iter()
        .take(NEXT_DATES)
        .collect();
    let rows = client
        .query_typed(
            "SELECT oc.occurs_on, oc.status, oc.order_id, oc.error, o.order_number, o.status AS order_status
               FROM order_series_occurrences oc LEFT JOIN orders o ON o.id = oc.order_id
              WHERE oc.series_id = $1 AND oc.occurs_on >= $2",
            &[p(&series.id), p(&from)],
        )
        .await
        .context("reading the series' dates")?;
    let mut recorded = std::collections::BTreeMap::new();
    for row in &rows {
        recorded.insert(
            row.col::<NaiveDate>("occurs_on")?,
            Occurrence {
                date: row.col("occurs_on")?,
                status: Some(row.col("status")?),
                order_id: row.col("order_id")?,
                order_number: row.col("order_number")?,
                order_status: row.col("order_status")?,
                error: row.col("error")?,
            },
        );
    }
    let mut view = series.view();
    view.next = dates
        .into_iter()
        .map(|date| {
            recorded.remove(&date).unwrap_or(Occurrence {
                date,
                status: None,
                order_id: None,
                order_number: None,
                order_status: None,
                error: None,
            })
        })
        .collect();
    Ok(view)
}
