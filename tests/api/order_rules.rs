//! Who may change an order, and how: an owner only before it is underway, edits under the
//! rules creates obey, every cancellation with its reason, retries that find their order
//! deleted or timed out, and drivers who may not cancel or, once no longer drivers, see
//! what was dispatched to them.

use std::time::{Duration, Instant};

use crate::support::{create_order, number, set_status};
use api_tests::{catering_body, json_body, TestApp};
use serde_json::json;
use shared::auth::Role;

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
