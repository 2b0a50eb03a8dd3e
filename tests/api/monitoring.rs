//! The error store through the local gateway: server failures and client reports become
//! sanitised records grouped by fingerprint, shown by `GET /api/health/errors`, and all
//! of it works while the database is down.

use api_tests::{error_fields, json_body, TestApp};
use futures_util::{stream, StreamExt};
use serde_json::{json, Value};
use shared::{
    auth::Role,
    monitoring::{self, errors::resolve_groups, Category, ErrorReport, Origin, Severity},
};

async fn overview(app: &TestApp, token: &str, window: &str) -> Value {
    let response = app
        .call(
            "GET",
            &format!("/api/health/errors?window={window}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    json_body(response).await
}

/// Every item the error store wrote, as text. Each must expire: the retention (30 days
/// by default) from now.
async fn stored_errors(app: &TestApp) -> String {
    let items = app
        .state
        .dynamodb
        .scan()
        .table_name(&app.state.config.resources.app_table)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    let mut text = String::new();
    for item in items {
        let item = item.expect("scan");
        let pk = item
            .get("pk")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default();
        if pk.starts_with("ERROR") {
            let expires: i64 = item
                .get("expiresAt")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{pk} has no expiresAt"));
            let in_days = (expires - chrono::Utc::now().timestamp()) as f64 / 86_400.0;
            assert!(
                (29.9..=30.1).contains(&in_days),
                "{pk} expires in {in_days} days"
            );
            text.push_str(&format!("{item:?}\n"));
        }
    }
    text
}

fn report(message: String) -> ErrorReport {
    ErrorReport {
        origin: Origin::Server,
        severity: Severity::High,
        category: Category::Database,
        route: "GET /api/orders/{order_number}".into(),
        message,
        request_id: uuid::Uuid::new_v4().to_string(),
        user_id: None,
        context: json!({}),
    }
}

#[tokio::test]
async fn a_thousand_identical_errors_with_varying_ids_are_one_group() {
    let app = TestApp::spawn().await;
    let staff = app.user(Role::Admin).await;
    let recorded: Vec<_> = stream::iter(0..1000)
        .map(|i| {
            let state = &app.state;
            let message = format!(
                "order {} not saved after {} ms (attempt {i})",
                uuid::Uuid::new_v4(),
                100 + i
            );
            async move { monitoring::record(state, report(message)).await }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    assert!(
        recorded.iter().all(Option::is_some),
        "every error is recorded"
    );
    let fingerprints: std::collections::HashSet<_> = recorded
        .iter()
        .flatten()
        .map(|r| r.fingerprint.clone())
        .collect();
    assert_eq!(fingerprints.len(), 1);
    assert_eq!(recorded.iter().flatten().filter(|r| r.new_group).count(), 1);

    let body = overview(&app, &staff.token, "2h").await;
    assert_eq!(body["summary"]["total"], 1000, "{}", body["summary"]);
    assert_eq!(body["summary"]["groups"], 1);
    assert_eq!(body["summary"]["bySeverity"]["HIGH"], 1000);
    assert_eq!(body["summary"]["byCategory"]["database"], 1000);
    let group = &body["topGroups"][0];
    assert_eq!(group["count"], 1000);
    assert_eq!(group["totalCount"], 1000);
    assert_eq!(group["status"], "unresolved");
    assert_eq!(
        group["message"],
        "order <uuid> not saved after <n> ms (attempt <n>)"
    );
    assert_eq!(body["recent"].as_array().map(Vec::len), Some(20));
    let hourly_total: i64 = body["hourly"]
        .as_array()
        .expect("hourly")
        .iter()
        .filter_map(|h| h["total"].as_i64())
        .sum();
    assert_eq!(hourly_total, 1000);
}

#[tokio::test]
async fn a_resolved_group_seen_again_is_a_regression() {
    let app = TestApp::spawn().await;
    let staff = app.user(Role::Admin).await;
    let first = monitoring::record(&app.state, report("timeout after 5 ms".into()))
        .await
        .expect("recorded");
    let resolved = resolve_groups(
        &app.state,
        &[first.fingerprint.clone(), "nope".into()],
        staff.id,
    )
    .await
    .expect("resolve");
    assert_eq!(resolved, 1, "only the group that exists");
    let body = overview(&app, &staff.token, "24h").await;
    assert_eq!(body["topGroups"][0]["status"], "resolved");

    let again = monitoring::record(&app.state, report("timeout after 9 ms".into()))
        .await
        .expect("recorded");
    assert_eq!(again.fingerprint, first.fingerprint);
    assert!(again.regression && !again.new_group);
    let body = overview(&app, &staff.token, "24h").await;
    let group = &body["topGroups"][0];
    assert_eq!(group["status"], "unresolved");
    assert_eq!(group["regressions"], 1);
    assert_eq!(group["count"], 2);
}

/// Staff resolve groups through `POST /api/health/errors`; others may not, and a body
/// that names no group's fingerprint is a 400 that resolves nothing.
#[tokio::test]
async fn staff_resolve_error_groups_through_the_api() {
    let app = TestApp::spawn().await;
    let staff = app.user(Role::Admin).await;
    let client = app.user(Role::Client).await;
    let group = monitoring::record(&app.state, report("timeout after 5 ms".into()))
        .await
        .expect("recorded");
    let refused = resolve(
        &app,
        &client.token,
        json!({ "fingerprints": [group.fingerprint] }),
    )
    .await;
    assert_eq!(refused.status(), 403);
    for bad in [
        json!({}),
        json!({ "fingerprints": [] }),
        json!({ "fingerprints": ["not-a-fingerprint"] }),
        json!({ "fingerprints": [group.fingerprint], "extra": 1 }),
    ] {
        let response = resolve(&app, &staff.token, bad.clone()).await;
        assert_eq!(response.status(), 400, "{bad}");
    }
    let body = overview(&app, &staff.token, "24h").await;
    assert_eq!(
        body["topGroups"][0]["status"], "unresolved",
        "nothing resolved yet"
    );

    let unknown = "0".repeat(32);
    let resolved = json_body(
        resolve(
            &app,
            &staff.token,
            json!({ "fingerprints": [group.fingerprint, group.fingerprint, unknown] }),
        )
        .await,
    )
    .await;
    assert_eq!(resolved, json!({ "resolved": 1, "unknown": 1 }));
    let body = overview(&app, &staff.token, "24h").await;
    assert_eq!(body["topGroups"][0]["status"], "resolved");
}

async fn resolve(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.call("POST", "/api/health/errors", Some(token), Some(body))
        .await
}

#[tokio::test]
async fn failures_are_recorded_while_the_database_is_down_and_everything_recovers() {
    let app = TestApp::spawn_with(&[("HEALTH_CACHE_SECONDS", "0")]).await;
    let staff = app.user(Role::Admin).await;
    let client = app.user(Role::Client).await;
    app.set_database_reachable(false).await;

    // A route that reaches its handler: sign-in needs the account.
    let failed = app
        .call(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({"email": client.email, "password": client.password})),
        )
        .await;
    assert_eq!(failed.status(), 503);
    let request_id = failed.headers()["x-request-id"]
        .to_str()
        .expect("request id")
        .to_owned();
    // A signed-in route: the authorizer cannot read the account and approves the token
    // provisionally; the function cannot either, answers 503, and records it.
    let refused = app
        .call("GET", "/api/user-orders", Some(&client.token), None)
        .await;
    assert_eq!(refused.status(), 503);

    let body = overview(&app, &staff.token, "2h").await;
    assert_eq!(body["summary"]["bySeverity"]["CRITICAL"], 2, "{body}");
    assert_eq!(body["summary"]["byCategory"]["database"], 2);
    let recent = body["recent"].as_array().expect("recent");
    let login = recent
        .iter()
        .find(|e| e["route"] == "POST /api/auth/login")
        .expect("the sign-in failure");
    assert_eq!(login["requestId"], request_id.as_str());
    assert_eq!(login["category"], "database");
    assert_eq!(login["origin"], "server");
    assert_eq!(login["context"]["status"], 503);
    assert!(
        recent
            .iter()
            .any(|e| e["route"] == "GET /api/user-orders" && e["context"]["status"] == 503),
        "the signed-in route's failure: {body}"
    );
    assert!(
        !body.to_string().contains(&client.email),
        "no email is stored"
    );

    let health = app
        .call("GET", "/api/health", Some(&staff.token), None)
        .await;
    assert_eq!(health.status(), 503);
    let health = json_body(health).await;
    assert_eq!(health["services"]["database"]["status"], "down");
    assert_eq!(health["services"]["dynamodb"]["status"], "up");

    app.set_database_reachable(true).await;
    assert_eq!(app.get("/api/health").await.status(), 200);
    let back = app
        .call("GET", "/api/user-orders", Some(&client.token), None)
        .await;
    assert_eq!(back.status(), 200);
}

#[tokio::test]
async fn client_reports_are_recorded_without_their_secrets() {
    let app = TestApp::spawn().await;
    let staff = app.user(Role::Admin).await;
    let client = app.user(Role::Client).await;
    let secrets = [
        "hunter2-password",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ",
        "ada.lovelace@example.com",
        "4111 1111 1111 1111",
        "sess-cookie-value",
        "rs_live_0123456789abcdef0123456789abcdef",
    ];
    let body = json!({
        "message": format!("login failed for {} with password={} and Bearer {}", secrets[2], secrets[0], secrets[1]),
        "stack": format!("Error\n    at pay (card {})", secrets[3]),
        "url": format!("https://app.readyset.co/orders/CV-77?token={}", secrets[1]),
        "severity": "HIGH",
        "category": "auth",
        "context": {
            "password": secrets[0],
            "headers": {"Cookie": secrets[4], "x-api-key": secrets[5]},
            "form": {"email": secrets[2], "note": format!("key {}", secrets[5])},
        },
    });
    let response = app
        .call("POST", "/api/errors", Some(&client.token), Some(body))
        .await;
    assert_eq!(response.status(), 202);
    let answer = json_body(response).await;
    assert_eq!(answer["fingerprint"].as_str().map(str::len), Some(32));

    let stored = stored_errors(&app).await;
    assert!(stored.contains("login failed"), "the report is stored");
    for secret in secrets {
        assert!(!stored.contains(secret), "{secret} was stored:\n{stored}");
    }

    let view = overview(&app, &staff.token, "2h").await;
    let recent = &view["recent"][0];
    assert_eq!(recent["origin"], "client");
    assert_eq!(recent["category"], "auth");
    assert_eq!(recent["severity"], "HIGH");
    assert_eq!(recent["route"], "page /orders/CV-<n>");
    assert_eq!(recent["userId"], client.id.to_string());
}

#[tokio::test]
async fn bad_client_reports_are_refused_with_clear_errors() {
    let app = TestApp::spawn().await;
    let invalid = app
        .call(
            "POST",
            "/api/errors",
            None,
            Some(json!({"message": " ", "severity": "URGENT", "context": "text"})),
        )
        .await;
    assert_eq!(invalid.status(), 400);
    let body = json_body(invalid).await;
    assert_eq!(body["error"]["code"], "validation_failed");
    assert_eq!(error_fields(&body), ["message", "severity", "context"]);

    let huge = json!({"message": "x", "stack": "y".repeat(20_000)});
    let response = app.call("POST", "/api/errors", None, Some(huge)).await;
    assert_eq!(response.status(), 413);
    assert_eq!(
        json_body(response).await["error"]["code"],
        "payload_too_large"
    );

    let not_json = app
        .client_from([127, 0, 0, 57])
        .post(app.url("/api/errors"))
        .header("content-type", "text/plain")
        .body("boom")
        .send()
        .await
        .expect("send");
    assert_eq!(not_json.status(), 415);
}

#[tokio::test]
async fn a_page_in_an_error_loop_is_rate_limited() {
    let app = TestApp::spawn().await;
    let looping = app.client_from([127, 0, 0, 59]);
    let mut statuses = Vec::new();
    for i in 0..31 {
        let response = looping
            .post(app.url("/api/errors"))
            .json(&json!({"message": format!("render loop {i}")}))
            .send()
            .await
            .expect("send");
        statuses.push(response.status().as_u16());
    }
    assert!(statuses[..30].iter().all(|s| *s == 202), "{statuses:?}");
    assert_eq!(statuses[30], 429);
}

#[tokio::test]
async fn the_error_overview_is_for_staff_only() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let staff = app.user(Role::Helpdesk).await;
    assert_eq!(app.get("/api/health/errors").await.status(), 401);
    let forbidden = app
        .call("GET", "/api/health/errors", Some(&client.token), None)
        .await;
    assert_eq!(forbidden.status(), 403);
    for bad in ["0h", "31d", "week"] {
        let response = app
            .call(
                "GET",
                &format!("/api/health/errors?window={bad}"),
                Some(&staff.token),
                None,
            )
            .await;
        assert_eq!(response.status(), 400, "{bad}");
        assert_eq!(
            json_body(response).await["error"]["details"][0]["field"],
            "window"
        );
    }
    let empty = overview(&app, &staff.token, "7d").await;
    assert_eq!(empty["windowHours"], 168);
    assert_eq!(empty["summary"]["total"], 0);
    assert_eq!(empty["summary"]["bySeverity"]["CRITICAL"], 0);
}
