//! Per-identity rate limits at their exact limits, sequentially and under concurrency.

use api_tests::{json_body, TestApp};
use serde_json::json;
use shared::{
    auth::Role,
    ratelimit::{self, RateClass},
};

async fn failed_login(app: &TestApp) -> reqwest::Response {
    app.call(
        "POST",
        "/api/auth/login",
        None,
        Some(json!({ "email": "x@example.com", "password": "wrong-password-1" })),
    )
    .await
}

#[tokio::test]
async fn auth_allows_five_per_minute_then_429_with_headers() {
    let app = TestApp::spawn().await;
    for i in 0..5 {
        let response = failed_login(&app).await;
        assert_eq!(response.status(), 401, "attempt {}", i + 1);
        assert_eq!(response.headers()["x-ratelimit-limit"], "5");
        assert_eq!(
            response.headers()["x-ratelimit-remaining"],
            (4 - i).to_string().as_str()
        );
    }
    let limited = failed_login(&app).await;
    assert_eq!(limited.status(), 429);
    let retry_after: i64 = limited.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(limited.headers()["x-ratelimit-remaining"], "0");
    let reset: i64 = limited.headers()["x-ratelimit-reset"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("epoch");
    assert!(reset > chrono::Utc::now().timestamp());
    assert_eq!(json_body(limited).await["error"]["code"], "rate_limited");
}

#[tokio::test]
async fn exactly_five_of_twenty_parallel_logins_pass() {
    let app = TestApp::spawn().await;
    let attempts = (0..20).map(|_| failed_login(&app));
    let statuses: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        15,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn admin_operations_allow_ten_per_minute() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    for _ in 0..10 {
        assert_eq!(
            app.call("GET", "/api/users", Some(&admin.token), None)
                .await
                .status(),
            200
        );
    }
    assert_eq!(
        app.call("GET", "/api/users", Some(&admin.token), None)
            .await
            .status(),
        429
    );
    // Another admin has a budget of their own.
    let other = app.user(Role::Admin).await;
    assert_eq!(
        app.call("GET", "/api/users", Some(&other.token), None)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn exactly_one_hundred_of_one_hundred_thirty_parallel_api_calls_pass() {
    let app = TestApp::spawn().await;
    let user = app.user(Role::Client).await;
    let calls =
        (0..130).map(|_| app.call("GET", "/api/auth/current-user", Some(&user.token), None));
    let statuses: Vec<u16> = futures_util::future::join_all(calls)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        100,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 30);
}

#[tokio::test]
async fn uploads_allow_twenty_per_hour_and_windows_end() {
    let app = TestApp::spawn().await;
    let now = chrono::Utc::now().timestamp();
    for i in 0..20 {
        let quota = ratelimit::check(&app.state, RateClass::Uploads, "user:u1", now)
            .await
            .expect("store")
            .expect("limited class");
        assert!(quota.allowed, "upload {}", i + 1);
        assert_eq!(quota.remaining, 19 - i);
    }
    let refused = ratelimit::check(&app.state, RateClass::Uploads, "user:u1", now + 1)
        .await
        .expect("store")
        .expect("quota");
    assert!(!refused.allowed);
    assert_eq!(refused.reset_at, now + 3600);
    let later = ratelimit::check(&app.state, RateClass::Uploads, "user:u1", now + 3600)
        .await
        .expect("store")
        .expect("quota");
    assert!(later.allowed, "a new window opens after the hour");
    assert_eq!(later.remaining, 19);
    assert!(
        ratelimit::check(&app.state, RateClass::Exempt, "user:u1", now)
            .await
            .expect("store")
            .is_none()
    );
}

#[tokio::test]
async fn health_is_not_rate_limited() {
    let app = TestApp::spawn().await;
    for _ in 0..8 {
        let response = app.get("/api/health").await;
        assert!(!response.headers().contains_key("x-ratelimit-limit"));
    }
}
