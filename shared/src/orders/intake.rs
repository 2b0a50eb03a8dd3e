//! A client's new order (catering request or on-demand delivery): the body as clients
//! send it, checked by [`super::rules`], stored with its addresses and distance in one
//! transaction.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    create,
    rules::{self, OrderDetails, OrderNotes, Schedule},
    status::OrderStatus,
    Actor, Order,
};
use crate::{
    addresses::{self, AddressInput, ValidAddress},
    auth::{Caller, Permission},
    db::GenericClient,
    error::{ApiError, ApiResult, Context, FieldError},
    geo::{self, Point},
    input::{parse_uuid, Validator},
    AppState,
};

/// An order's address: one the caller may use, or a new one.
pub enum AddressChoice {
    Saved(Uuid),
    New(Box<ValidAddress>),
}

/// Checks that exactly one of `<field>Id` and `<field>` is given and valid.
pub fn choose_address(
    v: &mut Validator,
    field: &str,
    id: Option<&str>,
    inline: Option<&AddressInput>,
) -> Option<AddressChoice> {
    match (id, inline) {
        (Some(id), None) => match parse_uuid(&format!("{field}Id"), id) {
            Ok(id) => Some(AddressChoice::Saved(id)),
            Err(_) => {
                v.push(FieldError::new(
                    format!("{field}Id"),
                    "must be a lowercase UUID",
                ));
                None
            }
        },
        (None, Some(inline)) => {
            addresses::validate(v, field, inline).map(|a| AddressChoice::New(Box::new(a)))
        }
        _ => {
            v.push(FieldError::new(
                field,
                format!("give either {field}Id or {field}"),
            ));
            None
        }
    }
}

/// Stores a new address or checks the caller may use a saved one; 404 for an address
/// that is not theirs. Returns the id and where it is.
pub async fn place(
    state: &AppState,
    client: &impl GenericClient,
    caller: &Caller,
    choice: &AddressChoice,
) -> ApiResult<(Uuid, Option<Point>)> {
    match choice {
        AddressChoice::New(address) => {
            addresses::insert(state, client, address, caller.user_id).await
        }
        AddressChoice::Saved(id) => {
            let any = caller.can(Permission::ManageAllAddresses);
            if !addresses::usable_by(client, *id, caller.user_id, any).await? {
                return Err(ApiError::not_found("address"));
            }
            Ok((*id, geo::address_point(client, *id).await?))
        }
    }
}

/// The fields every order has, as clients send them.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderBasics {
    pub pickup_address_id: Option<String>,
    pub pickup_address: Option<AddressInput>,
    pub delivery_address_id: Option<String>,
    pub delivery_address: Option<AddressInput>,
    pub pickup_date_time: DateTime<Utc>,
    pub arrival_date_time: DateTime<Utc>,
    pub brokerage: Option<String>,
    pub client_attention: Option<String>,
    pub pickup_notes: Option<String>,
    pub special_notes: Option<String>,
    /// Food or goods total, in dollars.
    #[serde(default)]
    pub order_total: f64,
    #[serde(default)]
    pub tip: f64,
}

/// The catering fields of a create body; the common ones are read as [`OrderBasics`] from
/// the same body, so errors name their fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CateringFields {
    pub headcount: i64,
    pub need_host: Option<String>,
    pub hours_needed: Option<f64>,
    pub number_of_hosts: Option<i64>,
}

/// The on-demand fields of a create body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OnDemandFields {
    pub item_delivered: String,
    pub vehicle_type: String,
    pub length: Option<f64>,
    pub width: Option<f64>,
    pub height: Option<f64>,
    pub weight: Option<f64>,
}

/// The type-specific part of a create body.
pub enum DetailsFields {
    Catering(CateringFields),
    OnDemand(OnDemandFields),
}

/// A create body after every check.
struct CheckedOrder {
    pickup: AddressChoice,
    delivery: AddressChoice,
    schedule: Schedule,
    notes: OrderNotes,
    details: OrderDetails,
    order_total_cents: i64,
    tip_cents: i64,
}

fn check(
    v: &mut Validator,
    basics: &OrderBasics,
    details: &DetailsFields,
    now: DateTime<Utc>,
    may_backdate: bool,
) -> Option<CheckedOrder> {
    let pickup = choose_address(
        v,
        "pickupAddress",
        basics.pickup_address_id.as_deref(),
        basics.pickup_address.as_ref(),
    );
    let delivery = choose_address(
        v,
        "deliveryAddress",
        basics.delivery_address_id.as_deref(),
        basics.delivery_address.as_ref(),
    );
    let schedule = rules::schedule(
        v,
        basics.pickup_date_time,
        basics.arrival_date_time,
        now,
        may_backdate,
    );
    let notes = rules::notes(
        v,
        rules::NotesInput {
            brokerage: basics.brokerage.as_deref(),
            client_attention: basics.client_attention.as_deref(),
            pickup_notes: basics.pickup_notes.as_deref(),
            special_notes: basics.special_notes.as_deref(),
        },
    );
    let order_total_cents = rules::order_amount(v, "orderTotal", basics.order_total);
    let tip_cents = rules::order_amount(v, "tip", basics.tip);
    let details = match details {
        DetailsFields::Catering(f) => rules::catering(
            v,
            &rules::CateringInput {
                headcount: f.headcount,
                need_host: f.need_host.as_deref(),
                hours_needed: f.hours_needed,
                number_of_hosts: f.number_of_hosts,
            },
        )
        .map(OrderDetails::Catering),
        DetailsFields::OnDemand(f) => rules::on_demand(
            v,
            &rules::OnDemandInput {
                item_delivered: &f.item_delivered,
                vehicle_type: &f.vehicle_type,
                length: f.length,
                width: f.width,
                height: f.height,
                weight: f.weight,
            },
        )
        .map(OrderDetails::OnDemand),
    };
    Some(CheckedOrder {
        pickup: pickup?,
        delivery: delivery?,
        schedule: schedule?,
        notes,
        details: details?,
        order_total_cents: order_total_cents?,
        tip_cents: tip_cents?,
    })
}

/// Checks a create body by the same rules as [`create_order`], storing nothing: a series
/// checks the order it will place for each of its dates.
pub fn check_only(
    caller: &Caller,
    basics: &OrderBasics,
    details: &DetailsFields,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let may_backdate = caller.can(Permission::BackdateOrders);
    Validator::validate(|v| check(v, basics, details, now, may_backdate)).map(|_| ())
}

/// Creates a client's order in one transaction: addresses, distance, the order and its
/// first history row. Returns the order as the caller sees it. The caller holds
/// `CreateOrders` (checked by the route before it reads the body).
pub async fn create_order(
    state: &AppState,
    caller: &Caller,
    basics: &OrderBasics,
    details: &DetailsFields,
    idempotency_key: Option<String>,
) -> ApiResult<Order> {
    for inline in [&basics.pickup_address, &basics.delivery_address]
        .into_iter()
        .flatten()
    {
        addresses::check_sharing(caller, inline)?;
    }
    let may_backdate = caller.can(Permission::BackdateOrders);
    let order = Validator::validate(|v| check(v, basics, details, Utc::now(), may_backdate))?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    // Both places at once: their statements share the connection's round trips.
    let ((pickup_id, pickup_point), (delivery_id, delivery_point)) = tokio::try_join!(
        place(state, &tx, caller, &order.pickup),
        place(state, &tx, caller, &order.delivery),
    )?;
    let (distance, needs_review) = geo::route_distance(state, pickup_point, delivery_point).await;
    let new = create::NewOrder {
        order_number: None,
        user_id: caller.user_id,
        partner: None,
        pickup_address_id: pickup_id,
        delivery_address_id: delivery_id,
        status: OrderStatus::Active,
        schedule: order.schedule,
        notes: order.notes,
        details: order.details,
        order_total_cents: order.order_total_cents,
        tip_cents: order.tip_cents,
        priced: None,
        distance_hundredths: Some(distance),
        needs_manual_review: needs_review,
        metadata: serde_json::json!({}),
        idempotency_key,
    };
    let inserted = create::insert(&tx, &new, Actor::User(caller.user_id)).await?;
    let created = super::find_visible(&tx, caller, inserted.id)
        .await?
        .ok_or_else(|| ApiError::internal("created order not visible to its creator"))?;
    tx.commit().await.context("saving the order")?;
    tracing::info!(order_id = %created.id, order_number = %created.order_number, existing = inserted.existing, "order created");
    Ok(created)
}
