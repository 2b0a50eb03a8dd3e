//! The operations page in a real headless Chromium (Debian's `chromium`, driven through
//! its `chromedriver`): a staff member signs in, the page shows health, the error-rate
//! chart, the on-time chart, error groups and latency per route, and resolving an alert from it works.

use std::{process::Stdio, time::Duration};

use api_tests::{TestApp, TestUser};
use chrono::Utc;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use shared::{
    auth::Role,
    monitoring::{self, rules, Category, ErrorReport, Origin, Severity},
};

/// `chromedriver` on a free port of 127.0.0.1, stopped when dropped.
struct Driver {
    process: tokio::process::Child,
    url: String,
}

impl Driver {
    async fn start() -> Self {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("addr").port()
        };
        let process = tokio::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver (apt-get install chromium-driver; scripts/test installs it)");
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Self { process, url };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("chromedriver did not start");
    }

    async fn browser(&self) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1600"],
            }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.start_kill();
    }
}

/// Waits until `script` (a JavaScript expression) is true in the page.
async fn until(browser: &Client, what: &str, script: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let value = browser
            .execute(&format!("return Boolean({script});"), vec![])
            .await
            .expect("script");
        if value == Value::Bool(true) {
            return;
        }
        if std::time::Instant::now() > deadline {
            let text = browser
                .execute("return document.body.innerText;", vec![])
                .await
                .unwrap_or_default();
            panic!("the page never showed {what}; it shows:\n{text}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Fills the sign-in form and submits it.
async fn sign_in(browser: &Client, email: &str, password: &str) {
    for (field, text) in [("#email", email), ("#password", password)] {
        let input = browser
            .find(Locator::Css(field))
            .await
            .unwrap_or_else(|_| panic!("{field} on the page"));
        input.clear().await.expect("clear");
        input.send_keys(text).await.expect("type");
    }
    browser
        .find(Locator::Css("#signin-button"))
        .await
        .expect("the sign-in button")
        .click()
        .await
        .expect("sign in");
}

async fn text_of(browser: &Client, css: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css} on the page"))
        .text()
        .await
        .expect("text")
}

#[tokio::test]
async fn staff_sign_in_see_the_dashboard_and_resolve_an_alert() {
    let app = TestApp::spawn_with(&[("METRICS", "emf")]).await;
    let staff = app.user(Role::Admin).await;
    let client = app.user(Role::Client).await;
    for _ in 0..5 {
        app.call("GET", "/api/user-orders", Some(&client.token), None)
            .await;
    }
    for i in 0..10 {
        let report = ErrorReport {
            origin: Origin::Server,
            severity: Severity::Critical,
            category: Category::Database,
            route: "GET /api/orders".into(),
            message: format!("connection refused <script>alert({i})</script>"),
            request_id: format!("req-{i}"),
            user_id: None,
            context: json!({}),
        };
        monitoring::record(&app.state, report)
            .await
            .expect("recorded");
    }
    rules::evaluate(&app.state, Utc::now())
        .await
        .expect("evaluate");
    deliveries_for_the_on_time_chart(&app, &staff, &client).await;

    let driver = Driver::start().await;
    let browser = driver.browser().await;
    browser.goto(&app.url("/ops")).await.expect("open the page");
    sign_in(&browser, &staff.email, &staff.password).await;
    until(
        &browser,
        "its first refresh",
        "document.body.dataset.refreshed >= 1",
    )
    .await;

    assert_eq!(text_of(&browser, "#who").await, staff.email);
    // Signed in: the form is gone (nothing of it on screen, the email not kept), who is
    // signed in is shown with a way out.
    let shown =
        |css: &str| format!("getComputedStyle(document.querySelector('{css}')).display !== 'none'");
    for (what, script) in [
        (
            "the sign-in form hidden",
            format!("!({})", shown("#signin")),
        ),
        ("the dashboard shown", shown("#dashboard")),
        ("the sign-out button shown", shown("#signout-button")),
        (
            "the email field emptied",
            "document.querySelector('#email').value === ''".into(),
        ),
    ] {
        until(&browser, what, &script).await;
    }
    let health = text_of(&browser, "#health tbody").await;
    assert!(
        health.contains("database") && health.contains("up"),
        "{health}"
    );
    assert_eq!(text_of(&browser, "#overall").await, "healthy");
    // The chart: a bar per interval of the analytics, drawn from what the API gives
    // (the requests above are in them).
    until(
        &browser,
        "the requests in the chart",
        "Array.from(document.querySelectorAll('#error-chart rect.bar'))\
         .reduce((n, b) => n + Number(b.dataset.requests), 0) >= 5",
    )
    .await;
    let bars = browser
        .execute(
            "return document.querySelectorAll('#error-chart rect.bar').length;",
            vec![],
        )
        .await
        .expect("bars");
    let analytics = api_tests::json_body(
        app.call(
            "GET",
            "/api/admin/logs?analytics=24h",
            Some(&staff.token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        bars.as_u64(),
        analytics["errors"]["overTime"]
            .as_array()
            .map(|a| a.len() as u64)
    );
    let groups = text_of(&browser, "#groups tbody").await;
    // Shown as text, never run as markup.
    assert!(groups.contains("<script>alert(<n>)</script>"), "{groups}");
    let injected = browser
        .execute(
            "return document.querySelectorAll('#groups script').length;",
            vec![],
        )
        .await
        .expect("count");
    assert_eq!(injected, json!(0));
    until(
        &browser,
        "latency for the user-orders route",
        "document.querySelector('#latency tbody').innerText.includes('GET /api/user-orders')",
    )
    .await;
    assert!(text_of(&browser, "#outbox").await.contains("waiting"));
    let dispatch = text_of(&browser, "#dispatch").await;
    assert!(
        dispatch.contains("offers waiting") && dispatch.contains("acceptance rate"),
        "{dispatch}"
    );
    // The on-time chart: a bar per business day with deliveries, its share on time.
    until(
        &browser,
        "three deliveries in the on-time chart",
        "Array.from(document.querySelectorAll('#on-time-chart rect.bar'))\
         .reduce((n, b) => n + Number(b.dataset.deliveries), 0) === 3",
    )
    .await;
    let rates = browser
        .execute(
            "return Array.from(document.querySelectorAll('#on-time-chart rect.bar'))\
             .map((b) => [b.dataset.day, Number(b.dataset.rate)]);",
            vec![],
        )
        .await
        .expect("rates");
    let report = api_tests::json_body(
        app.call(
            "GET",
            &format!(
                "/api/analytics/deliveries?from={}&to={}&groupBy=day",
                rates[0][0].as_str().expect("first day"),
                rates.as_array().expect("bars").last().expect("a bar")[0]
                    .as_str()
                    .expect("last day")
            ),
            Some(&staff.token),
            None,
        )
        .await,
    )
    .await;
    let day_and_rate = |v: &Value| (v[0].as_str().map(str::to_owned), v[1].as_f64());
    let from_api: Vec<_> = report["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| day_and_rate(&json!([g["key"], g["onTimeRate"]])))
        .collect();
    let shown: Vec<_> = rates
        .as_array()
        .expect("bars")
        .iter()
        .map(day_and_rate)
        .collect();
    assert_eq!(shown, from_api);
    assert!(
        text_of(&browser, "#on-time-summary")
            .await
            .contains("of 3 deliveries on time"),
        "the summary"
    );
    assert!(!text_of(&browser, "#status-line")
        .await
        .contains("Unavailable"));

    let alerts = text_of(&browser, "#alerts tbody").await;
    assert!(alerts.contains("critical-errors (database)"), "{alerts}");
    browser
        .find(Locator::Css("#alerts button.resolve"))
        .await
        .expect("a resolve button")
        .click()
        .await
        .expect("resolve");
    until(
        &browser,
        "no active alerts",
        "document.querySelector('#alerts tbody').innerText.includes('no active alerts')",
    )
    .await;
    let view = api_tests::json_body(
        app.call("GET", "/api/health/alerts", Some(&staff.token), None)
            .await,
    )
    .await;
    assert_eq!(view["active"], json!([]));
    assert_eq!(view["resolved"][0]["resolvedBy"], staff.id.to_string());

    // Signing out brings the form back and hides the dashboard.
    browser
        .find(Locator::Css("#signout-button"))
        .await
        .expect("the sign-out button")
        .click()
        .await
        .expect("sign out");
    until(
        &browser,
        "the form again, without the dashboard",
        "getComputedStyle(document.querySelector('#signin')).display !== 'none' \
         && getComputedStyle(document.querySelector('#dashboard')).display === 'none' \
         && document.querySelector('#signin-error').innerText.includes('Signed out')",
    )
    .await;
    browser.close().await.expect("close the session");
}

/// Three deliveries made through the API, then due where the chart shows them: one on
/// time and one late today, one late three days ago.
async fn deliveries_for_the_on_time_chart(app: &TestApp, staff: &TestUser, client: &TestUser) {
    let driver = app.user(Role::Driver).await;
    for due_after_arrival in ["1 minute", "-10 minutes", "-3 days"] {
        let (order_id, number) = app.order_of(client).await;
        app.assign_driver(staff, &order_id, &driver).await;
        for step in ["PICKED_UP", "ARRIVED_TO_CLIENT", "COMPLETED"] {
            let moved = app.report_status(&driver, &number, step).await;
            assert_eq!(moved.status(), 200, "{step}");
        }
        app.db()
            .await
            .execute_typed(
                "UPDATE orders o SET arrival_date_time = d.actual_arrival + $2::text::interval,
                        pickup_date_time = d.actual_arrival + $2::text::interval - interval '1 hour'
                   FROM deliveries d WHERE d.order_id = o.id AND o.id = $1::text::uuid",
                &[shared::db::p(&order_id), shared::db::p(&due_after_arrival)],
            )
            .await
            .expect("due");
    }
}

#[tokio::test]
async fn a_wrong_password_or_a_client_account_gets_no_dashboard() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let driver = Driver::start().await;
    let browser = driver.browser().await;
    browser.goto(&app.url("/ops")).await.expect("open the page");
    for (email, password, says) in [
        (
            client.email.as_str(),
            "wrong-password-123",
            "Sign-in failed",
        ),
        (
            client.email.as_str(),
            client.password.as_str(),
            "this page is for staff",
        ),
    ] {
        sign_in(&browser, email, password).await;
        until(
            &browser,
            says,
            &format!("document.querySelector('#signin-error').innerText.includes({says:?})"),
        )
        .await;
        let hidden = browser
            .execute(
                "return document.querySelector('#dashboard').hidden;",
                vec![],
            )
            .await
            .expect("script");
        assert_eq!(hidden, json!(true));
    }
    browser.close().await.expect("close the session");
}
