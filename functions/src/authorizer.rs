//! The Lambda REQUEST authorizer of the HTTP API (payload 2.0, simple responses).
//!
//! Answers `{"isAuthorized": true, "context": {userId, role, sessionId}}` for a valid
//! bearer token of a live session of an active account, `{"isAuthorized": false}` for
//! anything else. API Gateway caches the answer per `Authorization` header for the TTL set
//! in `template.yaml`, so a revoked session's access token stops working within it.
//!
//! When the session store or the database is unavailable, a token that verifies is
//! approved provisionally (`provisional` in the context) and the function checks the
//! session and account before its handler runs, answering 503 while they are still down:
//! a failing authorizer would be API Gateway's 500 instead (see `shared::provisional`).

use serde_json::{json, Value};
use shared::{
    auth::{bearer_token, context, Caller},
    error::BoxError,
    provisional::{verdict, Verdict},
    runtime::{EventFuture, EventFunction},
    AppState,
};

use crate::deploy::{Deploy, Policy};

/// Every request it answers reads the session in DynamoDB and checks the token's
/// signature: both are ready before the first.
pub const FUNCTION: EventFunction = EventFunction::new(handler)
    .warm_dynamodb()
    .warm_signing_key();

pub const DEPLOY: Deploy = Deploy::authorizer(
    "Lambda authorizer - validates the bearer token, its session and account",
)
    .policies(&[Policy::DatabaseConnect, Policy::AppTableItems, Policy::SigningKeyRead]);

fn handler(state: &AppState, event: Value) -> EventFuture<'_> {
    Box::pin(authorize_request(state, event))
}

async fn authorize_request(state: &AppState, event: Value) -> Result<Value, BoxError> {
    let route = event["routeKey"].as_str().unwrap_or("");
    // Payload 2.0 lower-cases header names.
    let Some(token) = event["headers"]["authorization"]
        .as_str()
        .and_then(bearer_token)
    else {
        tracing::info!(route, reason = "no bearer token", "authorization denied");
        return Ok(json!({ "isAuthorized": false }));
    };
    match verdict(state, token).await? {
        Verdict::Approved(caller) => Ok(approval(&caller, false)),
        Verdict::Provisional(caller) => Ok(approval(&caller, true)),
        Verdict::Denied(denial) => {
            tracing::info!(route, reason = ?denial, "authorization denied");
            Ok(json!({ "isAuthorized": false }))
        }
    }
}

fn approval(caller: &Caller, provisional: bool) -> Value {
    let mut context = json!({
        context::USER_ID: caller.user_id.to_string(),
        context::ROLE: caller.role.as_str(),
        context::SESSION_ID: caller.session_id.to_string(),
    });
    if provisional {
        context[context::PROVISIONAL] = json!("true");
    }
    json!({ "isAuthorized": true, "context": context })
}
