//! `GET /api/admin/webhooks`: partner deliveries for operators (ADMIN, SUPER_ADMIN).
//!
//! Lists outbox messages newest first with their recent attempts, filtered by
//! `?partner=<slug>`, `?order=<order id or number>` and
//! `?status=PENDING|DELIVERED|DEAD|SKIPPED`; `/{id}/attempts` lists every attempt of one.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    error::FieldError,
    http::ok,
    input::{parse_uuid, query_param, PageRequest},
    orders::parse_order_number,
    outbox::admin::{list, MessageFilters},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiError, ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Admin);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Operations,
    "partner deliveries, attempts and dead messages",
    &[Route::get("/api/admin/webhooks").requires(Permission::ManageWebhooks)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(webhooks(state, req))
}

async fn webhooks(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    caller(&req)?.require(Permission::ManageWebhooks)?;
    let page = PageRequest::from_request(&req)?;
    let status = query_param(&req, "status")
        .map(|s| {
            s.parse()
                .map_err(|e: String| ApiError::validation(vec![FieldError::new("status", e)]))
        })
        .transpose()?;
    let mut filters = MessageFilters {
        partner: query_param(&req, "partner").map(str::to_ascii_lowercase),
        status,
        ..MessageFilters::default()
    };
    match query_param(&req, "order") {
        None => {}
        Some(raw) if raw.len() == 36 && raw.contains('-') => {
            filters.order_id = Some(parse_uuid("order", raw)?);
        }
        Some(raw) => filters.order_number = Some(parse_order_number(raw)?),
    }
    let client = state.db.get().await?;
    ok(&list(&*client, &filters, &page).await?)
}
