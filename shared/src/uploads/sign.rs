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
    EntityType, UploadStatus, Uploader,
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

/// The file an upload is for: `{fileName, fileType, fileSize, category}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileFields {
    pub file_name: String,
    pub file_type: String,
    pub file_size: i64,
    pub category: String,
}

/// `{fileName, fileType, fileSize, category, entityType, entityId}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignRequest {
    #[serde(flatten)]
    pub file: FileFields,
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

/// A file that may be uploaded.
pub(crate) struct CheckedFile {
    name: String,
    extension: String,
    content_type: &'static str,
    size: i64,
    category: UploadCategory,
}

impl CheckedFile {
    pub(crate) fn category(&self) -> UploadCategory {
        self.category
    }
}

/// Checks a file's name, declared type (agreeing with the extension), category and size.
pub(crate) fn check_file(v: &mut Validator, file: &FileFields) -> Option<CheckedFile> {
    let name = v.take(policy::file_name(&file.file_name));
    let kind = name
        .as_ref()
        .and_then(|(_, ext)| v.take(policy::file_kind(&file.file_type, ext)));
    let category = v.take(
        file.category
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
    let size = category.and_then(|c| v.take(policy::file_size(file.file_size, c)));
    let (name, extension) = name?;
    Some(CheckedFile {
        name,
        extension,
        content_type: kind?.content_type,
        size: size?,
        category: category?,
    })
}

fn check(req: &SignRequest) -> ApiResult<(CheckedFile, EntityType, Uuid)> {
    Validator::validate(|v| {
        let file = check_file(v, &req.file);
        let entity_type = v.take(
            req.entity_type
                .parse::<EntityType>()
                .map_err(|e| FieldError::new("entityType", e)),
        );
        let entity_id = v.take(
            crate::input::parse_uuid("entityId", &req.entity_id)
                .map_err(|_| FieldError::new("entityId", "must be a UUID")),
        );
        Some((file?, entity_type?, entity_id?))
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
        // Applicants attach through their application's upload link; accounts never do.
        EntityType::JobApplication => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::not_found(entity_type.as_str()))
    }
}

pub async fn sign(state: &AppState, caller: &Caller, req: &SignRequest) -> ApiResult<SignedUpload> {
    let (file, entity_type, entity_id) = check(req)?;
    let client = state.db.get().await?;
    may_attach(&*client, caller, entity_type, entity_id).await?;
    issue(
        state,
        &*client,
        Uploader::Account(caller.user_id),
        file,
        entity_type,
        entity_id,
    )
    .await
}

/// Records a `PENDING` upload of `file` to the entity and presigns its PUT.
pub(crate) async fn issue(
    state: &AppState,
    client: &impl crate::db::GenericClient,
    uploader: Uploader,
    file: CheckedFile,
    entity_type: EntityType,
    entity_id: Uuid,
) -> ApiResult<SignedUpload> {
    let upload_id = Uuid::new_v4();
    let key = policy::object_key(entity_type.as_str(), entity_id, upload_id, &file.extension);
    let order_id = (entity_type == EntityType::Order).then_some(entity_id);
    client
        .execute_typed(
            "INSERT INTO file_uploads (id, user_id, order_id, file_name, file_type, file_size, s3_key,
                                       category, status, entity_type, entity_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                p(&upload_id),
                p(&uploader.account()),
                p(&order_id),
                p(&file.name),
                p(&file.content_type),
                p(&file.size),
                p(&key),
                p(&file.category),
                p(&UploadStatus::Pending),
                p(&entity_type),
                p(&entity_id),
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
        .content_type(file.content_type)
        .content_length(file.size)
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
