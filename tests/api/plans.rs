//! Dispatch plans through the API and the planner job: a day's orders planned into
//! drivers' routes that keep every window, capacity and working window; the request's
//! refusals, each before anything is written; one plan solving a day at a time; and a
//! job that writes nothing but its plan.

use std::time::Duration;

use api_tests::{catering_body, json_body, TestApp, TestUser};
use chrono::{DateTime, Duration as Span, Utc};
use serde_json::{json, Value};
use shared::auth::Role;

/// 17:00 UTC (09:00 or 10:00 in San José) three days from now, and that day in Pacific time.
fn day_at(hours: i64) -> DateTime<Utc> {
    let midnight = (Utc::now() + Span::days(3))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    midnight + Span::hours(17 + hours)
}

fn pacific_day(at: DateTime<Utc>) -> String {
    at.with_timezone(&chrono_tz::America::Los_Angeles)
        .date_naive()
        .to_string()
}

/// A catering order due `hours` after 17:00 on the plan's day, picked up 45 min before.
async fn order_due(
    app: &TestApp,
    client: &TestUser,
    hours: i64,
    headcount: i64,
) -> (String, String) {
    let arrival = day_at(hours) + Span::hours(1);
    let mut body = catering_body(headcount);
    body["pickupDateTime"] = json!(arrival - Span::minutes(45));
    body["arrivalDateTime"] = json!(arrival);
    let response = app
        .call(
            "POST",
            "/api/catering-requests",
            Some(&client.token),
            Some(body),
        )
        .await;
    assert_eq!(response.status(), 201, "placing an order");
    let order = json_body(response).await;
    (
        order["order"]["id"].as_str().expect("id").to_owned(),
        order["order"]["orderNumber"]
            .as_str()
            .expect("number")
            .to_owned(),
    )
}

/// A driver with a window of `hours` on the plan's day, in a van, from downtown San José.
async fn available_driver(app: &TestApp, dispatcher: &TestUser, hours: i64) -> String {
    let driver = app.user(Role::Driver).await;
    let driver_id = app.driver_id(&driver).await;
    let starts = day_at(-1);
    let response = app
        .call(
            "POST",
            "/api/drivers/availability",
            Some(&dispatcher.token),
            Some(json!({
                "driverId": driver_id,
                "startsAt": starts,
                "endsAt": starts + Span::hours(hours),
                "startPlace": { "address": { "street1": "200 E Santa Clara St", "city": "San Jose", "state": "CA", "zip": "95113" } },
                "vehicleType": "VAN",
            })),
        )
        .await;
    assert_eq!(response.status(), 201, "availability");
    driver_id
}

async fn ask(app: &TestApp, dispatcher: &TestUser, body: Value) -> reqwest::Response {
    app.call(
        "POST",
        "/api/dispatch/plans",
        Some(&dispatcher.token),
        Some(body),
    )
    .await
}

/// Polls the plan until its job has finished with it.
async fn finished(app: &TestApp, dispatcher: &TestUser, plan_id: &str) -> Value {
    let path = format!("/api/dispatch/plans/{plan_id}");
    for _ in 0..300 {
        let plan = json_body(app.call("GET", &path, Some(&dispatcher.token), None).await).await
            ["plan"]
            .clone();
        if plan["status"] != "QUEUED" && plan["status"] != "SOLVING" {
            return plan;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("plan {plan_id} did not finish in 30 s");
}

fn time(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("a time: {value}"))
}

#[tokio::test]
async fn a_day_is_planned_into_routes_that_keep_every_window_and_assign_nothing() {
    let app = TestApp::spawn_waking_relay().await;
    let dispatcher = app.user(Role::Helpdesk).await;
    let client = app.user(Role::Client).await;
    let drivers = [
        available_driver(&app, &dispatcher, 10).await,
        available_driver(&app, &dispatcher, 10).await,
    ];
    let mut orders = Vec::new();
    for (hours, headcount) in [(0, 20), (0, 30), (1, 15), (3, 40), (4, 10)] {
        let (id, number) = order_due(&app, &client, hours, headcount).await;
        orders.push((id, number, day_at(hours) + Span::hours(1)));
    }
    // Another day's order stays out of this day's plan.
    order_due(&app, &client, 48, 20).await;

    let response = ask(
        &app,
        &dispatcher,
        json!({ "date": pacific_day(day_at(0)), "timeLimitSeconds": 2 }),
    )
    .await;
    assert_eq!(response.status(), 202);
    let queued = json_body(response).await["plan"].clone();
    assert!(["QUEUED", "SOLVING", "SOLVED"].contains(&queued["status"].as_str().unwrap_or("")));
    let plan = finished(&app, &dispatcher, queued["id"].as_str().expect("id")).await;
    assert_eq!(plan["status"], "SOLVED", "{plan}");
    assert!(
        plan["progress"]["generation"]
            .as_u64()
            .is_some_and(|g| g > 0),
        "{plan}"
    );

    let result = &plan["result"];
    let mut seen = Vec::new();
    for route in result["routes"].as_array().expect("routes") {
        assert!(drivers.contains(&route["driverId"].as_str().expect("driver").to_owned()));
        let stops = route["stops"].as_array().expect("stops");
        let mut clock = time(&route["departureAt"]);
        for (i, stop) in stops.iter().enumerate() {
            assert!(
                time(&stop["arrivalAt"]) >= clock,
                "stops in time order: {route}"
            );
            clock = time(&stop["departureAt"]);
            let order = stop["orderId"].as_str().expect("order").to_owned();
            let (_, number, due) = orders
                .iter()
                .find(|(id, _, _)| *id == order)
                .expect("one of the day's orders");
            assert_eq!(stop["orderNumber"], number.as_str());
            if stop["kind"] == "dropoff" {
                let pickup = stops[..i]
                    .iter()
                    .position(|s| s["orderId"] == stop["orderId"] && s["kind"] == "pickup");
                assert!(pickup.is_some(), "picked up before dropped off: {route}");
                // Catering arrives in the half hour before its arrival time.
                let start = time(&stop["serviceStartAt"]);
                assert!(
                    start >= *due - Span::minutes(30) && start <= *due,
                    "{stop} due {due}"
                );
                seen.push(order);
            }
        }
        assert!(time(&route["returnAt"]) >= clock);
    }
    for unplanned in result["unassigned"].as_array().expect("unassigned") {
        seen.push(unplanned["orderId"].as_str().expect("id").to_owned());
    }
    seen.sort();
    let mut expected: Vec<String> = orders.iter().map(|(id, _, _)| id.clone()).collect();
    expected.sort();
    assert_eq!(seen, expected, "every order of the day exactly once");
    assert_eq!(result["totals"]["orders"], 5);
    assert!(
        result["totals"]["planned"].as_u64().is_some_and(|n| n >= 4),
        "{result}"
    );
    assert_eq!(result["totals"]["late"], 0);

    // Planning assigns nothing: no dispatch, no history, no outbox message.
    assert_eq!(app.count("SELECT count(*) FROM dispatches").await, 0);
    assert_eq!(
        app.count("SELECT count(*) FROM orders WHERE driver_status IS NOT NULL")
            .await,
        0
    );
}

#[tokio::test]
async fn a_plan_request_is_refused_before_anything_is_written() {
    let app = TestApp::spawn_waking_relay().await;
    let dispatcher = app.user(Role::Admin).await;
    let client = app.user(Role::Client).await;
    let day = pacific_day(day_at(0));
    let (order, _) = order_due(&app, &client, 0, 20).await;
    let (other_day, _) = order_due(&app, &client, 48, 20).await;

    let refusals: Vec<(&str, Value, u16, &str)> = vec![
        ("no day", json!({}), 400, "validation_failed"),
        (
            "a day and a span",
            json!({ "date": day, "from": day, "to": day }),
            400,
            "validation_failed",
        ),
        (
            "a span ending first",
            json!({ "from": day, "to": "2020-01-01" }),
            400,
            "validation_failed",
        ),
        (
            "eight days",
            json!({ "from": "2030-06-01", "to": "2030-06-08" }),
            400,
            "validation_failed",
        ),
        (
            "no budget",
            json!({ "date": day, "timeLimitSeconds": 0 }),
            400,
            "validation_failed",
        ),
        (
            "over the job's budget",
            json!({ "date": day, "timeLimitSeconds": 841 }),
            400,
            "validation_failed",
        ),
        (
            "an empty order list",
            json!({ "date": day, "orderIds": [] }),
            400,
            "validation_failed",
        ),
        (
            "an unknown field",
            json!({ "date": day, "mode": "magic" }),
            400,
            "validation_failed",
        ),
        (
            "not a date",
            json!({ "date": "tomorrow" }),
            400,
            "validation_failed",
        ),
        (
            "an unknown order",
            json!({ "date": day, "orderIds": [uuid::Uuid::new_v4()] }),
            404,
            "not_found",
        ),
        (
            "another day's order",
            json!({ "date": day, "orderIds": [order, other_day] }),
            422,
            "orders_not_plannable",
        ),
        (
            "an unknown driver",
            json!({ "date": day, "driverIds": [uuid::Uuid::new_v4()] }),
            404,
            "not_found",
        ),
        (
            "nobody available",
            json!({ "date": day }),
            422,
            "no_available_drivers",
        ),
    ];
    for (what, body, status, code) in refusals {
        let response = ask(&app, &dispatcher, body).await;
        assert_eq!(response.status(), status, "{what}");
        let body = json_body(response).await;
        assert_eq!(body["error"]["code"], code, "{what}: {body}");
        if code == "orders_not_plannable" {
            let details = body["error"]["details"].to_string();
            assert!(
                details.contains(&other_day) && !details.contains(&order),
                "{what}: {details}"
            );
        }
    }
    assert_eq!(app.count("SELECT count(*) FROM dispatch_plans").await, 0);

    // An order with a driver is not the plan's to place.
    available_driver(&app, &dispatcher, 8).await;
    let driver = app.user(Role::Driver).await;
    app.dispatch(&driver, &order).await;
    let response = ask(
        &app,
        &dispatcher,
        json!({ "date": day, "orderIds": [order] }),
    )
    .await;
    assert_eq!(response.status(), 422);
    assert!(json_body(response).await["error"]["details"]
        .to_string()
        .contains("has a driver"));
    // Unknown plans are 404.
    let response = app
        .call(
            "GET",
            &format!("/api/dispatch/plans/{}", uuid::Uuid::new_v4()),
            Some(&dispatcher.token),
            None,
        )
        .await;
    assert_eq!(response.status(), 404);
    assert_eq!(app.count("SELECT count(*) FROM dispatch_plans").await, 0);
}

#[tokio::test]
async fn one_plan_solves_a_day_at_a_time_and_a_repeated_job_changes_nothing() {
    let app = TestApp::spawn_waking_relay().await;
    let dispatcher = app.user(Role::Helpdesk).await;
    let client = app.user(Role::Client).await;
    available_driver(&app, &dispatcher, 10).await;
    for hours in [0, 1, 2] {
        order_due(&app, &client, hours, 20).await;
    }
    let day = pacific_day(day_at(0));
    let first = json_body(
        ask(
            &app,
            &dispatcher,
            json!({ "date": day, "timeLimitSeconds": 3 }),
        )
        .await,
    )
    .await["plan"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // A span that includes the day is the same day.
    let response = ask(
        &app,
        &dispatcher,
        json!({ "from": day, "to": pacific_day(day_at(48)) }),
    )
    .await;
    assert_eq!(response.status(), 409);
    let body = json_body(response).await;
    assert_eq!(body["error"]["code"], "plan_in_progress");
    assert_eq!(body["error"]["details"]["planId"], first.as_str());

    let solved = finished(&app, &dispatcher, &first).await;
    assert_eq!(solved["status"], "SOLVED");
    // Delivered again, the job leaves a plan it no longer holds as it was.
    let event = json!({ "planId": first });
    let answer = shared::runtime::handle_event(
        &app.state,
        "dispatch-plan-solve",
        "test-request",
        match functions::find("dispatch-plan-solve").map(|f| f.lambda) {
            Some(shared::runtime::Lambda::Event(f)) => f.handler,
            _ => panic!("the planner job is registered"),
        },
        event,
        shared::runtime::JobLog::Every,
    )
    .await
    .expect("the job answers");
    assert_eq!(answer["status"], "SOLVED");
    let again = json_body(
        app.call(
            "GET",
            &format!("/api/dispatch/plans/{first}"),
            Some(&dispatcher.token),
            None,
        )
        .await,
    )
    .await["plan"]
        .clone();
    assert_eq!(again, solved);
    // Once it has finished, the day can be planned again.
    let response = ask(
        &app,
        &dispatcher,
        json!({ "date": day, "timeLimitSeconds": 1 }),
    )
    .await;
    assert_eq!(response.status(), 202);
}

/// Asks for a plan of the day and waits for it to be solved.
async fn solved_plan(app: &TestApp, dispatcher: &TestUser) -> Value {
    let response = ask(
        app,
        dispatcher,
        json!({ "date": pacific_day(day_at(0)), "timeLimitSeconds": 2 }),
    )
    .await;
    assert_eq!(response.status(), 202);
    let id = json_body(response).await["plan"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let plan = finished(app, dispatcher, &id).await;
    assert_eq!(plan["status"], "SOLVED", "{plan}");
    plan
}

async fn apply(app: &TestApp, dispatcher: &TestUser, plan: &Value) -> reqwest::Response {
    let id = plan["id"].as_str().expect("id");
    app.call(
        "POST",
        &format!("/api/dispatch/plans/{id}/apply"),
        Some(&dispatcher.token),
        None,
    )
    .await
}

#[tokio::test]
async fn an_applied_plan_assigns_through_dispatch_and_each_driver_sees_its_route() {
    let app = TestApp::spawn_waking_relay().await;
    let dispatcher = app.user(Role::Helpdesk).await;
    let client = app.user(Role::Client).await;
    let planned_driver = available_driver(&app, &dispatcher, 10).await;
    let mut orders = Vec::new();
    for hours in [0, 2, 4] {
        orders.push(order_due(&app, &client, hours, 20).await);
    }
    // A dispatcher's own assignment stays where it is: the plan leaves it out.
    let (pinned, _) = order_due(&app, &client, 1, 20).await;
    let other_driver = app.user(Role::Driver).await;
    app.dispatch(&other_driver, &pinned).await;

    // A plan made before one of its orders changed is refused, naming it, and assigns
    // nothing.
    let stale = solved_plan(&app, &dispatcher).await;
    let stale_orders = stale["result"]["totals"]["planned"]
        .as_u64()
        .expect("planned");
    assert_eq!(stale_orders, 3, "{stale}");
    app.db()
        .await
        .execute_typed(
            "UPDATE orders SET special_notes = 'side door' WHERE id = $1::text::uuid",
            &[shared::db::p(&orders[1].0)],
        )
        .await
        .expect("an edit");
    let response = apply(&app, &dispatcher, &stale).await;
    assert_eq!(response.status(), 409);
    let body = json_body(response).await;
    assert_eq!(body["error"]["code"], "plan_stale");
    assert!(
        body["error"]["details"].to_string().contains(&orders[1].1),
        "{body}"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM dispatches").await,
        1,
        "only the pinned one"
    );

    // A fresh plan applies: every planned order assigned to the route's driver through the
    // dispatch path, with its timetable on the delivery.
    let plan = solved_plan(&app, &dispatcher).await;
    let response = apply(&app, &dispatcher, &plan).await;
    assert_eq!(response.status(), 200);
    let applied = json_body(response).await;
    assert_eq!(applied["assigned"], 3);
    assert_eq!(applied["plan"]["status"], "APPLIED");
    assert!(applied["plan"]["appliedAt"].is_string());
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM dispatches ds JOIN deliveries d ON d.dispatch_id = ds.id
              WHERE ds.unassigned_at IS NULL AND ds.driver_id = '{planned_driver}'
                AND d.plan_id IS NOT NULL AND d.planned_dropoff_at > d.planned_pickup_at"
        ))
        .await,
        3
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM order_status_history
              WHERE to_driver_status = 'ASSIGNED' AND note LIKE 'assigned to %'"
        )
        .await,
        3,
        "each assignment is in its order's history"
    );
    let pinned_driver = app.driver_id(&other_driver).await;
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM dispatches WHERE order_id = '{pinned}'
              AND driver_id = '{pinned_driver}' AND unassigned_at IS NULL"
        ))
        .await,
        1,
        "the pinned order keeps its driver"
    );
    // Applied once only.
    let response = apply(&app, &dispatcher, &plan).await;
    assert_eq!(response.status(), 409);
    assert_eq!(json_body(response).await["error"]["code"], "plan_applied");

    // The driver's route of the day: each order picked up before it is dropped, in time.
    let date = pacific_day(day_at(0));
    let route = json_body(
        app.call(
            "GET",
            &format!("/api/driver/route?date={date}&driverId={planned_driver}"),
            Some(&dispatcher.token),
            None,
        )
        .await,
    )
    .await;
    let stops = route["stops"].as_array().expect("stops");
    assert_eq!(stops.len(), 6, "{route}");
    let times: Vec<DateTime<Utc>> = stops.iter().map(|s| time(&s["plannedAt"])).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{route}");
    for (id, _) in &orders {
        let at = |kind: &str| {
            stops
                .iter()
                .position(|s| s["orderId"] == id.as_str() && s["kind"] == kind)
        };
        assert!(
            at("pickup").expect("a pickup") < at("dropoff").expect("a drop"),
            "{route}"
        );
    }
    // The other driver's route that day has no planned stops; a client may not look.
    let own = json_body(
        app.call(
            "GET",
            &format!("/api/driver/route?date={date}"),
            Some(&other_driver.token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(own["stops"], json!([]));
    let response = app
        .call(
            "GET",
            &format!("/api/driver/route?date={date}"),
            Some(&client.token),
            None,
        )
        .await;
    assert_eq!(response.status(), 403);
    let response = app
        .call(
            "GET",
            "/api/driver/route?date=someday",
            Some(&other_driver.token),
            None,
        )
        .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn a_plan_that_is_not_solved_is_not_applied() {
    let app = TestApp::spawn_waking_relay().await;
    let dispatcher = app.user(Role::Admin).await;
    let admin = app.user(Role::Admin).await;
    app.db()
        .await
        .execute_typed(
            "INSERT INTO dispatch_plans (id, service_from, service_to, status, time_limit_seconds,
                 requested_by, error)
             VALUES ('b1000000-0000-4000-8000-000000000001', '2031-01-01', '2031-01-01', 'FAILED', 30, $1, 'x'),
                    ('b1000000-0000-4000-8000-000000000002', '2031-01-02', '2031-01-02', 'SOLVING', 30, $1, NULL)",
            &[shared::db::p(&admin.id)],
        )
        .await
        .expect("plans");
    for (id, code) in [
        ("b1000000-0000-4000-8000-000000000001", "plan_failed"),
        ("b1000000-0000-4000-8000-000000000002", "plan_not_solved"),
    ] {
        let response = apply(&app, &dispatcher, &json!({ "id": id })).await;
        assert_eq!(response.status(), 409, "{code}");
        assert_eq!(json_body(response).await["error"]["code"], code);
    }
    let response = apply(&app, &dispatcher, &json!({ "id": uuid::Uuid::new_v4() })).await;
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn an_insert_plan_fits_new_orders_in_and_leaves_each_drivers_orders_with_it() {
    let app = TestApp::spawn_waking_relay().await;
    let dispatcher = app.user(Role::Helpdesk).await;
    let client = app.user(Role::Client).await;
    let driver = available_driver(&app, &dispatcher, 10).await;
    let (started, _) = order_due(&app, &client, 0, 20).await;
    let (kept, _) = order_due(&app, &client, 4, 20).await;
    let first = solved_plan(&app, &dispatcher).await;
    assert_eq!(apply(&app, &dispatcher, &first).await.status(), 200);
    // The driver has picked one up; a new order comes in.
    app.db()
        .await
        .execute_typed(
            "UPDATE orders SET driver_status = 'PICKED_UP' WHERE id = $1::text::uuid",
            &[shared::db::p(&started)],
        )
        .await
        .expect("under way");
    let (new, _) = order_due(&app, &client, 2, 20).await;

    let response = ask(
        &app,
        &dispatcher,
        json!({ "date": pacific_day(day_at(0)), "mode": "insert", "timeLimitSeconds": 2 }),
    )
    .await;
    assert_eq!(response.status(), 202);
    let id = json_body(response).await["plan"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let plan = finished(&app, &dispatcher, &id).await;
    assert_eq!(plan["status"], "SOLVED", "{plan}");
    assert_eq!(plan["mode"], "insert");
    let routes = plan["result"]["routes"].as_array().expect("routes");
    assert_eq!(routes.len(), 1, "{plan}");
    assert_eq!(routes[0]["driverId"], driver.as_str());
    let stops = routes[0]["stops"].as_array().expect("stops");
    let has = |order: &str| stops.iter().find(|s| s["orderId"] == order).cloned();
    assert!(
        has(&started).is_none(),
        "a delivery under way is not the plan's: {plan}"
    );
    assert_eq!(has(&kept).expect("kept")["alreadyAssigned"], true);
    assert_eq!(has(&new).expect("fitted in")["alreadyAssigned"], false);
    // Under way until its drop, the driver's plan starts after it.
    let departure = time(&routes[0]["departureAt"]);
    assert!(departure >= day_at(1), "{departure}");

    let response = apply(&app, &dispatcher, &plan).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        json_body(response).await["assigned"],
        1,
        "only the new order is assigned"
    );
    for order in [&started, &kept, &new] {
        assert_eq!(
            app.count(&format!(
                "SELECT count(*) FROM dispatches WHERE order_id = '{order}' AND driver_id = '{driver}'"
            ))
            .await,
            1,
            "one dispatch each, all with the driver"
        );
    }
}

#[tokio::test]
async fn a_plan_is_refused_over_its_size_limits() {
    let app = TestApp::spawn_waking_relay().await;
    let dispatcher = app.user(Role::Admin).await;
    let day = pacific_day(day_at(0));
    // Too many named, before any is looked up.
    let many: Vec<String> = (0..2001)
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    let response = ask(&app, &dispatcher, json!({ "date": day, "orderIds": many })).await;
    assert_eq!(response.status(), 422);
    assert_eq!(
        json_body(response).await["error"]["code"],
        "too_many_orders"
    );
    let many: Vec<String> = (0..201).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let response = ask(&app, &dispatcher, json!({ "date": day, "driverIds": many })).await;
    assert_eq!(response.status(), 422);
    assert_eq!(
        json_body(response).await["error"]["code"],
        "too_many_drivers"
    );

    // 201 drivers with availability that day: one more than a plan takes.
    let starts = day_at(-1);
    app.db()
        .await
        .execute_typed(
            "WITH accounts AS (
                 INSERT INTO users (email, role, status, name)
                 SELECT 'fleet-' || n || '@readyset.test', 'DRIVER', 'ACTIVE', 'Fleet ' || n
                   FROM generate_series(1, 201) AS n RETURNING id),
             fleet AS (INSERT INTO drivers (user_id, vehicle_type) SELECT id, 'CAR' FROM accounts RETURNING id),
             home AS (INSERT INTO addresses (street1, city, state, zip, location)
                      VALUES ('1 Depot Way', 'San Jose', 'CA', '95113',
                              ST_GeogFromText('SRID=4326;POINT(-121.8881 37.3337)')) RETURNING id)
             INSERT INTO driver_availability (driver_id, starts_at, ends_at, start_address_id,
                 end_address_id, vehicle_type, created_by, updated_by)
             SELECT fleet.id, $1, $1 + interval '8 hours', home.id, home.id, 'CAR', $2, $2
               FROM fleet, home",
            &[shared::db::p(&starts), shared::db::p(&dispatcher.id)],
        )
        .await
        .expect("a large fleet");
    let response = ask(&app, &dispatcher, json!({ "date": day })).await;
    assert_eq!(response.status(), 422);
    let body = json_body(response).await;
    assert_eq!(body["error"]["code"], "too_many_drivers", "{body}");
    assert_eq!(app.count("SELECT count(*) FROM dispatch_plans").await, 0);
}
