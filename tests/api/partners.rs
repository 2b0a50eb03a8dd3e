//! The partner API (CaterValley; CaterCow under /api/partners): authentication, drafts,
//! updates, confirmation, the order view, and every error in the partner shape.

use api_tests::{json_body, PartnerSpec, TestApp};
use chrono::{Duration, TimeZone, Utc};
use chrono_tz::America::Los_Angeles;
use serde_json::{json, Value};

const KEY: &str = "cv-test-key-0123456789";
/// A delivery day three days ahead, at `time` Los Angeles time.
fn delivery_day() -> String {
    (Utc::now().with_timezone(&Los_Angeles) + Duration::days(3))
        .format("%Y-%m-%d")
        .to_string()
}

fn draft(code: &str, people: i64, food: f64) -> Value {
    json!({
        "orderCode": code,
        "deliveryDate": delivery_day(),
        "deliveryTime": "12:00",
        "totalItem": people,
        "priceTotal": food,
        "pickupLocation": { "name": "Taqueria Vic", "address": "100 S 1st St", "city": "San Jose", "state": "CA", "zip": "95113", "phone": "4155550103" },
        "dropOffLocation": {
            "name": "Acme Offices", "address": "2 N Market St", "city": "San Jose", "state": "CA", "zip": "95113",
            "instructions": "Suite 400",
            "recipient": { "name": "Casey", "phone": "4155550102" }
        }
    })
}

async fn post(app: &TestApp, path: &str, slug: &str, key: &str, body: Value) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .header("partner", slug)
        .header("x-api-key", key)
        .json(&body)
        .send()
        .await
        .expect("request")
}

async fn get(app: &TestApp, path: &str, slug: &str, key: &str) -> reqwest::Response {
    app.http
        .get(app.url(path))
        .header("partner", slug)
        .header("x-api-key", key)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn a_partner_drafts_updates_and_confirms_an_order_at_the_tier_price() {
    let app = TestApp::spawn().await;
    app.partner(PartnerSpec::new("catervalley", "CV-", KEY))
        .await;
    let drafted = post(
        &app,
        "/api/cater-valley/orders/draft",
        "catervalley",
        KEY,
        draft("10452", 26, 350.0),
    )
    .await;
    assert_eq!(drafted.status(), 201);
    let drafted = json_body(drafted).await;
    assert_eq!(drafted["status"], "SUCCESS");
    assert_eq!(drafted["orderNumber"], "CV-10452");
    assert_eq!(
        drafted["deliveryPrice"], 52.5,
        "26 people, $350, same part of San Jose"
    );
    assert_eq!(drafted["totalPrice"], 402.5);
    assert_eq!(
        drafted["breakdown"],
        json!({ "basePrice": 52.5, "mileageFee": 0.0, "dailyDriveDiscount": 0.0, "bridgeToll": 0.0 })
    );
    let delivery = Los_Angeles
        .from_local_datetime(
            &chrono::NaiveDateTime::parse_from_str(
                &format!("{} 12:00", delivery_day()),
                "%Y-%m-%d %H:%M",
            )
            .expect("time"),
        )
        .earliest()
        .expect("local time");
    let pickup: chrono::DateTime<Utc> = drafted["estimatedPickupTime"]
        .as_str()
        .expect("pickup")
        .parse()
        .expect("time");
    assert_eq!(pickup, delivery.with_timezone(&Utc) - Duration::minutes(45));
    let id = drafted["id"].as_str().expect("id").to_owned();

    let mut update = draft("10452", 120, 1500.0);
    update["id"] = json!(id);
    let updated = post(
        &app,
        "/api/cater-valley/orders/update",
        "catervalley",
        KEY,
        update,
    )
    .await;
    assert_eq!(updated.status(), 200);
    assert_eq!(
        json_body(updated).await["deliveryPrice"],
        150.0,
        "120 people, $1500: 10% of food cost"
    );

    let confirmed = post(
        &app,
        "/api/cater-valley/orders/confirm",
        "catervalley",
        KEY,
        json!({ "id": id, "isAccepted": true }),
    )
    .await;
    assert_eq!(confirmed.status(), 200);
    let confirmed = json_body(confirmed).await;
    assert_eq!(confirmed["status"], "CONFIRMED");
    assert_eq!(confirmed["orderNumber"], "CV-10452");
    assert_eq!(confirmed["driverAssignment"]["trackingAvailable"], true);
    let estimated: chrono::DateTime<Utc> = confirmed["estimatedDeliveryTime"]
        .as_str()
        .expect("time")
        .parse()
        .expect("time");
    assert_eq!(estimated, delivery.with_timezone(&Utc));

    let view = json_body(
        get(
            &app,
            &format!("/api/cater-valley/orders/{id}"),
            "catervalley",
            KEY,
        )
        .await,
    )
    .await;
    assert_eq!(view["status"], "SUCCESS");
    assert_eq!(view["order"]["orderCode"], "10452");
    assert_eq!(view["order"]["orderStatus"], "CONFIRMED");
    assert_eq!(view["order"]["lifecycleStatus"], "CONFIRMED");
    let events: Vec<&str> = view["order"]["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["status"].as_str())
        .collect();
    assert_eq!(events, ["CONFIRMED", "PENDING"]);

    // Confirmed orders take no updates.
    let mut late = draft("10452", 30, 400.0);
    late["id"] = json!(id);
    let refused = post(
        &app,
        "/api/cater-valley/orders/update",
        "catervalley",
        KEY,
        late,
    )
    .await;
    assert_eq!(refused.status(), 422);
    assert_eq!(json_body(refused).await["status"], "ERROR");
    let quotes: i64 = app.count("SELECT count(*) FROM pricing_quotes").await;
    assert_eq!(quotes, 2, "every price is recorded with its configuration");
}

#[tokio::test]
async fn credentials_are_checked_and_errors_use_the_partner_shape() {
    let app = TestApp::spawn().await;
    app.partner(PartnerSpec::new("catervalley", "CV-", KEY))
        .await;
    for (slug, key) in [
        ("catervalley", "wrong-key"),
        ("nobody", KEY),
        ("", KEY),
        ("catervalley", ""),
    ] {
        let response = post(
            &app,
            "/api/partners/orders/draft",
            slug,
            key,
            draft("1", 1, 16.75),
        )
        .await;
        assert_eq!(response.status(), 401, "{slug}/{key}");
        let body = json_body(response).await;
        assert_eq!(body["status"], "ERROR");
        assert!(body["message"].is_string());
    }
    let no_headers = app
        .http
        .post(app.url("/api/partners/orders/draft"))
        .json(&draft("1", 1, 16.75))
        .send()
        .await
        .expect("request");
    assert_eq!(no_headers.status(), 401);

    let bad_json = app
        .http
        .post(app.url("/api/partners/orders/draft"))
        .header("partner", "catervalley")
        .header("x-api-key", KEY)
        .header("content-type", "application/json")
        .body("{\"orderCode\": ")
        .send()
        .await
        .expect("request");
    assert_eq!(bad_json.status(), 400);
    assert_eq!(json_body(bad_json).await["status"], "ERROR");

    let mut big = draft("2", 1, 16.75);
    big["metadata"] = json!({ "blob": "x".repeat(1024 * 1024) });
    let too_big = post(&app, "/api/partners/orders/draft", "catervalley", KEY, big).await;
    assert_eq!(too_big.status(), 413);
    assert_eq!(json_body(too_big).await["status"], "ERROR");
}

#[tokio::test]
async fn drafts_are_validated_and_the_delivery_window_enforced() {
    let app = TestApp::spawn().await;
    app.partner(PartnerSpec::new("catervalley", "CV-", KEY))
        .await;
    let send = |body: Value| {
        post(
            &app,
            "/api/cater-valley/orders/draft",
            "catervalley",
            KEY,
            body,
        )
    };
    for (field, change) in [
        ("orderCode", json!({ "orderCode": "" })),
        ("totalItem", json!({ "totalItem": 0 })),
        ("totalItem", json!({ "totalItem": -3 })),
        ("priceTotal", json!({ "priceTotal": -1 })),
        ("deliveryDate", json!({ "deliveryDate": "12/01/2026" })),
        ("deliveryTime", json!({ "deliveryTime": "noon" })),
        (
            "dropOffLocation.recipient.phone",
            json!({ "dropOffLocation": { "name": "A", "address": "1 Main", "city": "San Jose", "state": "CA", "recipient": { "name": "C", "phone": "123" } } }),
        ),
    ] {
        let mut body = draft("77", 10, 100.0);
        for (k, v) in change.as_object().expect("object") {
            body[k] = v.clone();
        }
        let response = send(body).await;
        assert_eq!(response.status(), 400, "{field}");
        let body = json_body(response).await;
        assert_eq!(body["status"], "ERROR");
        assert!(
            body["message"].as_str().expect("message").contains(field),
            "{field}: {body}"
        );
    }
    let missing = send(json!({ "orderCode": "77" })).await;
    assert_eq!(missing.status(), 400);

    for (date, time) in [
        (delivery_day(), "06:59".to_owned()),
        (delivery_day(), "22:00".to_owned()),
        (delivery_day(), "22:01".to_owned()),
        (
            (Utc::now().with_timezone(&Los_Angeles) + Duration::days(366))
                .format("%Y-%m-%d")
                .to_string(),
            "12:00".to_owned(),
        ),
        (
            Utc::now()
                .with_timezone(&Los_Angeles)
                .format("%Y-%m-%d")
                .to_string(),
            (Utc::now().with_timezone(&Los_Angeles) + Duration::minutes(90))
                .format("%H:%M")
                .to_string(),
        ),
        ("2020-01-01".to_owned(), "12:00".to_owned()),
    ] {
        let mut body = draft("78", 10, 100.0);
        body["deliveryDate"] = json!(date);
        body["deliveryTime"] = json!(time);
        let response = send(body).await;
        // Within 2 hours of a late evening the early test time may also be outside hours: both are 422.
        assert_eq!(response.status(), 422, "{date} {time}");
        assert_eq!(json_body(response).await["code"], "delivery_window");
    }
    let orders: i64 = app.count("SELECT count(*) FROM orders").await;
    assert_eq!(orders, 0);
}

#[tokio::test]
async fn order_numbers_are_prefixed_once_and_unique() {
    let app = TestApp::spawn().await;
    app.partner(PartnerSpec::new("catervalley", "CV-", KEY))
        .await;
    let first = json_body(
        post(
            &app,
            "/api/cater-valley/orders/draft",
            "catervalley",
            KEY,
            draft("CV-900", 1, 16.75),
        )
        .await,
    )
    .await;
    assert_eq!(first["orderNumber"], "CV-900");
    assert_eq!(first["deliveryPrice"], 42.5, "1 item, $16.75");
    let again = post(
        &app,
        "/api/cater-valley/orders/draft",
        "catervalley",
        KEY,
        draft("900", 1, 16.75),
    )
    .await;
    assert_eq!(again.status(), 409);
    assert_eq!(json_body(again).await["status"], "ERROR");
}

#[tokio::test]
async fn a_retried_draft_with_the_same_key_is_replayed() {
    let app = TestApp::spawn().await;
    app.partner(PartnerSpec::new("catervalley", "CV-", KEY))
        .await;
    let send = || {
        app.http
            .post(app.url("/api/cater-valley/orders/draft"))
            .header("partner", "catervalley")
            .header("x-api-key", KEY)
            .header("idempotency-key", "cv-retry-1")
            .json(&draft("555", 50, 700.0))
            .send()
    };
    let first = send().await.expect("request");
    assert_eq!(first.status(), 201);
    let first = json_body(first).await;
    assert_eq!(first["deliveryPrice"], 62.5);
    let replay = send().await.expect("request");
    assert_eq!(replay.status(), 201);
    assert_eq!(replay.headers()["x-idempotent-replay"], "true");
    assert_eq!(json_body(replay).await["id"], first["id"]);
    let orders: i64 = app.count("SELECT count(*) FROM orders").await;
    assert_eq!(orders, 1);
}

#[tokio::test]
async fn partners_see_only_their_own_orders_and_rejections_cancel() {
    let app = TestApp::spawn().await;
    app.partner(PartnerSpec::new("catervalley", "CV-", KEY))
        .await;
    app.partner(PartnerSpec::new("catercow", "CC-", "cow-key-0123456789"))
        .await;
    let mine = json_body(
        post(
            &app,
            "/api/partners/orders/draft",
            "catercow",
            "cow-key-0123456789",
            draft("1", 10, 100.0),
        )
        .await,
    )
    .await;
    assert_eq!(mine["orderNumber"], "CC-1");
    let id = mine["id"].as_str().expect("id");
    assert_eq!(
        get(
            &app,
            &format!("/api/partners/orders/{id}"),
            "catervalley",
            KEY
        )
        .await
        .status(),
        404
    );
    let stolen = post(
        &app,
        "/api/partners/orders/confirm",
        "catervalley",
        KEY,
        json!({ "id": id, "isAccepted": true }),
    )
    .await;
    assert_eq!(stolen.status(), 404);
    assert_eq!(
        get(
            &app,
            "/api/partners/orders/NOT-AN-ID",
            "catercow",
            "cow-key-0123456789"
        )
        .await
        .status(),
        400
    );

    let rejected = post(
        &app,
        "/api/partners/orders/confirm",
        "catercow",
        "cow-key-0123456789",
        json!({ "id": id, "isAccepted": false, "reason": "Client cancelled the event" }),
    )
    .await;
    assert_eq!(rejected.status(), 200);
    assert_eq!(json_body(rejected).await["status"], "CANCELLED");
    let reason: Option<String> = app
        .db()
        .await
        .query_typed_one(
            "SELECT cancellation_reason FROM orders WHERE partner_order_code = '1'",
            &[],
        )
        .await
        .expect("row")
        .get(0);
    assert_eq!(reason.as_deref(), Some("Client cancelled the event"));
    let twice = post(
        &app,
        "/api/partners/orders/confirm",
        "catercow",
        "cow-key-0123456789",
        json!({ "id": id, "isAccepted": true }),
    )
    .await;
    assert_eq!(
        twice.status(),
        422,
        "only a draft awaiting the partner is confirmed"
    );
    assert_eq!(json_body(twice).await["code"], "order_not_confirmable");
}

#[tokio::test]
async fn each_partner_route_allows_one_hundred_requests_a_minute() {
    let app = TestApp::spawn().await;
    app.partner(PartnerSpec::new("catervalley", "CV-", KEY))
        .await;
    let path = format!("/api/partners/orders/{}", uuid::Uuid::new_v4());
    let statuses: Vec<u16> =
        futures_util::future::join_all((0..110).map(|_| get(&app, &path, "catervalley", KEY)))
            .await
            .iter()
            .map(|r| r.status().as_u16())
            .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 404).count(),
        100,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 10);
    let limited = get(&app, &path, "catervalley", KEY).await;
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(json_body(limited).await["status"], "ERROR");
    // Another route has its own budget.
    let other = post(
        &app,
        "/api/partners/orders/confirm",
        "catervalley",
        KEY,
        json!({ "id": uuid::Uuid::new_v4(), "isAccepted": true }),
    )
    .await;
    assert_eq!(other.status(), 404);
}

/// A partner's order lookup with `key`: 404 for a made-up order once authenticated, 401
/// when the key is refused.
async fn lookup_with(app: &TestApp, slug: &str, key: &str) -> u16 {
    app.http
        .get(app.url(&format!("/api/partners/orders/{}", uuid::Uuid::new_v4())))
        .header("partner", slug)
        .header("x-api-key", key)
        .send()
        .await
        .expect("lookup")
        .status()
        .as_u16()
}

async fn rotate_key(app: &TestApp, event: serde_json::Value) -> Result<serde_json::Value, String> {
    shared::runtime::handle_event(
        &app.state,
        "partner-key-rotate",
        "test-rotation",
        functions::partner_key_rotate::FUNCTION.handler,
        event,
        shared::runtime::JobLog::Every,
    )
    .await
    .map_err(|e| e.to_string())
}

#[tokio::test]
async fn a_rotated_partner_key_works_at_once_and_the_replaced_one_until_its_overlap_ends() {
    let app = TestApp::spawn().await;
    let first = "rotating-first-key-0123456789";
    app.partner(PartnerSpec::new("rotating", "RT-", first))
        .await;
    assert_eq!(lookup_with(&app, "rotating", first).await, 404);

    let rotated = rotate_key(&app, json!({ "partner": "rotating", "overlapHours": 1 }))
        .await
        .expect("rotated");
    let second = rotated["apiKey"].as_str().expect("the new key").to_owned();
    assert_ne!(second, first);
    assert_eq!(
        lookup_with(&app, "rotating", &second).await,
        404,
        "the new key works at once"
    );
    assert_eq!(
        lookup_with(&app, "rotating", first).await,
        404,
        "the replaced key still works"
    );
    let stored: String = app
        .db()
        .await
        .uncached()
        .query_one(
            "SELECT api_key_hash FROM api_partners WHERE slug = 'rotating'",
            &[],
        )
        .await
        .expect("partner")
        .get(0);
    assert_eq!(
        stored,
        shared::identity::hash_key(&second),
        "only the hash is stored"
    );

    // A rerun during the overlap is refused: it would end the partner's working key.
    assert!(rotate_key(&app, json!({ "partner": "rotating" }))
        .await
        .is_err());
    assert_eq!(lookup_with(&app, "rotating", &second).await, 404);
    // Forced, without overlap: the key just replaced stops at once, the first is long gone.
    let third = rotate_key(
        &app,
        json!({ "partner": "rotating", "overlapHours": 0, "force": true }),
    )
    .await
    .expect("rotated")["apiKey"]
        .as_str()
        .expect("key")
        .to_owned();
    assert_eq!(lookup_with(&app, "rotating", &third).await, 404);
    assert_eq!(lookup_with(&app, "rotating", &second).await, 401);
    assert_eq!(lookup_with(&app, "rotating", first).await, 401);

    for bad in [
        json!({ "partner": "rotating", "overlapHours": 100000 }),
        json!({ "partner": "nobody" }),
        json!({ "partner": "rotating", "keep": 1 }),
    ] {
        assert!(rotate_key(&app, bad.clone()).await.is_err(), "{bad}");
    }
    assert_eq!(
        lookup_with(&app, "rotating", &third).await,
        404,
        "a refused rotation changes nothing"
    );
}
