//! The partner contract at its edges: guessing keys locks the address out without
//! spending a partner's budget, confirmation acts only on a draft awaiting it, a retried
//! draft gets the stored order, and a deleted order reaches the partner as cancelled.

use crate::support::{draft_with_key, set_status, webhook_partner};
use api_tests::{json_body, PartnerSpec, TestApp};
use serde_json::{json, Value};
use shared::auth::Role;

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
async fn requests_with_a_wrong_key_do_not_spend_a_partners_budget() {
    let app = TestApp::spawn().await;
    app.partner(PartnerSpec::new(
        "catervalley",
        "CV-",
        "real-key-0123456789",
    ))
    .await;
    let path = format!("/api/partners/orders/{}", uuid::Uuid::new_v4());
    let attacker = app.client_from([127, 0, 0, 2]);
    let attacks = futures_util::future::join_all(
        (0..105).map(|_| app.partner_get(&attacker, &path, "catervalley", "guessed-key")),
    )
    .await;
    assert!(
        attacks.iter().any(|r| r.status() == 429),
        "the attacker is limited"
    );
    // The partner, from its own address, keeps its whole budget.
    for _ in 0..20 {
        let answer = app
            .partner_get(&app.http, &path, "catervalley", "real-key-0123456789")
            .await;
        assert_eq!(answer.status(), 404, "the partner is not");
    }
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
async fn a_retried_draft_whose_answer_was_lost_returns_the_stored_order() {
    let app = TestApp::spawn().await;
    webhook_partner(&app, "http://127.0.0.1:9/unused").await;
    let first = json_body(draft_with_key(&app, Some("draft-1"), 10).await).await;
    // The saved answer is gone (expired or never saved): only the order row knows the key.
    app.state
        .dynamodb
        .delete_item()
        .table_name(&app.state.config.resources.app_table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!(
                "IDEMPOTENCY#partner:catervalley:{}#draft-1",
                &shared::identity::hash_key("key-0123456789")[..16]
            )),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("KEY".into()),
        )
        .send()
        .await
        .expect("forget the saved answer");
    let retry = draft_with_key(&app, Some("draft-1"), 60).await;
    assert_eq!(retry.status(), 201);
    let retry = json_body(retry).await;
    assert_eq!(
        (retry["id"].clone(), retry["deliveryPrice"].clone()),
        (first["id"].clone(), first["deliveryPrice"].clone())
    );
    assert_eq!(retry["breakdown"], first["breakdown"]);
    assert_eq!(app.count("SELECT count(*) FROM orders").await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM addresses").await,
        2,
        "no orphaned addresses"
    );
}

#[tokio::test]
async fn deleting_a_partner_order_tells_the_partner_it_is_cancelled() {
    let app = TestApp::spawn().await;
    webhook_partner(&app, "http://127.0.0.1:9/unused").await;
    let admin = app.user(Role::Admin).await;
    let draft = json_body(draft_with_key(&app, None, 10).await).await;
    let number = draft["orderNumber"].as_str().expect("number");
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/api/orders/{number}"),
            Some(&admin.token),
            None
        )
        .await
        .status(),
        204
    );
    assert_eq!(app.count("SELECT count(*) FROM order_status_history WHERE to_status = 'CANCELLED' AND note = 'order deleted'").await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM outbox WHERE payload->>'status' = 'CANCELLED'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_second_draft_for_a_taken_order_code_is_a_409_and_writes_nothing() {
    let app = TestApp::spawn().await;
    webhook_partner(&app, "http://127.0.0.1:9/unused").await;
    assert_eq!(draft_with_key(&app, None, 10).await.status(), 201);
    let again = draft_with_key(&app, None, 10).await;
    assert_eq!(again.status(), 409);
    let body = json_body(again).await;
    assert!(body.to_string().contains("already exists"), "{body}");
    assert_eq!(app.count("SELECT count(*) FROM orders").await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM addresses").await,
        2,
        "the refused draft's addresses were rolled back"
    );
}
