//! Per-identity rate limits in DynamoDB.
//!
//! Each (class, identity) has one counter item holding a window that starts at its first
//! hit. A request passes only through an atomic conditional write: "add one while the
//! window is open and below the limit", or "open a new window when there is none or it has
//! ended". Under any concurrency at most `limit` requests pass per window (a request that
//! loses four races in a row is refused rather than retried forever). The items carry
//! `expiresAt`, so DynamoDB TTL removes idle counters.
//!
//! The runtime charges each request to its function's class ([`key_for`]); a handler may
//! charge further budgets that only it can name ([`charge`]: a sign-in per account, a
//! refresh per session). The tightest budget a request drew from is the one its
//! `X-RateLimit-*` headers show. What happens when the counter store is unreachable is
//! decided per class by [`RateClass::when_store_down`].

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::error::SdkError;
use http::{HeaderName, HeaderValue, StatusCode};
use lambda_http::Request;
use serde::{Deserialize, Serialize};

use crate::{
    dynamo::{self, Item},
    error::ApiError,
    identity::RequestIdentity,
    AppState,
};

/// Which budget a request draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateClass {
    /// Login attempts from one client IP: 30 per minute, so one office behind a NAT can
    /// still sign in while a script trying accounts from one address is slowed.
    SignIn,
    /// Login attempts on one account: 5 per minute, wherever they come from.
    SignInAccount,
    /// Sign-ups from one client IP: 5 per minute.
    SignUp,
    /// Driver applications from one client IP: 5 per hour (a public form that stores
    /// what it is sent).
    Applications,
    /// Token refreshes from one client IP: 60 per minute (garbage tokens included).
    Refresh,
    /// Refreshes of one session: 5 per minute.
    RefreshSession,
    /// Admin operations: 10 per minute per user.
    Admin,
    /// Everything else: 100 per minute per user (or IP).
    Api,
    /// File uploads: 20 per hour per user.
    Uploads,
    /// Location reports from the driver app: 30 per minute per driver, a report every two
    /// seconds (a batch of up to 100 points counts once).
    Tracking,
    /// Error reports from the web app: 30 per minute per user (or IP), so a page stuck in
    /// an error loop cannot flood the error store.
    ErrorReports,
    /// Partner API: 100 per minute per partner key and route.
    Partner,
    /// Failed partner authentications from one client IP: 10 per 5 minutes, then 429 for
    /// every partner call from it until the window ends. Only failures are counted, so a
    /// partner's own bursts never touch this budget; guesses sent all at once are bounded
    /// by API Gateway's throttling instead (and a partner key is far too long to guess).
    PartnerAuthFailures,
    /// Not limited here (health checks); API Gateway throttling still applies.
    Exempt,
}

/// What a class does when its counter store cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreDown {
    /// Serve the request: API Gateway throttling still bounds the load.
    Allow,
    /// Refuse with 503: the budget guards credentials, and guessing must not become
    /// unlimited while the store is down.
    Refuse,
}

impl RateClass {
    /// Requests allowed per window, and the window in seconds.
    pub fn budget(self) -> Option<(u32, i64)> {
        match self {
            RateClass::SignIn => Some((30, 60)),
            RateClass::SignInAccount => Some((5, 60)),
            RateClass::SignUp => Some((5, 60)),
            RateClass::Applications => Some((5, 3600)),
            RateClass::Refresh => Some((60, 60)),
            RateClass::RefreshSession => Some((5, 60)),
            RateClass::Admin => Some((10, 60)),
            RateClass::Api => Some((100, 60)),
            RateClass::Uploads => Some((20, 3600)),
            RateClass::Tracking => Some((30, 60)),
            RateClass::ErrorReports => Some((30, 60)),
            RateClass::Partner => Some((100, 60)),
            RateClass::PartnerAuthFailures => Some((10, 300)),
            RateClass::Exempt => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            RateClass::SignIn => "sign-in",
            RateClass::SignInAccount => "sign-in-account",
            RateClass::SignUp => "sign-up",
            RateClass::Applications => "applications",
            RateClass::Refresh => "refresh",
            RateClass::RefreshSession => "refresh-session",
            RateClass::Admin => "admin",
            RateClass::Api => "api",
            RateClass::Uploads => "uploads",
            RateClass::Tracking => "tracking",
            RateClass::ErrorReports => "error-reports",
            RateClass::Partner => "partner",
            RateClass::PartnerAuthFailures => "partner-auth-failures",
            RateClass::Exempt => "exempt",
        }
    }

    pub fn when_store_down(self) -> StoreDown {
        match self {
            RateClass::SignIn
            | RateClass::SignInAccount
            | RateClass::SignUp
            | RateClass::Applications
            | RateClass::Refresh
            | RateClass::RefreshSession => StoreDown::Refuse,
            // Partner keys are long random secrets, so guessing them is hopeless with or
            // without the lockout; the partner API staying up matters more.
            RateClass::PartnerAuthFailures
            | RateClass::Admin
            | RateClass::Api
            | RateClass::Uploads
            | RateClass::Tracking
            | RateClass::ErrorReports
            | RateClass::Partner
            | RateClass::Exempt => StoreDown::Allow,
        }
    }
}

/// Whose budget of `class` a request draws from: the client IP for the sign-in classes,
/// the partner key on this route for partner calls, else the signed-in user or the IP.
pub fn key_for(class: RateClass, identity: &RequestIdentity, route: &str) -> Option<String> {
    class.budget()?;
    let ip = || format!("ip:{}", identity.ip());
    Some(match class {
        RateClass::SignIn | RateClass::SignUp | RateClass::Applications | RateClass::Refresh => {
            ip()
        }
        // Keyed by the presented key too: requests with a wrong key cannot spend the
        // real partner's budget (wrong keys are counted per IP by PartnerAuthFailures).
        RateClass::Partner => match &identity.partner {
            Some(partner) => format!("partner:{}:{}:{route}", partner.slug, partner.key_tag()),
            None => ip(),
        },
        _ => match identity.user_id {
            Some(user) => format!("user:{user}"),
            None => ip(),
        },
    })
}

/// The tightest budget a request has drawn from, shared by the runtime and the handler
/// through the request's extensions, and whether the counter store has already failed
/// this request (so it pays for a hung store once, not per budget).
#[derive(Debug, Clone, Default)]
pub struct Drawn {
    tightest: Arc<Mutex<Option<Quota>>>,
    store_down: Arc<std::sync::atomic::AtomicBool>,
}

impl Drawn {
    /// The request's ledger, which the runtime put in its extensions (none outside it).
    pub fn of(req: &Request) -> Option<&Drawn> {
        req.extensions().get::<Drawn>()
    }

    pub fn record(&self, quota: Quota) {
        if let Ok(mut tightest) = self.tightest.lock() {
            let tighter = tightest
                .is_none_or(|t| (quota.allowed, quota.remaining) < (t.allowed, t.remaining));
            if tighter {
                *tightest = Some(quota);
            }
        }
    }

    pub fn tightest(&self) -> Option<Quota> {
        self.tightest.lock().ok().and_then(|t| *t)
    }

    fn store_failed(&self) {
        self.store_down
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    fn store_is_down(&self) -> bool {
        self.store_down.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Counts one request of `identity` against `class`: 429 when the budget is spent, and
/// per [`RateClass::when_store_down`] when the store is unreachable. The quota is recorded
/// on the request's ledger ([`Drawn::of`]) so its headers show the tightest budget.
pub async fn charge(
    state: &AppState,
    drawn: Option<&Drawn>,
    class: RateClass,
    identity: &str,
) -> Result<(), ApiError> {
    let now = chrono::Utc::now().timestamp();
    let counted = if drawn.is_some_and(Drawn::store_is_down) {
        Err(
            ApiError::service_unavailable("the rate limiter is unavailable")
                .in_category(crate::error::Category::ExternalService)
                .with_source("it already failed during this request"),
        )
    } else {
        check(state, class, identity, now).await
    };
    if counted.is_err() {
        if let Some(drawn) = drawn {
            drawn.store_failed();
        }
    }
    match counted {
        Ok(None) => Ok(()),
        Ok(Some(quota)) => {
            if let Some(drawn) = drawn {
                drawn.record(quota);
            }
            if quota.allowed {
                Ok(())
            } else {
                Err(quota.error(now))
            }
        }
        Err(err) => match class.when_store_down() {
            StoreDown::Allow => {
                tracing::error!(class = class.name(), error = %crate::error::chain(&err), "rate limiter unavailable: request allowed");
                Ok(())
            }
            StoreDown::Refuse => {
                tracing::error!(class = class.name(), error = %crate::error::chain(&err), "rate limiter unavailable: request refused");
                Err(err)
            }
        },
    }
}

/// Whether `identity` has already spent its budget of `class`, without counting a
/// request (a consistent read): the 429 to answer if so. `None` when it has not, or when
/// the store cannot say (it failed already during this request, or fails now).
pub async fn spent(
    state: &AppState,
    req: &Request,
    class: RateClass,
    identity: &str,
) -> Option<ApiError> {
    let (limit, _) = class.budget()?;
    let drawn = req.extensions().get::<Drawn>();
    if drawn.is_some_and(Drawn::store_is_down) {
        return None;
    }
    let now = chrono::Utc::now().timestamp();
    let current = state
        .dynamodb
        .get_item()
        .table_name(&state.config.resources.app_table)
        .set_key(counter_key(class, identity).ok())
        .consistent_read(true)
        .send()
        .await
        .map_err(|err| {
            if let Some(drawn) = drawn {
                drawn.store_failed();
            }
            tracing::warn!(class = class.name(), error = %crate::error::chain(&err), "rate limiter unavailable: budget not read");
        })
        .ok()?;
    let window = Window::read(current.item(), now);
    (window.end > now && window.hits >= i64::from(limit))
        .then(|| quota(limit, window.hits, window.end, false).error(now))
}

/// A budget's counter: `RATE#<class>#<identity>` / `WINDOW`.
#[derive(Serialize)]
struct CounterKey {
    pk: String,
    sk: &'static str,
}

fn counter_key(class: RateClass, identity: &str) -> Result<Item, ApiError> {
    dynamo::to_item(&CounterKey {
        pk: format!("RATE#{}#{identity}", class.name()),
        sk: "WINDOW",
    })
}

/// What a counter holds: requests counted in the window that ends at `windowEnd`
/// (seconds; also its TTL as `expiresAt`, which reading needs not).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Window {
    hits: i64,
    #[serde(rename = "windowEnd")]
    end: i64,
}

impl Window {
    /// The counter as read; a missing or unreadable one is an empty window ending `now`.
    fn read(item: Option<&Item>, now: i64) -> Self {
        item.and_then(|item| dynamo::from_item(item).ok())
            .unwrap_or(Window { hits: 0, end: now })
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
#[tracing::instrument(name = "rate_limit", skip(state, identity))]
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
    let key = counter_key(class, identity)?;
    let number = |n: i64| dynamo::number(n);
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
                let counted = output
                    .attributes()
                    .and_then(|item| dynamo::from_item::<Window>(item).ok())
                    .unwrap_or(Window {
                        hits: i64::from(limit),
                        end: now + window,
                    });
                return Ok(Some(quota(limit, counted.hits, counted.end, true)));
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
        let current = Window::read(current.item(), now);
        if current.end > now && current.hits >= i64::from(limit) {
            return Ok(Some(quota(limit, current.hits, current.end, false)));
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

fn is_condition_failure<R>(
    err: &SdkError<aws_sdk_dynamodb::operation::update_item::UpdateItemError, R>,
) -> bool {
    err.as_service_error()
        .is_some_and(|e| e.is_conditional_check_failed_exception())
}

fn store_error(err: impl Into<crate::error::BoxError>) -> ApiError {
    ApiError::service_unavailable("the rate limiter is unavailable")
        .in_category(crate::error::Category::ExternalService)
        .with_source(err)
}
