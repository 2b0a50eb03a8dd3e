//! The one error type of every handler.
//!
//! An [`ApiError`] carries the HTTP status, a stable machine-readable `code`, a message that
//! is safe to show, optional field details, and (never shown) the internal cause that is
//! logged. It renders as `{"error":{"code","message","requestId","details"?}}`.

use std::{borrow::Cow, panic::Location};

use http::{header::HeaderName, HeaderValue, StatusCode};
use serde::Serialize;
use serde_json::Value;

/// What kind of thing failed, as the error store groups failures. (Not a `text_enum!`:
/// that macro builds on `db`, which builds on this module.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    Database,
    Auth,
    Validation,
    ExternalService,
    Upload,
    PartnerWebhook,
    Unknown,
}

impl Category {
    pub const ALL: [Category; 7] = [
        Category::Database,
        Category::Auth,
        Category::Validation,
        Category::ExternalService,
        Category::Upload,
        Category::PartnerWebhook,
        Category::Unknown,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Category::Database => "database",
            Category::Auth => "auth",
            Category::Validation => "validation",
            Category::ExternalService => "external_service",
            Category::Upload => "upload",
            Category::PartnerWebhook => "partner_webhook",
            Category::Unknown => "unknown",
        }
    }
}

impl std::str::FromStr for Category {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
                format!(
                    "unknown error category {s:?}; expected one of {}",
                    known.join(", ")
                )
            })
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failed request. Boxed, so `Result<_, ApiError>` stays one pointer wide on the happy path;
/// its parts are read through `Deref` (`err.status`, `err.code`).
#[derive(Debug)]
pub struct ApiError(Box<ErrorParts>);

#[derive(Debug)]
pub struct ErrorParts {
    pub status: StatusCode,
    pub code: Cow<'static, str>,
    pub message: String,
    pub details: Option<Value>,
    /// Extra response headers (`Allow`, `Retry-After`, rate-limit headers).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The internal cause: logged, never shown to clients.
    pub source: Option<BoxError>,
    /// Where in the code the error arose (the `?` or constructor call), for the log.
    pub location: &'static Location<'static>,
    /// What the code was doing when it failed (`"saving the order"`), for the log.
    pub doing: Option<&'static str>,
    /// What kind of thing failed, when the code that made the error knows (the error store
    /// otherwise goes by the route).
    pub category: Option<Category>,
}

impl std::ops::Deref for ApiError {
    type Target = ErrorParts;
    fn deref(&self) -> &ErrorParts {
        &self.0
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// One problem with one input field, as reported in `error.details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl ApiError {
    #[track_caller]
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self(Box::new(ErrorParts {
            status,
            code: code.into(),
            message: message.into(),
            details: None,
            headers: Vec::new(),
            source: None,
            location: Location::caller(),
            doing: None,
            category: None,
        }))
    }

    #[track_caller]
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 400 listing every invalid field at once.
    #[track_caller]
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let message = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.reason),
            many => format!("{} fields are invalid", many.len()),
        };
        Self::bad_request("validation_failed", message).with_details(serde_json::json!(errors))
    }

    #[track_caller]
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    #[track_caller]
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404 for a missing object, and for an object the caller may not see: the two are
    /// indistinguishable on purpose.
    #[track_caller]
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    #[track_caller]
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    #[track_caller]
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    #[track_caller]
    pub fn payload_too_large(limit_bytes: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request body exceeds {limit_bytes} bytes"),
        )
    }

    #[track_caller]
    pub fn service_unavailable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            message,
        )
    }

    /// 500 whose cause is logged, never returned.
    #[track_caller]
    pub fn internal(cause: impl Into<BoxError>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "an unexpected error occurred",
        )
        .with_source(cause)
    }

    /// Replaces the machine-readable code (`forbidden` → `csrf_failed`).
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.0.code = Cow::Borrowed(code);
        self
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.0.details = Some(details);
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.0.headers.push((name, value));
        self
    }

    pub fn with_source(mut self, cause: impl Into<BoxError>) -> Self {
        self.0.source = Some(cause.into());
        self
    }

    /// Where the failure arose, when it is not where the error value was made.
    pub fn set_location(&mut self, location: &'static Location<'static>) {
        self.0.location = location;
    }

    /// Says what kind of thing failed, for the error store.
    pub fn in_category(mut self, category: Category) -> Self {
        self.0.category = Some(category);
        self
    }

    /// Says what the code was doing, for the log line of a failure.
    pub fn doing(mut self, doing: &'static str) -> Self {
        self.0.doing = Some(doing);
        self
    }

    pub fn is_server_error(&self) -> bool {
        self.status.is_server_error()
    }

    /// The JSON body clients see.
    pub fn body(&self, request_id: &str) -> Value {
        let mut error = serde_json::json!({
            "code": self.code,
            "message": self.message,
            "requestId": request_id,
        });
        if let Some(details) = &self.details {
            error["details"] = details.clone();
        }
        serde_json::json!({ "error": error })
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Names the step that failed: `tx.commit().await.context("saving the order")?`. The error
/// keeps the location of this call.
pub trait Context<T> {
    fn context(self, doing: &'static str) -> ApiResult<T>;
}

impl<T, E: Into<ApiError>> Context<T> for Result<T, E> {
    #[track_caller]
    fn context(self, doing: &'static str) -> ApiResult<T> {
        let location = Location::caller();
        self.map_err(|err| {
            let mut err: ApiError = err.into();
            err.0.location = location;
            err.0.doing = Some(doing);
            err
        })
    }
}

/// An error with its whole cause chain on one line, for logs (SDK errors hide the useful
/// part in their sources).
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl From<tokio_postgres::Error> for ApiError {
    #[track_caller]
    fn from(err: tokio_postgres::Error) -> Self {
        use tokio_postgres::error::SqlState;
        let Some(code) = err.code() else {
            // No SQLSTATE: the connection failed or broke, or a value could not be encoded.
            let connection = err.is_closed()
                || std::error::Error::source(&err).is_some_and(|s| s.is::<std::io::Error>());
            let err = if connection {
                Self::service_unavailable("the database is unavailable").with_source(err)
            } else {
                Self::internal(err)
            };
            return err.in_category(Category::Database);
        };
        // Class 22, data exception: a value the client sent does not fit (too large a
        // number, a NUL character in text, a date out of range).
        if code.code().starts_with("22") {
            return Self::bad_request("invalid_value", "a value is out of range or not allowed")
                .with_source(err);
        }
        let mapped = if *code == SqlState::UNIQUE_VIOLATION {
            Self::conflict(
                "already_exists",
                "a record with these values already exists",
            )
        } else if *code == SqlState::FOREIGN_KEY_VIOLATION {
            Self::conflict(
                "reference_conflict",
                "a referenced record does not exist or is still in use",
            )
        } else if *code == SqlState::CHECK_VIOLATION || *code == SqlState::NOT_NULL_VIOLATION {
            Self::unprocessable("constraint_violation", "the values break a data rule")
        } else if *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
            || *code == SqlState::LOCK_NOT_AVAILABLE
        {
            Self::conflict(
                "concurrent_update",
                "the record was changed concurrently; retry",
            )
        } else if *code == SqlState::QUERY_CANCELED
            || *code == SqlState::TOO_MANY_CONNECTIONS
            || *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW
        {
            Self::service_unavailable("the database is unavailable")
        } else {
            Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "an unexpected error occurred",
            )
        };
        mapped.with_source(err).in_category(Category::Database)
    }
}

impl From<serde_json::Error> for ApiError {
    #[track_caller]
    fn from(err: serde_json::Error) -> Self {
        Self::internal(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_the_stable_shape() {
        let body = ApiError::not_found("order").body("req-1");
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": "not_found", "message": "order not found", "requestId": "req-1"}})
        );
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let err = ApiError::internal("relation \"secret_table\" does not exist");
        let body = err.body("r").to_string();
        assert!(!body.contains("secret_table"));
        assert_eq!(err.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn errors_know_where_they_arose() {
        fn failing() -> ApiResult<()> {
            Err::<(), _>(ApiError::not_found("x")).context("looking something up")?;
            Ok(())
        }
        let err = failing().expect_err("fails");
        assert_eq!(err.doing, Some("looking something up"));
        assert!(
            err.location.file().ends_with("error.rs"),
            "{}",
            err.location
        );
    }

    #[test]
    fn validation_lists_fields() {
        let err = ApiError::validation(vec![
            FieldError::new("email", "is required"),
            FieldError::new("name", "is too long"),
        ]);
        let body = err.body("r");
        assert_eq!(body["error"]["code"], "validation_failed");
        assert_eq!(body["error"]["details"][1]["field"], "name");
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
    }
}
