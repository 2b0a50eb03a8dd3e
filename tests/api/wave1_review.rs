//! Regression tests for what the wave-1 review found: each failed on the code before it.
//! Rules that drifted between routes, budgets that locked offices out or let guessing
//! run free, sessions lost to two tabs, staff roles granted by admins, a hung dependency
//! holding a request, and logs that could not be tied to their request.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use api_tests::{catering_body, json_body, test_config, PartnerSpec, TestApp, TestUser};
use serde_json::{json, Value};
use shared::{
    auth::{sessions, Role},
    AppState,
};

async fn create_order(app: &TestApp, user: &TestUser, key: Option<&str>) -> Value {
    let mut request = app
        .http
        .post(app.url("/api/catering-requests"))
        .bearer_auth(&user.token)
        .json(&catering_body(10));
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.expect("request");
    assert_eq!(response.status(), 201);
    json_body(response).await["order"].clone()
}

async fn set_status(
    app: &TestApp,
    user: &TestUser,
    order: &Value,
    body: Value,
) -> reqwest::Response {
    let path = format!(
        "/api/catering-requests/{}/status",
        order["id"].as_str().expect("id")
    );
    app.call("PATCH", &path, Some(&user.token), Some(body))
        .await
}

fn number(order: &Value) -> &str {
    order["orderNumber"].as_str().expect("number")
}

#[tokio::test]
async fn an_owner_cannot_cancel_once_a_driver_is_on_the_way() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let admin = app.user(Role::Admin).await;
    let early = create_order(&app, &client, None).await;
    let cancelled = set_status(
        &app,
        &client,
        &early,
        json!({ "status": "CANCELLED", "note": "Event moved" }),
    )
    .await;
    assert_eq!(cancelled.status(), 200, "before it is underway");
    let order = create_order(&app, &client, None).await;
    let assigned = set_status(&app, &admin, &order, json!({ "status": "ASSIGNED" })).await;
    assert_eq!(assigned.status(), 200);
    let refused = set_status(&app, &client, &order, json!({ "status": "CANCELLED" })).await;
    assert_eq!(refused.status(), 409);
    assert_eq!(json_body(refused).await["error"]["code"], "order_underway");
    // Every route applies the same rule.
    let path = format!("/api/orders/{}", number(&order));
    for (method, body) in [
        ("PATCH", Some(json!({ "specialNotes": "x" }))),
        ("DELETE", None),
    ] {
        let response = app.call(method, &path, Some(&client.token), body).await;
        assert_eq!(response.status(), 409, "{method}");
    }
    let view = json_body(app.call("GET", &path, Some(&client.token), None).await).await;
    assert_eq!(view["order"]["status"], "ASSIGNED");
}

#[tokio::test]
async fn edits_obey_the_rules_creates_obey() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let admin = app.user(Role::Admin).await;
    let order = create_order(&app, &client, None).await;
    let path = format!("/api/orders/{}", number(&order));
    let yesterday = chrono::Utc::now() - chrono::Duration::days(1);
    for (edit, field) in [
        (
            json!({ "needHost": "YES", "numberOfHosts": 0 }),
            "numberOfHosts",
        ),
        (json!({ "headcount": 10_001 }), "headcount"),
        (
            json!({ "pickupDateTime": "0001-01-01T12:00:00Z" }),
            "pickupDateTime",
        ),
        (
            json!({ "pickupDateTime": "9999-01-01T12:00:00Z", "arrivalDateTime": "9999-01-01T13:00:00Z" }),
            "pickupDateTime",
        ),
        (
            json!({ "pickupDateTime": yesterday, "arrivalDateTime": yesterday }),
            "pickupDateTime",
        ),
        (
            json!({ "specialNotes": "Deliver to \u{202E}kcod gnidaol" }),
            "specialNotes",
        ),
    ] {
        let response = app
            .call("PATCH", &path, Some(&client.token), Some(edit.clone()))
            .await;
        assert_eq!(response.status(), 400, "{edit}");
        let details = json_body(response).await["error"]["details"].to_string();
        assert!(details.contains(field), "{edit}: {details}");
    }
    // needHost YES alone defaults to one host, as on create.
    let hosted = app
        .call(
            "PATCH",
            &path,
            Some(&client.token),
            Some(json!({ "needHost": "YES" })),
        )
        .await;
    assert_eq!(hosted.status(), 200);
    let hosted = json_body(hosted).await;
    assert_eq!(
        (
            hosted["order"]["needHost"].clone(),
            hosted["order"]["numberOfHosts"].clone()
        ),
        (json!("YES"), json!(1))
    );
    // Staff may record that an order already happened, as on create.
    let backdated = app
        .call(
            "PATCH",
            &path,
            Some(&admin.token),
            Some(json!({ "pickupDateTime": yesterday, "arrivalDateTime": yesterday + chrono::Duration::hours(1) })),
        )
        .await;
    assert_eq!(backdated.status(), 200);
}

#[tokio::test]
async fn every_cancellation_keeps_its_reason() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let deleted = create_order(&app, &client, None).await;
    let response = app
        .call(
            "DELETE",
            &format!("/api/orders/{}?reason=Duplicate%20order", number(&deleted)),
            Some(&client.token),
            None,
        )
        .await;
    assert_eq!(response.status(), 204);
    let moved = create_order(&app, &client, None).await;
    set_status(
        &app,
        &client,
        &moved,
        json!({ "status": "CANCELLED", "note": "Event moved to Friday" }),
    )
    .await;
    let reasons: Vec<(String, Option<String>, Option<String>)> = app
        .db()
        .await
        .query_typed(
            "SELECT o.order_number, o.cancellation_reason, h.note FROM orders o
             JOIN order_status_history h ON h.order_id = o.id AND h.to_status = 'CANCELLED'
             ORDER BY o.created_at",
            &[],
        )
        .await
        .expect("rows")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        reasons,
        [
            (
                number(&deleted).to_owned(),
                Some("Duplicate order".to_owned()),
                Some("Duplicate order".to_owned())
            ),
            (
                number(&moved).to_owned(),
                Some("Event moved to Friday".to_owned()),
                Some("Event moved to Friday".to_owned())
            ),
        ]
    );
}

async fn login_from(app: &TestApp, client: &reqwest::Client, email: &str) -> u16 {
    client
        .post(app.url("/api/auth/login"))
        .json(&json!({ "email": email, "password": "wrong-password-1" }))
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

#[tokio::test]
async fn one_office_can_sign_in_while_one_account_is_guarded() {
    let app = TestApp::spawn().await;
    // Six colleagues behind one NAT: none is turned away.
    for i in 0..6 {
        let status = login_from(&app, &app.http, &format!("colleague{i}@example.com")).await;
        assert_eq!(status, 401, "colleague {i}");
    }
    // One account: five attempts, wherever they come from, then 429.
    for _ in 0..5 {
        assert_eq!(login_from(&app, &app.http, "target@example.com").await, 401);
    }
    let elsewhere = app.client_from([127, 0, 0, 2]);
    assert_eq!(
        login_from(&app, &elsewhere, "target@example.com").await,
        429
    );
    // Sign-ups count per address.
    let signup = |client: reqwest::Client, i: u32| {
        let app = &app;
        async move {
            client
                .post(app.url("/api/auth/signup"))
                .json(&json!({ "email": format!("new{i}@example.com"), "password": "correct-horse-42", "role": "CLIENT", "name": "New" }))
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        }
    };
    for i in 0..5 {
        assert_eq!(signup(app.http.clone(), i).await, 201);
    }
    assert_eq!(signup(app.http.clone(), 5).await, 429);
    assert_eq!(signup(elsewhere.clone(), 6).await, 201);
}

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.call(
        "POST",
        "/api/auth/refresh",
        None,
        Some(json!({ "refreshToken": token })),
    )
    .await
}

#[tokio::test]
async fn refreshes_count_per_session() {
    let app = TestApp::spawn().await;
    let user = app.user(Role::Client).await;
    let other = app.user(Role::Client).await;
    let mut token = user.refresh_token.clone();
    for i in 0..5 {
        let response = refresh(&app, &token).await;
        assert_eq!(response.status(), 200, "refresh {}", i + 1);
        token = json_body(response).await["refreshToken"]
            .as_str()
            .expect("token")
            .to_owned();
    }
    assert_eq!(refresh(&app, &token).await.status(), 429);
    assert_eq!(
        refresh(&app, &other.refresh_token).await.status(),
        200,
        "another session from the same address is not held back"
    );
}

#[tokio::test]
async fn two_tabs_refreshing_at_once_both_stay_signed_in() {
    let app = TestApp::spawn().await;
    let user = app.user(Role::Vendor).await;
    let (first, second) = tokio::join!(
        refresh(&app, &user.refresh_token),
        refresh(&app, &user.refresh_token)
    );
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let (first, second) = (json_body(first).await, json_body(second).await);
    assert_eq!(
        first["refreshToken"], second["refreshToken"],
        "the same new token"
    );
    let next = first["refreshToken"].as_str().expect("token");
    for answer in [&first, &second] {
        let access = answer["accessToken"].as_str().expect("access token");
        assert_eq!(
            app.call("GET", "/api/auth/current-user", Some(access), None)
                .await
                .status(),
            200
        );
    }
    let later = refresh(&app, next).await;
    assert_eq!(later.status(), 200, "the session lives on");
    // The first token, once the chain has moved past it, is a stolen copy.
    assert_eq!(refresh(&app, &user.refresh_token).await.status(), 401);
    let session = sessions::get(&app.state, user.session_id)
        .await
        .expect("store")
        .expect("session");
    assert!(session.revoked);
}

#[tokio::test]
async fn session_items_stay_the_same_size_however_often_they_rotate() {
    let app = TestApp::spawn().await;
    let user = app.user(Role::Client).await;
    let item_size = || async {
        let item = app
            .state
            .dynamodb
            .get_item()
            .table_name(&app.state.config.resources.app_table)
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("SESSION#{}", user.session_id)),
            )
            .key(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S("SESSION".into()),
            )
            .send()
            .await
            .expect("item")
            .item()
            .cloned()
            .expect("session item");
        (item.len(), format!("{item:?}").len())
    };
    let mut token = user.refresh_token.clone();
    let mut sizes = Vec::new();
    for _ in 0..40 {
        token = sessions::rotate(&app.state, &token)
            .await
            .expect("rotates")
            .1;
        sizes.push(item_size().await);
    }
    assert!(
        sizes.windows(2).skip(1).all(|w| w[0].0 == w[1].0),
        "{sizes:?}"
    );
    let spread =
        sizes.iter().map(|s| s.1).max().unwrap_or(0) - sizes.iter().map(|s| s.1).min().unwrap_or(0);
    assert!(spread <= 8, "only the counter's digits change: {sizes:?}");
}

#[tokio::test]
async fn guessing_partner_keys_locks_out_the_address() {
    let app = TestApp::spawn().await;
    app.partner(PartnerSpec::new(
        "catervalley",
        "CV-",
        "real-key-0123456789",
    ))
    .await;
    let path = format!("/api/partners/orders/{}", uuid::Uuid::new_v4());
    let attacker = app.client_from([127, 0, 0, 3]);
    let mut statuses = Vec::new();
    for i in 0..15 {
        let key = if i % 2 == 0 { "guess-a" } else { "guess-b" };
        let answer = app.partner_get(&attacker, &path, "catervalley", key).await;
        statuses.push(answer.status().as_u16());
    }
    assert_eq!(statuses[..10], [401; 10], "{statuses:?}");
    assert_eq!(
        statuses[10..],
        [429; 5],
        "each wrong key does not get a fresh budget"
    );
    let locked = app
        .partner_get(&attacker, &path, "catervalley", "real-key-0123456789")
        .await;
    assert_eq!(
        locked.status(),
        429,
        "even the right key, from that address"
    );
    assert!(locked.headers().contains_key("retry-after"));
    assert_eq!(json_body(locked).await["status"], "ERROR");
    // Right keys are never counted: the partner's own burst is limited by its route
    // budget alone, and a burst of guesses leaves its address locked out too.
    let burst = futures_util::future::join_all(
        (0..30).map(|_| app.partner_get(&app.http, &path, "catervalley", "real-key-0123456789")),
    )
    .await;
    assert!(
        burst.iter().all(|r| r.status() == 404),
        "the partner itself is not locked out"
    );
    let prober = app.client_from([127, 0, 0, 4]);
    let guesses = futures_util::future::join_all(
        (0..40).map(|_| app.partner_get(&prober, &path, "catervalley", "guessed")),
    )
    .await;
    assert!(guesses
        .iter()
        .all(|r| [401, 429].contains(&r.status().as_u16())));
    let after = app
        .partner_get(&prober, &path, "catervalley", "real-key-0123456789")
        .await;
    assert_eq!(after.status(), 429);
}

#[tokio::test]
async fn only_super_admins_grant_change_or_remove_staff_roles() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let super_admin = app.user(Role::SuperAdmin).await;
    let helpdesk = app.user(Role::Helpdesk).await;
    let other_admin = app.user(Role::Admin).await;
    let client = app.user(Role::Client).await;
    let change = |actor: &TestUser, target: &TestUser, role: &str| {
        let path = format!("/api/users/{}/change-role", target.id);
        let token = actor.token.clone();
        let body = json!({ "role": role });
        let app = &app;
        async move {
            app.call("POST", &path, Some(&token), Some(body))
                .await
                .status()
                .as_u16()
        }
    };
    assert_eq!(change(&admin, &client, "ADMIN").await, 403, "grant ADMIN");
    assert_eq!(
        change(&admin, &client, "HELPDESK").await,
        403,
        "grant HELPDESK"
    );
    assert_eq!(
        change(&admin, &helpdesk, "CLIENT").await,
        403,
        "remove HELPDESK"
    );
    assert_eq!(
        change(&admin, &other_admin, "VENDOR").await,
        403,
        "remove ADMIN"
    );
    assert_eq!(
        change(&admin, &client, "VENDOR").await,
        200,
        "ordinary roles stay with admins"
    );
    assert_eq!(change(&super_admin, &helpdesk, "ADMIN").await, 200);
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/api/users/{}", other_admin.id),
            Some(&admin.token),
            None
        )
        .await
        .status(),
        403,
        "nor do admins delete other admins"
    );
    // HELPDESK moves orders along but does not delete them.
    let desk = app.user(Role::Helpdesk).await;
    let order = create_order(&app, &client, None).await;
    let path = format!("/api/orders/{}", number(&order));
    assert_eq!(
        app.call("DELETE", &path, Some(&desk.token), None)
            .await
            .status(),
        403
    );
    assert_eq!(
        app.call("DELETE", &path, Some(&admin.token), None)
            .await
            .status(),
        204
    );
}

#[tokio::test]
async fn names_with_bidirectional_controls_are_refused() {
    let app = TestApp::spawn().await;
    let response = app
        .call(
            "POST",
            "/api/auth/signup",
            None,
            Some(json!({ "email": "ann@example.com", "password": "correct-horse-42", "role": "CLIENT", "name": "Ann\u{202E}gpj.exe" })),
        )
        .await;
    assert_eq!(response.status(), 400);
    let details = json_body(response).await["error"]["details"].to_string();
    assert!(
        details.contains("name") && details.contains("bidirectional"),
        "{details}"
    );
    let user = app.user(Role::Client).await;
    let renamed = app
        .call(
            "PATCH",
            &format!("/api/users/{}", user.id),
            Some(&user.token),
            Some(json!({ "companyName": "Acme\u{2066}Evil\u{2069}" })),
        )
        .await;
    assert_eq!(renamed.status(), 400);
}

#[tokio::test]
async fn a_retry_whose_order_was_deleted_is_a_409_not_a_500() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let order = create_order(&app, &client, Some("key-deleted-1")).await;
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/api/orders/{}", number(&order)),
            Some(&client.token),
            None
        )
        .await
        .status(),
        204
    );
    // The saved answer expires; only the order row still knows the key.
    app.state
        .dynamodb
        .delete_item()
        .table_name(&app.state.config.resources.app_table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!(
                "IDEMPOTENCY#user:{}#key-deleted-1",
                client.id
            )),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("KEY".into()),
        )
        .send()
        .await
        .expect("forget the saved answer");
    let retry = app
        .http
        .post(app.url("/api/catering-requests"))
        .bearer_auth(&client.token)
        .header("idempotency-key", "key-deleted-1")
        .json(&catering_body(10))
        .send()
        .await
        .expect("request");
    assert_eq!(retry.status(), 409);
    assert_eq!(json_body(retry).await["error"]["code"], "order_deleted");
    assert_eq!(
        app.count("SELECT count(*) FROM orders").await,
        1,
        "no second order"
    );
}

async fn partner_draft(app: &TestApp, code: &str) -> Value {
    let day = (chrono::Utc::now() + chrono::Duration::days(3))
        .format("%Y-%m-%d")
        .to_string();
    let response = app
        .http
        .post(app.url("/api/partners/orders/draft"))
        .header("partner", "catervalley")
        .header("x-api-key", "key-0123456789")
        .json(&json!({
            "orderCode": code, "deliveryDate": day, "deliveryTime": "12:00", "totalItem": 10, "priceTotal": 100,
            "pickupLocation": { "name": "Vic", "address": "100 S 1st St", "city": "San Jose", "state": "CA", "zip": "95113" },
            "dropOffLocation": { "name": "Acme", "address": "2 N Market St", "city": "San Jose", "state": "CA", "zip": "95113",
                                 "recipient": { "name": "Casey", "phone": "4155550102" } }
        }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201);
    json_body(response).await
}

async fn partner_post(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .header("partner", "catervalley")
        .header("x-api-key", "key-0123456789")
        .json(&body)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn confirmation_acts_only_on_a_draft_awaiting_it_and_staff_notes_stay_internal() {
    let app = TestApp::spawn().await;
    app.partner(PartnerSpec::new("catervalley", "CV-", "key-0123456789"))
        .await;
    let admin = app.user(Role::Admin).await;
    let assigned = partner_draft(&app, "8001").await;
    let response = set_status(
        &app,
        &admin,
        &assigned,
        json!({ "status": "ASSIGNED", "note": "internal: Dana covers, she is late" }),
    )
    .await;
    assert_eq!(response.status(), 200);
    let rejected = partner_post(
        &app,
        "/api/partners/orders/confirm",
        json!({ "id": assigned["id"], "isAccepted": false, "reason": "no longer needed" }),
    )
    .await;
    assert_eq!(rejected.status(), 422);
    assert_eq!(json_body(rejected).await["code"], "order_not_confirmable");
    let view = |id: &Value| {
        let url = app.url(&format!(
            "/api/partners/orders/{}",
            id.as_str().expect("id")
        ));
        let app = &app;
        async move {
            json_body(
                app.http
                    .get(url)
                    .header("partner", "catervalley")
                    .header("x-api-key", "key-0123456789")
                    .send()
                    .await
                    .expect("request"),
            )
            .await
        }
    };
    let seen = view(&assigned["id"]).await;
    assert_eq!(
        seen["order"]["orderStatus"], "ASSIGNED",
        "a rejection cancels nothing underway"
    );
    assert!(!seen.to_string().contains("internal"), "{seen}");
    // The partner's own words do show.
    let other = partner_draft(&app, "8002").await;
    let accepted = partner_post(
        &app,
        "/api/partners/orders/confirm",
        json!({ "id": other["id"], "isAccepted": false, "reason": "Client cancelled the event" }),
    )
    .await;
    assert_eq!(accepted.status(), 200);
    let seen = view(&other["id"]).await;
    assert_eq!(
        seen["order"]["events"][0]["notes"],
        "Client cancelled the event"
    );
}

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

#[tokio::test]
async fn a_hung_dynamodb_costs_a_request_seconds_not_the_lambda_timeout() {
    let app = TestApp::spawn().await;
    app.partner(PartnerSpec::new("catervalley", "CV-", "key-0123456789"))
        .await;
    let (hole, _task) = black_hole().await;
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
            ("AWS_ENDPOINT_URL_DYNAMODB", hole.as_str()),
            // The deployed deadlines, not the test stack's patient ones.
            ("AWS_ATTEMPT_TIMEOUT_MS", "1000"),
            ("AWS_OPERATION_TIMEOUT_MS", "2000"),
        ],
    ))
    .await;
    let hung = TestApp::serve(state, String::new()).await;
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

/// Collects log lines in memory.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lines").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Lines {
    type Writer = Lines;
    fn make_writer(&'a self) -> Lines {
        self.clone()
    }
}

#[tokio::test]
async fn every_log_line_of_a_failing_request_names_its_request() {
    let lines = Lines::default();
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
    let text = String::from_utf8(lines.0.lock().expect("lines").clone()).expect("utf8");
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
            .is_some_and(|at| at.contains("addresses.rs")),
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

#[tokio::test]
async fn accepting_a_draft_staff_already_activated_changes_nothing() {
    let app = TestApp::spawn().await;
    app.partner(PartnerSpec::new("catervalley", "CV-", "key-0123456789"))
        .await;
    let admin = app.user(Role::Admin).await;
    let draft = partner_draft(&app, "8101").await;
    set_status(&app, &admin, &draft, json!({ "status": "ACTIVE" })).await;
    let accepted = partner_post(
        &app,
        "/api/partners/orders/confirm",
        json!({ "id": draft["id"], "isAccepted": true }),
    )
    .await;
    assert_eq!(accepted.status(), 200);
    assert_eq!(json_body(accepted).await["status"], "CONFIRMED");
    let status: String = app
        .db()
        .await
        .query_typed_one("SELECT status FROM orders", &[])
        .await
        .expect("order")
        .get(0);
    assert_eq!(status, "ACTIVE");
    let rejected = partner_post(
        &app,
        "/api/partners/orders/confirm",
        json!({ "id": draft["id"], "isAccepted": false, "reason": "changed plans" }),
    )
    .await;
    assert_eq!(rejected.status(), 200);
    assert_eq!(json_body(rejected).await["status"], "CANCELLED");
}

#[tokio::test]
async fn a_create_that_times_out_gives_its_key_back() {
    // A stand-in Google that hangs: geocoding the addresses outlives the deadline.
    let google = api_tests::Receiver::start().await;
    google.hang(true);
    let app = TestApp::spawn_with_google(&google, &[("REQUEST_TIMEOUT_MS", "1000")]).await;
    let client = app.user(Role::Client).await;
    let send = || {
        app.http
            .post(app.url("/api/catering-requests"))
            .bearer_auth(&client.token)
            .header("idempotency-key", "slow-create-1")
            .json(&catering_body(10))
            .send()
    };
    let started = Instant::now();
    let first = send().await.expect("request");
    assert_eq!(first.status(), 503);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(
        json_body(first).await["error"]["code"],
        "dependency_timeout"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM orders").await,
        0,
        "nothing half-written"
    );
    google.hang(false);
    google.answer_body(json!({ "status": "ZERO_RESULTS", "results": [] }));
    let retried = send().await.expect("request");
    assert_eq!(
        retried.status(),
        201,
        "the key was released, not held for a minute"
    );
}

#[tokio::test]
async fn a_driver_who_is_no_longer_one_stops_seeing_dispatched_orders() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let driver = app.user(Role::Driver).await;
    let super_admin = app.user(Role::SuperAdmin).await;
    let order = create_order(&app, &client, None).await;
    app.dispatch(&driver, order["id"].as_str().expect("id"))
        .await;
    let path = format!("/api/orders/{}", number(&order));
    assert_eq!(
        app.call("GET", &path, Some(&driver.token), None)
            .await
            .status(),
        200
    );
    let changed = app
        .call(
            "POST",
            &format!("/api/users/{}/change-role", driver.id),
            Some(&super_admin.token),
            Some(json!({ "role": "CLIENT" })),
        )
        .await;
    assert_eq!(changed.status(), 200);
    // A fresh token, so the authorizer reads the new role rather than its cached answer.
    let (token, _) = app.state.jwt().await.expect("keys").issue(
        driver.id,
        driver.session_id,
        Role::Client,
        chrono::Utc::now(),
    );
    assert_eq!(
        app.call("GET", &path, Some(&token), None).await.status(),
        404
    );
}
