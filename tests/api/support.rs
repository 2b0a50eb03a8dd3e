//! Steps several whole-API tests take: placing and moving an order, and a partner with a
//! webhook drafting one.

use api_tests::{catering_body, json_body, PartnerSpec, TestApp, TestUser};
use serde_json::{json, Value};

/// Places a catering order for `user` (with an `Idempotency-Key` when given); the order.
pub(crate) async fn create_order(app: &TestApp, user: &TestUser, key: Option<&str>) -> Value {
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

/// Moves an order with `PATCH /api/catering-requests/{id}/status`.
pub(crate) async fn set_status(
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

pub(crate) fn number(order: &Value) -> &str {
    order["orderNumber"].as_str().expect("number")
}

/// CaterValley, with its webhook at `url`.
/// A CaterValley partner whose webhook points at `receiver`.
pub(crate) async fn webhook_partner(app: &TestApp, url: &str) {
    app.partner(PartnerSpec::new("catervalley", "CV-", "key-0123456789").webhook(url, "secret"))
        .await;
}

/// A CaterValley draft for `people`, with an `Idempotency-Key` when given.
pub(crate) async fn draft_with_key(
    app: &TestApp,
    key: Option<&str>,
    people: i64,
) -> reqwest::Response {
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
