//! Proof of delivery (`POST /api/orders/{order_number}/pod` and `/signature`): the order's
//! assigned driver attaches an active photo or signature they uploaded for the order to
//! their delivery of it. A retaken photo replaces the one before; the files stay.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{policy::UploadCategory, EntityType};
use crate::{
    auth::rbac::Caller,
    db::{p, Row, RowExt, Transaction},
    error::{ApiError, ApiResult, Context},
    orders::{
        edit::{lock_visible, OrderRef},
        status::OrderStatus,
    },
    AppState,
};

/// Which proof a route records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofKind {
    /// The photo at the drop-off.
    Photo,
    /// The recipient's signature.
    Signature,
}

impl ProofKind {
    /// The category its upload must have.
    pub fn category(self) -> UploadCategory {
        match self {
            ProofKind::Photo => UploadCategory::Pod,
            ProofKind::Signature => UploadCategory::Signature,
        }
    }

    /// The delivery's columns it fills: the upload and when it was recorded.
    fn columns(self) -> (&'static str, &'static str) {
        match self {
            ProofKind::Photo => ("pod_upload_id", "pod_recorded_at"),
            ProofKind::Signature => ("signature_upload_id", "signature_recorded_at"),
        }
    }
}

/// `{uploadId}`: the completed upload to attach.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProofRequest {
    pub upload_id: Uuid,
}

/// One recorded proof.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Proof {
    pub upload_id: Uuid,
    pub recorded_at: DateTime<Utc>,
}

/// A delivery's proofs as they stand.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryProofs {
    pub delivery_id: Uuid,
    pub order_id: Uuid,
    pub driver_id: Uuid,
    pub proof_of_delivery: Option<Proof>,
    pub signature: Option<Proof>,
}

impl DeliveryProofs {
    fn from_row(row: &Row) -> ApiResult<Self> {
        let proof = |upload: &str, at: &str| -> ApiResult<Option<Proof>> {
            Ok(row
                .col::<Option<Uuid>>(upload)?
                .zip(row.col::<Option<DateTime<Utc>>>(at)?)
                .map(|(upload_id, recorded_at)| Proof {
                    upload_id,
                    recorded_at,
                }))
        };
        Ok(Self {
            delivery_id: row.col("id")?,
            order_id: row.col("order_id")?,
            driver_id: row.col("driver_id")?,
            proof_of_delivery: proof("pod_upload_id", "pod_recorded_at")?,
            signature: proof("signature_upload_id", "signature_recorded_at")?,
        })
    }
}

/// The caller's driver id when they are the order's assigned driver; 403 otherwise (they
/// see the order, as its owner or staff, but do not deliver it).
async fn assigned_driver(tx: &Transaction<'_>, caller: &Caller, order_id: Uuid) -> ApiResult<Uuid> {
    crate::orders::dispatch_driven_by(tx, order_id, caller.user_id)
        .await?
        .map(|(_, driver_id)| driver_id)
        .ok_or_else(|| {
            ApiError::forbidden("only the order's assigned driver records its proof of delivery")
        })
}

/// Checks that the upload is the caller's, active, of the kind's category and made for
/// this order (404 when it is not the caller's active upload, 422 when misfiled).
pub async fn check_upload(
    tx: &Transaction<'_>,
    caller: &Caller,
    kind: ProofKind,
    order_id: Uuid,
    upload_id: Uuid,
) -> ApiResult<()> {
    let row = tx
        .query_typed_opt(
            "SELECT category, entity_type, entity_id FROM file_uploads
              WHERE id = $1 AND user_id = $2 AND status = 'ACTIVE' AND deleted_at IS NULL",
            &[p(&upload_id), p(&caller.user_id)],
        )
        .await
        .context("reading the upload")?
        .ok_or_else(|| ApiError::not_found("upload"))?;
    let category: Option<UploadCategory> = row.col("category")?;
    if category != Some(kind.category()) {
        return Err(ApiError::unprocessable(
            "wrong_category",
            format!("this proof takes an upload of category {}", kind.category()),
        ));
    }
    let entity = row
        .col::<Option<EntityType>>("entity_type")?
        .zip(row.col::<Option<Uuid>>("entity_id")?);
    if entity != Some((EntityType::Order, order_id)) {
        return Err(ApiError::unprocessable(
            "wrong_entity",
            "the upload was made for another order or an account",
        ));
    }
    Ok(())
}

pub async fn attach(
    state: &AppState,
    caller: &Caller,
    order_number: &str,
    kind: ProofKind,
    request: &ProofRequest,
) -> ApiResult<DeliveryProofs> {
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let order = lock_visible(&tx, caller, OrderRef::Number(order_number)).await?;
    let driver_id = assigned_driver(&tx, caller, order.id).await?;
    if order.status == OrderStatus::Cancelled {
        return Err(ApiError::conflict(
            "order_closed",
            "a cancelled order takes no proof of delivery",
        ));
    }
    check_upload(&tx, caller, kind, order.id, request.upload_id).await?;
    let (upload_column, recorded_column) = kind.columns();
    let sql = format!(
        "INSERT INTO deliveries (order_id, driver_id, {upload_column}, {recorded_column})
         VALUES ($1, $2, $3, now())
         ON CONFLICT (order_id, driver_id)
         DO UPDATE SET {upload_column} = EXCLUDED.{upload_column}, {recorded_column} = now()
         RETURNING id, order_id, driver_id, pod_upload_id, pod_recorded_at,
                   signature_upload_id, signature_recorded_at"
    );
    let row = tx
        .query_typed_one(&sql, &[p(&order.id), p(&driver_id), p(&request.upload_id)])
        .await
        .context("recording the proof")?;
    let proofs = DeliveryProofs::from_row(&row)?;
    tx.commit().await?;
    tracing::info!(
        order_id = %order.id,
        delivery_id = %proofs.delivery_id,
        upload_id = %request.upload_id,
        proof = ?kind,
        "proof of delivery recorded"
    );
    Ok(proofs)
}
