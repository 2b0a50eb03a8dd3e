//! `GET /api/file-uploads?entityType=&entityId=`: the active files attached to an order
//! or an account, newest first, in cursor pages (`limit`, `cursor`). Only files the
//! caller may see are listed; an order or account they may not see is a 404.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::caller,
    error::FieldError,
    http::ok,
    input::{parse_uuid, query_param, PageRequest, Validator},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    uploads::{list::for_entity, EntityType},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Orders,
    "pages of the files attached to an order or account",
    &[Route::get("/api/file-uploads")],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(file_uploads(state, req))
}

async fn file_uploads(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let (entity_type, entity_id) = Validator::validate(|v| {
        let entity_type = v.take(
            query_param(&req, "entityType")
                .unwrap_or_default()
                .parse::<EntityType>()
                .map_err(|e| FieldError::new("entityType", e)),
        );
        let entity_id = v.take(
            parse_uuid("entityId", query_param(&req, "entityId").unwrap_or_default())
                .map_err(|_| FieldError::new("entityId", "must be a UUID")),
        );
        Some((entity_type?, entity_id?))
    })?;
    let page = PageRequest::from_request(&req)?;
    let client = state.db.get().await?;
    ok(&for_entity(&*client, &caller, entity_type, entity_id, &page).await?)
}
