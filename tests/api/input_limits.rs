//! Input the database or a reader would trip on: bidirectional controls in names, and
//! values that do not fit their columns, answered with a 4xx, never a 500.

use crate::support::webhook_partner;
use api_tests::{json_body, TestApp};
use serde_json::json;
use shared::auth::Role;

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
    // The furthest position a cursor can hold (the year 2286) is one PostgreSQL compares:
    // an empty page. Past it, a cursor does not parse: 400.
    let furthest = format!("{}{}", "9".repeat(16), "f".repeat(32));
    for (cursor, status) in [(furthest.clone(), 200), (format!("1{furthest}"), 400)] {
        let listed = app
            .call(
                "GET",
                &format!("/api/orders?cursor={cursor}"),
                Some(&admin.token),
                None,
            )
            .await;
        assert_eq!(listed.status(), status, "{cursor}");
    }
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
