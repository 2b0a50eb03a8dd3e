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

pub mod materialize;
pub mod rule;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::America::Los_Angeles;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use self::rule::Rule;
use crate::{
    addresses,
    auth::{Caller, Permission},
    db::{p, GenericClient, Row, RowExt, Transaction},
    error::{ApiError, ApiResult, Context, FieldError},
    input::{Cursor, Page, PageRequest},
    orders::{
        edit::{self, OrderRef, OrderUpdate},
        intake::{self, CateringFields, DetailsFields, OrderBasics},
        status::OrderStatus,
        Actor, StatusChange,
    },
    text_enum::text_enum,
    AppState,
};

/// A series places orders this many days ahead (today counted) unless it says otherwise.
pub const DEFAULT_HORIZON_DAYS: i32 = 14;
/// The furthest ahead a series may place orders.
pub const MAX_HORIZON_DAYS: i32 = 366;
/// How many of its next dates a series' view shows.
const NEXT_DATES: usize = 10;
/// The fields of an order a series' template may hold besides its two addresses; the
/// times come from the series.
const TEMPLATE_FIELDS: [&str; 10] = [
    "headcount",
    "needHost",
    "hoursNeeded",
    "numberOfHosts",
    "brokerage",
    "clientAttention",
    "pickupNotes",
    "specialNotes",
    "orderTotal",
    "tip",
];

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

/// A change to a series (`PATCH /api/order-series/{seriesId}`); absent fields stay.
/// `endsOn: null` removes the end; `order` changes the named order fields only.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeriesEdit {
    pub rule: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub ends_on: Option<Option<NaiveDate>>,
    pub pickup_time: Option<String>,
    pub arrival_time: Option<String>,
    pub horizon_days: Option<i32>,
    pub paused: Option<bool>,
    pub order: Option<Map<String, Value>>,
}

/// A field that may be given as `null`: `Some(None)`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
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
            local(date, self.pickup_time)?,
            local(date, self.arrival_time)?,
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
            time_zone: "America/Los_Angeles",
            horizon_days: self.horizon_days,
            order: Value::Object(self.template.clone()),
            paused: self.paused_at.is_some(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            next: Vec::new(),
        }
    }
}

/// A wall-clock time on a Pacific day as an instant; a time a clock change skips is
/// taken an hour later (as the clock reads it), a repeated one the first time.
fn local(date: NaiveDate, time: NaiveTime) -> ApiResult<DateTime<Utc>> {
    let at = date.and_time(time);
    Los_Angeles
        .from_local_datetime(&at)
        .earliest()
        .or_else(|| {
            Los_Angeles
                .from_local_datetime(&(at + chrono::Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| ApiError::internal(format!("{at} in Pacific time")))
}

/// Today, Pacific: the business day series count from.
pub fn today(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&Los_Angeles).date_naive()
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

/// Checked times: `HH:MM` each, arrival after pickup.
fn check_times(pickup: &str, arrival: &str) -> Result<(NaiveTime, NaiveTime), Vec<FieldError>> {
    let parse = |field: &str, text: &str| {
        NaiveTime::parse_from_str(text, "%H:%M")
            .map_err(|_| FieldError::new(field, "must be a time HH:MM (24-hour, Pacific)"))
    };
    match (parse("pickupTime", pickup), parse("arrivalTime", arrival)) {
        (Ok(p), Ok(a)) if a > p => Ok((p, a)),
        (Ok(_), Ok(_)) => Err(vec![FieldError::new(
            "arrivalTime",
            "must be after pickupTime",
        )]),
        (p, a) => Err([p.err(), a.err()].into_iter().flatten().collect()),
    }
}

/// A template: saved addresses and order fields only, checked as the first date's order.
fn check_template(order: &Value) -> Result<Map<String, Value>, Vec<FieldError>> {
    let Some(order) = order.as_object() else {
        return Err(vec![FieldError::new("order", "must be an object")]);
    };
    let mut errors = Vec::new();
    for field in order.keys() {
        let allowed = TEMPLATE_FIELDS.contains(&field.as_str())
            || field == "pickupAddressId"
            || field == "deliveryAddressId";
        if !allowed {
            let why = match field.as_str() {
                "pickupDateTime" | "arrivalDateTime" => {
                    "comes from the series' pickupTime and arrivalTime"
                }
                "pickupAddress" | "deliveryAddress" => {
                    "a series uses saved addresses: give pickupAddressId and deliveryAddressId"
                }
                _ => "is not a field of a series' order",
            };
            errors.push(FieldError::new(format!("order.{field}"), why));
        }
    }
    for field in ["pickupAddressId", "deliveryAddressId"] {
        if !order.get(field).is_some_and(Value::is_string) {
            errors.push(FieldError::new(format!("order.{field}"), "is required"));
        }
    }
    if errors.is_empty() {
        Ok(order.clone())
    } else {
        Err(errors)
    }
}

/// Checks a series as it will be stored: its order, placed on its first date to come
/// by `owner`, passes every order rule, and its addresses are the owner's to use.
async fn check_series(
    client: &impl GenericClient,
    owner: &Caller,
    series: &Series,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let first = series
        .dates(today(now), today(now) + chrono::Duration::days(400))?
        .into_iter()
        .find(|d| series.times_on(*d).is_ok_and(|(pickup, _)| pickup > now));
    let Some(first) = first else {
        return Err(ApiError::validation(vec![FieldError::new(
            "rule",
            "has no date to come before the series ends",
        )]));
    };
    let (basics, details) = series.order_body(first)?;
    intake::check_only(owner, &basics, &details, now)?;
    for (field, id) in [
        ("order.pickupAddressId", &basics.pickup_address_id),
        ("order.deliveryAddressId", &basics.delivery_address_id),
    ] {
        let usable = match id.as_deref().map(Uuid::parse_str) {
            Some(Ok(id)) => addresses::usable_by(client, id, owner.user_id, false).await?,
            _ => false,
        };
        if !usable {
            return Err(ApiError::validation(vec![FieldError::new(
                field,
                "is not an address the series' client may use",
            )]));
        }
    }
    Ok(())
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

/// Skips one date: recorded as an exception (the job places nothing for it), its order
/// cancelled if placed and not yet dispatched; 409 once a driver has it. Skipping a
/// skipped date changes nothing.
#[tracing::instrument(name = "skip_series_date", skip_all, fields(%id, %date))]
pub async fn skip(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    date: NaiveDate,
) -> ApiResult<SeriesView> {
    caller.require(Permission::CreateOrders)?;
    let now = Utc::now();
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let series = lock_visible(&tx, caller, id).await?;
    if date < today(now) || !series.dates(date, date)?.contains(&date) {
        return Err(ApiError::unprocessable(
            "not_a_series_date",
            format!("{date} is not a date to come of this series"),
        ));
    }
    let recorded = tx
        .query_typed_opt(
            "SELECT status, order_id FROM order_series_occurrences
              WHERE series_id = $1 AND occurs_on = $2 FOR UPDATE",
            &[p(&id), p(&date)],
        )
        .await?;
    let order_id: Option<Uuid> = match &recorded {
        Some(row) if row.col::<OccurrenceStatus>("status")? == OccurrenceStatus::Created => {
            row.col("order_id")?
        }
        _ => None,
    };
    if let Some(order_id) = order_id {
        if !cancel_if_undispatched(&tx, caller, order_id, "skipped in its series").await? {
            return Err(ApiError::conflict(
                "already_dispatched",
                format!("the order of {date} has a driver: cancel it by hand"),
            ));
        }
    }
    tx.execute_typed(
        "INSERT INTO order_series_occurrences (series_id, occurs_on, status, order_id)
         VALUES ($1, $2, 'SKIPPED', $3)
         ON CONFLICT (series_id, occurs_on)
         DO UPDATE SET status = 'SKIPPED', error = NULL, recorded_at = now()",
        &[p(&id), p(&date), p(&order_id)],
    )
    .await
    .context("recording the skip")?;
    let view = with_next(&tx, &series, now).await?;
    tx.commit().await.context("saving the skip")?;
    tracing::info!("series date skipped");
    Ok(view)
}

/// Whether an order of a series is still to be dispatched: open, no driver, not deleted.
const UNDISPATCHED: &str = "o.deleted_at IS NULL AND o.status IN ('ACTIVE', 'PENDING', 'CONFIRMED')
     AND NOT EXISTS (SELECT 1 FROM dispatches ds WHERE ds.order_id = o.id AND ds.unassigned_at IS NULL)";

/// Cancels a series' order through the one status path when no driver has it yet;
/// whether it did (an order already cancelled counts as done).
async fn cancel_if_undispatched(
    tx: &Transaction<'_>,
    caller: &Caller,
    order_id: Uuid,
    why: &str,
) -> ApiResult<bool> {
    let row = tx
        .query_typed_one(
            &format!(
                "SELECT o.status, ({UNDISPATCHED}) AS undispatched FROM orders o WHERE o.id = $1 FOR UPDATE"
            ),
            &[p(&order_id)],
        )
        .await?;
    if row.col::<OrderStatus>("status")? == OrderStatus::Cancelled {
        return Ok(true);
    }
    if !row.col::<bool>("undispatched")? {
        return Ok(false);
    }
    let cancel = StatusChange {
        order: Some(OrderStatus::Cancelled),
        driver: None,
        actor: Actor::User(caller.user_id),
        note: Some(why.to_owned()),
        location: None,
    };
    crate::orders::change_status(tx, order_id, &cancel).await?;
    Ok(true)
}

/// Edits a series, then its orders to come that no driver has yet (see the module doc).
#[tracing::instrument(name = "edit_order_series", skip_all, fields(%id))]
pub async fn edit(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    change: &SeriesEdit,
) -> ApiResult<SeriesView> {
    caller.require(Permission::CreateOrders)?;
    let now = Utc::now();
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let before = lock_visible(&tx, caller, id).await?;
    let after = edited(&before, change, now)?;
    let owner = owner_of(&tx, after.user_id).await?.ok_or_else(|| {
        ApiError::unprocessable("inactive_owner", "the series' client is no longer active")
    })?;
    // What the next dates will be placed with is checked as on create; an edit that ends
    // the series (no date to come) or only pauses, resumes or moves the horizon is not.
    let reshaped = change.rule.is_some()
        || change.pickup_time.is_some()
        || change.arrival_time.is_some()
        || change.order.is_some();
    let ahead = today(now) + chrono::Duration::days(i64::from(MAX_HORIZON_DAYS));
    let has_dates = !after.dates(today(now), ahead)?.is_empty();
    if after.paused_at.is_none() && reshaped && has_dates {
        check_series(&tx, &owner, &after, now).await?;
    }
    // A date that could not be placed is tried again by the next run, with the series as
    // it now is.
    tx.execute_typed(
        "DELETE FROM order_series_occurrences WHERE series_id = $1 AND status = 'FAILED' AND occurs_on >= $2",
        &[p(&id), p(&today(now))],
    )
    .await
    .context("clearing failed dates")?;
    tx.execute_typed(
        "UPDATE order_series SET rule = $2, ends_on = $3, pickup_time = $4, arrival_time = $5,
                horizon_days = $6, template = $7, paused_at = $8
          WHERE id = $1",
        &[
            p(&id),
            p(&after.rule.as_str()),
            p(&after.ends_on),
            p(&after.pickup_time),
            p(&after.arrival_time),
            p(&after.horizon_days),
            p(&Value::Object(after.template.clone())),
            p(&after.paused_at),
        ],
    )
    .await
    .context("updating the series")?;
    let (updated, cancelled) = follow(&tx, caller, &before, &after, change, now).await?;
    let series = lock_visible(&tx, caller, id).await?;
    let view = with_next(&tx, &series, now).await?;
    tx.commit().await.context("saving the series")?;
    tracing::info!(updated, cancelled, "order series edited");
    Ok(view)
}

/// The series as `change` leaves it, every field checked; a 400 names each problem.
fn edited(before: &Series, change: &SeriesEdit, now: DateTime<Utc>) -> ApiResult<Series> {
    let mut errors = Vec::new();
    let mut after = before.clone();
    if let Some(text) = &change.rule {
        match Rule::parse("rule", text) {
            Ok(rule) => after.rule = rule,
            Err(e) => errors.push(e),
        }
    }
    if let Some(ends_on) = change.ends_on {
        after.ends_on = ends_on;
        if ends_on.is_some_and(|end| end < after.starts_on) {
            errors.push(FieldError::new("endsOn", "must not be before startsOn"));
        }
    }
    if change.pickup_time.is_some() || change.arrival_time.is_some() {
        let shown = |t: NaiveTime| t.format("%H:%M").to_string();
        let pickup = change
            .pickup_time
            .clone()
            .unwrap_or(shown(before.pickup_time));
        let arrival = change
            .arrival_time
            .clone()
            .unwrap_or(shown(before.arrival_time));
        match check_times(&pickup, &arrival) {
            Ok((p, a)) => (after.pickup_time, after.arrival_time) = (p, a),
            Err(e) => errors.extend(e),
        }
    }
    if let Some(days) = change.horizon_days {
        if (1..=MAX_HORIZON_DAYS).contains(&days) {
            after.horizon_days = days;
        } else {
            errors.push(FieldError::new(
                "horizonDays",
                format!("must be 1 to {MAX_HORIZON_DAYS}"),
            ));
        }
    }
    if let Some(paused) = change.paused {
        after.paused_at = if paused {
            before.paused_at.or(Some(now))
        } else {
            None
        };
    }
    if let Some(fields) = &change.order {
        for (field, value) in fields {
            if TEMPLATE_FIELDS.contains(&field.as_str()) {
                after.template.insert(field.clone(), value.clone());
            } else {
                errors.push(FieldError::new(
                    format!("order.{field}"),
                    "a series' addresses and times are not order fields to change here",
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(after)
    } else {
        Err(ApiError::validation(errors))
    }
}

/// Brings the series' orders to come that no driver has yet in line with it: their times
/// and fields follow; a date the series no longer has (or all of them, while paused) has
/// its order cancelled and its record removed, so that a later rule or a resume that has
/// the date again places a new order (the next generation's). Returns (updated, cancelled).
async fn follow(
    tx: &Transaction<'_>,
    caller: &Caller,
    before: &Series,
    series: &Series,
    change: &SeriesEdit,
    now: DateTime<Utc>,
) -> ApiResult<(usize, usize)> {
    let from = today(now);
    let rows = tx
        .query_typed(
            &format!(
                "SELECT oc.occurs_on, oc.order_id, o.pickup_date_time, o.arrival_date_time
                   FROM order_series_occurrences oc JOIN orders o ON o.id = oc.order_id
                  WHERE oc.series_id = $1 AND oc.status = 'CREATED' AND oc.occurs_on >= $2
                    AND o.pickup_date_time > $3 AND {UNDISPATCHED}
                  ORDER BY oc.occurs_on
                    FOR UPDATE OF o"
            ),
            &[p(&series.id), p(&from), p(&now)],
        )
        .await
        .context("finding the series' orders to come")?;
    let last = rows
        .last()
        .map(|r| r.col::<NaiveDate>("occurs_on"))
        .transpose()?
        .unwrap_or(from);
    let kept = series.dates(from, last)?;
    let fields = template_update(change);
    let (mut updated, mut cancelled) = (0, 0);
    for row in &rows {
        let date: NaiveDate = row.col("occurs_on")?;
        let order_id: Uuid = row.col("order_id")?;
        if series.paused_at.is_some() || !kept.contains(&date) {
            // Locked above with no driver; checked again all the same.
            if !cancel_if_undispatched(tx, caller, order_id, "no longer in its series").await? {
                continue;
            }
            tx.execute_typed(
                "DELETE FROM order_series_occurrences WHERE series_id = $1 AND occurs_on = $2",
                &[p(&series.id), p(&date)],
            )
            .await?;
            cancelled += 1;
            continue;
        }
        // New times reach an order still at the series' old times of its date: one moved
        // by hand keeps its own.
        let retimed = change.pickup_time.is_some() || change.arrival_time.is_some();
        let at_old_times = (row.col("pickup_date_time")?, row.col("arrival_date_time")?)
            == before.times_on(date)?;
        let times = if retimed && at_old_times {
            let (pickup, arrival) = series.times_on(date)?;
            (Some(pickup), Some(arrival))
        } else {
            (None, None)
        };
        let update = OrderUpdate {
            pickup_date_time: times.0,
            arrival_date_time: times.1,
            ..fields.clone()
        };
        if update.is_empty() {
            continue;
        }
        let order = edit::lock_visible(tx, caller, OrderRef::Id(order_id)).await?;
        edit::update(tx, caller, &order, &update).await?;
        updated += 1;
    }
    if cancelled > 0 {
        tx.execute_typed(
            "UPDATE order_series SET generation = generation + 1 WHERE id = $1",
            &[p(&series.id)],
        )
        .await?;
    }
    Ok((updated, cancelled))
}

/// The order fields an edit changes, as an order update.
fn template_update(change: &SeriesEdit) -> OrderUpdate {
    let Some(fields) = &change.order else {
        return OrderUpdate::default();
    };
    let text = |name: &str| fields.get(name).and_then(Value::as_str).map(str::to_owned);
    let number = |name: &str| fields.get(name).and_then(Value::as_f64);
    let integer = |name: &str| fields.get(name).and_then(Value::as_i64);
    OrderUpdate {
        brokerage: text("brokerage"),
        client_attention: text("clientAttention"),
        pickup_notes: text("pickupNotes"),
        special_notes: text("specialNotes"),
        headcount: integer("headcount"),
        need_host: text("needHost"),
        hours_needed: number("hoursNeeded"),
        number_of_hosts: integer("numberOfHosts"),
        order_total: number("orderTotal"),
        tip: number("tip"),
        ..OrderUpdate::default()
    }
}

/// Who may ask for a series at all: the roles that place orders. Drivers are refused
/// before anything is read.
pub fn require(caller: &Caller) -> ApiResult<()> {
    caller.require(Permission::CreateOrders)
}
