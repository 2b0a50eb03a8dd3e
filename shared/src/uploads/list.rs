//! Listing files, newest first in keyset pages, for an entity (`GET /api/file-uploads`),
//! an order by number (`GET /api/orders/{order_number}/files`) or an account (`GET
//! /api/users/{userId}/files`). Every list is filtered by [`FileAccess`] in its `WHERE`,
//! and an entity the caller may not see answers 404, as one that does not exist.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{access::FileAccess, policy::UploadCategory, sign::may_attach, EntityType};
use crate::{
    auth::{rbac::Caller, Permission},
    db::{p, FromRow, GenericClient, Param},
    error::{ApiError, ApiResult, Context},
    input::{Cursor, Page, PageRequest},
    orders::{self, edit::OrderRef},
};

/// An active file as lists show it (a download URL comes from its own route).
#[derive(Debug, Clone, Serialize, PartialEq, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct FileItem {
    pub id: Uuid,
    pub file_name: String,
    pub file_type: String,
    pub file_size: i64,
    pub category: Option<UploadCategory>,
    pub entity_type: Option<EntityType>,
    pub entity_id: Option<Uuid>,
    /// None for an applicant's document (no account uploaded it).
    #[row(rename = "user_id")]
    pub uploaded_by: Option<Uuid>,
    pub uploaded_at: DateTime<Utc>,
}

/// One page of the active files matching `filter` (over `f`, its parameters from `$8`)
/// that the caller may see.
async fn page_of(
    client: &impl GenericClient,
    caller: &Caller,
    filter: &str,
    filter_params: &[Param<'_>],
    page: &PageRequest,
) -> ApiResult<Page<FileItem>> {
    let access = FileAccess::of(caller);
    let (after_time, after_id) = page.after.as_ref().map(|c| (c.at, c.id)).unzip();
    let limit = page.fetch_limit();
    let sql = format!(
        "SELECT f.id, f.file_name, f.file_type, f.file_size, f.category, f.entity_type,
                f.entity_id, f.user_id, f.uploaded_at
           FROM file_uploads f
          WHERE f.status = 'ACTIVE' AND f.deleted_at IS NULL AND {access} AND {filter}
            AND ($5::timestamptz IS NULL OR (f.uploaded_at, f.id) < ($5, $6))
          ORDER BY f.uploaded_at DESC, f.id DESC
          LIMIT $7",
        access = access.sql(1),
    );
    let mut params: Vec<Param<'_>> = access.params().into();
    params.extend([p(&after_time), p(&after_id), p(&limit)]);
    params.extend_from_slice(filter_params);
    let rows = client
        .query_typed(&sql, &params)
        .await
        .context("listing files")?;
    let items = rows
        .iter()
        .map(FileItem::from_row)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page, |f| Cursor {
        at: f.uploaded_at,
        id: f.id,
    }))
}

const ENTITY_FILTER: &str = "f.entity_type = $8 AND f.entity_id = $9";

/// The files attached to an entity. An entity the caller may not attach to is a 404,
/// unless they uploaded some of its files themselves (a driver since reassigned).
pub async fn for_entity(
    client: &impl GenericClient,
    caller: &Caller,
    entity_type: EntityType,
    entity_id: Uuid,
    page: &PageRequest,
) -> ApiResult<Page<FileItem>> {
    let files = page_of(
        client,
        caller,
        ENTITY_FILTER,
        &[p(&entity_type), p(&entity_id)],
        page,
    )
    .await?;
    if files.items.is_empty() {
        may_attach(client, caller, entity_type, entity_id).await?;
    }
    Ok(files)
}

/// The files of an order, by its number, for those who may see the order.
pub async fn for_order(
    client: &impl GenericClient,
    caller: &Caller,
    order_number: &str,
    page: &PageRequest,
) -> ApiResult<Page<FileItem>> {
    let order_id = orders::visible_id(client, caller, OrderRef::Number(order_number))
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    page_of(
        client,
        caller,
        ENTITY_FILTER,
        &[p(&EntityType::Order), p(&order_id)],
        page,
    )
    .await
}

/// An account's files: those it uploaded and those attached to it. Only the account
/// itself and staff see them; anyone else, and an unknown account, get 404.
pub async fn for_user(
    client: &impl GenericClient,
    caller: &Caller,
    user_id: Uuid,
    page: &PageRequest,
) -> ApiResult<Page<FileItem>> {
    let known = caller.user_id == user_id
        || (caller.can(Permission::ViewUsers)
            && client
                .query_typed_opt(
                    "SELECT 1 FROM users WHERE id = $1 AND deleted_at IS NULL",
                    &[p(&user_id)],
                )
                .await
                .context("finding the account")?
                .is_some());
    if !known {
        return Err(ApiError::not_found("user"));
    }
    page_of(
        client,
        caller,
        "(f.user_id = $8 OR (f.entity_type = 'user' AND f.entity_id = $8))",
        &[p(&user_id)],
        page,
    )
    .await
}
