//! Turning what a client sends into order rows: addresses given by id or inline, and the
//! distance between them.

use uuid::Uuid;

use crate::{
    addresses::{self, AddressInput, ValidAddress},
    auth::Caller,
    db::GenericClient,
    error::{ApiError, ApiResult, FieldError},
    geo::{self, Point},
    input::{parse_uuid, Validator},
    pricing::FALLBACK_DISTANCE_HUNDREDTHS,
    AppState,
};

/// An order's address: one of the caller's saved addresses, or a new one.
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
            // Only staff share addresses, whichever route stores them.
            let address = ValidAddress {
                is_shared: address.is_shared && caller.role.is_staff(),
                ..(**address).clone()
            };
            addresses::insert(state, client, &address, caller.user_id).await
        }
        AddressChoice::Saved(id) => {
            if !addresses::usable_by(client, *id, caller.user_id, caller.role.is_staff()).await? {
                return Err(ApiError::not_found("address"));
            }
            Ok((*id, geo::address_point(client, *id).await?))
        }
    }
}

/// The driving distance between two places, or the fallback distance and a flag for
/// manual review when either place is unknown.
pub async fn distance(state: &AppState, from: Option<Point>, to: Option<Point>) -> (i64, bool) {
    match (from, to) {
        (Some(from), Some(to)) => (geo::driving_distance(state, from, to).await.0, false),
        _ => (FALLBACK_DISTANCE_HUNDREDTHS, true),
    }
}

/// The fields every order has, as clients send them.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderBasics {
    pub pickup_address_id: Option<String>,
    pub pickup_address: Option<AddressInput>,
    pub delivery_address_id: Option<String>,
    pub delivery_address: Option<AddressInput>,
    pub pickup_date_time: chrono::DateTime<chrono::Utc>,
    pub arrival_date_time: chrono::DateTime<chrono::Utc>,
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

/// [`OrderBasics`] after validation.
pub struct CheckedBasics {
    pub pickup: AddressChoice,
    pub delivery: AddressChoice,
    pub pickup_at: chrono::DateTime<chrono::Utc>,
    pub arrival_at: chrono::DateTime<chrono::Utc>,
    pub brokerage: Option<String>,
    pub client_attention: Option<String>,
    pub pickup_notes: Option<String>,
    pub special_notes: Option<String>,
    pub order_total_cents: i64,
    pub tip_cents: i64,
}

/// Largest order total or tip accepted.
pub const MAX_ORDER_DOLLARS: i64 = 1_000_000;

/// Validates the common fields. Pickup must be in the future (staff may record past
/// orders), within a year, and arrival no earlier than pickup.
pub fn check_basics(
    v: &mut Validator,
    basics: &OrderBasics,
    now: chrono::DateTime<chrono::Utc>,
    staff: bool,
) -> Option<CheckedBasics> {
    use crate::input::bounded_text;
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
    v.check(
        staff || basics.pickup_date_time > now,
        "pickupDateTime",
        "must be in the future",
    );
    v.check(
        basics.pickup_date_time < now + chrono::Duration::days(366),
        "pickupDateTime",
        "must be within a year",
    );
    v.check(
        basics.arrival_date_time >= basics.pickup_date_time,
        "arrivalDateTime",
        "must not be before pickupDateTime",
    );
    let mut text = |field: &str, value: &Option<String>, max: usize| {
        value
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .and_then(|s| v.take(bounded_text(field, s, 1, max, true)))
    };
    let brokerage = text("brokerage", &basics.brokerage, 100);
    let client_attention = text("clientAttention", &basics.client_attention, 200);
    let pickup_notes = text("pickupNotes", &basics.pickup_notes, 2000);
    let special_notes = text("specialNotes", &basics.special_notes, 2000);
    let order_total_cents = v.amount("orderTotal", basics.order_total, MAX_ORDER_DOLLARS);
    let tip_cents = v.amount("tip", basics.tip, MAX_ORDER_DOLLARS);
    Some(CheckedBasics {
        pickup: pickup?,
        delivery: delivery?,
        pickup_at: basics.pickup_date_time,
        arrival_at: basics.arrival_date_time,
        brokerage,
        client_attention,
        pickup_notes,
        special_notes,
        order_total_cents: order_total_cents?,
        tip_cents: tip_cents?,
    })
}

/// The fields only one order type has.
pub struct TypeFields {
    pub order_type: super::create::OrderType,
    pub headcount: Option<i32>,
    pub need_host: Option<String>,
    pub hours_needed: Option<f64>,
    pub number_of_hosts: Option<i32>,
    pub item_delivered: Option<String>,
    pub vehicle_type: Option<String>,
    pub dimensions: [Option<f64>; 4],
}

/// Creates a client's order in one transaction: addresses, distance, the order and its
/// first history row. Returns the order as the caller sees it.
pub async fn create_order(
    state: &AppState,
    caller: &Caller,
    basics: CheckedBasics,
    fields: TypeFields,
    idempotency_key: Option<String>,
) -> ApiResult<super::Order> {
    use super::{create, status::OrderStatus, Actor};
    let mut client = state.db.get().await?;
    let mut tx = client.transaction().await?;
    let (pickup_id, pickup_point) = place(state, &tx, caller, &basics.pickup).await?;
    let (delivery_id, delivery_point) = place(state, &tx, caller, &basics.delivery).await?;
    let (distance, needs_review) = distance(state, pickup_point, delivery_point).await;
    let order = create::NewOrder {
        order_type: fields.order_type,
        order_number: None,
        user_id: caller.user_id,
        partner_id: None,
        partner_order_code: None,
        pickup_address_id: pickup_id,
        delivery_address_id: delivery_id,
        status: OrderStatus::Active,
        pickup_at: basics.pickup_at,
        arrival_at: basics.arrival_at,
        brokerage: basics.brokerage,
        client_attention: basics.client_attention,
        pickup_notes: basics.pickup_notes,
        special_notes: basics.special_notes,
        headcount: fields.headcount,
        need_host: fields.need_host,
        hours_needed: fields.hours_needed,
        number_of_hosts: fields.number_of_hosts,
        item_delivered: fields.item_delivered,
        vehicle_type: fields.vehicle_type,
        dimensions: fields.dimensions,
        order_total_cents: basics.order_total_cents,
        tip_cents: basics.tip_cents,
        delivery_fee_cents: None,
        distance_hundredths: Some(distance),
        pricing_configuration_id: None,
        needs_manual_review: needs_review,
        metadata: serde_json::json!({}),
        idempotency_key,
    };
    let inserted = create::insert(&mut tx, &order, Actor::User(caller.user_id)).await?;
    let created = super::find_visible(&tx, caller, inserted.id)
        .await?
        .ok_or_else(|| ApiError::internal("created order not visible to its creator"))?;
    tx.commit().await?;
    tracing::info!(order_id = %created.id, order_number = %created.order_number, existing = inserted.existing, "order created");
    Ok(created)
}
