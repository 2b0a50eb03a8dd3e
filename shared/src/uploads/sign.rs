//! Issuing an upload (`POST /api/file-uploads/signed-url`): the request is checked
//! against [`super::policy`] and the caller's right to attach to the entity, a `PENDING`
//! row records who uploads what where, and S3 presigns a PUT of exactly that type and
//! size to a key the server chose.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    policy::{self, UploadCategory},
    EntityType, UploadStatus,
};
use crate::{
    auth::{rbac::Caller, Permission},
    db::p,
    error::{ApiError, ApiResult, Context, FieldError},
    input::Validator,
    AppState,
};

/// How long a presigned upload URL works.
pub const UPLOAD_URL_TTL: Duration = Duration::from_secs(10 * 60);

/// The last moment an object may have been written through the URL of an upload issued
/// at `issued_at`: its lifetime, and a little for clocks and S3's whole-second times.
pub(crate) fn upload_deadline(issued_at: DateTime<Utc>) -> DateTime<Utc> {
    const CLOCK_GRACE: chrono::Duration = chrono::Duration::seconds(30);
    issued_at + chrono::Duration::seconds(UPLOAD_URL_TTL.as_secs() as i64) + CLOCK_GRACE
}

/// `{fileName, fileType, fileSize, category, entityType, entityId}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignRequest {
    pub file_name: String,
    pub file_type: String,
    pub file_size: i64,
    pub category: String,
    pub entity_type: String,
    pub entity_id: String,
}

/// What the client uploads with: a PUT of the body to `signedUrl` with `headers`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedUpload {
    pub upload_id: Uuid,
    pub signed_url: String,
    /// The object's key (the server's, not the file's name).
    pub path: String,
    pub expires_at: DateTime<Utc>,
    /// Headers the PUT must send, as signed.
    pub headers: serde_json::Map<String, serde_json::Value>,
}

/// The checked request.
struct Checked {
    name: String,
    extension: String,
    content_type: &'static str,
    size: i64,
    category: UploadCategory,
    entity_type: EntityType,
    entity_id: Uuid,
}

fn check(req: &SignRequest) -> ApiResult<Checked> {
    Validator::validate(|v| {
        let name = v.take(policy::file_name(&req.file_name));
        let kind = name
            .as_ref()
            .and_then(|(_, ext)| v.take(policy::file_kind(&req.file_type, ext)));
        let category = v.take(
            req.category
                .parse::<UploadCategory>()
                .map_err(|e| FieldError::new("category", e)),
        );
        if let (Some(kind), Some(category)) = (kind, category) {
            v.check(
                category.accepts(kind),
                "fileType",
                "this category takes images only",
            );
        }
        let size = category.and_then(|c| v.take(policy::file_size(req.file_size, c)));
        let entity_type = v.take(
            req.entity_type
                .parse::<EntityType>()
                .map_err(|e| FieldError::new("entityType", e)),
        );
        let entity_id = v.take(
            crate::input::parse_uuid("entityId", &req.entity_id)
                .map_err(|_| FieldError::new("entityId", "must be a UUID")),
        );
        let (name, extension) = name?;
        Some(Checked {
            name,
            extension,
            content_type: kind?.content_type,
            size: size?,
            category: category?,
            entity_type: entity_type?,
            entity_id: entity_id?,
        })
    })
}

/// Whether `caller` may attach files to the entity: an order they may see, or their own
/// account (any account for staff). Anything else is "not found", never "forbidden".
pub(crate) async fn may_attach(
    client: &impl crate::db::GenericClient,
    caller: &Caller,
    entity_type: EntityType,
    entity_id: Uuid,
) -> ApiResult<()> {
    let allowed = match entity_type {
        EntityType::Order => crate::orders::find_visible(client, caller, entity_id)
            .await?
            .is_some(),
        EntityType::User => caller.user_id == entity_id || caller.can(Permission::ViewUsers),
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::not_found(entity_type.as_str()))
    }
}

pub async fn sign(state: &AppState, caller: &Caller, req: &SignRequest) -> ApiResult<SignedUpload> {
    let checked = check(req)?;
    let client = state.db.get().await?;
    may_attach(&*client, caller, checked.entity_type, checked.entity_id).await?;
    let upload_id = Uuid::new_v4();
    let key = policy::object_key(
        checked.entity_type.as_str(),
        checked.entity_id,
        upload_id,
        &checked.extension,
    );
    let order_id = (checked.entity_type == EntityType::Order).then_some(checked.entity_id);
    client
        .execute_typed(
            "INSERT INTO file_uploads (id, user_id, order_id, file_name, file_type, file_size, s3_key,
                                       category, status, entity_type, entity_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                p(&upload_id),
                p(&caller.user_id),
                p(&order_id),
                p(&checked.name),
                p(&checked.content_type),
                p(&checked.size),
                p(&key),
                p(&checked.category),
                p(&UploadStatus::Pending),
                p(&checked.entity_type),
                p(&checked.entity_id),
            ],
        )
        .await
        .context("recording the upload")?;
    let (presigning, expires_at) = super::presigning(UPLOAD_URL_TTL)?;
    let presigned = state
        .s3
        .put_object()
        .bucket(&state.config.resources.uploads_bucket)
        .key(&key)
        .content_type(checked.content_type)
        .content_length(checked.size)
        .presigned(presigning)
        .await
        .map_err(super::storage_unavailable)?;
    let headers = presigned
        .headers()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("host"))
        .map(|(name, value)| (name.to_owned(), serde_json::Value::from(value)))
        .collect();
    Ok(SignedUpload {
        upload_id,
        signed_url: presigned.uri().to_owned(),
        path: key,
        expires_at,
        headers,
    })
}
