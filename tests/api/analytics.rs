//! `GET /api/admin/logs?analytics=`: the figures come back from the emulator's
//! CloudWatch, where the local stack puts the functions' metric lines as CloudWatch Logs
//! would, and from the error store, PostgreSQL's statement statistics and the outbox.

use api_tests::{json_body, TestApp};
use serde_json::{json, Value};
use shared::auth::Role;

/// The requests a route served, as the analytics report them.
fn route_requests(body: &Value, route: &str) -> u64 {
    body["performance"]["routes"]
        .as_array()
        .and_then(|routes| routes.iter().find(|r| r["route"] == route))
        .and_then(|r| r["requests"].as_u64())
        .unwrap_or(0)
}

/// The analytics once every route in `expected` shows its number of requests (metrics are
/// put in batches a fraction of a second after the requests).
async fn analytics_after(app: &TestApp, token: &str, expected: &[(&str, u64)]) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let response = app
            .call("GET", "/api/admin/logs?analytics=1h", Some(token), None)
            .await;
        assert_eq!(response.status(), 200);
        let body = json_body(response).await;
        if expected
            .iter()
            .all(|(route, count)| route_requests(&body, route) >= *count)
        {
            return body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "metrics did not arrive: {}",
            body["performance"]
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn requests_latency_and_failures_come_back_per_route() {
    let app = TestApp::spawn_with(&[("METRICS", "emf")]).await;
    let staff = app.user(Role::Admin).await;
    let client = app.user(Role::Client).await;
    for _ in 0..20 {
        let response = app
            .call("GET", "/api/user-orders", Some(&client.token), None)
            .await;
        assert_eq!(response.status(), 200);
    }
    // Three 5xx answers: sign-in while the database is away.
    app.set_database_reachable(false).await;
    for _ in 0..3 {
        let login = json!({"email": client.email, "password": client.password});
        let response = app.call("POST", "/api/auth/login", None, Some(login)).await;
        assert_eq!(response.status(), 503);
    }
    app.set_database_reachable(true).await;

    let body = analytics_after(
        &app,
        &staff.token,
        &[("GET /api/user-orders", 20), ("POST /api/auth/login", 3)],
    )
    .await;
    assert_eq!(body["window"], "1h");
    let performance = &body["performance"];
    let routes = performance["routes"].as_array().expect("routes");
    let orders = routes
        .iter()
        .find(|r| r["route"] == "GET /api/user-orders")
        .expect("the user-orders route");
    assert_eq!(orders["requests"], 20, "{orders}");
    assert_eq!(orders["serverErrors"], 0);
    let (p50, p99) = (
        orders["p50Ms"].as_f64().expect("p50"),
        orders["p99Ms"].as_f64().expect("p99"),
    );
    assert!(p50 > 0.0 && p50 <= p99, "{orders}");
    let login = routes
        .iter()
        .find(|r| r["route"] == "POST /api/auth/login")
        .expect("the login route");
    assert_eq!(login["serverErrors"], 3);
    assert_eq!(login["errorRate"], 100.0);
    assert!(performance["serverErrors"].as_u64() >= Some(3));
    assert!(performance["errorRate"].as_f64() > Some(0.0));
    assert!(performance["coldStarts"].as_u64() <= performance["requests"].as_u64());

    let over_time = body["errors"]["overTime"].as_array().expect("series");
    assert_eq!(over_time.len(), 12, "5-minute steps over the hour");
    // The series (5-minute periods) and the routes (one period for the window) are read
    // separately: they must cover the same requests.
    let by_interval: u64 = over_time
        .iter()
        .filter_map(|i| i["requests"].as_u64())
        .sum();
    let by_route: u64 = routes.iter().filter_map(|r| r["requests"].as_u64()).sum();
    assert_eq!(by_interval, by_route, "{over_time:?}");
    let failed_by_interval: u64 = over_time
        .iter()
        .filter_map(|i| i["serverErrors"].as_u64())
        .sum();
    assert_eq!(failed_by_interval, 3);
    // The three failures were recorded in the error store too.
    assert!(
        body["errors"]["total"].as_u64() >= Some(3),
        "{}",
        body["errors"]
    );
    assert_eq!(body["errors"]["bySeverity"]["CRITICAL"].as_u64(), Some(3));
    assert!(body["slowQueries"]
        .as_array()
        .is_some_and(|q| !q.is_empty()));
    assert_eq!(body["outbox"]["pending"], 0);
    assert_eq!(body["outbox"]["dead"], 0);
}

#[tokio::test]
async fn analytics_are_for_staff_and_take_three_windows() {
    let app = TestApp::spawn().await;
    let staff = app.user(Role::Helpdesk).await;
    let client = app.user(Role::Client).await;
    for window in ["1h", "24h", "7d"] {
        let response = app
            .call(
                "GET",
                &format!("/api/admin/logs?analytics={window}"),
                Some(&staff.token),
                None,
            )
            .await;
        assert_eq!(response.status(), 200, "{window}");
        assert_eq!(json_body(response).await["window"], window);
    }
    let bad = app
        .call(
            "GET",
            "/api/admin/logs?analytics=2h",
            Some(&staff.token),
            None,
        )
        .await;
    assert_eq!(bad.status(), 400);
    assert_eq!(
        json_body(bad).await["error"]["details"][0]["field"],
        "analytics"
    );
    let forbidden = app
        .call("GET", "/api/admin/logs", Some(&client.token), None)
        .await;
    assert_eq!(forbidden.status(), 403);
}
