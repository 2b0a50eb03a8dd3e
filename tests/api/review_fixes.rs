//! Regression tests for defects found in review: each would have let data, money or a
//! partner's view of an order go wrong.

use std::time::{Duration, Instant};

use api_tests::{catering_body, json_body, PartnerSpec, Receiver, TestApp};
use serde_json::json;
use shared::{auth::Role, outbox::relay};

#[tokio::test]
async fn a_driver_cannot_cancel_an_order_dispatched_to_them() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let driver = app.user(Role::Driver).await;
    let order = json_body(
        app.call(
            "POST",
            "/api/catering-requests",
            Some(&client.token),
            Some(catering_body(10)),
        )
        .await,
    )
    .await;
    let order_id: uuid::Uuid = order["order"]["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("uuid");
    app.dispatch(&driver, &order_id.to_string()).await;
    let path = format!("/api/catering-requests/{order_id}/status");
    let refused = app
        .call(
            "PATCH",
            &path,
            Some(&driver.token),
            Some(json!({ "status": "CANCELLED" })),
        )
        .await;
    assert_eq!(refused.status(), 403);
    assert_eq!(
        app.count("SELECT count(*) FROM orders WHERE status = 'CANCELLED'")
            .await,
        0
    );
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
async fn clients_cannot_share_addresses_through_orders() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let other = app.user(Role::Client).await;
    let mut body = catering_body(10);
    body["pickupAddress"]["isShared"] = json!(true);
    assert_eq!(
        app.call(
            "POST",
            "/api/catering-requests",
            Some(&client.token),
            Some(body)
        )
        .await
        .status(),
        403,
        "the same answer as on the address route"
    );
    let shared = json_body(
        app.call(
            "GET",
            "/api/addresses?includeShared=true",
            Some(&other.token),
            None,
        )
        .await,
    )
    .await;
    assert!(shared["items"].as_array().expect("items").is_empty());
    assert_eq!(
        app.count("SELECT count(*) FROM addresses WHERE is_shared")
            .await,
        0
    );
}

#[tokio::test]
async fn editing_an_address_orders_use_leaves_those_orders_alone() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let saved = json_body(
        app.call("POST", "/api/addresses", Some(&client.token), Some(json!({ "street1": "100 S 1st St", "city": "San Jose", "state": "CA", "zip": "95113" }))).await,
    )
    .await["address"]
    .clone();
    let mut body = catering_body(10);
    body.as_object_mut()
        .expect("object")
        .remove("pickupAddress");
    body["pickupAddressId"] = saved["id"].clone();
    let order = json_body(
        app.call(
            "POST",
            "/api/catering-requests",
            Some(&client.token),
            Some(body),
        )
        .await,
    )
    .await;
    let moved = app
        .call(
            "PATCH",
            &format!("/api/addresses/{}", saved["id"].as_str().expect("id")),
            Some(&client.token),
            Some(json!({ "street1": "1 Market St", "city": "San Francisco", "zip": "94105" })),
        )
        .await;
    assert_eq!(moved.status(), 200);
    let moved = json_body(moved).await["address"].clone();
    assert_ne!(moved["id"], saved["id"], "a new address took its place");
    assert_eq!(moved["city"], "San Francisco");
    let number = order["order"]["orderNumber"].as_str().expect("number");
    let kept = json_body(
        app.call(
            "GET",
            &format!("/api/orders/{number}"),
            Some(&client.token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        kept["order"]["pickupAddress"]["city"], "San Jose",
        "the order keeps its address"
    );
    let book = json_body(
        app.call("GET", "/api/addresses", Some(&client.token), None)
            .await,
    )
    .await;
    let ids: Vec<&serde_json::Value> = book["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| &a["id"])
        .collect();
    assert_eq!(ids, [&moved["id"]]);
}

#[tokio::test]
async fn values_that_do_not_fit_are_4xx_not_500() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let config = json!({ "slug": "big", "name": "Big", "distanceThreshold": 20000, "mileageRate": 3, "minimumFee": 40,
        "beyondThresholdUsesWithinFee": true, "tiers": [{ "tierNumber": 1, "minHeadCount": 0, "minFoodCost": 0, "withinFee": 40 }] });
    assert_eq!(
        app.call(
            "PUT",
            "/api/pricing/tiers",
            Some(&admin.token),
            Some(config)
        )
        .await
        .status(),
        400
    );
    let far_cursor = shared::input::Cursor {
        at: chrono::DateTime::from_timestamp(253_402_300_799, 0).expect("time"),
        id: uuid::Uuid::new_v4(),
    };
    let listed = app
        .call(
            "GET",
            &format!("/api/orders?cursor={}", far_cursor.encode()),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(listed.status(), 400);
    // PostgreSQL refuses a NUL in jsonb (SQLSTATE 22P05): the partner hears 400, not 500.
    webhook_partner(&app, "http://127.0.0.1:9/unused").await;
    let day = (chrono::Utc::now() + chrono::Duration::days(3))
        .format("%Y-%m-%d")
        .to_string();
    let nul = app
        .http
        .post(app.url("/api/partners/orders/draft"))
        .header("partner", "catervalley")
        .header("x-api-key", "key-0123456789")
        .json(&json!({
            "orderCode": "6000", "deliveryDate": day, "deliveryTime": "12:00", "totalItem": 5, "priceTotal": 50,
            "pickupLocation": { "name": "Vic", "address": "100 S 1st St", "city": "San Jose", "state": "CA", "zip": "95113" },
            "dropOffLocation": { "name": "Acme", "address": "2 N Market St", "city": "San Jose", "state": "CA", "zip": "95113",
                                 "recipient": { "name": "Casey", "phone": "4155550102" } },
            "metadata": { "note": "bad\u{0}byte" }
        }))
        .send()
        .await
        .expect("request");
    assert_eq!(nul.status(), 400);
    let body = json_body(nul).await;
    assert_eq!(
        (body["status"].clone(), body["code"].clone()),
        (json!("ERROR"), json!("invalid_value"))
    );
    assert_eq!(
        app.count("SELECT count(*) FROM orders").await,
        0,
        "nothing half-written"
    );
}

/// A CaterValley partner whose webhook points at `receiver`.
async fn webhook_partner(app: &TestApp, url: &str) {
    app.partner(PartnerSpec::new("catervalley", "CV-", "key-0123456789").webhook(url, "secret"))
        .await;
}

async fn partner_draft(app: &TestApp, key: Option<&str>, people: i64) -> reqwest::Response {
    let day = (chrono::Utc::now() + chrono::Duration::days(3))
        .format("%Y-%m-%d")
        .to_string();
    let mut request = app
        .http
        .post(app.url("/api/partners/orders/draft"))
        .header("partner", "catervalley")
        .header("x-api-key", "key-0123456789");
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    request
        .json(&json!({
            "orderCode": "5150", "deliveryDate": day, "deliveryTime": "12:00", "totalItem": people, "priceTotal": 100,
            "pickupLocation": { "name": "Vic", "address": "100 S 1st St", "city": "San Jose", "state": "CA", "zip": "95113" },
            "dropOffLocation": { "name": "Acme", "address": "2 N Market St", "city": "San Jose", "state": "CA", "zip": "95113",
                                 "recipient": { "name": "Casey", "phone": "4155550102" } }
        }))
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn a_retried_draft_whose_answer_was_lost_returns_the_stored_order() {
    let app = TestApp::spawn().await;
    webhook_partner(&app, "http://127.0.0.1:9/unused").await;
    let first = json_body(partner_draft(&app, Some("draft-1"), 10).await).await;
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
    let retry = partner_draft(&app, Some("draft-1"), 60).await;
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
    let draft = json_body(partner_draft(&app, None, 10).await).await;
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

async fn settle(app: &TestApp) {
    for _ in 0..40 {
        relay::run(&app.state, 50, Instant::now() + Duration::from_secs(5))
            .await
            .expect("relay");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn a_dead_message_holds_back_later_ones_so_status_never_goes_backwards() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    receiver.answer_with(&[400]);
    webhook_partner(&app, &receiver.url).await;
    let admin = app.user(Role::Admin).await;
    let draft = json_body(partner_draft(&app, None, 10).await).await;
    let id = draft["id"].as_str().expect("id");
    for status in ["ASSIGNED", "IN_PROGRESS"] {
        assert_eq!(
            app.call(
                "PATCH",
                &format!("/api/catering-requests/{id}/status"),
                Some(&admin.token),
                Some(json!({ "status": status }))
            )
            .await
            .status(),
            200
        );
    }
    settle(&app).await;
    assert_eq!(
        receiver.received().len(),
        1,
        "ON_THE_WAY waits behind the dead ASSIGNED"
    );
    let dead = json_body(
        app.call(
            "GET",
            "/api/admin/webhooks?status=DEAD",
            Some(&admin.token),
            None,
        )
        .await,
    )
    .await;
    let event_id = dead["items"][0]["eventId"]
        .as_str()
        .expect("event")
        .to_owned();
    assert_eq!(
        app.call(
            "POST",
            &format!("/api/admin/webhooks/{event_id}/retry"),
            Some(&admin.token),
            None
        )
        .await
        .status(),
        200
    );
    settle(&app).await;
    let statuses: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| r.json()["status"].as_str().expect("status").to_owned())
        .collect();
    assert_eq!(statuses, ["ASSIGNED", "ASSIGNED", "ON_THE_WAY"]);
}

#[tokio::test]
async fn an_unresolvable_destination_is_retried_not_dropped() {
    let app = TestApp::spawn().await;
    webhook_partner(&app, "http://partner-hooks.invalid/readyset").await;
    let admin = app.user(Role::Admin).await;
    let draft = json_body(partner_draft(&app, None, 10).await).await;
    let id = draft["id"].as_str().expect("id");
    app.call(
        "PATCH",
        &format!("/api/catering-requests/{id}/status"),
        Some(&admin.token),
        Some(json!({ "status": "ASSIGNED" })),
    )
    .await;
    relay::run(&app.state, 10, Instant::now() + Duration::from_secs(10))
        .await
        .expect("relay");
    let row = app
        .db()
        .await
        .query_typed_one("SELECT status, attempts, last_error FROM outbox", &[])
        .await
        .expect("message");
    assert_eq!(row.get::<_, String>(0), "PENDING", "DNS trouble passes");
    assert_eq!(row.get::<_, i32>(1), 1);
    assert!(row
        .get::<_, Option<String>>(2)
        .expect("error")
        .contains("resolve"));
}
