//! `GET /api/health` through the local gateway, with every dependency up and with the
//! database taken away: status alone for anyone, every dependency for staff.

use api_tests::{json_body, test_config, TestApp};
use shared::{
    auth::{sessions, Role},
    AppState,
};

/// A staff bearer token of a live session, made without the database (the session is in
/// DynamoDB and the token is signed with the key from Secrets Manager).
async fn staff_token(state: &AppState) -> String {
    let user = uuid::Uuid::new_v4();
    let (session, _) = sessions::create(state, user, Role::Admin)
        .await
        .expect("session");
    let keys = state.jwt().await.expect("keys");
    keys.issue(user, session.id, Role::Admin, chrono::Utc::now())
        .0
}

async fn staff_health(app: &TestApp) -> reqwest::Response {
    let token = staff_token(&app.state).await;
    app.call("GET", "/api/health", Some(&token), None).await
}

#[tokio::test]
async fn anyone_learns_only_whether_the_api_is_up() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    for token in [None, Some(client.token.as_str()), Some("not-a-token")] {
        let response = app.call("GET", "/api/health", token, None).await;
        assert_eq!(response.status(), 200);
        let body = json_body(response).await;
        let keys: Vec<&String> = body.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["status", "timestamp"], "{body}");
        assert_eq!(body["status"], "healthy");
        assert!(!body.to_string().contains("postgis"));
    }
}

#[tokio::test]
async fn healthy_stack_reports_every_service_up() {
    let app = TestApp::spawn().await;
    let response = staff_health(&app).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    assert!(response.headers().contains_key("x-request-id"));
    let body = json_body(response).await;
    assert_eq!(body["status"], "healthy");
    for service in ["database", "dynamodb", "s3"] {
        assert_eq!(
            body["services"][service]["status"], "up",
            "{service}: {body}"
        );
        assert!(
            body["services"][service]["latencyMs"].as_f64().is_some(),
            "{service}"
        );
    }
    assert_eq!(
        body["services"]["database"]["detail"]["schemaVersion"].as_i64(),
        Some(shared::db::latest_migration_version())
    );
    let database = &body["services"]["database"]["detail"];
    assert!(
        database["pool"]["maxSize"].as_u64() >= Some(1),
        "{database}"
    );
    assert!(database["pool"]["open"].as_u64() >= Some(1));
    assert!(database["connections"]["total"].as_i64() >= Some(1));
    assert!(database["connections"]["max"].as_i64() > Some(1));
    assert!(database["serverVersion"].is_string());
    assert_eq!(body["services"]["maps"]["status"], "up");
    assert_eq!(body["services"]["maps"]["detail"]["provider"], "offline");
    assert_eq!(body["services"]["memory"]["status"], "up");
    assert!(body["services"]["memory"]["residentMb"].as_f64() > Some(0.0));
}

#[tokio::test]
async fn head_answers_the_status_without_a_body() {
    let app = TestApp::spawn().await;
    let response = app.call("HEAD", "/api/health", None, None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.expect("body").len(), 0);
}

#[tokio::test]
async fn the_maps_breaker_open_is_degraded_not_down() {
    let google = api_tests::Receiver::start().await;
    let app = TestApp::spawn_with_google(&google, &[("HEALTH_CACHE_SECONDS", "0")]).await;
    let shared::geo::GeoProvider::Google(maps) = &*app.state.geo else {
        panic!("google configured");
    };
    for _ in 0..5 {
        maps.breaker.record(false);
    }
    let response = staff_health(&app).await;
    assert_eq!(response.status(), 200);
    let body = json_body(response).await;
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["services"]["maps"]["status"], "degraded");
    assert_eq!(body["services"]["maps"]["detail"]["circuit"], "open");
    assert_eq!(body["services"]["database"]["status"], "up");
}

#[tokio::test]
async fn unreachable_database_is_503_with_database_down() {
    // A port nothing listens on: the same failure as a stopped server.
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let url = format!("postgres://postgres@127.0.0.1:{closed_port}/nothing");
    let prefix = format!("t-{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
    let state = AppState::from_config(test_config(&url, &prefix, &[])).await;
    local_stack::provision::ensure_aws_resources(&state)
        .await
        .expect("provision");
    let app = TestApp::serve(state, String::new()).await;

    assert_eq!(app.get("/api/health").await.status(), 503);
    let response = staff_health(&app).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = json_body(response).await;
    assert_eq!(body["status"], "unhealthy");
    assert_eq!(body["services"]["database"]["status"], "down");
    assert_eq!(body["services"]["database"]["error"], "unreachable");
    assert_eq!(body["services"]["dynamodb"]["status"], "up");
    assert_eq!(body["services"]["s3"]["status"], "up");
    assert!(
        !body.to_string().contains(&closed_port.to_string()),
        "no connection details leak"
    );
}

#[tokio::test]
async fn database_lost_while_running_degrades_then_recovers() {
    // Every call checks live here; the reuse of results has its own test below.
    let app = TestApp::spawn_with(&[("HEALTH_CACHE_SECONDS", "0")]).await;
    assert_eq!(app.get("/api/health").await.status(), 200);

    // Take the database away under the running pool, as a failover or stop would.
    app.set_database_reachable(false).await;
    let response = staff_health(&app).await;
    assert_eq!(response.status(), 503);
    let body = json_body(response).await;
    assert_eq!(body["services"]["database"]["status"], "down", "{body}");

    app.set_database_reachable(true).await;
    assert_eq!(app.get("/api/health").await.status(), 200);
}

#[tokio::test]
async fn missing_aws_resources_are_reported_down() {
    let app = TestApp::spawn().await;
    let prefix = format!("t-{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
    let db_url = format!(
        "{}/{}",
        TestApp::admin_url().rsplit_once('/').expect("url").0,
        app.database
    );
    let resources = &app.state.config.resources;
    // A bucket the emulator has never seen; the table (and the sessions in it) is the
    // test's own, so a staff token still works.
    let no_bucket = AppState::from_config(test_config(
        &db_url,
        &prefix,
        &[
            ("APP_TABLE", &resources.app_table),
            ("JWT_SECRET_ID", &app.state.config.auth.jwt_secret_id),
        ],
    ))
    .await;
    let broken = TestApp::serve(no_bucket, String::new()).await;
    let token = staff_token(&app.state).await;
    let response = broken.call("GET", "/api/health", Some(&token), None).await;
    // Uploads fail, everything else works: degraded, still in service.
    assert_eq!(response.status(), 200);
    let body = json_body(response).await;
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["services"]["database"]["status"], "up", "{body}");
    assert_eq!(body["services"]["dynamodb"]["status"], "up");
    assert_eq!(body["services"]["s3"]["status"], "down");
    // Without its table nobody can be recognised as staff, and no session or rate limit
    // works: the status alone says unhealthy.
    let no_table = AppState::from_config(test_config(&db_url, &prefix, &[])).await;
    let broken = TestApp::serve(no_table, String::new()).await;
    let response = broken.call("GET", "/api/health", Some(&token), None).await;
    assert_eq!(response.status(), 503);
    assert_eq!(json_body(response).await["status"], "unhealthy");
}

#[tokio::test]
async fn a_healthy_result_is_reused_for_its_age_and_a_failing_one_never() {
    let app = TestApp::spawn_with(&[("HEALTH_CACHE_SECONDS", "1")]).await;
    let checked_at = |body: &serde_json::Value| body["timestamp"].as_str().map(str::to_owned);
    let first = json_body(staff_health(&app).await).await;
    let second = json_body(staff_health(&app).await).await;
    assert_eq!(first["status"], "healthy");
    assert_eq!(
        checked_at(&first),
        checked_at(&second),
        "one check for both"
    );
    assert_eq!(first["services"], second["services"]);

    app.set_database_reachable(false).await;
    // Within its age the healthy result still answers; past it the failure shows.
    assert_eq!(app.get("/api/health").await.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let failing = staff_health(&app).await;
    assert_eq!(failing.status(), 503);
    let failing = json_body(failing).await;
    let again = json_body(staff_health(&app).await).await;
    assert_eq!(again["services"]["database"]["status"], "down", "{again}");
    assert_ne!(
        checked_at(&failing),
        checked_at(&again),
        "failures are checked again"
    );

    app.set_database_reachable(true).await;
    // Recovery shows on the next call, without waiting for any age.
    assert_eq!(app.get("/api/health").await.status(), 200);
}

#[tokio::test]
async fn callers_arriving_during_a_check_share_it() {
    // No reuse by age at all: only the sharing of a check in flight is left.
    let app = TestApp::spawn_with(&[("HEALTH_CACHE_SECONDS", "0")]).await;
    let calls = (0..20).map(|_| async {
        json_body(app.get("/api/health").await).await["timestamp"]
            .as_str()
            .map(str::to_owned)
    });
    let checked_at: std::collections::BTreeSet<_> = futures_util::future::join_all(calls)
        .await
        .into_iter()
        .collect();
    // Twenty checks of their own would give twenty timestamps.
    assert!(checked_at.len() <= 10, "{checked_at:?}");
}

#[tokio::test]
async fn the_database_report_shows_statistics_slow_statements_and_long_queries() {
    let app = TestApp::spawn().await;
    let staff = app.user(Role::Admin).await;
    let client = app.user(Role::Client).await;
    // Something for the statement statistics, and a query still running when the
    // report is read.
    app.call("GET", "/api/user-orders", Some(&client.token), None)
        .await;
    let sleeper = app.db().await;
    let sleeping = tokio::spawn(async move {
        let _ = sleeper.batch_execute("SELECT pg_sleep(2)").await;
    });
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;

    let response = app
        .call(
            "GET",
            "/api/health/database?longRunningMs=200",
            Some(&staff.token),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    let body = json_body(response).await;
    assert_eq!(body["database"], app.database.as_str());
    assert!(body["sizeBytes"].as_i64() > Some(0));
    let ratio = body["cacheHitRatio"].as_f64().expect("ratio");
    assert!((0.0..=1.0).contains(&ratio), "{ratio}");
    assert!(
        body["connections"]["total"].as_i64() >= Some(2),
        "{}",
        body["connections"]
    );
    assert!(body["pool"]["maxSize"].as_u64() >= Some(1));
    let slowest = &body["slowestStatements"];
    assert_eq!(slowest["available"], true, "{slowest}");
    assert!(slowest["statements"]
        .as_array()
        .is_some_and(|s| !s.is_empty()));
    let tables: Vec<&str> = body["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .filter_map(|t| t["tableName"].as_str())
        .collect();
    assert!(tables.contains(&"orders"), "{tables:?}");
    assert!(body["indexes"].as_array().is_some_and(|i| !i.is_empty()));
    let long = body["longRunning"].as_array().expect("long running");
    assert!(
        long.iter()
            .any(|q| q["query"].as_str().is_some_and(|t| t.contains("pg_sleep"))),
        "{long:?}"
    );
    sleeping.await.expect("sleeper");

    let bad = app
        .call(
            "GET",
            "/api/health/database?longRunningMs=5",
            Some(&staff.token),
            None,
        )
        .await;
    assert_eq!(bad.status(), 400);
    let forbidden = app
        .call("GET", "/api/health/database", Some(&client.token), None)
        .await;
    assert_eq!(forbidden.status(), 403);
    assert_eq!(app.get("/api/health/database").await.status(), 401);
}
