//! Auto-dispatch through the API and its sweep job: settings that are validated, audited
//! and off by default; an order offered to the driver it costs least, then the next on a
//! decline or lapse, then escalated with an alert that resolves once a dispatcher
//! assigns it; accept through the dispatch path, with one winner against the expiry;
//! a dispatcher's assignment withdrawing a pending offer; an order whose driver is taken
//! off offered again; and each change pushed as a `driver.offer` event.

use api_tests::{catering_body, error_fields, json_body, repo_root, Receiver, TestApp, TestUser};
use chrono::{Duration, Utc};
use serde_json::{json, Value};
use shared::{
    auth::Role,
    autodispatch::answers,
    outbox::{relay, signature},
    runtime::{handle_event, JobLog, Lambda},
};

const PICKUP: (f64, f64) = (37.3337, -121.8907);

fn settings(enabled: bool, max_attempts: i64) -> Value {
    json!({
        "enabled": enabled,
        "acceptanceSeconds": 45,
        "horizonMinutes": 180,
        "maxAttempts": max_attempts,
        "maxCarried": { "car": 3, "van": 3, "truck": 2 },
    })
}

async fn set_on_demand(app: &TestApp, staff: &TestUser, body: Value) -> reqwest::Response {
    app.call(
        "PUT",
        "/api/dispatch/auto-settings/ON_DEMAND",
        Some(&staff.token),
        Some(body),
    )
    .await
}

/// An app with auto-dispatch on for on-demand orders (at most `max_attempts` offers
/// each), an admin and a vendor who places the orders.
async fn on_demand_dispatch(max_attempts: i64) -> (TestApp, TestUser, TestUser) {
    on_demand_dispatch_with(max_attempts, &[]).await
}

/// As [`on_demand_dispatch`], with extra configuration.
async fn on_demand_dispatch_with(
    max_attempts: i64,
    overrides: &[(&str, &str)],
) -> (TestApp, TestUser, TestUser) {
    // Boxed: the app's start is a large future, and every test awaits this one.
    let app = Box::pin(TestApp::spawn_with(overrides)).await;
    let staff = app.user(Role::Admin).await;
    let vendor = app.user(Role::Vendor).await;
    let turned_on = set_on_demand(&app, &staff, settings(true, max_attempts)).await;
    assert_eq!(turned_on.status(), 200);
    (app, staff, vendor)
}

/// An on-demand order from downtown San José, picked up in 20 minutes and due an hour
/// later; its id and number.
async fn on_demand_order(app: &TestApp, vendor: &TestUser) -> (String, String) {
    let mut body = catering_body(1);
    let object = body.as_object_mut().expect("object");
    for key in ["headcount", "needHost"] {
        object.remove(key);
    }
    let pickup = Utc::now() + Duration::minutes(20);
    body["pickupDateTime"] = json!(pickup);
    body["arrivalDateTime"] = json!(pickup + Duration::minutes(60));
    body["itemDelivered"] = json!("Lunch boxes");
    body["vehicleType"] = json!("CAR");
    let created = app
        .call(
            "POST",
            "/api/on-demand/create",
            Some(&vendor.token),
            Some(body),
        )
        .await;
    assert_eq!(created.status(), 201, "order placed");
    let order = json_body(created).await["order"].clone();
    (
        order["id"].as_str().expect("id").to_owned(),
        order["orderNumber"].as_str().expect("number").to_owned(),
    )
}

/// The order's offers, oldest first: (driver id, status).
async fn offers_of(app: &TestApp, order_id: &str) -> Vec<(String, String)> {
    let db = app.direct_db().await;
    db.query(
        "SELECT driver_id::text, status FROM dispatch_offers WHERE order_id = $1::text::uuid ORDER BY attempt",
        &[&order_id],
    )
    .await
    .expect("offers")
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

async fn history_notes(app: &TestApp, order_id: &str) -> Vec<String> {
    app.direct_db().await
        .query(
            "SELECT COALESCE(note, '') FROM order_status_history WHERE order_id = $1::text::uuid ORDER BY id",
            &[&order_id],
        )
        .await
        .expect("history")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn sweep(app: &TestApp) -> Value {
    let function = functions::find("dispatch-offer-sweep").expect("registered");
    let Lambda::Event(job) = function.lambda else {
        panic!("an event function");
    };
    let event: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("events/dispatch-offer-sweep.json"))
            .expect("event"),
    )
    .expect("json");
    handle_event(
        &app.state,
        "dispatch-offer-sweep",
        "test",
        job.handler,
        event,
        JobLog::Every,
    )
    .await
    .expect("swept")
}

/// Moves the order's pending offer past its time, as a minute passing would.
async fn lapse(app: &TestApp, order_id: &str) {
    let moved = app
        .direct_db()
        .await
        .execute(
            "UPDATE dispatch_offers SET offered_at = now() - interval '2 minutes',
                    expires_at = now() - interval '1 second'
              WHERE order_id = $1::text::uuid AND status = 'PENDING'",
            &[&order_id],
        )
        .await
        .expect("lapsed");
    assert_eq!(moved, 1, "one pending offer");
}

async fn pending_offer(app: &TestApp, driver: &TestUser) -> Vec<Value> {
    let response = app
        .call("GET", "/api/driver/offers", Some(&driver.token), None)
        .await;
    assert_eq!(response.status(), 200);
    json_body(response).await["offers"]
        .as_array()
        .expect("offers")
        .clone()
}

async fn escalation_alert(app: &TestApp, order_number: &str) -> Option<String> {
    shared::monitoring::alerts::all(&app.state)
        .await
        .expect("alerts")
        .into_iter()
        .find(|a| a.rule == "auto_dispatch_escalated" && a.group_key == order_number)
        .map(|a| a.status.as_str().to_owned())
}

#[tokio::test]
async fn settings_are_off_by_default_validated_audited_and_for_dispatchers_only() {
    let app = TestApp::spawn().await;
    let staff = app.user(Role::Helpdesk).await;
    let vendor = app.user(Role::Vendor).await;
    let driver = app.user(Role::Driver).await;
    app.start_shift_at(&driver, PICKUP).await;

    // Off: a new order is offered to nobody, by the create or by the sweep.
    let (order_id, _) = on_demand_order(&app, &vendor).await;
    sweep(&app).await;
    assert!(offers_of(&app, &order_id).await.is_empty());
    let listed = app
        .call(
            "GET",
            "/api/dispatch/auto-settings",
            Some(&staff.token),
            None,
        )
        .await;
    assert_eq!(listed.status(), 200);
    let listed = json_body(listed).await;
    let enabled: Vec<bool> = listed["settings"]
        .as_array()
        .expect("settings")
        .iter()
        .map(|s| s["enabled"].as_bool().expect("enabled"))
        .collect();
    assert_eq!(enabled, vec![false, false]);

    // Refused: other roles (before the body is read), bad values, an unknown type.
    for role in [Role::Driver, Role::Vendor, Role::Client] {
        let user = app.user(role).await;
        let refused = set_on_demand(&app, &user, json!("garbage")).await;
        assert_eq!(refused.status(), 403, "{role:?}");
        let listed = app
            .call(
                "GET",
                "/api/dispatch/auto-settings",
                Some(&user.token),
                None,
            )
            .await;
        assert_eq!(listed.status(), 403, "{role:?}");
    }
    let mut bad = settings(true, 0);
    bad["acceptanceSeconds"] = json!(5);
    bad["maxCarried"]["car"] = json!(11);
    let refused = set_on_demand(&app, &staff, bad).await;
    assert_eq!(refused.status(), 400);
    assert_eq!(
        error_fields(&json_body(refused).await),
        vec!["acceptanceSeconds", "maxAttempts", "maxCarried.car"]
    );
    let unknown = app
        .call(
            "PUT",
            "/api/dispatch/auto-settings/DRONE",
            Some(&staff.token),
            Some(settings(true, 3)),
        )
        .await;
    assert_eq!(unknown.status(), 400);
    assert_eq!(error_fields(&json_body(unknown).await), vec!["orderType"]);

    // Changed, and audited with what changed.
    let changed = set_on_demand(&app, &staff, settings(true, 3)).await;
    assert_eq!(changed.status(), 200);
    let changed = json_body(changed).await;
    assert_eq!(changed["settings"]["enabled"], json!(true));
    assert_eq!(changed["settings"]["maxAttempts"], json!(3));
    let audited = app
        .direct_db()
        .await
        .query_one(
            "SELECT changes FROM staff_audits WHERE entity_type = 'AUTO_DISPATCH_SETTINGS'",
            &[],
        )
        .await
        .expect("one audit row");
    let changes: Value = audited.get(0);
    assert_eq!(
        changes,
        json!({ "enabled": { "from": false, "to": true }, "maxAttempts": { "from": 5, "to": 3 } })
    );

    // On: the next order is offered at once, and the sweep offers the one placed before.
    let (next_id, _) = on_demand_order(&app, &vendor).await;
    let driver_id = app.driver_id(&driver).await;
    assert_eq!(
        offers_of(&app, &next_id).await,
        vec![(driver_id.clone(), "PENDING".to_owned())]
    );
    let swept = sweep(&app).await;
    assert_eq!(
        swept["offered"],
        json!(0),
        "the driver holds an offer already"
    );
    assert!(offers_of(&app, &order_id).await.is_empty());
}

#[tokio::test]
async fn an_order_goes_to_the_cheapest_driver_then_the_next_then_to_a_dispatcher() {
    let (app, staff, vendor) = on_demand_dispatch(2).await;
    let near = app.user(Role::Driver).await;
    let farther = app.user(Role::Driver).await;
    let across_the_bay = app.user(Role::Driver).await;
    app.start_shift_at(&near, (37.3345, -121.8900)).await;
    app.start_shift_at(&farther, (37.3600, -121.9400)).await;
    app.start_shift_at(&across_the_bay, (37.8044, -122.2712))
        .await;
    let (near_id, farther_id) = (app.driver_id(&near).await, app.driver_id(&farther).await);

    let (order_id, order_number) = on_demand_order(&app, &vendor).await;
    assert_eq!(
        offers_of(&app, &order_id).await,
        vec![(near_id.clone(), "PENDING".to_owned())],
        "the nearest adds the least drive time"
    );
    let shown = pending_offer(&app, &near).await;
    assert_eq!(shown.len(), 1);
    let offer = &shown[0];
    assert_eq!(offer["orderId"], json!(order_id));
    assert!(offer["extraMinutes"].as_f64().expect("minutes") > 0.0);
    assert!(offer["payEstimate"]["total"].as_f64().expect("pay") > 0.0);
    let offer_id = offer["id"].as_str().expect("id").to_owned();
    assert!(pending_offer(&app, &farther).await.is_empty());

    // Someone else's offer is not found; garbage ids are a 400.
    let theirs = app
        .call(
            "POST",
            &format!("/api/driver/offers/{offer_id}/accept"),
            Some(&farther.token),
            None,
        )
        .await;
    assert_eq!(theirs.status(), 404);
    let garbage = app
        .call(
            "POST",
            "/api/driver/offers/not-an-id/decline",
            Some(&near.token),
            None,
        )
        .await;
    assert_eq!(garbage.status(), 400);

    // Declined: the next driver has it at once; a second answer is a 409.
    let declined = app
        .call(
            "POST",
            &format!("/api/driver/offers/{offer_id}/decline"),
            Some(&near.token),
            Some(json!({ "reason": "my car is full" })),
        )
        .await;
    assert_eq!(declined.status(), 200);
    assert_eq!(
        json_body(declined).await["offer"]["status"],
        json!("DECLINED")
    );
    let again = app
        .call(
            "POST",
            &format!("/api/driver/offers/{offer_id}/accept"),
            Some(&near.token),
            None,
        )
        .await;
    assert_eq!(again.status(), 409);
    assert_eq!(
        json_body(again).await["error"]["code"],
        json!("offer_closed")
    );
    assert_eq!(
        offers_of(&app, &order_id).await,
        vec![
            (near_id.clone(), "DECLINED".to_owned()),
            (farther_id.clone(), "PENDING".to_owned())
        ]
    );

    // Lapsed: the sweep expires it; two offers were the most, so the order is escalated
    // and its alert raised. Nobody across the bay was ever offered it (too far).
    lapse(&app, &order_id).await;
    let swept = sweep(&app).await;
    assert_eq!(
        (swept["expired"].clone(), swept["alerted"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(offers_of(&app, &order_id).await.len(), 2);
    assert_eq!(
        escalation_alert(&app, &order_number).await.as_deref(),
        Some("firing")
    );
    let listed = app
        .call(
            "GET",
            "/api/dispatch/offers?status=expired",
            Some(&staff.token),
            None,
        )
        .await;
    assert_eq!(listed.status(), 200);
    let listed = json_body(listed).await;
    assert_eq!(listed["items"][0]["driverId"], json!(farther_id));
    let bad_status = app
        .call(
            "GET",
            "/api/dispatch/offers?status=LOST",
            Some(&staff.token),
            None,
        )
        .await;
    assert_eq!(bad_status.status(), 400);

    // A dispatcher assigns it by hand; the next sweep resolves the escalation's alert.
    let assigned = app
        .call(
            "POST",
            "/api/orders/assignDriver",
            Some(&staff.token),
            Some(json!({ "orderId": order_id, "driverId": near_id })),
        )
        .await;
    assert_eq!(assigned.status(), 200);
    let swept = sweep(&app).await;
    assert_eq!(swept["resolved"], json!(1));
    assert_eq!(
        escalation_alert(&app, &order_number).await.as_deref(),
        Some("resolved")
    );
    let stats = app
        .call(
            "GET",
            "/api/dispatch/offer-stats?window=1h",
            Some(&staff.token),
            None,
        )
        .await;
    assert_eq!(stats.status(), 200);
    let stats = json_body(stats).await["statistics"].clone();
    assert_eq!(
        [
            &stats["offers"],
            &stats["accepted"],
            &stats["declined"],
            &stats["expired"],
            &stats["acceptanceRate"],
            &stats["offersPerOrder"],
            &stats["escalated"],
            &stats["openEscalationsNow"],
            &stats["timeToAssignmentP50Seconds"],
        ],
        [
            &json!(2),
            &json!(0),
            &json!(1),
            &json!(1),
            &json!(0.0),
            &json!(2.0),
            &json!(1),
            &json!(0),
            &Value::Null
        ]
    );
    let bad_window = app
        .call(
            "GET",
            "/api/dispatch/offer-stats?window=forever",
            Some(&staff.token),
            None,
        )
        .await;
    assert_eq!(bad_window.status(), 400);
    let notes = history_notes(&app, &order_id).await;
    for expected in [
        "offered to driver",
        "declined the offer: my car is full",
        "expired unanswered",
        "auto-dispatch gave up after 2 offers",
        "assigned to",
    ] {
        assert!(
            notes.iter().any(|n| n.contains(expected)),
            "{expected:?} in {notes:?}"
        );
    }
}

#[tokio::test]
async fn accepting_assigns_through_dispatch_and_has_one_winner_against_the_expiry() {
    let (app, staff, vendor) = on_demand_dispatch(5).await;
    let driver = app.user(Role::Driver).await;
    app.start_shift_at(&driver, (37.3345, -121.8900)).await;
    let driver_id = app.driver_id(&driver).await;

    let (_, order_number) = on_demand_order(&app, &vendor).await;
    let offer_id = pending_offer(&app, &driver).await[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let accepted = app
        .call(
            "POST",
            &format!("/api/driver/offers/{offer_id}/accept"),
            Some(&driver.token),
            None,
        )
        .await;
    assert_eq!(accepted.status(), 200);
    let accepted = json_body(accepted).await;
    assert_eq!(accepted["offer"]["status"], json!("ACCEPTED"));
    assert_eq!(accepted["dispatch"]["driverId"], json!(driver_id));
    let order = app
        .call(
            "GET",
            &format!("/api/orders/{order_number}"),
            Some(&staff.token),
            None,
        )
        .await;
    let order = json_body(order).await["order"].clone();
    assert_eq!(order["driverStatus"], json!("ASSIGNED"), "{order}");
    let stats = app
        .call("GET", "/api/dispatch/offer-stats", Some(&staff.token), None)
        .await;
    let stats = json_body(stats).await["statistics"].clone();
    assert_eq!(stats["acceptanceRate"], json!(1.0));
    assert!(
        stats["timeToAssignmentP50Seconds"]
            .as_f64()
            .expect("seconds")
            >= 0.0
    );
    // The driver's route of the day has the order, timed by the insertion.
    // The day of the pickup, 20 minutes from when the order was placed.
    let today = (Utc::now() + Duration::minutes(20))
        .with_timezone(&chrono_tz::America::Los_Angeles)
        .date_naive();
    let route = app
        .call(
            "GET",
            &format!("/api/driver/route?date={today}"),
            Some(&driver.token),
            None,
        )
        .await;
    assert_eq!(route.status(), 200);
    let route = json_body(route).await;
    let kinds: Vec<&str> = route["stops"]
        .as_array()
        .expect("stops")
        .iter()
        .map(|s| s["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, vec!["pickup", "dropoff"], "{route}");
    // The expiry arriving afterwards (or twice) changes nothing.
    let offer_uuid = offer_id.parse().expect("uuid");
    assert!(!answers::expire(&app.state, offer_uuid)
        .await
        .expect("expire"));

    // A second order rides along with the first (the driver may carry 3): it races its
    // expiry, and exactly one of them wins, whatever the timing.
    let (second_id, _) = on_demand_order(&app, &vendor).await;
    let second_offer = pending_offer(&app, &driver).await[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.direct_db()
        .await
        .execute(
            "UPDATE dispatch_offers SET offered_at = now() - interval '1 minute',
                    expires_at = now() + interval '150 milliseconds'
              WHERE id = $1::text::uuid",
            &[&second_offer],
        )
        .await
        .expect("due soon");
    let second_uuid = second_offer.parse().expect("uuid");
    let (accept, expired) = tokio::join!(
        async {
            tokio::time::sleep(std::time::Duration::from_millis(150)).await;
            app.call(
                "POST",
                &format!("/api/driver/offers/{second_offer}/accept"),
                Some(&driver.token),
                None,
            )
            .await
            .status()
        },
        async {
            tokio::time::sleep(std::time::Duration::from_millis(150)).await;
            loop {
                match answers::expire(&app.state, second_uuid)
                    .await
                    .expect("expire")
                {
                    true => return true,
                    false => {
                        let status = offers_of(&app, &second_id).await;
                        if status.iter().all(|(_, s)| s != "PENDING") {
                            return false;
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    }
                }
            }
        }
    );
    assert!(
        (accept == 200) != expired,
        "one winner: accept {accept}, expired {expired}"
    );
    let first = &offers_of(&app, &second_id).await[0];
    assert_eq!(
        first.1,
        if expired { "EXPIRED" } else { "ACCEPTED" },
        "the offer says who won"
    );
    let dispatched: i64 = app.direct_db().await
        .query_one(
            "SELECT count(*) FROM dispatches WHERE order_id = $1::text::uuid AND unassigned_at IS NULL",
            &[&second_id],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(
        dispatched,
        i64::from(!expired),
        "assigned only by an accept"
    );
}

#[tokio::test]
async fn a_dispatcher_assigning_by_hand_withdraws_the_pending_offer() {
    let (app, staff, vendor) = on_demand_dispatch(5).await;
    let offered = app.user(Role::Driver).await;
    let chosen = app.user(Role::Driver).await;
    app.start_shift_at(&offered, (37.3345, -121.8900)).await;
    let (order_id, _) = on_demand_order(&app, &vendor).await;
    assert_eq!(pending_offer(&app, &offered).await.len(), 1);
    app.start_shift_at(&chosen, (37.3600, -121.9400)).await;
    let chosen_id = app.driver_id(&chosen).await;
    let assigned = app
        .call(
            "POST",
            "/api/orders/assignDriver",
            Some(&staff.token),
            Some(json!({ "orderId": order_id, "driverId": chosen_id })),
        )
        .await;
    assert_eq!(assigned.status(), 200);
    assert_eq!(
        offers_of(&app, &order_id).await,
        vec![(app.driver_id(&offered).await, "WITHDRAWN".to_owned())]
    );
    assert!(pending_offer(&app, &offered).await.is_empty());
    assert!(history_notes(&app, &order_id)
        .await
        .iter()
        .any(|n| n.contains("pending offer was withdrawn")));

    // With nobody on shift who can take it, a new order is escalated at once.
    let db = app.direct_db().await;
    db.execute("UPDATE drivers SET is_on_duty = false", &[])
        .await
        .expect("off duty");
    let (lonely, _) = on_demand_order(&app, &vendor).await;
    let reason: String = db
        .query_one(
            "SELECT reason FROM dispatch_escalations WHERE order_id = $1::text::uuid",
            &[&lonely],
        )
        .await
        .expect("escalated")
        .get(0);
    assert_eq!(reason, "NO_CANDIDATE");
}

#[tokio::test]
async fn an_unanswered_offer_lapses_through_its_queue_within_seconds_of_its_deadline() {
    let app = TestApp::spawn().await;
    let staff = app.user(Role::Admin).await;
    let vendor = app.user(Role::Vendor).await;
    let mut quick = settings(true, 5);
    quick["acceptanceSeconds"] = json!(10);
    assert_eq!(set_on_demand(&app, &staff, quick).await.status(), 200);
    let near = app.user(Role::Driver).await;
    let farther = app.user(Role::Driver).await;
    app.start_shift_at(&near, (37.3345, -121.8900)).await;
    app.start_shift_at(&farther, (37.3600, -121.9400)).await;
    let farther_id = app.driver_id(&farther).await;
    let delivering = app.deliver_offer_expiries();

    let (order_id, _) = on_demand_order(&app, &vendor).await;
    let first = pending_offer(&app, &near).await[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // Nobody answers: the queue delivers the expiry at the deadline, and the order goes on.
    let db = app.direct_db().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    let lag_ms: f64 = loop {
        let row = db
            .query_one(
                "SELECT status, (EXTRACT(EPOCH FROM (answered_at - expires_at)) * 1000)::float8
                   FROM dispatch_offers WHERE id = $1::text::uuid",
                &[&first],
            )
            .await
            .expect("offer");
        let status: String = row.get(0);
        if status == "EXPIRED" {
            break row.get(1);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still {status} long after its deadline"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(
        (0.0..5_000.0).contains(&lag_ms),
        "expired {lag_ms} ms after its deadline"
    );
    // The next offer follows the expiry's commit.
    let mut offers = offers_of(&app, &order_id).await;
    for _ in 0..50 {
        if offers.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        offers = offers_of(&app, &order_id).await;
    }
    assert_eq!(offers.last(), Some(&(farther_id, "PENDING".to_owned())));

    // A duplicate delivery of the same expiry changes nothing.
    app.state
        .sqs
        .send_message()
        .queue_url(
            app.state
                .config
                .drivers
                .offer_expiry_queue
                .as_deref()
                .expect("queue"),
        )
        .message_body(json!({ "offerId": first }).to_string())
        .send()
        .await
        .expect("sent again");
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let offers = offers_of(&app, &order_id).await;
    assert_eq!(offers.len(), 2);
    assert_eq!(offers[1].1, "PENDING");
    delivering.abort();
}

/// A small deterministic generator, so a failing run can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() * items.len() as f64) as usize % items.len()]
    }
}

const ZIPS: &[(&str, &str)] = &[
    ("95110", "San Jose"),
    ("95112", "San Jose"),
    ("95113", "San Jose"),
    ("95116", "San Jose"),
    ("95125", "San Jose"),
    ("95126", "San Jose"),
    ("95128", "San Jose"),
    ("95050", "Santa Clara"),
    ("95051", "Santa Clara"),
];

/// The invariants that hold at every step: one pending offer per driver and per order,
/// no driver over its cap, no order with two drivers.
async fn check_invariants(db: &tokio_postgres::Client) {
    let broken: i64 = db
        .query_one(
            "SELECT (SELECT count(*) FROM (SELECT driver_id FROM dispatch_offers WHERE status = 'PENDING'
                                            GROUP BY driver_id HAVING count(*) > 1) a)
                  + (SELECT count(*) FROM (SELECT order_id FROM dispatch_offers WHERE status = 'PENDING'
                                            GROUP BY order_id HAVING count(*) > 1) b)
                  + (SELECT count(*) FROM (SELECT order_id FROM dispatches
                                            GROUP BY order_id HAVING count(*) > 1) c)
                  + (SELECT count(*) FROM drivers d
                      WHERE (SELECT count(*) FROM dispatches ds WHERE ds.driver_id = d.id AND ds.unassigned_at IS NULL)
                            > LEAST(d.max_active_deliveries, 3))",
            &[],
        )
        .await
        .expect("invariants")
        .get(0);
    assert_eq!(broken, 0, "an invariant broke");
}

#[tokio::test]
async fn a_simulated_lunch_rush_ends_with_every_order_assigned_or_escalated() {
    use shared::{
        autodispatch::candidates::LiveRoute,
        geo::Point,
        orders::rules::VehicleType,
        planning::inputs::carried_by,
        routing::rules::PlanningRules,
        routing::{feasibility, solve, SolveOptions},
    };

    let (app, _, vendor) = on_demand_dispatch(4).await;
    let mut rng = Lcg(20_261_206);
    let mut drivers = Vec::new();
    for _ in 0..20 {
        let driver = app.user(Role::Driver).await;
        let at = (37.30 + rng.next() * 0.08, -121.97 + rng.next() * 0.12);
        app.start_shift_at(&driver, at).await;
        let id = app.driver_id(&driver).await;
        drivers.push((id, driver, at));
    }
    let db = app.direct_db().await;
    let (mut accepted, mut declined, mut ignored) = (0, 0, 0);
    let mut orders = Vec::new();
    for n in 0..60 {
        // An order every minute of the hour, picked up 15 to 45 minutes later.
        let (pickup_zip, pickup_city) = *rng.pick(ZIPS);
        let (drop_zip, drop_city) = *rng.pick(ZIPS);
        let pickup = Utc::now() + Duration::minutes(15 + (rng.next() * 30.0) as i64);
        let body = json!({
            "pickupAddress": { "name": format!("Kitchen {n}"), "street1": format!("{} Main St", 100 + n), "city": pickup_city, "state": "CA", "zip": pickup_zip },
            "deliveryAddress": { "name": format!("Office {n}"), "street1": format!("{} Market St", 200 + n), "city": drop_city, "state": "CA", "zip": drop_zip },
            "pickupDateTime": pickup,
            "arrivalDateTime": pickup + Duration::minutes(45 + (rng.next() * 30.0) as i64),
            "itemDelivered": "Lunch boxes",
            "vehicleType": "CAR",
            "orderTotal": 80.5,
        });
        let created = app
            .call(
                "POST",
                "/api/on-demand/create",
                Some(&vendor.token),
                Some(body),
            )
            .await;
        assert_eq!(created.status(), 201, "order {n}");
        orders.push(
            json_body(created).await["order"]["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
        // Each driver holding an offer answers it: accepts, declines or lets it lapse.
        loop {
            check_invariants(&db).await;
            // The pending offers, from the table (the drivers' own polling would pass the
            // rate limit in a test's minute).
            let pending: Vec<(String, String)> = db
                .query(
                    "SELECT id::text, driver_id::text FROM dispatch_offers WHERE status = 'PENDING'",
                    &[],
                )
                .await
                .expect("pending")
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            let answered = !pending.is_empty();
            for (id, driver_id) in &pending {
                let id = id.as_str();
                let (_, driver, _) = drivers
                    .iter()
                    .find(|(d, _, _)| d == driver_id)
                    .expect("one of the drivers");
                let roll = rng.next();
                if roll < 0.6 {
                    let answer = app
                        .call(
                            "POST",
                            &format!("/api/driver/offers/{id}/accept"),
                            Some(&driver.token),
                            None,
                        )
                        .await;
                    // At its cap by now (another accept came first): a 409, and the offer stays.
                    match answer.status().as_u16() {
                        200 => accepted += 1,
                        409 => {}
                        other => panic!("accept answered {other}"),
                    }
                } else if roll < 0.85 {
                    let answer = app
                        .call(
                            "POST",
                            &format!("/api/driver/offers/{id}/decline"),
                            Some(&driver.token),
                            Some(json!({})),
                        )
                        .await;
                    assert_eq!(answer.status(), 200);
                    declined += 1;
                } else {
                    db.execute(
                        "UPDATE dispatch_offers SET offered_at = now() - interval '2 minutes',
                                expires_at = now() - interval '1 second' WHERE id = $1::text::uuid",
                        &[&id],
                    )
                    .await
                    .expect("lapsed");
                    ignored += 1;
                }
            }
            sweep(&app).await;
            if !answered {
                break;
            }
        }
    }
    check_invariants(&db).await;

    // Every order has a driver or waits for a dispatcher; none is left in between.
    let rows = db
        .query(
            "SELECT o.id::text,
                    EXISTS (SELECT 1 FROM dispatches ds WHERE ds.order_id = o.id AND ds.unassigned_at IS NULL),
                    EXISTS (SELECT 1 FROM dispatch_escalations e WHERE e.order_id = o.id AND e.resolved_at IS NULL),
                    (SELECT count(*) FROM dispatch_offers f WHERE f.order_id = o.id)
               FROM orders o WHERE o.id = ANY($1::text[]::uuid[])",
            &[&orders],
        )
        .await
        .expect("orders");
    assert_eq!(rows.len(), 60);
    let (mut assigned, mut escalated, mut offers) = (0, 0, 0i64);
    for row in &rows {
        let (has_driver, is_escalated): (bool, bool) = (row.get(1), row.get(2));
        assert!(
            has_driver != is_escalated,
            "order {} assigned {has_driver}, escalated {is_escalated}",
            row.get::<_, String>(0)
        );
        assigned += usize::from(has_driver);
        escalated += usize::from(is_escalated);
        offers += row.get::<_, i64>(3);
    }
    assert_eq!(assigned, accepted, "an order for each accept");

    // Each driver's orders still make a feasible route from where it is.
    let rules = PlanningRules::default();
    let now = Utc::now();
    for (id, _, (lat, lng)) in &drivers {
        let driver_id: uuid::Uuid = id.parse().expect("uuid");
        let load = carried_by(&*app.db().await, &[driver_id])
            .await
            .expect("load");
        if load.is_empty() {
            continue;
        }
        let route = LiveRoute::build(
            &rules,
            Point {
                lat: *lat,
                lng: *lng,
            },
            VehicleType::Car,
            &load,
            None,
            now,
        )
        .expect("built")
        .expect("on the map");
        let mut options = SolveOptions::within(std::time::Duration::from_secs(2));
        options.max_generations = Some(200);
        let plan = solve(&route.problem, &options).expect("solved");
        assert!(
            plan.unassigned.is_empty(),
            "driver {id}: {:?}",
            plan.unassigned
        );
        assert_eq!(
            feasibility::violations(&route.problem, &plan),
            Vec::<String>::new()
        );
    }
    eprintln!(
        "lunch rush: 60 orders, 20 drivers: {assigned} assigned, {escalated} escalated; \
         {offers} offers ({:.2} per order): {accepted} accepted, {declined} declined, {ignored} lapsed",
        offers as f64 / 60.0
    );
}

#[tokio::test]
async fn two_orders_racing_for_one_driver_give_it_one_offer() {
    let (app, _, vendor) = on_demand_dispatch(5).await;
    let driver = app.user(Role::Driver).await;
    app.start_shift_at(&driver, (37.3345, -121.8900)).await;
    let ((first, _), (second, _)) = tokio::join!(
        on_demand_order(&app, &vendor),
        on_demand_order(&app, &vendor)
    );
    let mut offered = 0;
    for order in [&first, &second] {
        let offers = offers_of(&app, order).await;
        assert!(offers.len() <= 1, "{offers:?}");
        offered += offers.len();
    }
    assert_eq!(offered, 1, "one offer between them");
    assert_eq!(pending_offer(&app, &driver).await.len(), 1);
    // The other had nobody free to offer it to: a dispatcher has it.
    let escalated: i64 = app
        .direct_db()
        .await
        .query_one("SELECT count(*) FROM dispatch_escalations", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(escalated, 1);
}

#[tokio::test]
async fn a_catering_order_is_offered_once_its_pickup_is_within_the_horizon() {
    let app = TestApp::spawn().await;
    let staff = app.user(Role::Admin).await;
    let client = app.user(Role::Client).await;
    let changed = app
        .call(
            "PUT",
            "/api/dispatch/auto-settings/catering",
            Some(&staff.token),
            Some(settings(true, 3)),
        )
        .await;
    assert_eq!(changed.status(), 200);
    let driver = app.user(Role::Driver).await;
    app.start_shift_at(&driver, (37.3345, -121.8900)).await;
    let place = |pickup_in: Duration| {
        let mut body = catering_body(20);
        let pickup = Utc::now() + pickup_in;
        body["pickupDateTime"] = json!(pickup);
        body["arrivalDateTime"] = json!(pickup + Duration::minutes(45));
        body
    };
    let mut ids = Vec::new();
    for pickup_in in [Duration::hours(2), Duration::hours(26)] {
        let created = app
            .call(
                "POST",
                "/api/catering-requests",
                Some(&client.token),
                Some(place(pickup_in)),
            )
            .await;
        assert_eq!(created.status(), 201);
        ids.push(
            json_body(created).await["order"]["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    // Placing a catering order offers nothing; the sweep offers the one within 3 hours.
    assert!(offers_of(&app, &ids[0]).await.is_empty());
    let swept = sweep(&app).await;
    assert_eq!(swept["offered"], json!(1));
    assert_eq!(offers_of(&app, &ids[0]).await.len(), 1);
    assert!(
        offers_of(&app, &ids[1]).await.is_empty(),
        "tomorrow's waits"
    );
}

/// How many driver push events stand at each status.
async fn push_statuses(app: &TestApp) -> Vec<(String, i64)> {
    app.direct_db()
        .await
        .query(
            "SELECT status, count(*) FROM outbox WHERE kind = 'DRIVER_PUSH' GROUP BY status ORDER BY status",
            &[],
        )
        .await
        .expect("statuses")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// Delivers every due outbox message.
async fn relay_all(app: &TestApp) -> relay::RelayReport {
    relay::run(
        &app.state,
        500,
        std::time::Instant::now() + std::time::Duration::from_secs(30),
    )
    .await
    .expect("relay")
}

#[tokio::test]
async fn an_order_whose_driver_is_taken_off_goes_to_the_next_driver_at_once() {
    let (app, staff, vendor) = on_demand_dispatch(5).await;
    let near = app.user(Role::Driver).await;
    let farther = app.user(Role::Driver).await;
    app.start_shift_at(&near, (37.3345, -121.8900)).await;
    app.start_shift_at(&farther, (37.3600, -121.9400)).await;
    let (near_id, farther_id) = (app.driver_id(&near).await, app.driver_id(&farther).await);
    let (order_id, _) = on_demand_order(&app, &vendor).await;
    let offer = pending_offer(&app, &near).await[0]["id"]
        .as_str()
        .expect("offer id")
        .to_owned();
    let accepted = app
        .call(
            "POST",
            &format!("/api/driver/offers/{offer}/accept"),
            Some(&near.token),
            None,
        )
        .await;
    assert_eq!(accepted.status(), 200);

    let taken_off = app
        .call(
            "POST",
            "/api/orders/unassignDriver",
            Some(&staff.token),
            Some(json!({ "orderId": order_id, "reason": "flat tyre" })),
        )
        .await;
    assert_eq!(taken_off.status(), 200);
    let taken_off = json_body(taken_off).await;
    assert_eq!(taken_off["driverId"], json!(near_id));
    assert_eq!(taken_off["order"]["driverStatus"], Value::Null);
    // Offered at once, and not to the driver taken off it.
    assert_eq!(taken_off["offer"]["driverId"], json!(farther_id));
    assert_eq!(taken_off["offer"]["attempt"], 2);
    assert_eq!(
        offers_of(&app, &order_id).await,
        vec![
            (near_id.clone(), "ACCEPTED".to_owned()),
            (farther_id.clone(), "PENDING".to_owned()),
        ]
    );
    assert_eq!(pending_offer(&app, &farther).await.len(), 1);
    let notes = history_notes(&app, &order_id).await;
    let taken = notes
        .iter()
        .position(|n| n.ends_with("taken off the order: flat tyre"))
        .expect("noted");
    assert!(
        notes[taken..]
            .iter()
            .any(|n| n.starts_with(&format!("offered to driver {farther_id}"))),
        "{notes:?}"
    );
    // The second driver takes it through the same dispatch path.
    let offer = taken_off["offer"]["id"].as_str().expect("offer id");
    let accepted = app
        .call(
            "POST",
            &format!("/api/driver/offers/{offer}/accept"),
            Some(&farther.token),
            None,
        )
        .await;
    assert_eq!(accepted.status(), 200);
    assert_eq!(
        json_body(accepted).await["dispatch"]["driverId"],
        json!(farther_id)
    );
}

#[tokio::test]
async fn each_offer_change_is_pushed_signed_and_skipped_without_a_push_channel() {
    const SECRET: &str = "push-signing-secret";
    let receiver = Receiver::start().await;
    let push_url = format!("{}/driver-push", receiver.url);
    let secret_id = format!("readyset/driver-push/{}", uuid::Uuid::new_v4().simple());
    let (app, staff, vendor) = on_demand_dispatch_with(
        5,
        &[
            ("DRIVER_PUSH_URL", &push_url),
            ("DRIVER_PUSH_SECRET_ID", &secret_id),
        ],
    )
    .await;
    app.state
        .secrets
        .create_secret()
        .name(&secret_id)
        .secret_string(SECRET)
        .send()
        .await
        .expect("signing secret");
    let near = app.user(Role::Driver).await;
    let far = app.user(Role::Driver).await;
    app.start_shift_at(&near, (37.3345, -121.8900)).await;
    app.start_shift_at(&far, (37.3600, -121.9400)).await;
    let (near_id, far_id) = (app.driver_id(&near).await, app.driver_id(&far).await);

    // Offered to the nearer driver, declined, offered to the other, accepted.
    let (first, _) = on_demand_order(&app, &vendor).await;
    let offer = pending_offer(&app, &near).await[0]["id"]
        .as_str()
        .expect("offer id")
        .to_owned();
    let declined = app
        .call(
            "POST",
            &format!("/api/driver/offers/{offer}/decline"),
            Some(&near.token),
            Some(json!({ "reason": "on a break" })),
        )
        .await;
    assert_eq!(declined.status(), 200);
    let offer = pending_offer(&app, &far).await[0]["id"]
        .as_str()
        .expect("offer id")
        .to_owned();
    let accepted = app
        .call(
            "POST",
            &format!("/api/driver/offers/{offer}/accept"),
            Some(&far.token),
            None,
        )
        .await;
    assert_eq!(accepted.status(), 200);
    // Offered, then withdrawn by a dispatcher's assignment.
    let (second, _) = on_demand_order(&app, &vendor).await;
    let offers = offers_of(&app, &second).await;
    assert_eq!(offers.len(), 1);
    let holder = offers[0].0.clone();
    let other = if holder == near_id { &far_id } else { &near_id };
    let assigned = app
        .call(
            "POST",
            "/api/orders/assignDriver",
            Some(&staff.token),
            Some(json!({ "orderId": second, "driverId": other })),
        )
        .await;
    assert_eq!(assigned.status(), 200);
    // Nobody left to offer it to: escalated.
    app.direct_db()
        .await
        .execute("UPDATE drivers SET is_on_duty = false", &[])
        .await
        .expect("off duty");
    let (third, _) = on_demand_order(&app, &vendor).await;

    // The push service refuses the first event for good: it is dead, and holds none of
    // the order's later events back (a stale push is worth nothing).
    receiver.answer_with(&[400]);
    relay_all(&app).await;
    assert_eq!(
        push_statuses(&app).await,
        vec![("DEAD".to_owned(), 1), ("DELIVERED".to_owned(), 6)]
    );
    let received = receiver.received();
    let now = Utc::now().timestamp();
    let events: Vec<(String, String, Option<String>)> = received
        .iter()
        .map(|r| {
            assert!(r.uri.ends_with("/driver-push"), "{}", r.uri);
            assert!(
                signature::verify(r.header(signature::HEADER), SECRET, &r.body, now),
                "signed with the push secret"
            );
            let event: Value = serde_json::from_slice(&r.body).expect("json");
            assert_eq!(event["type"], "driver.offer");
            assert_eq!(r.header("x-readyset-event-id"), event["eventId"]);
            (
                event["orderId"].as_str().expect("order").to_owned(),
                event["change"].as_str().expect("change").to_owned(),
                event["driverId"].as_str().map(str::to_owned),
            )
        })
        .collect();
    let expected = |order: &str, change: &str, driver: Option<&str>| {
        (
            order.to_owned(),
            change.to_owned(),
            driver.map(str::to_owned),
        )
    };
    assert_eq!(
        events,
        vec![
            expected(&first, "OFFERED", Some(&near_id)),
            expected(&first, "DECLINED", Some(&near_id)),
            expected(&first, "OFFERED", Some(&far_id)),
            expected(&first, "ACCEPTED", Some(&far_id)),
            expected(&second, "OFFERED", Some(&holder)),
            expected(&second, "WITHDRAWN", Some(&holder)),
            expected(&third, "ESCALATED", None),
        ]
    );
    let escalation: Value = serde_json::from_slice(&received[6].body).expect("json");
    assert_eq!(
        escalation["escalation"],
        json!({ "reason": "NO_CANDIDATE", "attempts": 0 })
    );
    let declined_event: Value = serde_json::from_slice(&received[1].body).expect("json");
    assert_eq!(declined_event["offer"]["declineReason"], "on a break");
    // Each event hangs off its history note, and an offer's push is worth nothing after
    // the offer's own deadline.
    let db = app.direct_db().await;
    let unlinked: i64 = db
        .query_one(
            "SELECT count(*) FROM outbox m LEFT JOIN order_status_history h ON h.id = m.history_id
              WHERE m.kind = 'DRIVER_PUSH' AND h.id IS NULL",
            &[],
        )
        .await
        .expect("links")
        .get(0);
    assert_eq!(unlinked, 0);
    let mistimed: i64 = db
        .query_one(
            "SELECT count(*) FROM outbox m JOIN dispatch_offers f ON f.id = (m.payload->'offer'->>'id')::uuid
              WHERE m.payload->>'change' = 'OFFERED' AND m.retry_until <> f.expires_at",
            &[],
        )
        .await
        .expect("deadlines")
        .get(0);
    assert_eq!(mistimed, 0);

    // Without a push channel the events are recorded and settled as skipped.
    let (quiet, _, quiet_vendor) = on_demand_dispatch(5).await;
    let driver = quiet.user(Role::Driver).await;
    quiet.start_shift_at(&driver, (37.3345, -121.8900)).await;
    let (_, number) = on_demand_order(&quiet, &quiet_vendor).await;
    relay_all(&quiet).await;
    assert_eq!(push_statuses(&quiet).await, vec![("SKIPPED".to_owned(), 1)]);
    // Operators find it among the outbox's messages, with why it went nowhere.
    let admin = quiet.user(Role::Admin).await;
    let listed = quiet
        .call(
            "GET",
            &format!("/api/admin/webhooks?order={number}&status=SKIPPED"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(listed.status(), 200);
    let items = json_body(listed).await["items"].clone();
    assert_eq!(items.as_array().map(Vec::len), Some(1), "{items}");
    assert_eq!(items[0]["kind"], "DRIVER_PUSH");
    assert_eq!(items[0]["partner"], Value::Null);
    assert_eq!(items[0]["payload"]["change"], "OFFERED");
    let why = items[0]["lastError"].as_str().expect("why");
    assert!(why.contains("DRIVER_PUSH_URL"), "{why}");
}

#[tokio::test]
async fn after_a_failed_attempt_the_order_is_offered_afresh_not_escalated() {
    // One offer per order: the accepted first one would use it up.
    let (app, _staff, vendor) = on_demand_dispatch(1).await;
    let first = app.user(Role::Driver).await;
    let second = app.user(Role::Driver).await;
    app.start_shift_at(&first, (37.3345, -121.8900)).await;
    app.start_shift_at(&second, (37.3600, -121.9400)).await;
    let (order_id, number) = on_demand_order(&app, &vendor).await;
    let offer = pending_offer(&app, &first).await;
    assert_eq!(offer.len(), 1, "the nearest driver is offered it");
    let offer_id = offer[0]["id"].as_str().expect("offer id").to_owned();
    let accepted = app
        .call(
            "POST",
            &format!("/api/driver/offers/{offer_id}/accept"),
            Some(&first.token),
            None,
        )
        .await;
    assert_eq!(accepted.status(), 200);
    assert_eq!(
        app.report_status(&first, &number, "PICKED_UP")
            .await
            .status(),
        200
    );
    let failed = app.report_failed_attempt(&first, &order_id, &number).await;
    assert_eq!(failed.status(), 200);

    // Offered to the other driver, as a new job for dispatch; nothing escalated.
    assert_eq!(pending_offer(&app, &second).await.len(), 1);
    let escalations = app
        .count(&format!(
            "SELECT count(*) FROM dispatch_escalations WHERE order_id = '{order_id}'"
        ))
        .await;
    assert_eq!(escalations, 0);
}
