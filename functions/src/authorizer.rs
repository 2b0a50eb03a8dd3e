//! The Lambda REQUEST authorizer of the HTTP API (payload 2.0, simple responses).
//!
//! Answers `{"isAuthorized": true, "context": {userId, role, sessionId}}` for a valid
//! bearer token of a live session of an active account, `{"isAuthorized": false}` for
//! anything else. API Gateway caches the answer per `Authorization` header for the TTL set
//! in `template.yaml`, so a revoked session's access token stops working within it.

use serde_json::{json, Value};
use shared::{
    auth::{self, context},
    error::BoxError,
    runtime::EventFuture,
    AppState,
};

pub fn handler(state: &AppState, event: Value) -> EventFuture<'_> {
    Box::pin(authorize(state, event))
}

async fn authorize(state: &AppState, event: Value) -> Result<Value, BoxError> {
    let route = event["routeKey"].as_str().unwrap_or("");
    let Some(token) = bearer_token(&event) else {
        tracing::info!(route, reason = "no bearer token", "authorization denied");
        return Ok(json!({ "isAuthorized": false }));
    };
    match auth::authorize(state, token).await? {
        Ok(caller) => Ok(json!({
            "isAuthorized": true,
            "context": {
                context::USER_ID: caller.user_id.to_string(),
                context::ROLE: caller.role.as_str(),
                context::SESSION_ID: caller.session_id.to_string(),
            }
        })),
        Err(denial) => {
            tracing::info!(route, reason = ?denial, "authorization denied");
            Ok(json!({ "isAuthorized": false }))
        }
    }
}

/// The token of the `Authorization: Bearer …` header (payload 2.0 lower-cases names).
fn bearer_token(event: &Value) -> Option<&str> {
    let value = event["headers"]["authorization"].as_str()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_bearer_tokens() {
        let event = |h: &str| json!({ "headers": { "authorization": h } });
        assert_eq!(
            bearer_token(&event("Bearer abc.def.ghi")),
            Some("abc.def.ghi")
        );
        assert_eq!(bearer_token(&event("bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&event("Basic dXNlcjpwYXNz")), None);
        assert_eq!(bearer_token(&event("Bearer ")), None);
        assert_eq!(bearer_token(&json!({ "headers": {} })), None);
    }
}
