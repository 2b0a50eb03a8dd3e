//! The sample events of `events/` (one per function, as `sam local invoke` takes them),
//! run through their handlers: the structure tests check each answers as expected, and
//! the index test uses them as a workload that touches every function's statements.

use std::collections::BTreeMap;

use serde_json::Value;
use shared::runtime::{handle_event, handle_http, EventFunction, JobLog, Lambda};

use crate::{repo_root, TestApp};

/// What each sample event gets when run through its handler against the demo data, in
/// the order they run (later events build on earlier ones).
pub const SAMPLE_OUTCOMES: &[(&str, u16)] = &[
    ("health", 200),
    ("ops-page", 200),
    ("auth-login", 200),
    ("auth-signup", 201),
    ("auth-register", 201),
    ("auth-set-password", 400),
    ("profile", 200),
    ("auth-refresh", 401),
    ("auth-current-user", 200),
    ("auth-session", 401),
    ("tracking-shifts", 200),
    ("tracking-locations", 200),
    ("tracking-shift-by-id", 404),
    ("addresses", 201),
    ("address-by-id", 200),
    ("catering-requests", 201),
    ("on-demand-create", 201),
    ("orders", 200),
    ("order-by-number", 200),
    ("catering-request-status", 200),
    ("drivers", 200),
    ("tracking-drivers", 200),
    ("order-assign-driver", 200),
    ("dispatch-assignments", 200),
    ("driver-availability", 200),
    ("driver-availability-by-id", 404),
    // The demo data's availability is for the days after it was loaded, not this one.
    ("dispatch-plans", 422),
    ("dispatch-plan-by-id", 404),
    ("dispatch-plan-apply", 404),
    ("dispatch-auto-settings", 200),
    ("dispatch-auto-settings-by-type", 200),
    ("dispatch-offers", 200),
    ("dispatch-offer-stats", 200),
    ("driver-offers", 200),
    ("driver-offer-accept", 404),
    ("driver-offer-decline", 404),
    ("driver-route", 200),
    ("driver-deliveries", 200),
    ("order-driver-location", 200),
    ("order-tracking-link", 200),
    ("track", 404),
    ("tracking-deliveries", 200),
    ("tracking-delivery-by-id", 404),
    ("driver-stats", 200),
    ("driver-history", 200),
    ("user-orders", 200),
    ("vendor-orders", 200),
    ("user-order-by-number", 200),
    ("vendor-order-by-number", 200),
    ("dashboard-metrics", 200),
    ("vendor-metrics", 200),
    ("pricing-calculate", 200),
    ("pricing-tiers", 200),
    ("calculator-calculate", 200),
    ("partner-order-by-id", 200),
    ("partner-order-update", 200),
    ("partner-order-confirm", 200),
    ("partner-order-draft", 201),
    ("admin-webhooks", 200),
    ("admin-partner-webhook-events", 200),
    // The demo partners have no webhook URL.
    ("admin-webhook-test", 409),
    ("admin-logs", 200),
    ("admin-webhook-retry", 404),
    ("admin-webhook-attempts", 404),
    ("errors-report", 202),
    ("file-upload-signed-url", 200),
    ("file-upload-complete", 404),
    ("file-upload-by-id", 404),
    ("file-uploads", 200),
    ("order-files", 200),
    ("order-proof", 403),
    // The demo driver has the sample order, not yet picked up.
    ("order-failed-attempt", 409),
    ("completion-requirements", 200),
    ("analytics-deliveries", 200),
    ("order-series", 200),
    ("user-files", 200),
    ("health-errors", 401),
    ("health-alerts", 401),
    ("health-database", 200),
    ("users", 200),
    ("user-by-id", 200),
    ("user-change-role", 200),
    ("users-deleted", 200),
    ("user-restore", 409),
    ("user-purge", 403),
    ("user-audit", 200),
    ("user-audit-export", 200),
    ("users-bulk", 200),
    ("users-bulk-export", 200),
    ("job-applications", 201),
    ("job-application-documents", 404),
    ("job-application-document-complete", 404),
    ("admin-job-applications", 200),
    ("admin-job-application", 404),
    // Takes the driver of `order-assign-driver` off its order again.
    ("order-unassign-driver", 200),
    ("auth-logout", 204),
    ("alarm-notifier", 0),
    ("alert-evaluator", 0),
    ("authorizer", 0),
    ("migrate", 0),
    ("outbox-relay", 0),
    ("outbox-retention", 0),
    ("order-series-run", 0),
    ("sms-inbound", 0),
    ("dispatch-plan-solve", 0),
    ("dispatch-offer-sweep", 0),
    ("dispatch-offer-expire", 0),
    ("partner-key-rotate", 0),
    ("location-retention", 0),
    ("upload-cleanup", 0),
    ("backup", 0),
    ("backup-restore", 0),
    ("backup-verify", 0),
    ("backup-retention", 0),
];

/// Moves the dates in a sample body into the window the rules accept today: the partner
/// contract takes deliveries 2 hours to 365 days ahead, and location points must be from
/// the last day, so any fixed date goes stale.
fn shift_dates(body: &mut Value) {
    let now = chrono::Utc::now();
    if let Some(points) = body.get_mut("locations").and_then(Value::as_array_mut) {
        for point in points {
            point["recordedAt"] = serde_json::json!(now);
        }
    }
    let tomorrow = now + chrono::Duration::days(1);
    if body.get("deliveryDate").is_some() {
        body["deliveryDate"] = Value::String(tomorrow.format("%Y-%m-%d").to_string());
    }
    if body.get("pickupDateTime").is_some() {
        body["pickupDateTime"] = serde_json::json!(tomorrow);
        body["arrivalDateTime"] = serde_json::json!(tomorrow + chrono::Duration::minutes(45));
    }
}

/// Runs every sample event of `events/` through its handler against `app` (seeded with
/// the demo data), in [`SAMPLE_OUTCOMES`] order, asserting each outcome; returns the HTTP
/// statuses by function.
pub async fn run_sample_events(app: &TestApp) -> BTreeMap<&'static str, u16> {
    let mut outcomes = BTreeMap::new();
    for (name, expected) in SAMPLE_OUTCOMES {
        let path = repo_root().join(format!("events/{name}.json"));
        let mut event: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("event")).expect("json");
        let function = functions::find(name).expect("registered");
        match function.lambda {
            Lambda::Http(http) => {
                if let Some(body) = event["body"].as_str() {
                    let mut body: Value = serde_json::from_str(body).expect("body is JSON");
                    shift_dates(&mut body);
                    event["body"] = Value::String(body.to_string());
                }
                let request = lambda_http::request::from_str(&event.to_string()).expect("decodes");
                let route = event["routeKey"].as_str().expect("route").to_owned();
                let response = handle_http(&app.state, http, request).await;
                app.check_response(&route, &response);
                outcomes.insert(*name, response.status().as_u16());
                assert_eq!(
                    response.status().as_u16(),
                    *expected,
                    "{name}: {:?}",
                    response.body()
                );
            }
            Lambda::Event(EventFunction { handler, .. }) => {
                let result =
                    handle_event(&app.state, name, "sample", *handler, event, JobLog::Every)
                        .await
                        .unwrap_or_else(|e| panic!("{name} failed: {e}"));
                match *name {
                    "authorizer" => assert_eq!(
                        result,
                        serde_json::json!({ "isAuthorized": false }),
                        "the sample token is not signed by this deployment's key"
                    ),
                    "migrate" => {
                        assert_eq!(result["applied"], serde_json::json!([]));
                        assert_eq!(
                            result["latestVersion"],
                            shared::db::latest_migration_version()
                        );
                    }
                    "backup-restore" => assert_eq!(result["dryRun"], true, "{result}"),
                    "backup-verify" => assert_eq!(result["ok"], true, "{result}"),
                    _ => assert!(result.is_object(), "{name}: {result}"),
                }
            }
        }
    }
    outcomes
}
