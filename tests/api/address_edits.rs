//! Addresses as orders use them: a client cannot share one through an order, and editing
//! one that orders use leaves those orders alone.

use api_tests::{catering_body, json_body, TestApp};
use serde_json::json;
use shared::auth::Role;

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
