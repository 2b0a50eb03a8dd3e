//! `GET /api/users`: the admin panel's user list, filtered and paginated (staff only).
//!
//! `?role=&status=&search=&limit=&cursor=`; `status=DELETED` lists soft-deleted accounts,
//! which are hidden otherwise.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission, Role, UserStatus},
    db::p,
    error::FieldError,
    http::ok,
    input::{bounded_text, escape_like, query_param, Cursor, Page, PageRequest},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    users::{User, USER_COLUMNS},
    ApiError, ApiResult, AppState,
};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Admin);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(list_users(state, req))
}

async fn list_users(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    caller(&req)?.require(Permission::ListUsers)?;
    let page = PageRequest::from_request(&req)?;
    let role = query_param(&req, "role")
        .map(|r| {
            r.parse::<Role>()
                .map_err(|e| ApiError::validation(vec![FieldError::new("role", e)]))
        })
        .transpose()?
        .map(Role::as_str);
    let status = query_param(&req, "status")
        .map(|s| {
            s.parse::<UserStatus>()
                .map_err(|e| ApiError::validation(vec![FieldError::new("status", e)]))
        })
        .transpose()?
        .map(UserStatus::as_str);
    let search = query_param(&req, "search")
        .map(|s| {
            bounded_text("search", s, 1, 100, false).map_err(|e| ApiError::validation(vec![e]))
        })
        .transpose()?
        .map(|s| format!("%{}%", escape_like(&s)));
    let (after_time, after_id) = page.after.as_ref().map(|c| (c.at, c.id)).unzip();

    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users
         WHERE ($1::text IS NULL OR role = $1)
           AND ($2::text IS NULL OR status = $2)
           AND (deleted_at IS NULL OR $2 = 'DELETED')
           AND ($3::text IS NULL OR email ILIKE $3 OR name ILIKE $3 OR company_name ILIKE $3)
           AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5))
         ORDER BY created_at DESC, id DESC
         LIMIT $6"
    );
    let client = state.db.get().await?;
    let rows = client
        .query_typed(
            &sql,
            &[
                p(&role),
                p(&status),
                p(&search),
                p(&after_time),
                p(&after_id),
                p(&page.fetch_limit()),
            ],
        )
        .await?;
    let users = rows
        .iter()
        .map(User::from_row)
        .collect::<ApiResult<Vec<_>>>()?;
    ok(&Page::from_rows(users, &page, |u| Cursor {
        at: u.created_at,
        id: u.id,
    }))
}
