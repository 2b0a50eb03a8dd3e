//! Pricing through the routes: quotes, configuration versions, the calculator envelope.

use api_tests::{json_body, TestApp};
use serde_json::{json, Value};
use shared::auth::Role;

async fn quote(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.call("POST", "/api/pricing/calculate", Some(token), Some(body))
        .await
}

#[tokio::test]
async fn quotes_follow_the_catervalley_tiers_and_are_recorded() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let response = quote(
        &app,
        &client.token,
        json!({ "headCount": 30, "foodCost": 400, "distance": 15, "tip": 10 }),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body = json_body(response).await;
    assert_eq!(body["deliveryFee"], 67.5);
    assert_eq!(body["total"], 77.5);
    assert_eq!(
        body["breakdown"],
        json!({ "basePrice": 52.5, "mileageFee": 15.0, "dailyDriveDiscount": 0.0, "bridgeToll": 0.0, "tip": 10.0 })
    );
    assert_eq!(
        (body["headCountTier"].clone(), body["foodCostTier"].clone()),
        (json!(2), json!(2))
    );
    assert_eq!(
        body["configuration"],
        json!({ "slug": "catervalley", "version": 1, "name": "CaterValley" })
    );
    let row = app
        .db()
        .await
        .query_typed_one("SELECT q.delivery_fee_cents, c.version FROM pricing_quotes q JOIN pricing_configurations c ON c.id = q.configuration_id", &[])
        .await
        .expect("quote row");
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i32>(1)), (6750, 1));
}

#[tokio::test]
async fn distance_comes_from_addresses_or_the_fallback() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let addresses = json!({
        "headCount": 20,
        "pickupAddress": { "street1": "1 Market St", "city": "San Francisco", "state": "CA", "zip": "94105" },
        "deliveryAddress": { "street1": "100 S 1st St", "city": "San Jose", "state": "CA", "zip": "95113" }
    });
    let far = json_body(quote(&app, &client.token, addresses).await).await;
    let miles = far["distance"].as_f64().expect("distance");
    assert!(
        (50.0..70.0).contains(&miles),
        "SF to San Jose by ZIP centroids × 1.35: {miles}"
    );
    assert_eq!(far["needsManualReview"], false);
    assert_eq!(
        far["breakdown"]["bridgeToll"], 0.0,
        "CaterValley does not charge the toll"
    );
    let fallback = json_body(quote(&app, &client.token, json!({ "headCount": 20 })).await).await;
    assert_eq!(
        (
            fallback["distance"].clone(),
            fallback["needsManualReview"].clone()
        ),
        (json!(10.1), json!(true))
    );
    assert_eq!(fallback["deliveryFee"], 42.8);
}

#[tokio::test]
async fn bad_quotes_are_rejected_clearly() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    for (body, status, field) in [
        (json!({ "headCount": -1 }), 400, "headCount"),
        (json!({ "foodCost": -5 }), 400, "foodCost"),
        (json!({ "headCount": 5, "distance": -1 }), 400, "distance"),
        (json!({ "headCount": "ten" }), 400, "headCount"),
        (
            json!({ "headCount": 5, "clientConfig": "Not A Config" }),
            400,
            "clientConfig",
        ),
    ] {
        let response = quote(&app, &client.token, body.clone()).await;
        assert_eq!(response.status(), status, "{body}");
        assert!(
            json_body(response).await["error"]["details"]
                .to_string()
                .contains(field),
            "{body}"
        );
    }
    let nothing = quote(&app, &client.token, json!({ "distance": 3 })).await;
    assert_eq!(nothing.status(), 422);
    assert_eq!(
        json_body(nothing).await["error"]["code"],
        "pricing_unavailable"
    );
    for (body, field) in [
        (json!({ "headCount": 5, "tip": 1e12 }), "tip"),
        (json!({ "headCount": 5, "foodCost": 2_000_000 }), "foodCost"),
        (json!({ "headCount": 10_001 }), "headCount"),
    ] {
        let response = quote(&app, &client.token, body.clone()).await;
        assert_eq!(response.status(), 400, "{body}");
        assert!(json_body(response).await["error"]["details"]
            .to_string()
            .contains(field));
    }
    // Another partner's configuration is for staff only; an unknown one is not found.
    let other = quote(
        &app,
        &client.token,
        json!({ "headCount": 5, "clientConfig": "kasa" }),
    )
    .await;
    assert_eq!(other.status(), 403);
    let admin = app.user(Role::Admin).await;
    let unknown = quote(
        &app,
        &admin.token,
        json!({ "headCount": 5, "clientConfig": "kasa" }),
    )
    .await;
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        app.call("GET", "/api/pricing/tiers", Some(&client.token), None)
            .await
            .status(),
        403,
        "configurations are for staff"
    );
}

#[tokio::test]
async fn a_new_configuration_version_switches_prices_without_code() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let before = json_body(
        quote(
            &app,
            &admin.token,
            json!({ "headCount": 30, "foodCost": 400, "distance": 15 }),
        )
        .await,
    )
    .await;
    assert_eq!(before["deliveryFee"], 67.5);

    let tiers = app
        .call(
            "GET",
            "/api/pricing/tiers?config=catervalley",
            Some(&admin.token),
            None,
        )
        .await;
    let mut config = json_body(tiers).await["configurations"][0].clone();
    assert_eq!(config["tiers"].as_array().expect("tiers").len(), 5);
    let chart = json!({
        "slug": "catervalley", "name": "CaterValley (chart)", "distanceThreshold": 10, "mileageRate": 3, "minimumFee": 42.5,
        "bridgeToll": 8.5, "chargeBridgeToll": false, "beyondThresholdUsesWithinFee": false,
        "tiers": config["tiers"].as_array_mut().expect("tiers").iter().map(|t| json!({
            "tierNumber": t["tierNumber"], "minHeadCount": t["minHeadCount"], "maxHeadCount": t["maxHeadCount"],
            "minFoodCost": t["minFoodCostCents"].as_f64().expect("cents") / 100.0,
            "maxFoodCost": t["maxFoodCostCents"].as_f64().map(|c| c / 100.0),
            "withinFee": t["withinFeeCents"].as_f64().map(|c| c / 100.0),
            "beyondFee": t["beyondFeeCents"].as_f64().map(|c| c / 100.0),
            "foodCostPercent": t["foodCostBasisPoints"].as_f64().map(|bp| bp / 100.0),
        })).collect::<Vec<_>>(),
    });
    let published = app
        .call("PUT", "/api/pricing/tiers", Some(&admin.token), Some(chart))
        .await;
    assert_eq!(published.status(), 201);
    assert_eq!(json_body(published).await["configuration"]["version"], 2);
    let after = json_body(
        quote(
            &app,
            &admin.token,
            json!({ "headCount": 30, "foodCost": 400, "distance": 15 }),
        )
        .await,
    )
    .await;
    assert_eq!(after["deliveryFee"], 105.0);
    assert_eq!(after["configuration"]["version"], 2);
    let active: i64 = app
        .count(
            "SELECT count(*) FROM pricing_configurations WHERE slug = 'catervalley' AND is_active",
        )
        .await;
    assert_eq!(
        active, 1,
        "one active version; the old one stays for its quotes"
    );

    let client = app.user(Role::Client).await;
    assert_eq!(
        app.call(
            "PUT",
            "/api/pricing/tiers",
            Some(&client.token),
            Some(json!({}))
        )
        .await
        .status(),
        403
    );
    let invalid = app
        .call("PUT", "/api/pricing/tiers", Some(&admin.token), Some(json!({ "slug": "x", "name": "X", "distanceThreshold": 10, "mileageRate": 3, "minimumFee": -1, "beyondThresholdUsesWithinFee": true, "tiers": [] })))
        .await;
    assert_eq!(invalid.status(), 400);
}

#[tokio::test]
async fn the_calculator_route_answers_in_its_envelope() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let response = app
        .call("POST", "/api/calculator/calculate", Some(&admin.token), Some(json!({ "headcount": 20, "foodCost": 278.67, "mileage": 14.1, "tips": 5, "clientConfigId": "catervalley" })))
        .await;
    assert_eq!(response.status(), 200);
    let body = json_body(response).await;
    assert_eq!(body["success"], true);
    assert_eq!(body["data"]["deliveryFee"], 54.8);
    assert_eq!(body["data"]["customerCharges"]["mileageCharges"], 12.3);
    assert_eq!(body["data"]["customerCharges"]["total"], 59.8);
}
