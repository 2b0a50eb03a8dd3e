//! Per-identity rate limits in DynamoDB.
//!
//! Each (class, identity) has one counter item holding a window that starts at its first
//! hit. A request passes only through an atomic conditional write: "add one while the
//! window is open and below the limit", or "open a new window when there is none or it has
//! ended". Under any concurrency exactly `limit` requests pass per window. The items carry
//! `expiresAt`, so DynamoDB TTL removes idle counters.

use std::collections::HashMap;

use aws_sdk_dynamodb::{error::SdkError, types::AttributeValue};
use http::{HeaderName, HeaderValue, StatusCode};

use crate::{error::ApiError, AppState};

/// Which budget a route draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateClass {
    /// Sign-up, login, refresh: 5 per minute per client IP.
    Auth,
    /// Admin operations: 10 per minute per user.
    Admin,
    /// Everything else: 100 per minute per user (or IP).
    Api,
    /// File uploads: 20 per hour per user.
    Uploads,
    /// Partner API: 100 per minute per partner and route.
    Partner,
    /// Not limited here (health checks); API Gateway throttling still applies.
    Exempt,
}

impl RateClass {
    /// Requests allowed per window, and the window in seconds.
    pub fn budget(self) -> Option<(u32, i64)> {
        match self {
            RateClass::Auth => Some((5, 60)),
            RateClass::Admin => Some((10, 60)),
            RateClass::Api => Some((100, 60)),
            RateClass::Uploads => Some((20, 3600)),
            RateClass::Partner => Some((100, 60)),
            RateClass::Exempt => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            RateClass::Auth => "auth",
            RateClass::Admin => "admin",
            RateClass::Api => "api",
            RateClass::Uploads => "uploads",
            RateClass::Partner => "partner",
            RateClass::Exempt => "exempt",
        }
    }

    /// Whether the class counts per client IP even for signed-in callers.
    pub fn per_ip(self) -> bool {
        self == RateClass::Auth
    }
}

/// The state of a budget after a request was counted (or refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub remaining: u32,
    /// Epoch seconds when the window ends.
    pub reset_at: i64,
    pub allowed: bool,
}

impl Quota {
    pub fn headers(&self, now: i64) -> Vec<(HeaderName, HeaderValue)> {
        let mut headers = vec![
            (
                HeaderName::from_static("x-ratelimit-limit"),
                HeaderValue::from(self.limit),
            ),
            (
                HeaderName::from_static("x-ratelimit-remaining"),
                HeaderValue::from(self.remaining),
            ),
            (
                HeaderName::from_static("x-ratelimit-reset"),
                HeaderValue::from(self.reset_at),
            ),
        ];
        if !self.allowed {
            headers.push((
                http::header::RETRY_AFTER,
                HeaderValue::from((self.reset_at - now).max(1)),
            ));
        }
        headers
    }

    /// The 429 for a refused request.
    pub fn error(&self, now: i64) -> ApiError {
        let wait = (self.reset_at - now).max(1);
        let mut err = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many requests; retry in {wait} seconds"),
        );
        for (name, value) in self.headers(now) {
            err = err.with_header(name, value);
        }
        err
    }
}

/// Counts one request of `identity` against `class`. `None` for exempt classes.
pub async fn check(
    state: &AppState,
    class: RateClass,
    identity: &str,
    now: i64,
) -> Result<Option<Quota>, ApiError> {
    let Some((limit, window)) = class.budget() else {
        return Ok(None);
    };
    let table = &state.config.resources.app_table;
    let key = HashMap::from([
        (
            "pk".to_owned(),
            AttributeValue::S(format!("RATE#{}#{identity}", class.name())),
        ),
        ("sk".to_owned(), AttributeValue::S("WINDOW".to_owned())),
    ]);
    let number = |n: i64| AttributeValue::N(n.to_string());
    // Each round first tries to count in the open window, then to open a new one. A
    // request loses only when the first fails on an open, full window.
    for _ in 0..4 {
        let counted = state
            .dynamodb
            .update_item()
            .table_name(table)
            .set_key(Some(key.clone()))
            .update_expression("SET hits = hits + :one")
            .condition_expression("windowEnd > :now AND hits < :limit")
            .expression_attribute_values(":one", number(1))
            .expression_attribute_values(":now", number(now))
            .expression_attribute_values(":limit", number(i64::from(limit)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match counted {
            Ok(output) => {
                let attrs = output.attributes().cloned().unwrap_or_default();
                let hits = read_number(&attrs, "hits").unwrap_or(i64::from(limit));
                let reset_at = read_number(&attrs, "windowEnd").unwrap_or(now + window);
                return Ok(Some(quota(limit, hits, reset_at, true)));
            }
            Err(err) if !is_condition_failure(&err) => return Err(store_error(err)),
            Err(_) => {}
        }
        let window_end = now + window;
        let opened = state
            .dynamodb
            .update_item()
            .table_name(table)
            .set_key(Some(key.clone()))
            .update_expression("SET hits = :one, windowEnd = :end, expiresAt = :end")
            .condition_expression("attribute_not_exists(windowEnd) OR windowEnd <= :now")
            .expression_attribute_values(":one", number(1))
            .expression_attribute_values(":now", number(now))
            .expression_attribute_values(":end", number(window_end))
            .send()
            .await;
        match opened {
            Ok(_) => return Ok(Some(quota(limit, 1, window_end, true))),
            Err(err) if !is_condition_failure(&err) => return Err(store_error(err)),
            Err(_) => {}
        }
        // Another request opened the window first: read it and decide.
        let current = state
            .dynamodb
            .get_item()
            .table_name(table)
            .set_key(Some(key.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        let attrs = current.item().cloned().unwrap_or_default();
        let hits = read_number(&attrs, "hits").unwrap_or(0);
        let reset_at = read_number(&attrs, "windowEnd").unwrap_or(now);
        if reset_at > now && hits >= i64::from(limit) {
            return Ok(Some(quota(limit, hits, reset_at, false)));
        }
    }
    // Four lost races in a row means heavy contention on this identity: refuse.
    Ok(Some(quota(limit, i64::from(limit), now + 1, false)))
}

fn quota(limit: u32, hits: i64, reset_at: i64, allowed: bool) -> Quota {
    let remaining = (i64::from(limit) - hits).clamp(0, i64::from(limit));
    Quota {
        limit,
        remaining: u32::try_from(remaining).unwrap_or(0),
        reset_at,
        allowed,
    }
}

fn read_number(attrs: &HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    attrs.get(name)?.as_n().ok()?.parse().ok()
}

fn is_condition_failure<R>(
    err: &SdkError<aws_sdk_dynamodb::operation::update_item::UpdateItemError, R>,
) -> bool {
    err.as_service_error()
        .is_some_and(|e| e.is_conditional_check_failed_exception())
}

fn store_error(err: impl Into<crate::error::BoxError>) -> ApiError {
    ApiError::service_unavailable("the rate limiter is unavailable").with_source(err)
}
