//! Alerts: the evaluator over the error store, CloudWatch alarms through `alarm-notifier`,
//! notifications to a chat webhook (a receiver on 127.0.0.1), and `/api/health/alerts`.
//! Time is moved by evaluating at later instants; the errors stay where they were
//! recorded.

use api_tests::{json_body, repo_root, Receiver, TestApp};
use chrono::{Duration, Timelike, Utc};
use futures_util::{stream, StreamExt};
use serde_json::{json, Value};
use shared::{
    auth::Role,
    monitoring::{self, rules, Category, ErrorReport, Origin, Severity},
    runtime::{handle_event, JobLog, Lambda},
};

/// An app whose alerts go to `receiver`, sent again after `repeat_minutes`.
async fn alerting_app(receiver: &Receiver, repeat_minutes: &str) -> TestApp {
    let secret_id = format!("readyset/alerts/{}", uuid::Uuid::new_v4().simple());
    let app = TestApp::spawn_with(&[
        ("ALERT_WEBHOOK_SECRET_ID", &secret_id),
        ("ALERT_REPEAT_MINUTES", repeat_minutes),
    ])
    .await;
    app.state
        .secrets
        .create_secret()
        .name(&secret_id)
        .secret_string(format!("{}/chat", receiver.url))
        .send()
        .await
        .expect("webhook secret");
    app
}

async fn record_critical(app: &TestApp, count: usize) {
    let recorded: Vec<_> = stream::iter(0..count)
        .map(|i| {
            let report = ErrorReport {
                origin: Origin::Server,
                severity: Severity::Critical,
                category: Category::Database,
                route: "GET /api/orders".into(),
                message: format!("connection {} refused after {i} ms", uuid::Uuid::new_v4()),
                request_id: format!("req-{i}"),
                user_id: None,
                context: json!({}),
            };
            let state = &app.state;
            async move { monitoring::record(state, report).await }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    assert!(recorded.iter().all(Option::is_some));
}

/// The chat messages the receiver got, as `[FIRING] rule (key)` prefixes.
fn messages(receiver: &Receiver) -> Vec<String> {
    receiver
        .received()
        .iter()
        .map(|r| {
            let text = r.json()["text"].as_str().unwrap_or("").to_owned();
            text.split(':').next().unwrap_or("").to_owned()
        })
        .collect()
}

async fn alerts_view(app: &TestApp, token: &str) -> Value {
    let response = app
        .call("GET", "/api/health/alerts", Some(token), None)
        .await;
    assert_eq!(response.status(), 200);
    json_body(response).await
}

#[tokio::test]
async fn a_storm_of_one_error_is_one_alert_that_repeats_then_resolves_when_quiet() {
    let receiver = Receiver::start().await;
    let app = alerting_app(&receiver, "10").await;
    let staff = app.user(Role::Admin).await;
    record_critical(&app, 1000).await;
    let now = Utc::now();

    let first = rules::evaluate(&app.state, now).await.expect("evaluate");
    assert_eq!((first.fired, first.resolved), (1, 0), "{first:?}");
    assert_eq!(messages(&receiver), ["[FIRING] critical-errors (database)"]);
    let message = receiver.received()[0].json();
    assert_eq!(message["alert"]["severity"], "CRITICAL");
    assert!(
        message["alert"]["value"].as_f64() > Some(999.0),
        "{message}"
    );
    assert!(message["attachments"][0]["color"].is_string());

    // Still firing a minute later: nothing new is sent.
    let again = rules::evaluate(&app.state, now + Duration::minutes(1))
        .await
        .expect("evaluate");
    assert_eq!((again.fired, again.repeated), (0, 0));
    assert_eq!(receiver.received().len(), 1);

    // Past the repeat interval and still firing: sent once more.
    let repeat = rules::evaluate(&app.state, now + Duration::minutes(11))
        .await
        .expect("evaluate");
    assert_eq!(repeat.repeated, 1, "{repeat:?}");
    assert_eq!(receiver.received().len(), 2);

    let view = alerts_view(&app, &staff.token).await;
    assert_eq!(view["active"].as_array().map(Vec::len), Some(1), "{view}");
    assert_eq!(view["active"][0]["rule"], "critical-errors");
    assert_eq!(view["active"][0]["groupKey"], "database");
    assert_eq!(view["statistics"]["activeBySeverity"]["CRITICAL"], 1);

    // Quiet for the whole window: resolved, with a resolve notification.
    let quiet = rules::evaluate(&app.state, now + Duration::hours(2))
        .await
        .expect("evaluate");
    assert_eq!(quiet.resolved, 1, "{quiet:?}");
    assert_eq!(
        messages(&receiver).last().map(String::as_str),
        Some("[RESOLVED] critical-errors (database)")
    );
    let later = rules::evaluate(&app.state, now + Duration::hours(3))
        .await
        .expect("evaluate");
    assert_eq!(
        later,
        rules::Evaluation {
            observed: later.observed,
            ..Default::default()
        }
    );
    assert_eq!(receiver.received().len(), 3);

    let view = alerts_view(&app, &staff.token).await;
    assert_eq!(view["active"], json!([]));
    assert_eq!(view["resolved"][0]["status"], "resolved");
    let kinds: Vec<&str> = view["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["resolved", "repeated", "fired"]);
    assert_eq!(view["statistics"]["firedLast24h"], 1);
    assert_eq!(view["statistics"]["resolvedLast24h"], 1);
}

#[tokio::test]
async fn resolving_by_hand_notifies_and_holds_the_alert_until_its_condition_clears() {
    let receiver = Receiver::start().await;
    let app = alerting_app(&receiver, "240").await;
    let staff = app.user(Role::Helpdesk).await;
    record_critical(&app, 10).await;
    let now = Utc::now();
    rules::evaluate(&app.state, now).await.expect("evaluate");
    let view = alerts_view(&app, &staff.token).await;
    let id = view["active"][0]["id"]
        .as_str()
        .expect("alert id")
        .to_owned();

    let unknown = uuid::Uuid::new_v4().to_string();
    let response = app
        .call(
            "POST",
            "/api/health/alerts",
            Some(&staff.token),
            Some(json!({"ids": [id, unknown]})),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body = json_body(response).await;
    assert_eq!(body["resolved"][0]["id"], id.as_str());
    assert_eq!(body["resolved"][0]["resolvedBy"], staff.id.to_string());
    assert_eq!(body["notFiring"], json!([unknown]));
    assert_eq!(
        messages(&receiver),
        [
            "[FIRING] critical-errors (database)",
            "[RESOLVED] critical-errors (database)"
        ]
    );

    // The errors are still there: held, not fired again.
    let held = rules::evaluate(&app.state, now + Duration::minutes(1))
        .await
        .expect("evaluate");
    assert_eq!((held.fired, held.held), (0, 1), "{held:?}");
    // Once quiet, the hold ends; a new storm is a new alert.
    rules::evaluate(&app.state, now + Duration::hours(2))
        .await
        .expect("evaluate");
    record_critical(&app, 10).await;
    let refired = rules::evaluate(&app.state, now).await.expect("evaluate");
    assert_eq!(refired.fired, 1);
    let view = alerts_view(&app, &staff.token).await;
    assert_ne!(view["active"][0]["id"], id.as_str(), "a new episode");
}

#[tokio::test]
async fn resolving_checks_who_asks_and_what_they_send() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let staff = app.user(Role::Admin).await;
    let body = json!({"id": uuid::Uuid::new_v4()});
    assert_eq!(
        app.call("POST", "/api/health/alerts", None, Some(body.clone()))
            .await
            .status(),
        401
    );
    assert_eq!(
        app.call("GET", "/api/health/alerts", Some(&client.token), None)
            .await
            .status(),
        403
    );
    for bad in [
        json!({}),
        json!({"ids": ["nope"]}),
        json!({"id": 7}),
        json!({"ids": [], "x": 1}),
    ] {
        let response = app
            .call(
                "POST",
                "/api/health/alerts",
                Some(&staff.token),
                Some(bad.clone()),
            )
            .await;
        assert_eq!(response.status(), 400, "{bad}");
        assert!(json_body(response).await["error"]["code"].is_string());
    }
    let too_many: Vec<String> = (0..101).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let response = app
        .call(
            "POST",
            "/api/health/alerts",
            Some(&staff.token),
            Some(json!({"ids": too_many})),
        )
        .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn a_failed_notification_is_sent_again_at_the_next_evaluation() {
    let receiver = Receiver::start().await;
    receiver.answer_with(&[500]);
    let app = alerting_app(&receiver, "240").await;
    let staff = app.user(Role::Admin).await;
    record_critical(&app, 10).await;
    let now = Utc::now();
    rules::evaluate(&app.state, now).await.expect("evaluate");
    let view = alerts_view(&app, &staff.token).await;
    assert_eq!(view["active"][0]["notifications"], 0);
    assert_eq!(view["statistics"]["notificationFailuresLast24h"], 1);

    rules::evaluate(&app.state, now + Duration::minutes(1))
        .await
        .expect("evaluate");
    assert_eq!(receiver.received().len(), 2, "sent again");
    let view = alerts_view(&app, &staff.token).await;
    assert_eq!(view["active"][0]["notifications"], 1);
    let fired = view["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|e| e["kind"] == "fired")
        .count();
    assert_eq!(fired, 1, "one alert, fired once");
}

async fn notify(app: &TestApp, event_file: &str) -> Value {
    let event: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("events").join(event_file)).expect("event"),
    )
    .expect("json");
    let function = functions::find("alarm-notifier").expect("registered");
    let Lambda::Event(notifier) = function.lambda else {
        panic!("an event function");
    };
    handle_event(
        &app.state,
        "alarm-notifier",
        "test",
        notifier.handler,
        event,
        JobLog::Every,
    )
    .await
    .expect("handled")
}

#[tokio::test]
async fn cloudwatch_alarms_from_sns_open_and_resolve_one_alert() {
    let receiver = Receiver::start().await;
    let app = alerting_app(&receiver, "240").await;
    let staff = app.user(Role::Admin).await;

    assert_eq!(notify(&app, "alarm-notifier.json").await["fired"], 1);
    assert_eq!(
        messages(&receiver),
        ["[FIRING] cloudwatch-alarm (readyset-LatencyP99Alarm-1A2B3C4D)"]
    );
    // SNS delivers at least once: the same state change again changes nothing.
    assert_eq!(notify(&app, "alarm-notifier.json").await["unchanged"], 1);
    let view = alerts_view(&app, &staff.token).await;
    assert_eq!(view["active"][0]["severity"], "HIGH");
    assert_eq!(view["active"][0]["threshold"], 2000.0);

    let no_data = notify(&app, "alarm-notifier/insufficient-data.json").await;
    assert_eq!(no_data["insufficientData"], 1);
    assert_eq!(
        alerts_view(&app, &staff.token).await["active"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    assert_eq!(notify(&app, "alarm-notifier/ok.json").await["resolved"], 1);
    assert_eq!(receiver.received().len(), 2);
    assert!(messages(&receiver)[1].starts_with("[RESOLVED] cloudwatch-alarm"));

    let malformed = notify(&app, "alarm-notifier/malformed.json").await;
    assert_eq!(malformed["skipped"], 2, "{malformed}");
    let empty = handle_event(
        &app.state,
        "alarm-notifier",
        "test",
        match functions::find("alarm-notifier")
            .expect("registered")
            .lambda
        {
            Lambda::Event(f) => f.handler,
            Lambda::Http(_) => panic!("an event function"),
        },
        json!({"unexpected": true}),
        JobLog::Every,
    )
    .await
    .expect("handled");
    assert_eq!(empty["skipped"], 1);

    let view = alerts_view(&app, &staff.token).await;
    assert_eq!(view["active"], json!([]));
    let kinds: Vec<&str> = view["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["resolved", "insufficient_data", "fired"]);
}

#[tokio::test]
async fn an_alert_below_its_threshold_but_not_clear_of_it_stays_open() {
    let receiver = Receiver::start().await;
    let app = alerting_app(&receiver, "240").await;
    record_critical(&app, 7).await;
    let now = Utc::now();
    assert_eq!(
        rules::evaluate(&app.state, now)
            .await
            .expect("evaluate")
            .fired,
        1
    );
    // In the next hour the seven count in proportion to what is left of their hour.
    let next_hour = now
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .expect("hour")
        + Duration::hours(1);
    // 3.5: under the threshold of 5, over the 2.5 a resolve needs.
    let hovering = rules::evaluate(&app.state, next_hour + Duration::minutes(30))
        .await
        .expect("evaluate");
    assert_eq!((hovering.fired, hovering.resolved), (0, 0), "{hovering:?}");
    // 1.75: clear.
    let clear = rules::evaluate(&app.state, next_hour + Duration::minutes(45))
        .await
        .expect("evaluate");
    assert_eq!(clear.resolved, 1, "{clear:?}");
    assert_eq!(
        messages(&receiver),
        [
            "[FIRING] critical-errors (database)",
            "[RESOLVED] critical-errors (database)"
        ]
    );
}

#[tokio::test]
async fn a_failed_resolve_notification_is_sent_again() {
    let receiver = Receiver::start().await;
    // The firing message goes through, the first resolve message fails.
    receiver.answer_with(&[200, 500]);
    let app = alerting_app(&receiver, "240").await;
    record_critical(&app, 10).await;
    let now = Utc::now();
    rules::evaluate(&app.state, now).await.expect("evaluate");
    let resolved = rules::evaluate(&app.state, now + Duration::hours(2))
        .await
        .expect("evaluate");
    assert_eq!(resolved.resolved, 1);
    assert_eq!(receiver.received().len(), 2);
    rules::evaluate(&app.state, now + Duration::hours(2) + Duration::minutes(1))
        .await
        .expect("evaluate");
    assert_eq!(
        messages(&receiver),
        [
            "[FIRING] critical-errors (database)",
            "[RESOLVED] critical-errors (database)",
            "[RESOLVED] critical-errors (database)",
        ]
    );
    // Sent: nothing more after that.
    rules::evaluate(&app.state, now + Duration::hours(2) + Duration::minutes(2))
        .await
        .expect("evaluate");
    assert_eq!(receiver.received().len(), 3);
}
