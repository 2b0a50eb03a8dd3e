//! Errors the web app reports (`POST /api/errors`): what its error boundaries send,
//! validated, bounded and made into an [`ErrorReport`] like a server failure.

use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{fingerprint, Category, ErrorReport, Origin, Severity};
use crate::{
    error::FieldError,
    input::{Lines, Validator},
    ApiResult,
};

/// The largest report accepted: a message, two stack traces and a little context.
pub const MAX_REPORT_BYTES: usize = 16 * 1024;

/// A report as the web app sends it. Unknown fields are ignored: error boundaries of
/// older app versions may send more.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientErrorReport {
    pub message: String,
    pub stack: Option<String>,
    pub component_stack: Option<String>,
    /// The page it happened on.
    pub url: Option<String>,
    pub user_agent: Option<String>,
    pub severity: Option<String>,
    pub category: Option<String>,
    pub context: Option<Value>,
}

impl ClientErrorReport {
    /// The report to record, or a 400 naming every invalid field. A client may say
    /// `LOW`, `MEDIUM` (the default) or `HIGH`; `CRITICAL` is kept for failures the
    /// server sees itself, so a client's `CRITICAL` is recorded as `HIGH`.
    pub fn into_report(self, request_id: &str, user_id: Option<Uuid>) -> ApiResult<ErrorReport> {
        Validator::validate(|v| {
            let message = v.take(crate::input::bounded_text(
                "message",
                &self.message,
                1,
                2_000,
                Lines::Many,
            ));
            let stack = v.optional_text("stack", self.stack.as_deref(), 8_000, Lines::Many);
            let component_stack = v.optional_text(
                "componentStack",
                self.component_stack.as_deref(),
                8_000,
                Lines::Many,
            );
            let url = v.optional_text("url", self.url.as_deref(), 2_000, Lines::One);
            let user_agent =
                v.optional_text("userAgent", self.user_agent.as_deref(), 500, Lines::One);
            let severity = match self.severity.as_deref() {
                None => Some(Severity::Medium),
                Some(raw) => v
                    .take(
                        raw.parse::<Severity>()
                            .map_err(|e| FieldError::new("severity", e)),
                    )
                    .map(|s| s.min_for_clients()),
            };
            let category = match self.category.as_deref() {
                None => Some(Category::Unknown),
                Some(raw) => v.take(
                    raw.parse::<Category>()
                        .map_err(|e| FieldError::new("category", e)),
                ),
            };
            v.check(
                self.context.as_ref().is_none_or(Value::is_object),
                "context",
                "must be an object",
            );
            let page = url.as_deref().map(page_of).unwrap_or_default();
            Some(ErrorReport {
                origin: Origin::Client,
                severity: severity?,
                category: category?,
                route: format!("page {}", fingerprint::normalize(&page)),
                message: message?,
                request_id: request_id.to_owned(),
                user_id,
                context: json!({
                    "url": url,
                    "stack": stack,
                    "componentStack": component_stack,
                    "userAgent": user_agent,
                    "reported": self.context,
                }),
            })
        })
    }
}

impl Severity {
    fn min_for_clients(self) -> Self {
        match self {
            Severity::Critical => Severity::High,
            other => other,
        }
    }
}

/// The path of a page URL, without its query or fragment (which may carry tokens).
fn page_of(url: &str) -> String {
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = if url.contains("://") {
        without_scheme
            .find('/')
            .map_or("/", |at| &without_scheme[at..])
    } else {
        without_scheme
    };
    path.split(['?', '#']).next().unwrap_or("/").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(body: Value) -> ApiResult<ErrorReport> {
        let parsed: ClientErrorReport = serde_json::from_value(body).expect("shape");
        parsed.into_report("req-1", None)
    }

    #[test]
    fn a_report_becomes_a_client_error_of_its_page() {
        let recorded = report(json!({
            "message": "TypeError: x is undefined",
            "url": "https://app.example.com/orders/CV-1024?token=abc#top",
            "severity": "CRITICAL",
            "category": "validation",
            "context": {"component": "OrderList"},
            "somethingNew": true,
        }))
        .expect("valid");
        assert_eq!(recorded.origin, Origin::Client);
        assert_eq!(recorded.severity, Severity::High);
        assert_eq!(recorded.category, Category::Validation);
        assert_eq!(recorded.route, "page /orders/CV-<n>");
        assert_eq!(recorded.context["reported"]["component"], "OrderList");
    }

    #[test]
    fn invalid_reports_name_every_field() {
        let err = report(json!({
            "message": "",
            "severity": "URGENT",
            "category": "weather",
            "context": [1, 2],
        }))
        .expect_err("invalid");
        assert_eq!(err.status, http::StatusCode::BAD_REQUEST);
        let fields: Vec<&str> = err
            .details
            .as_ref()
            .and_then(Value::as_array)
            .map(|d| d.iter().filter_map(|f| f["field"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(fields, ["message", "severity", "category", "context"]);
    }

    #[test]
    fn pages_lose_their_query_and_fragment() {
        assert_eq!(page_of("https://a.example/x/y?q=1#f"), "/x/y");
        assert_eq!(page_of("https://a.example"), "/");
        assert_eq!(page_of("/orders?token=t"), "/orders");
    }
}
