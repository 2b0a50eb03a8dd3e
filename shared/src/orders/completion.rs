//! What a driver must have recorded before completing an order: a photo at the drop-off,
//! the recipient's signature, the hand-off PIN (the code the recipient is sent as the
//! driver arrives, see `auth::pins`; five wrong codes lock it, and staff complete the
//! order by its order status). Staff set it per order type and, replacing that for one
//! customer, per client (`completion_requirements`, every change audited); where nothing
//! is set nothing is required.
//!
//! [`check`] runs inside the status change that moves the driver status to COMPLETED: a
//! missing proof is a 422 `proof_required` naming each one, and nothing is written. Staff
//! closing an order by its order status are not held to it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::rules::OrderType;
use crate::{
    audit::{self, Entity},
    auth::{rbac::Caller, Permission, Role},
    db::{p, FromRow, GenericClient, RowExt, Transaction},
    error::{ApiError, ApiResult, Context, FieldError},
    text_enum::text_enum,
    AppState,
};

text_enum! {
    /// A proof a completion may require.
    pub enum Proof("proof") {
        /// The driver's photo at the drop-off (`POST .../pod`).
        Photo = "photo",
        /// The recipient's signature (`POST .../signature`).
        Signature = "signature",
        /// The hand-off code, entered by the driver with `COMPLETED`.
        Pin = "pin",
    }
}

/// Which proofs completing an order needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Requirements {
    pub photo: bool,
    pub signature: bool,
    pub pin: bool,
}

/// `{photo, signature}` as staff send it: both are said.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequirementsInput {
    pub photo: Option<bool>,
    pub signature: Option<bool>,
    pub pin: Option<bool>,
}

impl RequirementsInput {
    fn check(&self) -> ApiResult<Requirements> {
        let mut errors = Vec::new();
        if self.photo.is_none() {
            errors.push(FieldError::new("photo", "is required (true or false)"));
        }
        if self.signature.is_none() {
            errors.push(FieldError::new("signature", "is required (true or false)"));
        }
        if self.pin.is_none() {
            errors.push(FieldError::new("pin", "is required (true or false)"));
        }
        match (self.photo, self.signature, self.pin) {
            (Some(photo), Some(signature), Some(pin)) => Ok(Requirements {
                photo,
                signature,
                pin,
            }),
            _ => Err(ApiError::validation(errors)),
        }
    }
}

/// One set of requirements as staff see it: an order type's or a client's.
#[derive(Debug, Clone, Serialize, PartialEq, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub order_type: Option<OrderType>,
    pub client_id: Option<Uuid>,
    /// The client's email, for a client's rule.
    pub client_email: Option<String>,
    pub photo: bool,
    pub signature: bool,
    pub pin: bool,
    pub updated_by: Option<Uuid>,
    pub updated_at: DateTime<Utc>,
}

/// Every rule: the order types' first, then the clients' by email.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Rules {
    pub order_types: Vec<Rule>,
    pub clients: Vec<Rule>,
}

const SELECT: &str =
    "SELECT r.order_type, r.client_id, u.email AS client_email, r.photo, r.signature,
                             r.pin, r.updated_by, r.updated_at
                        FROM completion_requirements r LEFT JOIN users u ON u.id = r.client_id";

pub async fn list(client: &impl GenericClient, caller: &Caller) -> ApiResult<Rules> {
    caller.require(Permission::DispatchDrivers)?;
    let rows = client
        .query_typed(
            &format!("{SELECT} ORDER BY r.order_type NULLS LAST, u.email"),
            &[],
        )
        .await?;
    let rules = Rule::from_rows(&rows)?;
    let (order_types, clients) = rules.into_iter().partition(|r| r.order_type.is_some());
    Ok(Rules {
        order_types,
        clients,
    })
}

/// Whose requirements a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    OrderType(OrderType),
    Client(Uuid),
}

impl Scope {
    /// The audit's entity id: a client's own id; an order type's fixed one, so each
    /// type's history is one list.
    fn audit_id(self) -> Uuid {
        match self {
            Scope::Client(id) => id,
            Scope::OrderType(OrderType::Catering) => Uuid::from_u128(1),
            Scope::OrderType(OrderType::OnDemand) => Uuid::from_u128(2),
        }
    }

    fn params(self) -> (Option<OrderType>, Option<Uuid>) {
        match self {
            Scope::OrderType(t) => (Some(t), None),
            Scope::Client(id) => (None, Some(id)),
        }
    }
}

/// 404 unless `user_id` is a customer's account (a client or vendor, who place orders).
async fn require_customer(tx: &Transaction<'_>, user_id: Uuid) -> ApiResult<()> {
    let role: Role = tx
        .query_typed_opt(
            "SELECT role FROM users WHERE id = $1 AND deleted_at IS NULL",
            &[p(&user_id)],
        )
        .await?
        .ok_or_else(|| ApiError::not_found("client"))?
        .col("role")?;
    if !matches!(role, Role::Client | Role::Vendor) {
        return Err(ApiError::unprocessable(
            "not_a_customer",
            format!("a {role} account places no orders"),
        ));
    }
    Ok(())
}

/// The rule of `scope` as it stands, if set.
async fn current(tx: &Transaction<'_>, scope: Scope) -> ApiResult<Option<Rule>> {
    let (order_type, client_id) = scope.params();
    tx.query_typed_opt(
        &format!("{SELECT} WHERE r.order_type = $1 OR r.client_id = $2 FOR UPDATE OF r"),
        &[p(&order_type), p(&client_id)],
    )
    .await?
    .map(|row| Rule::from_row(&row))
    .transpose()
}

fn audited(rule: Option<&Rule>) -> serde_json::Value {
    serde_json::json!({
        "photo": rule.map(|r| r.photo),
        "signature": rule.map(|r| r.signature),
        "pin": rule.map(|r| r.pin),
    })
}

/// Sets the requirements of an order type or a client, audited in the same transaction.
#[tracing::instrument(name = "set_completion_requirements", skip_all, fields(?scope))]
pub async fn set(
    state: &AppState,
    caller: &Caller,
    scope: Scope,
    input: &RequirementsInput,
) -> ApiResult<Rule> {
    caller.require(Permission::DispatchDrivers)?;
    let wanted = input.check()?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    if let Scope::Client(id) = scope {
        require_customer(&tx, id).await?;
    }
    let before = current(&tx, scope).await?;
    let (order_type, client_id) = scope.params();
    let conflict = match scope {
        Scope::OrderType(_) => "(order_type) WHERE order_type IS NOT NULL",
        Scope::Client(_) => "(client_id) WHERE client_id IS NOT NULL",
    };
    tx.execute_typed(
        &format!(
            "INSERT INTO completion_requirements (order_type, client_id, photo, signature, pin, updated_by)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT {conflict}
             DO UPDATE SET photo = EXCLUDED.photo, signature = EXCLUDED.signature, pin = EXCLUDED.pin,
                           updated_by = EXCLUDED.updated_by, updated_at = now()"
        ),
        &[
            p(&order_type),
            p(&client_id),
            p(&wanted.photo),
            p(&wanted.signature),
            p(&wanted.pin),
            p(&caller.user_id),
        ],
    )
    .await
    .context("setting completion requirements")?;
    let after = current(&tx, scope)
        .await?
        .ok_or_else(|| ApiError::internal("completion requirements vanished"))?;
    audit::record(
        &tx,
        Entity::CompletionRequirements,
        scope.audit_id(),
        "UPDATE",
        caller.user_id,
        audit::diff(&audited(before.as_ref()), &audited(Some(&after))),
        None,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        photo = after.photo,
        signature = after.signature,
        "completion requirements set"
    );
    Ok(after)
}

/// Removes a client's own requirements: its orders follow their order type's again.
/// 404 when the client has none.
pub async fn clear_client(state: &AppState, caller: &Caller, client_id: Uuid) -> ApiResult<()> {
    caller.require(Permission::DispatchDrivers)?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let before = current(&tx, Scope::Client(client_id))
        .await?
        .ok_or_else(|| ApiError::not_found("client's completion requirements"))?;
    tx.execute_typed(
        "DELETE FROM completion_requirements WHERE client_id = $1",
        &[p(&client_id)],
    )
    .await?;
    audit::record(
        &tx,
        Entity::CompletionRequirements,
        client_id,
        "DELETE",
        caller.user_id,
        audit::diff(&audited(Some(&before)), &audited(None)),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Wrong codes after which the hand-off PIN is locked: staff complete the order.
pub const MAX_PIN_FAILURES: i32 = 5;

/// What the order's completion requires (its client's rule, else its order type's) and
/// what its current delivery holds.
struct Standing {
    required: Requirements,
    has_photo: bool,
    has_signature: bool,
    pin_verified: bool,
    pin_locked: bool,
}

async fn standing(client: &impl GenericClient, order_id: Uuid) -> ApiResult<Standing> {
    let row = client
        .query_typed_one(
            "SELECT COALESCE(r.photo, false) AS photo, COALESCE(r.signature, false) AS signature,
                    -- Partner orders are not held to a PIN: their recipients hear from the
                    -- partner, not from us, so no code could reach them.
                    COALESCE(r.pin, false) AND o.partner_id IS NULL AS pin,
                    COALESCE(d.pod_upload_id IS NOT NULL, false) AS has_photo,
                    COALESCE(d.signature_upload_id IS NOT NULL, false) AS has_signature,
                    COALESCE(d.handoff_pin_verified_at IS NOT NULL, false) AS pin_verified,
                    COALESCE(d.handoff_pin_failures >= $2, false) AS pin_locked
               FROM orders o
               LEFT JOIN LATERAL (
                    SELECT cr.photo, cr.signature, cr.pin FROM completion_requirements cr
                     WHERE cr.client_id = o.user_id OR cr.order_type = o.order_type
                     ORDER BY cr.client_id IS NULL LIMIT 1) r ON true
               LEFT JOIN dispatches ds ON ds.order_id = o.id AND ds.unassigned_at IS NULL
               LEFT JOIN deliveries d ON d.dispatch_id = ds.id
              WHERE o.id = $1",
            &[p(&order_id), p(&MAX_PIN_FAILURES)],
        )
        .await
        .context("reading the completion requirements")?;
    Ok(Standing {
        required: Requirements {
            photo: row.col("photo")?,
            signature: row.col("signature")?,
            pin: row.col("pin")?,
        },
        has_photo: row.col("has_photo")?,
        has_signature: row.col("has_signature")?,
        pin_verified: row.col("pin_verified")?,
        pin_locked: row.col("pin_locked")?,
    })
}

/// What completing the order requires: its client's rule, else its order type's.
pub async fn required(client: &impl GenericClient, order_id: Uuid) -> ApiResult<Requirements> {
    Ok(standing(client, order_id).await?.required)
}

/// 422 `proof_required` naming each proof the order's completion needs and its current
/// delivery lacks; 409 `pin_locked` once five wrong codes locked the hand-off PIN.
pub async fn check(tx: &Transaction<'_>, order_id: Uuid) -> ApiResult<()> {
    let standing = standing(tx, order_id).await?;
    let required = standing.required;
    if required.pin && standing.pin_locked && !standing.pin_verified {
        return Err(pin_locked());
    }
    let mut missing = Vec::new();
    if required.photo && !standing.has_photo {
        missing.push(Proof::Photo);
    }
    if required.signature && !standing.has_signature {
        missing.push(Proof::Signature);
    }
    if required.pin && !standing.pin_verified {
        missing.push(Proof::Pin);
    }
    if missing.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = missing.iter().map(|m| m.as_str()).collect();
    Err(ApiError::unprocessable(
        "proof_required",
        format!(
            "completing this order needs its {} first",
            names.join(" and ")
        ),
    )
    .with_details(serde_json::json!({ "missing": missing })))
}

/// Draws the hand-off code of the order's current delivery, as the driver arrives (unless
/// one was drawn already): its nonce, from which `auth::pins` derives the code the relay
/// sends. The delivery's id, for the messages that carry the code.
pub async fn draw_handoff_pin(tx: &Transaction<'_>, order_id: Uuid) -> ApiResult<Option<Uuid>> {
    tx.query_typed_opt(
        "UPDATE deliveries d SET handoff_pin_nonce = COALESCE(d.handoff_pin_nonce, gen_random_uuid())
           FROM dispatches ds
          WHERE ds.order_id = $1 AND ds.unassigned_at IS NULL AND d.dispatch_id = ds.id
          RETURNING d.id",
        &[p(&order_id)],
    )
    .await
    .context("drawing the hand-off code")?
    .map(|row| row.col("id"))
    .transpose()
}

/// The driver enters the hand-off code of the order's current delivery, in a transaction
/// of its own so that a wrong code counts even though the completion it came with fails:
/// the right code is recorded; a wrong one is a 422 `wrong_pin` saying how many tries are
/// left, and the fifth locks it (409 `pin_locked`: staff complete the order). 409
/// `no_pin_sent` before a code was sent. The code is checked, never stored or logged.
pub async fn enter_pin(state: &AppState, order_id: Uuid, entered: &str) -> ApiResult<()> {
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let row = tx
        .query_typed_opt(
            "SELECT d.id, d.handoff_pin_nonce, d.handoff_pin_failures,
                    d.handoff_pin_verified_at IS NOT NULL AS verified
               FROM dispatches ds JOIN deliveries d ON d.dispatch_id = ds.id
              WHERE ds.order_id = $1 AND ds.unassigned_at IS NULL
              FOR UPDATE OF d",
            &[p(&order_id)],
        )
        .await
        .context("reading the hand-off code's state")?;
    let Some(row) = row else {
        return Err(no_pin_sent());
    };
    if row.col::<bool>("verified")? {
        return Ok(());
    }
    let delivery_id: Uuid = row.col("id")?;
    let failures: i32 = row.col("handoff_pin_failures")?;
    if failures >= MAX_PIN_FAILURES {
        return Err(pin_locked());
    }
    let Some(nonce) = row.col::<Option<Uuid>>("handoff_pin_nonce")? else {
        return Err(no_pin_sent());
    };
    let keys = state.jwt().await?;
    if crate::auth::pins::verify(&keys, delivery_id, nonce, entered) {
        tx.execute_typed(
            "UPDATE deliveries SET handoff_pin_verified_at = now() WHERE id = $1",
            &[p(&delivery_id)],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(%delivery_id, "hand-off code entered");
        return Ok(());
    }
    let failures: i32 = tx
        .query_typed_one(
            "UPDATE deliveries SET handoff_pin_failures = handoff_pin_failures + 1 WHERE id = $1
             RETURNING handoff_pin_failures",
            &[p(&delivery_id)],
        )
        .await?
        .col("handoff_pin_failures")?;
    tx.commit().await?;
    tracing::warn!(%delivery_id, failures, "wrong hand-off code entered");
    if failures >= MAX_PIN_FAILURES {
        return Err(pin_locked());
    }
    Err(
        ApiError::unprocessable("wrong_pin", "the hand-off code is not right")
            .with_details(serde_json::json!({ "triesLeft": MAX_PIN_FAILURES - failures })),
    )
}

fn pin_locked() -> ApiError {
    ApiError::conflict(
        "pin_locked",
        format!(
            "the hand-off code was entered wrong {MAX_PIN_FAILURES} times: staff must complete this order"
        ),
    )
}

fn no_pin_sent() -> ApiError {
    ApiError::conflict(
        "no_pin_sent",
        "no hand-off code was sent for this delivery yet: it is sent as the driver arrives",
    )
}
