//! A hung dependency costs a request seconds, not the function's timeout, and every log
//! line of a failing request names the request.

use std::time::{Duration, Instant};

use api_tests::{json_body, test_config, PartnerSpec, TestApp};
use serde_json::{json, Value};
use shared::{auth::Role, AppState};

/// Accepts connections and never answers: a dependency that hangs.
async fn black_hole() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (url, task)
}

/// A second app over `app`'s database and signing key, its DynamoDB at `endpoint`, with
/// the deployed deadlines rather than the test stack's patient ones.
async fn serve_with_dynamodb_at(app: &TestApp, endpoint: &str) -> TestApp {
    let db_url = format!(
        "{}/{}",
        TestApp::admin_url().rsplit_once('/').expect("url").0,
        app.database
    );
    let prefix = format!("t-{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
    let state = AppState::from_config(test_config(
        &db_url,
        &prefix,
        &[
            ("AWS_ENDPOINT_URL_DYNAMODB", endpoint),
            ("AWS_ATTEMPT_TIMEOUT_MS", "1000"),
            ("AWS_OPERATION_TIMEOUT_MS", "2000"),
            // So the app's tokens verify here.
            (
                "JWT_SECRET_ID",
                app.state.config.auth.jwt_secret_id.as_str(),
            ),
        ],
    ))
    .await;
    TestApp::serve(state, String::new()).await
}

#[tokio::test]
async fn a_hung_dynamodb_costs_a_request_seconds_not_the_lambda_timeout() {
    let app = TestApp::spawn().await;
    app.partner(PartnerSpec::new("catervalley", "CV-", "key-0123456789"))
        .await;
    let (hole, _task) = black_hole().await;
    let hung = serve_with_dynamodb_at(&app, &hole).await;
    // Sign-in budgets guard credentials: refused while their store is unreachable.
    let started = Instant::now();
    let login = hung
        .call(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({ "email": "a@example.com", "password": "whatever-123" })),
        )
        .await;
    let waited = started.elapsed();
    assert_eq!(login.status(), 503);
    assert!(waited < Duration::from_millis(3500), "{waited:?}");
    // The partner budget lets the call through: it still answers, once, quickly.
    let started = Instant::now();
    let view = hung
        .http
        .get(hung.url(&format!("/api/partners/orders/{}", uuid::Uuid::new_v4())))
        .header("partner", "catervalley")
        .header("x-api-key", "key-0123456789")
        .send()
        .await
        .expect("request");
    let waited = started.elapsed();
    assert_eq!(view.status(), 404);
    assert!(
        waited < Duration::from_millis(3500),
        "one store timeout, not one per budget: {waited:?}"
    );
}

#[tokio::test]
async fn with_dynamodb_hung_only_the_first_request_waits_for_it() {
    let app = TestApp::spawn().await;
    app.partner(PartnerSpec::new("catervalley", "CV-", "key-0123456789"))
        .await;
    let client = app.user(Role::Client).await;
    let (hole, _task) = black_hole().await;
    let hung = serve_with_dynamodb_at(&app, &hole).await;
    let partner_view = || async {
        let started = Instant::now();
        let response = hung
            .partner_get(
                &hung.http,
                &format!("/api/partners/orders/{}", uuid::Uuid::new_v4()),
                "catervalley",
                "key-0123456789",
            )
            .await;
        (response.status(), started.elapsed())
    };
    // The partner budget fails open: the first call waits out the store's deadline once.
    let (status, first) = partner_view().await;
    assert_eq!(status, 404);
    assert!(first >= Duration::from_millis(1500), "{first:?}");
    // Then the circuit is open: the same call, and others, no longer wait for it.
    for _ in 0..3 {
        let (status, waited) = partner_view().await;
        assert_eq!(status, 404);
        assert!(
            waited < Duration::from_millis(700),
            "{waited:?} after {first:?}"
        );
    }
    // Behind the authorizer the session cannot be read: a quick 503, not a 500.
    for _ in 0..2 {
        let started = Instant::now();
        let response = hung
            .call("GET", "/api/user-orders", Some(&client.token), None)
            .await;
        let waited = started.elapsed();
        assert_eq!(response.status(), 503);
        assert!(response.headers().contains_key("retry-after"));
        assert_eq!(
            json_body(response).await["error"]["code"],
            "service_unavailable"
        );
        assert!(waited < Duration::from_millis(700), "{waited:?}");
    }
}

#[tokio::test]
async fn every_log_line_of_a_failing_request_names_its_request() {
    let lines = shared::telemetry::LineBuffer::default();
    let subscriber = shared::telemetry::json_subscriber(
        lines.clone(),
        tracing_subscriber::EnvFilter::new("info"),
        std::time::Duration::from_millis(100),
    );
    // This test's thread runs the gateway and the handlers: its default catches them all.
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    // The address book's table disappears under the running service.
    app.db()
        .await
        .batch_execute("ALTER TABLE user_addresses RENAME TO user_addresses_gone")
        .await
        .expect("break the table");
    let response = app
        .call("GET", "/api/addresses", Some(&client.token), None)
        .await;
    assert_eq!(response.status(), 500);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        json_body(response).await["error"]["requestId"],
        request_id.as_str()
    );
    let text = lines.text();
    let of_request: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["span"]["request_id"] == request_id.as_str())
        .collect();
    let messages: Vec<&str> = of_request
        .iter()
        .filter_map(|l| l["message"].as_str())
        .collect();
    assert!(
        messages.contains(&"request failed") && messages.contains(&"request"),
        "{messages:?}\n{text}"
    );
    for line in &of_request {
        if line["span"]["name"] == "job" {
            // The authorizer's run for this request carries its id too.
            assert_eq!(line["span"]["job"], "authorizer", "{line}");
            continue;
        }
        assert_eq!(line["span"]["route"], "GET /api/addresses", "{line}");
        assert_eq!(line["span"]["user_id"], client.id.to_string().as_str());
    }
    let failed = of_request
        .iter()
        .find(|l| l["message"] == "request failed")
        .expect("the 500's line");
    assert!(
        failed["at"]
            .as_str()
            .is_some_and(|at| at.contains("addresses/book.rs")),
        "{failed}"
    );
    assert!(
        failed["cause"]
            .as_str()
            .is_some_and(|c| c.contains("user_addresses")),
        "{failed}"
    );
    println!("{failed}");
    // The handler's own lines of other requests carry their ids too: none is orphaned.
    let orphans: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"message\":\"request\"") && !l.contains("request_id"))
        .collect();
    assert!(orphans.is_empty(), "{orphans:?}");
}
