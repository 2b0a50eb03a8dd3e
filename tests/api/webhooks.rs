//! Status changes reach partners: the outbox written by the one status-change function,
//! delivered by the relay to a receiver on 127.0.0.1, signed, retried, dead-lettered and
//! re-queued.

use std::time::{Duration, Instant};

use api_tests::{json_body, PartnerSpec, Receiver, TestApp, TestUser};
use chrono_tz::America::Los_Angeles;
use serde_json::{json, Value};
use shared::{
    auth::Role,
    db::p,
    orders::{change_status, status::DriverStatus, Actor, StatusChange},
    outbox::{relay, signature},
};

const KEY: &str = "cv-webhook-test-key";
const SECRET: &str = "whsec-test-0123456789abcdef";

/// A CaterValley partner whose webhook (and optionally status call) points at `receiver`.
async fn partner_with_webhook(app: &TestApp, receiver: &Receiver, status_call: bool) -> uuid::Uuid {
    let status_url = format!("{}/status", receiver.url);
    let mut spec = PartnerSpec::new("catervalley", "CV-", KEY).webhook(&receiver.url, SECRET);
    if status_call {
        spec = spec.status_call(&status_url, "their-api-key");
    }
    app.partner(spec).await
}

async fn drafted_and_confirmed(app: &TestApp) -> String {
    let day = (chrono::Utc::now().with_timezone(&Los_Angeles) + chrono::Duration::days(2))
        .format("%Y-%m-%d")
        .to_string();
    let draft = json!({
        "orderCode": "7001", "deliveryDate": day, "deliveryTime": "11:00", "totalItem": 20, "priceTotal": 250,
        "pickupLocation": { "name": "Vic", "address": "100 S 1st St", "city": "San Jose", "state": "CA", "zip": "95113" },
        "dropOffLocation": { "name": "Acme", "address": "2 N Market St", "city": "San Jose", "state": "CA", "zip": "95113",
                             "recipient": { "name": "Casey", "phone": "4155550102" } }
    });
    let send = |path: &'static str, body: Value| {
        app.http
            .post(app.url(path))
            .header("partner", "catervalley")
            .header("x-api-key", KEY)
            .json(&body)
            .send()
    };
    let drafted = send("/api/cater-valley/orders/draft", draft)
        .await
        .expect("draft");
    assert_eq!(drafted.status(), 201);
    let id = json_body(drafted).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let confirmed = send(
        "/api/cater-valley/orders/confirm",
        json!({ "id": id, "isAccepted": true }),
    )
    .await
    .expect("confirm");
    assert_eq!(confirmed.status(), 200);
    id
}

async fn move_to(app: &TestApp, admin: &TestUser, order_id: &str, status: &str) -> u16 {
    app.call(
        "PATCH",
        &format!("/api/catering-requests/{order_id}/status"),
        Some(&admin.token),
        Some(json!({ "status": status, "note": format!("now {status}") })),
    )
    .await
    .status()
    .as_u16()
}

/// Runs the relay until nothing is due or `limit` passes, waiting out back-off delays.
async fn relay_until_settled(app: &TestApp, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        relay::run(&app.state, 100, Instant::now() + Duration::from_secs(10))
            .await
            .expect("relay");
        let pending: i64 = app
            .count("SELECT count(*) FROM outbox WHERE status = 'PENDING'")
            .await;
        if pending == 0 || Instant::now() > deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Both signatures a receiver may check: the timestamped one and the first version's.
fn verify_signature(received: &api_tests::Received) -> bool {
    let now = chrono::Utc::now().timestamp();
    signature::verify(
        received.header(signature::HEADER),
        SECRET,
        &received.body,
        now,
    ) && signature::hmac_hex(SECRET.as_bytes(), &received.body)
        == received.header(signature::LEGACY_HEADER)
}

#[tokio::test]
async fn each_lifecycle_event_arrives_once_in_order_and_signed() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    partner_with_webhook(&app, &receiver, false).await;
    let admin = app.user(Role::Admin).await;
    let order_id = drafted_and_confirmed(&app).await;
    // A driver is dispatched before assignment, so partners hear who is coming.
    let driver = app.user(Role::Driver).await;
    app.db()
        .await
        .execute_typed(
            "UPDATE drivers SET phone = '4155550199' WHERE user_id = $1",
            &[p(&driver.id)],
        )
        .await
        .expect("phone");
    app.dispatch(&driver, &order_id).await;
    for status in ["ASSIGNED", "IN_PROGRESS", "COMPLETED"] {
        assert_eq!(
            move_to(&app, &admin, &order_id, status).await,
            200,
            "{status}"
        );
    }
    relay_until_settled(&app, Duration::from_secs(5)).await;

    let received = receiver.received();
    let statuses: Vec<String> = received
        .iter()
        .map(|r| r.json()["status"].as_str().expect("status").to_owned())
        .collect();
    assert_eq!(
        statuses,
        ["ASSIGNED", "ON_THE_WAY", "DELIVERED"],
        "in order, once each"
    );
    let mut event_ids: Vec<String> = received
        .iter()
        .map(|r| r.header("x-readyset-event-id").to_owned())
        .collect();
    for r in &received {
        assert!(
            verify_signature(r),
            "signature verifies with the shared secret"
        );
        assert_eq!(r.json()["eventId"], r.header("x-readyset-event-id"));
        assert!(r.header("x-readyset-timestamp").parse::<i64>().is_ok());
        assert_eq!(r.json()["orderNumber"], "CV-7001");
        assert_eq!(r.json()["orderCode"], "7001");
        assert_eq!(r.json()["orderId"], order_id);
    }
    assert_eq!(
        received[0].json()["driver"],
        json!({ "name": "Test User", "phone": "4155550199" })
    );
    assert!(
        received.iter().all(|r| r.json().get("notes").is_none()),
        "staff notes are internal"
    );
    event_ids.dedup();
    assert_eq!(event_ids.len(), 3);
    let mut tampered = received[0].clone();
    tampered.body = String::from_utf8(tampered.body)
        .expect("utf8")
        .replace("ASSIGNED", "DELIVERED")
        .into_bytes();
    assert!(
        !verify_signature(&tampered),
        "a changed body does not verify"
    );

    // The partner can resynchronise from its order view.
    let view = app
        .http
        .get(app.url(&format!("/api/cater-valley/orders/{order_id}")))
        .header("partner", "catervalley")
        .header("x-api-key", KEY)
        .send()
        .await
        .expect("view");
    let view = json_body(view).await;
    assert_eq!(view["order"]["lifecycleStatus"], "DELIVERED");
    let events: Vec<&str> = view["order"]["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["status"].as_str())
        .collect();
    assert_eq!(
        events,
        [
            "COMPLETED",
            "IN_PROGRESS",
            "ASSIGNED",
            "CONFIRMED",
            "PENDING"
        ]
    );
}

#[tokio::test]
async fn three_failures_then_success_is_four_recorded_attempts() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    receiver.answer_with(&[500, 500, 500]);
    partner_with_webhook(&app, &receiver, false).await;
    let admin = app.user(Role::Admin).await;
    let order_id = drafted_and_confirmed(&app).await;
    assert_eq!(move_to(&app, &admin, &order_id, "ASSIGNED").await, 200);
    relay_until_settled(&app, Duration::from_secs(5)).await;

    let attempts: Vec<(Option<i32>, bool)> = app
        .db()
        .await
        .query_typed(
            "SELECT a.status_code, a.succeeded FROM outbox_attempts a ORDER BY a.id",
            &[],
        )
        .await
        .expect("attempts")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        attempts,
        [
            (Some(500), false),
            (Some(500), false),
            (Some(500), false),
            (Some(200), true)
        ]
    );
    let row = app
        .db()
        .await
        .query_typed_one("SELECT status, attempts, last_error FROM outbox", &[])
        .await
        .expect("message");
    assert_eq!(
        (
            row.get::<_, String>(0),
            row.get::<_, i32>(1),
            row.get::<_, Option<String>>(2)
        ),
        ("DELIVERED".into(), 4, None)
    );
    let ids: std::collections::HashSet<String> = receiver
        .received()
        .iter()
        .map(|r| r.header("x-readyset-event-id").to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "every attempt carried the same event id");
}

#[tokio::test]
async fn a_400_answer_is_not_retried() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    receiver.answer_with(&[400]);
    partner_with_webhook(&app, &receiver, false).await;
    let admin = app.user(Role::Admin).await;
    let order_id = drafted_and_confirmed(&app).await;
    move_to(&app, &admin, &order_id, "ASSIGNED").await;
    relay_until_settled(&app, Duration::from_secs(2)).await;
    relay::run(&app.state, 10, Instant::now() + Duration::from_secs(5))
        .await
        .expect("relay");
    assert_eq!(receiver.received().len(), 1);
    let row = app
        .db()
        .await
        .query_typed_one("SELECT status, attempts, last_error FROM outbox", &[])
        .await
        .expect("message");
    assert_eq!(row.get::<_, String>(0), "DEAD");
    assert_eq!(row.get::<_, i32>(1), 1);
    assert!(row
        .get::<_, Option<String>>(2)
        .expect("error")
        .contains("400"));
}

#[tokio::test]
async fn a_receiver_down_past_the_horizon_leaves_a_dead_message_the_admin_retries() {
    let app = TestApp::spawn_with(&[("OUTBOX_HORIZON_SECONDS", "1")]).await;
    let receiver = Receiver::start().await;
    partner_with_webhook(&app, &receiver, false).await;
    let admin = app.user(Role::Admin).await;
    let order_id = drafted_and_confirmed(&app).await;
    receiver.go_down();
    move_to(&app, &admin, &order_id, "ASSIGNED").await;
    relay_until_settled(&app, Duration::from_secs(5)).await;

    let dead = json_body(
        app.call(
            "GET",
            "/api/admin/webhooks?status=DEAD&partner=catervalley",
            Some(&admin.token),
            None,
        )
        .await,
    )
    .await;
    let messages = dead["items"].as_array().expect("items");
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0]["attempts"].as_i64().expect("attempts") >= 2,
        "retried until the horizon: {}",
        messages[0]
    );
    assert!(messages[0]["lastError"]
        .as_str()
        .expect("error")
        .contains("request failed"));
    assert_eq!(messages[0]["recentAttempts"][0]["succeeded"], false);
    let event_id = messages[0]["eventId"]
        .as_str()
        .expect("event id")
        .to_owned();
    assert!(receiver.received().is_empty());

    receiver.come_back().await;
    let retried = app
        .call(
            "POST",
            &format!("/api/admin/webhooks/{event_id}/retry"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(retried.status(), 200);
    relay_until_settled(&app, Duration::from_secs(5)).await;
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].header("x-readyset-event-id"), event_id);
    let again = app
        .call(
            "POST",
            &format!("/api/admin/webhooks/{event_id}/retry"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(again.status(), 409, "only dead messages are re-queued");
    assert_eq!(
        app.call(
            "POST",
            &format!("/api/admin/webhooks/{}/retry", uuid::Uuid::new_v4()),
            Some(&admin.token),
            None
        )
        .await
        .status(),
        404
    );
    let by_order = json_body(
        app.call(
            "GET",
            &format!("/api/admin/webhooks?order={order_id}"),
            Some(&admin.token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(by_order["items"][0]["status"], "DELIVERED");
}

#[tokio::test]
async fn concurrent_transitions_one_wins_and_history_and_outbox_agree() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    partner_with_webhook(&app, &receiver, false).await;
    let admin = app.user(Role::Admin).await;
    let helpdesk = app.user(Role::Helpdesk).await;
    let order_id = drafted_and_confirmed(&app).await;
    let (a, b) = tokio::join!(
        move_to(&app, &admin, &order_id, "ASSIGNED"),
        move_to(&app, &helpdesk, &order_id, "ASSIGNED")
    );
    let mut statuses = [a, b];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    assert_eq!(
        app.count("SELECT count(*) FROM order_status_history WHERE to_status = 'ASSIGNED'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM outbox WHERE payload->>'status' = 'ASSIGNED'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM outbox o JOIN order_status_history h ON h.id = o.history_id WHERE h.to_status = 'ASSIGNED'").await,
        1,
        "the message belongs to the winning change"
    );
}

#[tokio::test]
async fn killing_the_relay_mid_delivery_loses_nothing() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    partner_with_webhook(&app, &receiver, false).await;
    let admin = app.user(Role::Admin).await;
    let order_id = drafted_and_confirmed(&app).await;
    move_to(&app, &admin, &order_id, "ASSIGNED").await;

    receiver.hang(true);
    let state = app.state.clone();
    let worker = tokio::spawn(async move {
        relay::run(&state, 10, Instant::now() + Duration::from_secs(30)).await
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while receiver.received().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(receiver.received().len(), 1, "the delivery was in flight");
    worker.abort();
    let _ = worker.await;

    receiver.hang(false);
    relay_until_settled(&app, Duration::from_secs(5)).await;
    let row = app
        .db()
        .await
        .query_typed_one("SELECT status FROM outbox", &[])
        .await
        .expect("message");
    assert_eq!(row.get::<_, String>(0), "DELIVERED");
    let received = receiver.received();
    assert_eq!(
        received.len(),
        2,
        "delivered again after the kill (at least once)"
    );
    assert_eq!(
        received[0].header("x-readyset-event-id"),
        received[1].header("x-readyset-event-id"),
        "same event id: the receiver drops the duplicate"
    );
}

/// The CaterValley status calls the receiver got, as (order number, status).
fn status_calls(receiver: &Receiver) -> Vec<(String, String)> {
    receiver
        .received()
        .iter()
        .filter(|r| r.header("x-api-key") == "their-api-key")
        .map(|r| {
            assert_eq!(r.header("partner"), "readyset");
            let call = r.json();
            (
                call["orderNumber"].as_str().unwrap_or("").to_owned(),
                call["status"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// Moves an order through `change_status`, as the driver routes will.
async fn drive(app: &TestApp, admin: &TestUser, order_id: &str, driver: DriverStatus) {
    let mut client = app.state.db.get().await.expect("db");
    let tx = client.transaction().await.expect("tx");
    let change = StatusChange {
        order: None,
        driver: Some(driver),
        actor: Actor::User(admin.id),
        note: None,
        location: None,
    };
    change_status(&tx, order_id.parse().expect("uuid"), &change)
        .await
        .unwrap_or_else(|e| panic!("{driver}: {e}"));
    tx.commit().await.expect("commit");
}

#[tokio::test]
async fn catervalley_hears_driver_progress_with_the_original_mapping_once_each() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    partner_with_webhook(&app, &receiver, true).await;
    let admin = app.user(Role::Admin).await;
    let order_id = drafted_and_confirmed(&app).await;
    relay_until_settled(&app, Duration::from_secs(5)).await;
    assert!(
        status_calls(&receiver).is_empty(),
        "the partner's own acceptance is not echoed back"
    );
    for step in DriverStatus::ALL {
        drive(&app, &admin, &order_id, step).await;
    }
    relay_until_settled(&app, Duration::from_secs(5)).await;
    let seen: Vec<(String, String)> = status_calls(&receiver);
    let expected: Vec<(String, String)> = ["CONFIRM", "READY", "ON_THE_WAY", "COMPLETED"]
        .iter()
        .map(|s| ("7001".to_owned(), (*s).to_owned()))
        .collect();
    assert_eq!(seen, expected, "prefix stripped, each value once, in order");
}

#[tokio::test]
async fn catervalley_hears_a_cancellation_after_what_it_already_knows() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    partner_with_webhook(&app, &receiver, true).await;
    let admin = app.user(Role::Admin).await;
    let order_id = drafted_and_confirmed(&app).await;
    // Straight from assignment to arrival at the vendor: CONFIRM once, then READY.
    drive(&app, &admin, &order_id, DriverStatus::Assigned).await;
    drive(&app, &admin, &order_id, DriverStatus::ArrivedAtVendor).await;
    move_to(&app, &admin, &order_id, "CANCELLED").await;
    relay_until_settled(&app, Duration::from_secs(5)).await;
    let seen: Vec<String> = status_calls(&receiver)
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert_eq!(seen, ["CONFIRM", "READY", "CANCELLED"]);
    let webhooks = receiver
        .received()
        .iter()
        .filter(|r| !r.header(signature::HEADER).is_empty())
        .count();
    assert_eq!(webhooks, 2, "lifecycle webhooks for ASSIGNED and CANCELLED");
}

#[tokio::test]
async fn private_and_plain_http_destinations_are_refused_outside_local_runs() {
    let app = TestApp::spawn_with(&[("WEBHOOK_ALLOW_INSECURE", "false")]).await;
    let receiver = Receiver::start().await;
    partner_with_webhook(&app, &receiver, false).await;
    let admin = app.user(Role::Admin).await;
    let order_id = drafted_and_confirmed(&app).await;
    move_to(&app, &admin, &order_id, "ASSIGNED").await;
    relay_until_settled(&app, Duration::from_secs(2)).await;
    let row = app
        .db()
        .await
        .query_typed_one("SELECT status, last_error FROM outbox", &[])
        .await
        .expect("message");
    assert_eq!(row.get::<_, String>(0), "DEAD");
    assert!(row
        .get::<_, Option<String>>(1)
        .expect("error")
        .contains("https"));

    app.db()
        .await
        .execute_typed(
            "UPDATE api_partners SET webhook_url = $1",
            &[p(&receiver.url.replace("http://", "https://"))],
        )
        .await
        .expect("https url");
    // Re-queue the dead message: https now, but to a loopback address.
    let event_id: uuid::Uuid = app
        .db()
        .await
        .query_typed_one("SELECT event_id FROM outbox", &[])
        .await
        .expect("message")
        .get(0);
    let retried = app
        .call(
            "POST",
            &format!("/api/admin/webhooks/{event_id}/retry"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(retried.status(), 200);
    relay_until_settled(&app, Duration::from_secs(2)).await;
    let last = app
        .db()
        .await
        .query_typed_one("SELECT status, last_error FROM outbox", &[])
        .await
        .expect("message");
    assert_eq!(last.get::<_, String>(0), "DEAD");
    assert!(last
        .get::<_, Option<String>>(1)
        .expect("error")
        .contains("non-public"));
    assert!(receiver.received().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn the_local_gateway_relays_in_the_background() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    partner_with_webhook(&app, &receiver, false).await;
    let admin = app.user(Role::Admin).await;
    let order_id = drafted_and_confirmed(&app).await;
    let relay_loop = local_stack::schedule::relay(app.state.clone(), Duration::from_millis(100));
    move_to(&app, &admin, &order_id, "ASSIGNED").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while receiver.received().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    relay_loop.abort();
    assert_eq!(receiver.received().len(), 1);
}

/// A driver's trip through the driver routes: assigned by dispatch, on shift, reporting
/// its position along the way and its steps as the driver app does.
#[tokio::test]
async fn a_simulated_trip_gives_each_status_webhook_and_status_call_once_in_order() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    partner_with_webhook(&app, &receiver, true).await;
    let admin = app.user(Role::Admin).await;
    let order_id = drafted_and_confirmed(&app).await;
    let driver = app.user(Role::Driver).await;
    let session = json_body(
        app.call("GET", "/api/auth/session", Some(&driver.token), None)
            .await,
    )
    .await;
    let driver_id = session["user"]["driverId"]
        .as_str()
        .expect("driver id")
        .to_owned();
    let assigned = app
        .call(
            "POST",
            "/api/orders/assignDriver",
            Some(&admin.token),
            Some(json!({ "orderId": order_id, "driverId": driver_id, "orderType": "catering" })),
        )
        .await;
    assert_eq!(assigned.status(), 200);
    let order = json_body(assigned).await["order"].clone();
    let number = order["orderNumber"].as_str().expect("number").to_owned();
    let stop = (
        order["pickupAddress"]["latitude"]
            .as_f64()
            .expect("geocoded"),
        order["pickupAddress"]["longitude"]
            .as_f64()
            .expect("geocoded"),
    );
    let dropoff = (
        order["deliveryAddress"]["latitude"]
            .as_f64()
            .expect("geocoded"),
        order["deliveryAddress"]["longitude"]
            .as_f64()
            .expect("geocoded"),
    );
    let start = app
        .call(
            "POST",
            "/api/tracking/shifts/start",
            Some(&driver.token),
            Some(json!({})),
        )
        .await;
    assert_eq!(start.status(), 200);

    let step = |status: &'static str| {
        let token = driver.token.clone();
        let path = format!("/api/orders/{number}");
        let app = &app;
        async move {
            let response = app
                .call(
                    "PATCH",
                    &path,
                    Some(&token),
                    Some(json!({ "driverStatus": status })),
                )
                .await;
            assert_eq!(response.status(), 200, "{status}");
        }
    };
    // Points every 10 s (the clock counts down seconds ago), 500 m apart, towards `to`
    // from 2 km south, then two more at `to`: the stay that makes an arrival.
    let clock = std::cell::Cell::new(600i64);
    let at = |lat: f64, lng: f64| {
        clock.set(clock.get() - 10);
        json!({
            "latitude": lat,
            "longitude": lng,
            "recordedAt": chrono::Utc::now() - chrono::Duration::seconds(clock.get()),
        })
    };
    let drive_to = |to: (f64, f64)| -> Vec<Value> {
        (0..=6)
            .map(|i| at(to.0 - 0.018 * f64::from(4 - i.min(4)) / 4.0, to.1))
            .collect()
    };
    let report = |points: Vec<Value>| {
        let token = driver.token.clone();
        let app = &app;
        async move {
            let response = app
                .call(
                    "POST",
                    "/api/tracking/locations",
                    Some(&token),
                    Some(json!({ "locations": points })),
                )
                .await;
            assert_eq!(response.status(), 200);
            json_body(response).await
        }
    };
    step("EN_ROUTE_TO_VENDOR").await;
    let arrived = report(drive_to(stop)).await;
    assert_eq!(arrived["accepted"], 7, "{arrived}");
    assert_eq!(arrived["arrivals"][0]["driverStatus"], "ARRIVED_AT_VENDOR");
    // Still at the vendor: no second arrival.
    let still = report(vec![at(stop.0, stop.1)]).await;
    assert_eq!(still["arrivals"], json!([]));
    step("PICKED_UP").await;
    step("EN_ROUTE_TO_CLIENT").await;
    // The drop-off is in the pickup's ZIP code: a loop out and back, two minutes later.
    clock.set(clock.get() - 120);
    let arrived = report(drive_to(dropoff)).await;
    assert_eq!(arrived["accepted"], 7, "{arrived}");
    assert_eq!(arrived["arrivals"][0]["driverStatus"], "ARRIVED_TO_CLIENT");
    step("COMPLETED").await;

    let history: Vec<String> = app
        .db()
        .await
        .query_typed(
            "SELECT to_driver_status FROM order_status_history
              WHERE order_id = $1 AND to_driver_status IS DISTINCT FROM from_driver_status
              ORDER BY id",
            &[p(&order_id.parse::<uuid::Uuid>().expect("uuid"))],
        )
        .await
        .expect("history")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        history,
        [
            "ASSIGNED",
            "EN_ROUTE_TO_VENDOR",
            "ARRIVED_AT_VENDOR",
            "PICKED_UP",
            "EN_ROUTE_TO_CLIENT",
            "ARRIVED_TO_CLIENT",
            "COMPLETED"
        ]
    );
    relay_until_settled(&app, Duration::from_secs(5)).await;
    let signed: Vec<Value> = receiver
        .received()
        .iter()
        .filter(|r| !r.header(signature::HEADER).is_empty())
        .map(|r| r.json())
        .collect();
    // The ETA is announced too, first when there is one, then only on a move of 2
    // minutes at most every 30 s: here at most once per report, never a storm.
    let etas = signed
        .iter()
        .filter(|w| w["event"] == "delivery.eta_changed")
        .count();
    assert!((1..=3).contains(&etas), "{etas} ETA webhooks for 3 reports");
    // And the driver arriving, once per stop.
    let arriving: Vec<&str> = signed
        .iter()
        .filter(|w| w["event"] == "driver.arriving")
        .map(|w| w["stop"].as_str().expect("stop"))
        .collect();
    assert_eq!(arriving, ["pickup", "dropoff"]);
    let webhooks: Vec<String> = signed
        .iter()
        .filter(|w| w.get("event").is_none())
        .map(|w| w["status"].as_str().expect("status").to_owned())
        .collect();
    assert_eq!(
        webhooks,
        [
            "ASSIGNED",
            "PICKED_UP",
            "ON_THE_WAY",
            "ARRIVED",
            "DELIVERED"
        ]
    );
    let calls: Vec<String> = status_calls(&receiver)
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert_eq!(calls, ["CONFIRM", "READY", "ON_THE_WAY", "COMPLETED"]);
    let delivery = app
        .count("SELECT count(*) FROM deliveries WHERE status = 'COMPLETED' AND actual_arrival IS NOT NULL")
        .await;
    assert_eq!(delivery, 1, "the delivery followed the driver");
}

/// A confirmed CaterValley order (its webhook at `receiver`) with a driver dispatched, and
/// an admin to move it on.
async fn dispatched_partner_order(app: &TestApp, receiver: &Receiver) -> (TestUser, String) {
    partner_with_webhook(app, receiver, false).await;
    let admin = app.user(Role::Admin).await;
    let order_id = drafted_and_confirmed(app).await;
    let driver = app.user(Role::Driver).await;
    app.dispatch(&driver, &order_id).await;
    (admin, order_id)
}

#[tokio::test]
async fn a_committed_status_change_wakes_the_relay_so_the_partner_hears_in_seconds() {
    let app = TestApp::spawn_waking_relay().await;
    let receiver = Receiver::start().await;
    let (admin, order_id) = dispatched_partner_order(&app, &receiver).await;
    let changed = Instant::now();
    assert_eq!(move_to(&app, &admin, &order_id, "ASSIGNED").await, 200);
    // Nothing here runs the relay: the function's wake after commit does.
    while receiver.received().is_empty() && changed.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let statuses: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| r.json()["status"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(statuses, ["ASSIGNED"], "delivered without a relay run");
    assert!(
        changed.elapsed() < Duration::from_secs(5),
        "heard in {:?}",
        changed.elapsed()
    );
    // A refused change enqueues nothing, so nothing more arrives.
    assert_eq!(move_to(&app, &admin, &order_id, "PENDING").await, 409);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(
        app.count("SELECT count(*) FROM outbox WHERE status <> 'DELIVERED'")
            .await,
        0
    );
    // The gateway's Invoke API runs the relay and nothing else.
    let other = app
        .state
        .lambda
        .invoke()
        .function_name("migrate")
        .send()
        .await;
    let refused = other.expect_err("only the relay may be invoked");
    assert!(
        refused
            .as_service_error()
            .is_some_and(|e| e.is_resource_not_found_exception()),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_failed_wake_leaves_the_message_to_the_relay_s_schedule() {
    // Nothing listens on the discard port: every wake fails at once.
    let app = TestApp::spawn_with(&[
        ("OUTBOX_RELAY_FUNCTION", "outbox-relay"),
        ("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:9"),
    ])
    .await;
    let receiver = Receiver::start().await;
    let (admin, order_id) = dispatched_partner_order(&app, &receiver).await;
    assert_eq!(
        move_to(&app, &admin, &order_id, "ASSIGNED").await,
        200,
        "the change stands"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM outbox WHERE status = 'PENDING'")
            .await,
        1
    );
    assert!(receiver.received().is_empty());
    relay_until_settled(&app, Duration::from_secs(5)).await;
    assert_eq!(
        receiver.received().len(),
        1,
        "the schedule's run delivers it"
    );
}

#[tokio::test]
async fn a_partner_hears_when_its_delivery_runs_late_and_when_it_is_back_on_time() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    partner_with_webhook(&app, &receiver, false).await;
    let order_id = drafted_and_confirmed(&app).await;
    let admin = app.user(Role::Admin).await;
    let driver = app.user(Role::Driver).await;
    app.start_shift_at(&driver, (37.33, -121.89)).await;
    let assigned = app
        .call(
            "POST",
            "/api/orders/assignDriver",
            Some(&admin.token),
            Some(json!({ "orderId": order_id, "driverId": app.driver_id(&driver).await })),
        )
        .await;
    assert_eq!(assigned.status(), 200);
    let db = app.db().await;
    let id: uuid::Uuid = order_id.parse().expect("uuid");
    // Due in five minutes; picked up, 10 km from the client.
    db.execute_typed(
        "UPDATE orders SET pickup_date_time = now() - interval '30 minutes',
                arrival_date_time = now() + interval '5 minutes' WHERE id = $1",
        &[p(&id)],
    )
    .await
    .expect("due soon");
    let row = db
        .query_typed_one(
            "SELECT o.order_number, ST_Y(a.location::geometry) AS lat, ST_X(a.location::geometry) AS lng
               FROM orders o JOIN addresses a ON a.id = o.delivery_address_id WHERE o.id = $1",
            &[p(&id)],
        )
        .await
        .expect("order");
    let number: String = row.get("order_number");
    let (lat, lng): (f64, f64) = (row.get("lat"), row.get("lng"));
    let picked = app
        .call(
            "PATCH",
            &format!("/api/orders/{number}"),
            Some(&driver.token),
            Some(json!({ "driverStatus": "PICKED_UP" })),
        )
        .await;
    assert_eq!(picked.status(), 200);
    // Points a device clock ahead of the shift's start, as the check allows.
    let report = |lat: f64, ahead: i64| {
        let token = driver.token.clone();
        let app = &app;
        async move {
            let body = json!({ "locations": [{ "latitude": lat, "longitude": lng,
                "recordedAt": chrono::Utc::now() + chrono::Duration::seconds(ahead) }] });
            app.call("POST", "/api/tracking/locations", Some(&token), Some(body))
                .await
                .status()
        }
    };
    assert_eq!(report(lat - 0.09, 30).await, 200);
    assert_eq!(
        report(lat - 0.0899, 40).await,
        200,
        "still late: nothing new"
    );
    db.execute_typed(
        "UPDATE orders SET arrival_date_time = now() + interval '2 hours' WHERE id = $1",
        &[p(&id)],
    )
    .await
    .expect("later");
    assert_eq!(report(lat - 0.0898, 50).await, 200);

    relay_until_settled(&app, Duration::from_secs(5)).await;
    let now = chrono::Utc::now().timestamp();
    let events: Vec<Value> = receiver
        .received()
        .iter()
        .filter_map(|r| {
            let body: Value = serde_json::from_slice(&r.body).expect("json");
            body.get("event").is_some().then(|| {
                assert!(
                    signature::verify(r.header(signature::HEADER), SECRET, &r.body, now),
                    "signed"
                );
                body
            })
        })
        .collect();
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().expect("event"))
        .filter(|e| *e != "delivery.eta_changed")
        .collect();
    assert_eq!(names, ["delivery.delayed", "delivery.on_time_again"]);
    // Three reports 10 s apart, the ETA moving by seconds: the first ETA is announced,
    // the others are not (no storm).
    let etas: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "delivery.eta_changed")
        .collect();
    assert_eq!(etas.len(), 1, "{etas:?}");
    assert!(etas[0]["etaDropoff"].is_string() && etas[0]["previousEtaDropoff"].is_null());
    let events: Vec<Value> = events
        .into_iter()
        .filter(|e| e["event"] != "delivery.eta_changed")
        .collect();
    assert_eq!(events[0]["orderCode"], "7001");
    assert_eq!(events[0]["orderNumber"], number.as_str());
    let minutes_late = events[0]["minutesLate"].as_i64().expect("minutes");
    assert!(minutes_late >= 10, "{minutes_late}");
    let time = |v: &Value| {
        v.as_str()
            .expect("time")
            .parse::<chrono::DateTime<chrono::Utc>>()
            .expect("RFC 3339")
    };
    assert!(time(&events[1]["predictedArrival"]) <= time(&events[1]["windowEnd"]));
}

#[tokio::test]
async fn a_partner_hears_only_the_events_it_subscribes_to() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    partner_with_webhook(&app, &receiver, false).await;
    let admin = app.user(Role::Admin).await;
    let path = "/api/admin/partners/catervalley/webhook-events";
    let call = |who: &TestUser, method: &'static str, body: Option<Value>| {
        let token = who.token.clone();
        let app = &app;
        async move { app.call(method, path, Some(&token), body).await }
    };
    // Staff who manage webhooks only, before the body is read.
    for role in [Role::Helpdesk, Role::Driver, Role::Client] {
        let who = app.user(role).await;
        assert_eq!(call(&who, "GET", None).await.status(), 403, "{role:?}");
        assert_eq!(
            call(&who, "PUT", Some(json!("garbage"))).await.status(),
            403,
            "{role:?}"
        );
    }
    let all = json!([
        "order.status_changed",
        "delivery.delayed",
        "delivery.on_time_again",
        "order.unassigned",
        "delivery.eta_changed",
        "driver.arriving",
        "delivery.failed"
    ]);
    let listed = json_body(call(&admin, "GET", None).await).await;
    assert_eq!(
        listed["events"], all,
        "every event until the partner chooses"
    );
    assert_eq!(listed["available"], all);
    let unknown = app
        .call(
            "GET",
            "/api/admin/partners/nobody/webhook-events",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(unknown.status(), 404);
    for (bad, fields) in [
        (json!({}), vec!["events"]),
        (
            json!({ "events": ["delivery.delayed", "order.teleported", "x"] }),
            vec!["events[1]", "events[2]"],
        ),
    ] {
        let refused = call(&admin, "PUT", Some(bad.clone())).await;
        assert_eq!(refused.status(), 400, "{bad}");
        assert_eq!(api_tests::error_fields(&json_body(refused).await), fields);
    }

    // Delays only: the lifecycle webhooks stop; repeats count once.
    let chosen = call(
        &admin,
        "PUT",
        Some(
            json!({ "events": ["delivery.on_time_again", "delivery.delayed", "delivery.delayed"] }),
        ),
    )
    .await;
    assert_eq!(chosen.status(), 200);
    assert_eq!(
        json_body(chosen).await["events"],
        json!(["delivery.delayed", "delivery.on_time_again"])
    );
    let audited: Value = app
        .db()
        .await
        .query_typed_one(
            "SELECT changes FROM staff_audits WHERE entity_type = 'API_PARTNER' AND action = 'WEBHOOK_EVENTS'",
            &[],
        )
        .await
        .expect("audited")
        .get(0);
    assert_eq!(
        audited["webhookEvents"]["from"], all,
        "the list before and after: {audited}"
    );
    let order_id = drafted_and_confirmed(&app).await;
    let driver = app.user(Role::Driver).await;
    app.dispatch(&driver, &order_id).await;
    assert_eq!(move_to(&app, &admin, &order_id, "ASSIGNED").await, 200);
    let queued = app
        .count(&format!(
            "SELECT count(*) FROM outbox WHERE order_id = '{order_id}' AND kind = 'PARTNER_WEBHOOK'"
        ))
        .await;
    assert_eq!(queued, 0, "an unsubscribed event is not queued");
    // Back to lifecycle: the next move is heard.
    let lifecycle = call(
        &admin,
        "PUT",
        Some(json!({ "events": ["order.status_changed"] })),
    )
    .await;
    assert_eq!(lifecycle.status(), 200);
    assert_eq!(move_to(&app, &admin, &order_id, "IN_PROGRESS").await, 200);
    relay_until_settled(&app, Duration::from_secs(5)).await;
    let heard: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).expect("json");
            body["status"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(heard, ["ON_THE_WAY"]);
}

#[tokio::test]
async fn a_partner_hears_when_its_order_loses_its_driver() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    partner_with_webhook(&app, &receiver, false).await;
    let order_id = drafted_and_confirmed(&app).await;
    let admin = app.user(Role::Admin).await;
    let driver = app.user(Role::Driver).await;
    app.start_shift_at(&driver, (37.33, -121.89)).await;
    let assign = json!({ "orderId": order_id, "driverId": app.driver_id(&driver).await });
    let assigned = app
        .call(
            "POST",
            "/api/orders/assignDriver",
            Some(&admin.token),
            Some(assign),
        )
        .await;
    assert_eq!(assigned.status(), 200);
    let taken_off = app
        .call(
            "POST",
            "/api/orders/unassignDriver",
            Some(&admin.token),
            Some(json!({ "orderId": order_id, "reason": "internal: the van broke down" })),
        )
        .await;
    assert_eq!(taken_off.status(), 200);
    relay_until_settled(&app, Duration::from_secs(5)).await;
    let bodies: Vec<Value> = receiver
        .received()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).expect("json"))
        .collect();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(bodies[0]["status"], "ASSIGNED");
    assert_eq!(bodies[1]["event"], "order.unassigned");
    assert_eq!(
        bodies[1]["orderStatus"], "CONFIRMED",
        "what it was before its driver"
    );
    assert!(
        !bodies[1].to_string().contains("van broke down"),
        "the staff's reason stays internal"
    );
}

#[tokio::test]
async fn staff_send_a_partner_a_signed_sample_of_any_event() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    partner_with_webhook(&app, &receiver, false).await;
    app.partner(PartnerSpec::new(
        "catercow",
        "CC-",
        "cow-key-0123456789abcdef",
    ))
    .await;
    let admin = app.user(Role::Admin).await;
    let send = |who: &TestUser, body: Value| {
        let token = who.token.clone();
        let app = &app;
        async move {
            app.call("POST", "/api/admin/webhooks/test", Some(&token), Some(body))
                .await
        }
    };
    let helpdesk = app.user(Role::Helpdesk).await;
    assert_eq!(send(&helpdesk, json!("garbage")).await.status(), 403);
    for (bad, field) in [
        (json!({ "event": "delivery.delayed" }), "partner"),
        (
            json!({ "partner": "catervalley", "event": "order.teleported" }),
            "event",
        ),
    ] {
        let refused = send(&admin, bad.clone()).await;
        assert_eq!(refused.status(), 400, "{bad}");
        assert_eq!(
            api_tests::error_fields(&json_body(refused).await),
            vec![field.to_owned()]
        );
    }
    let nobody = send(
        &admin,
        json!({ "partner": "nobody", "event": "delivery.delayed" }),
    )
    .await;
    assert_eq!(nobody.status(), 404);
    let no_url = send(
        &admin,
        json!({ "partner": "catercow", "event": "delivery.delayed" }),
    )
    .await;
    assert_eq!(no_url.status(), 409);
    assert_eq!(json_body(no_url).await["error"]["code"], "no_webhook");

    let sent = send(
        &admin,
        json!({ "partner": "catervalley", "event": "delivery.delayed" }),
    )
    .await;
    assert_eq!(sent.status(), 200);
    let sent = json_body(sent).await;
    assert_eq!(sent["delivered"], true);
    assert_eq!(sent["statusCode"], 200);
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let now = chrono::Utc::now().timestamp();
    assert!(signature::verify(
        received[0].header(signature::HEADER),
        SECRET,
        &received[0].body,
        now
    ));
    let body: Value = serde_json::from_slice(&received[0].body).expect("json");
    assert_eq!(body["test"], true);
    assert_eq!(body["event"], "delivery.delayed");
    assert_eq!(body["eventId"], sent["eventId"]);
    assert!(body["minutesLate"].is_number());
    // A receiver that refuses is an answer, not an error; nothing is queued or retried.
    receiver.answer_with(&[500]);
    let refused = send(
        &admin,
        json!({ "partner": "catervalley", "event": "order.status_changed" }),
    )
    .await;
    assert_eq!(refused.status(), 200);
    let refused = json_body(refused).await;
    assert_eq!(
        (refused["delivered"].clone(), refused["statusCode"].clone()),
        (json!(false), json!(500))
    );
    assert_eq!(app.count("SELECT count(*) FROM outbox").await, 0);
}

#[tokio::test]
async fn a_failed_attempt_is_heard_once_as_delivery_failed_and_signed() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    partner_with_webhook(&app, &receiver, false).await;
    let admin = app.user(Role::Admin).await;
    let order_id = drafted_and_confirmed(&app).await;
    let driver = app.user(Role::Driver).await;
    app.assign_driver(&admin, &order_id, &driver).await;
    let number: String = app
        .db()
        .await
        .query_typed_one(
            "SELECT order_number FROM orders WHERE id = $1::text::uuid",
            &[p(&order_id)],
        )
        .await
        .expect("number")
        .get(0);
    assert_eq!(
        app.report_status(&driver, &number, "PICKED_UP")
            .await
            .status(),
        200
    );
    let photo = app.active_upload(&driver, "POD", "order", &order_id).await;
    let body = json!({ "reason": "ADDRESS_WRONG", "photoUploadId": photo.id, "note": "Suite 400 is a parking lot" });
    let path = format!("/api/orders/{number}/failed-attempt");
    let failed = app
        .call("POST", &path, Some(&driver.token), Some(body.clone()))
        .await;
    assert_eq!(failed.status(), 200);
    // The driver no longer holds the order: a retry changes nothing.
    let again = app
        .call("POST", &path, Some(&driver.token), Some(body))
        .await;
    assert_eq!(again.status(), 404);
    relay_until_settled(&app, Duration::from_secs(5)).await;

    let failures: Vec<Value> = receiver
        .received()
        .iter()
        .filter(|r| r.json()["event"] == "delivery.failed")
        .map(|r| {
            assert!(verify_signature(r), "signed");
            r.json()
        })
        .collect();
    assert_eq!(failures.len(), 1, "heard once: {failures:?}");
    let heard = &failures[0];
    assert_eq!(heard["reason"], "ADDRESS_WRONG");
    assert_eq!(heard["attempt"], 1);
    assert_eq!(heard["orderStatus"], "ACTIVE");
    assert_eq!(heard["orderNumber"], number.as_str());
    assert!(
        !heard.to_string().contains("parking lot"),
        "the driver's note is internal: {heard}"
    );
    // Partners tell their own customers: no customer message for a partner's order.
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM outbox WHERE order_id = '{order_id}' AND kind IN ('CUSTOMER_EMAIL', 'CUSTOMER_SMS')"
        ))
        .await,
        0
    );
}
