//! Monitoring: what went wrong, kept where operations can see it even while the database
//! is down.
//!
//! - [`sanitize`]: what may be stored (secrets, tokens, cards and emails never are).
//! - [`fingerprint`]: which occurrences are the same problem.
//! - [`errors`]: the error store in DynamoDB: recording ([`errors::record`]), its items
//!   as stored (`items`) and the views built from them ([`overview`]).
//! - [`alerts`]: alerts grouped by rule and group key, with their notifications;
//!   [`rules`]: the thresholds applied to the error store; [`alarms`]: CloudWatch
//!   alarms arriving through SNS.
//!
//! The runtime records every 5xx and every failed job ([`ErrorReport::of_failure`]);
//! `POST /api/errors` records what the web app's error boundaries report ([`client`]).

pub mod alarms;
pub mod alerts;
pub mod client;
pub mod errors;
pub mod fingerprint;
mod items;
pub mod overview;
pub mod rules;
pub mod sanitize;

use serde_json::json;
use uuid::Uuid;

pub use errors::{record, ErrorReport, Recorded};

pub use crate::error::Category;
use crate::{error::ApiError, text_enum::text_enum};

text_enum! {
    /// How urgently an error needs a person.
    pub enum Severity("severity") {
        Low = "LOW",
        Medium = "MEDIUM",
        High = "HIGH",
        Critical = "CRITICAL",
    }
}

text_enum! {
    /// Where an error was seen.
    pub enum Origin("error origin") {
        /// A function failed (a 5xx or a failed job).
        Server = "server",
        /// The web app reported it.
        Client = "client",
    }
}

impl Category {
    /// An error's category: the one it was given where it arose, else what its route says.
    pub fn of(err: &ApiError, route: &str) -> Self {
        if let Some(category) = err.category {
            return category;
        }
        let path = route.split_once(' ').map_or(route, |(_, path)| path);
        if path.starts_with("/api/auth") || route == "authorizer" {
            Category::Auth
        } else if path.starts_with("/api/file-uploads") {
            Category::Upload
        } else if route == "outbox-relay" {
            Category::PartnerWebhook
        } else {
            Category::Unknown
        }
    }
}

/// A category as the error store and its views spell it.
impl serde::Serialize for Category {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Category {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Severity {
    /// How severe a server-side failure is: the database down is critical (nothing works),
    /// an unexpected error high, another dependency unavailable medium.
    pub fn of_failure(err: &ApiError, category: Category) -> Self {
        match (err.status.as_u16(), category) {
            (503, Category::Database) => Severity::Critical,
            (500, _) => Severity::High,
            (status, _) if status >= 500 => Severity::Medium,
            _ => Severity::Low,
        }
    }
}

impl ErrorReport {
    /// The report of a failed request or job: its code, shown message and internal cause
    /// as the message; where it arose and what the code was doing as context.
    pub fn of_failure(
        err: &ApiError,
        route: &str,
        request_id: &str,
        user_id: Option<Uuid>,
    ) -> Self {
        let category = Category::of(err, route);
        let cause = std::error::Error::source(err).map(crate::error::chain);
        let message = match &cause {
            Some(cause) => format!("{}: {}: {cause}", err.code, err.message),
            None => format!("{}: {}", err.code, err.message),
        };
        Self {
            origin: Origin::Server,
            severity: Severity::of_failure(err, category),
            category,
            route: route.to_owned(),
            message,
            request_id: request_id.to_owned(),
            user_id,
            context: json!({
                "status": err.status.as_u16(),
                "code": err.code,
                "at": err.location.to_string(),
                "doing": err.doing,
            }),
        }
    }
}

impl ErrorReport {
    /// The report of a failed job run (`job` is its function name).
    pub fn of_job_failure(
        err: &(dyn std::error::Error + Send + Sync + 'static),
        job: &str,
        request_id: &str,
    ) -> Self {
        // Spelled as `template.yaml` names the function, whichever runtime ran it.
        let job = job.replace('_', "-");
        if let Some(api) = err.downcast_ref::<ApiError>() {
            return Self::of_failure(api, &job, request_id, None);
        }
        Self {
            origin: Origin::Server,
            severity: Severity::High,
            category: if job == "outbox-relay" {
                Category::PartnerWebhook
            } else {
                Category::Unknown
            },
            message: crate::error::chain(err),
            request_id: request_id.to_owned(),
            user_id: None,
            context: json!({ "job": job }),
            route: job,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_classified_where_they_arose_else_by_route() {
        let down = ApiError::service_unavailable("the database is unavailable")
            .in_category(Category::Database);
        assert_eq!(Category::of(&down, "GET /api/orders"), Category::Database);
        assert_eq!(
            Severity::of_failure(&down, Category::Database),
            Severity::Critical
        );
        let bug = ApiError::internal("boom");
        assert_eq!(Category::of(&bug, "POST /api/auth/login"), Category::Auth);
        assert_eq!(Category::of(&bug, "GET /api/orders"), Category::Unknown);
        assert_eq!(Category::of(&bug, "outbox-relay"), Category::PartnerWebhook);
        assert_eq!(
            Severity::of_failure(&bug, Category::Unknown),
            Severity::High
        );
        let timeout = ApiError::service_unavailable("a dependency did not answer in time");
        assert_eq!(
            Severity::of_failure(&timeout, Category::Unknown),
            Severity::Medium
        );
    }

    #[test]
    fn a_failure_report_keeps_the_cause_and_where_it_arose() {
        let err = ApiError::internal("relation \"orders\" does not exist").doing("listing orders");
        let report = ErrorReport::of_failure(&err, "GET /api/orders", "req-1", None);
        assert!(
            report.message.contains("does not exist"),
            "{}",
            report.message
        );
        assert_eq!(report.context["doing"], "listing orders");
        assert!(report.context["at"]
            .as_str()
            .is_some_and(|at| at.contains("mod.rs")));
        assert_eq!(report.origin, Origin::Server);
    }
}
