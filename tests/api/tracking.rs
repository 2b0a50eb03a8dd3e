//! Drivers' shifts and tracks through the API: who may start, end and read shifts, what
//! location reports are refused, deduplicated or left out, the mileage the track gives,
//! and the day partitions the retention job keeps.

use api_tests::{error_fields, json_body, repo_root, TestApp, TestUser};
use chrono::{Duration, Utc};
use serde_json::{json, Value};
use shared::{
    auth::Role,
    db::p,
    runtime::{handle_event, JobLog, Lambda},
};

async fn start_shift(app: &TestApp, driver: &TestUser) -> Value {
    let response = app
        .call(
            "POST",
            "/api/tracking/shifts/start",
            Some(&driver.token),
            Some(json!({ "location": { "coordinates": { "lat": 37.3353, "lng": -121.8947 } } })),
        )
        .await;
    assert_eq!(response.status(), 200);
    json_body(response).await
}

/// A point `meters_north` of the start, `seconds_ago` before now.
fn point(meters_north: f64, seconds_ago: i64) -> Value {
    json!({
        "latitude": 37.3353 + meters_north / 111_195.0,
        "longitude": -121.8947,
        "accuracy": 5,
        "speed": 10,
        "heading": 0,
        "batteryLevel": 80,
        "isMoving": true,
        "recordedAt": Utc::now() - Duration::seconds(seconds_ago),
    })
}

async fn report(app: &TestApp, driver: &TestUser, body: Value) -> reqwest::Response {
    app.call(
        "POST",
        "/api/tracking/locations",
        Some(&driver.token),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn the_session_names_the_account_and_its_driver_record() {
    let app = TestApp::spawn().await;
    let driver = app.user(Role::Driver).await;
    let session = json_body(
        app.call("GET", "/api/auth/session", Some(&driver.token), None)
            .await,
    )
    .await;
    assert_eq!(session["user"]["id"], driver.id.to_string());
    assert_eq!(session["user"]["type"], "DRIVER");
    assert_eq!(session["user"]["email"], driver.email.as_str());
    assert!(session["user"]["driverId"].is_string());
    let expires: chrono::DateTime<Utc> =
        serde_json::from_value(session["expires"].clone()).expect("a time");
    assert!(
        expires > Utc::now() + Duration::days(20),
        "the refresh horizon"
    );

    let client = app.user(Role::Client).await;
    let session = json_body(
        app.call("GET", "/api/auth/session", Some(&client.token), None)
            .await,
    )
    .await;
    assert!(session["user"]["driverId"].is_null());
    assert_eq!(
        app.call("GET", "/api/auth/session", None, None)
            .await
            .status(),
        401
    );
    // A revoked session: the authorizer refuses it before the function runs.
    let logout = app
        .call("POST", "/api/auth/logout", Some(&client.token), None)
        .await;
    assert!(logout.status().is_success());
    assert_eq!(
        app.call("GET", "/api/auth/session", Some(&client.token), None)
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn a_driver_works_one_shift_at_a_time_and_only_its_own() {
    let app = TestApp::spawn().await;
    let driver = app.user(Role::Driver).await;
    let other = app.user(Role::Driver).await;
    let own_id = app.driver_id(&driver).await;
    let other_id = app.driver_id(&other).await;

    // Not for another driver, not for non-drivers.
    let foreign = app
        .call(
            "POST",
            "/api/tracking/shifts/start",
            Some(&driver.token),
            Some(json!({ "driverId": other_id })),
        )
        .await;
    assert_eq!(foreign.status(), 403);
    let client = app.user(Role::Client).await;
    let refused = app
        .call(
            "POST",
            "/api/tracking/shifts/start",
            Some(&client.token),
            Some(json!({})),
        )
        .await;
    assert_eq!(refused.status(), 403);
    let bad = app
        .call(
            "POST",
            "/api/tracking/shifts/start",
            Some(&driver.token),
            Some(json!({ "location": { "coordinates": { "lat": 95, "lng": 0 } } })),
        )
        .await;
    assert_eq!(bad.status(), 400);
    assert_eq!(
        error_fields(&json_body(bad).await),
        ["location.coordinates"]
    );

    let started = start_shift(&app, &driver).await;
    let shift_id = started["shiftId"].as_str().expect("shift id").to_owned();
    assert_eq!(started["shift"]["driverId"], own_id.as_str());
    assert_eq!(started["shift"]["status"], "active");
    let again = app
        .call(
            "POST",
            "/api/tracking/shifts/start",
            Some(&driver.token),
            Some(json!({ "driverId": own_id })),
        )
        .await;
    assert_eq!(again.status(), 409);
    let again = json_body(again).await;
    assert_eq!(again["error"]["code"], "shift_already_open");
    assert_eq!(again["error"]["details"]["shiftId"], shift_id.as_str());
    assert_eq!(
        app.count("SELECT count(*) FROM drivers WHERE is_on_duty")
            .await,
        1
    );

    // Reading it: the driver and staff; another driver or a client get 404.
    let staff = app.user(Role::Helpdesk).await;
    let active = format!("/api/tracking/shifts/active?driverId={own_id}");
    for (reader, path, status) in [
        (&driver, "/api/tracking/shifts/active".to_owned(), 200),
        (&driver, active.clone(), 200),
        (&staff, active.clone(), 200),
        (&other, active.clone(), 404),
        (&client, active.clone(), 404),
        (&staff, "/api/tracking/shifts/active".to_owned(), 400),
        (&driver, format!("/api/tracking/shifts/{shift_id}"), 200),
        (&staff, format!("/api/tracking/shifts/{shift_id}"), 200),
        (&other, format!("/api/tracking/shifts/{shift_id}"), 404),
        (&client, format!("/api/tracking/shifts/{shift_id}"), 404),
    ] {
        let response = app.call("GET", &path, Some(&reader.token), None).await;
        assert_eq!(response.status(), status, "{:?} {path}", reader.role);
    }
    let idle = json_body(
        app.call(
            "GET",
            "/api/tracking/shifts/active",
            Some(&other.token),
            None,
        )
        .await,
    )
    .await;
    assert!(idle["shift"].is_null());

    // Ending: not another's shift, not while a delivery is open.
    let end = |who: &TestUser, body: Value| {
        let token = who.token.clone();
        let app = &app;
        async move {
            app.call("POST", "/api/tracking/shifts/end", Some(&token), Some(body))
                .await
        }
    };
    assert_eq!(
        end(&other, json!({ "shiftId": shift_id })).await.status(),
        404
    );
    let owner = app.user(Role::Client).await;
    let (order_id, _) = app.order_of(&owner).await;
    app.dispatch(&driver, &order_id).await;
    let busy = end(&driver, json!({ "shiftId": shift_id })).await;
    assert_eq!(busy.status(), 409);
    assert_eq!(
        json_body(busy).await["error"]["details"]["activeDeliveries"],
        1
    );
    app.db()
        .await
        .execute_typed("UPDATE dispatches SET unassigned_at = now()", &[])
        .await
        .expect("hand back");
    let bad = end(&driver, json!({ "shiftId": shift_id, "finalMileage": -3 })).await;
    assert_eq!(bad.status(), 400);
    let ended = end(
        &driver,
        json!({ "shiftId": shift_id, "finalMileage": 12.5,
                "location": { "coordinates": { "lat": 37.34, "lng": -121.89 } } }),
    )
    .await;
    assert_eq!(ended.status(), 200);
    let ended = json_body(ended).await;
    assert_eq!(ended["shift"]["status"], "completed");
    assert_eq!(ended["shift"]["reportedMiles"], 12.5);
    assert!(ended["shift"]["endTime"].is_string());
    assert_eq!(
        end(&driver, json!({ "shiftId": shift_id })).await.status(),
        404
    );
    assert_eq!(
        app.count("SELECT count(*) FROM drivers WHERE is_on_duty")
            .await,
        0
    );
}

#[tokio::test]
async fn location_reports_are_checked_deduplicated_and_measured() {
    let app = TestApp::spawn().await;
    let driver = app.user(Role::Driver).await;
    let off_shift = report(&app, &driver, point(0.0, 60)).await;
    assert_eq!(off_shift.status(), 409);
    assert_eq!(json_body(off_shift).await["error"]["code"], "no_open_shift");
    let shift = start_shift(&app, &driver).await;
    let shift_id = shift["shiftId"].as_str().expect("id").to_owned();

    // 11 points 100 m apart, 10 s apart: a kilometre at 10 m/s, in one batch.
    let track: Vec<Value> = (0..11)
        .map(|i| point(100.0 * i as f64, 300 - 10 * i))
        .collect();
    let stored = report(&app, &driver, json!({ "locations": track.clone() })).await;
    assert_eq!(stored.status(), 200);
    let stored = json_body(stored).await;
    assert_eq!(stored["accepted"], 11);
    assert_eq!(stored["duplicates"], 0);
    assert_eq!(stored["shiftId"], shift_id.as_str());
    // The same batch again stores nothing.
    let retried = json_body(report(&app, &driver, json!(track)).await).await;
    assert_eq!(retried["accepted"], 0);
    assert_eq!(retried["duplicates"], 11);
    assert_eq!(app.count("SELECT count(*) FROM driver_locations").await, 11);

    // A jump of 50 km in 10 s is left out; the track goes on from the last real point.
    let jump = json!([point(50_000.0, 180), point(1_100.0, 170)]);
    let answer = json_body(report(&app, &driver, jump).await).await;
    assert_eq!(answer["accepted"], 1);
    assert_eq!(answer["rejected"][0]["index"], 0);

    let read = json_body(
        app.call(
            "GET",
            &format!("/api/tracking/shifts/{shift_id}"),
            Some(&driver.token),
            None,
        )
        .await,
    )
    .await;
    let miles = read["shift"]["trackedMiles"].as_f64().expect("miles");
    // 1.1 km is 0.68 miles.
    assert!((miles - 0.68).abs() <= 0.01, "{miles}");
    assert_eq!(read["shift"]["pointCount"], 12);

    // The driver's position is the newest point (the shift's start is newer than the
    // points above, recorded before it).
    let now = json_body(report(&app, &driver, point(1_150.0, 0)).await).await;
    assert_eq!(now["accepted"], 1);
    let newest: f64 = app
        .db()
        .await
        .query_typed_one(
            "SELECT ST_Y(last_known_location::geometry) FROM drivers WHERE user_id = $1",
            &[p(&driver.id)],
        )
        .await
        .expect("driver")
        .get(0);
    assert!((newest - (37.3353 + 1_150.0 / 111_195.0)).abs() < 1e-6);

    // Refused with the field named; nothing stored.
    let future = Utc::now() + Duration::minutes(10);
    let stale = Utc::now() - Duration::hours(25);
    for (body, field) in [
        (
            json!({ "longitude": 1.0, "recordedAt": Utc::now() }),
            "latitude",
        ),
        (
            json!([{ "latitude": 91, "longitude": 1, "recordedAt": Utc::now() }]),
            "locations[0].latitude",
        ),
        (
            json!({ "latitude": 1, "longitude": 1, "recordedAt": future }),
            "recordedAt",
        ),
        (
            json!({ "latitude": 1, "longitude": 1, "recordedAt": stale }),
            "recordedAt",
        ),
        (
            json!({ "latitude": 1, "longitude": 1, "recordedAt": "yesterday" }),
            "recordedAt",
        ),
        (
            json!({ "latitude": 1, "longitude": 1, "batteryLevel": 140, "recordedAt": Utc::now() }),
            "batteryLevel",
        ),
        (json!({ "locations": [] }), "locations"),
        (
            json!({ "locations": vec![point(0.0, 1); 101] }),
            "locations",
        ),
    ] {
        let response = report(&app, &driver, body.clone()).await;
        assert_eq!(response.status(), 400, "{body}");
        let fields = error_fields(&json_body(response).await);
        assert!(fields.iter().any(|f| f == field), "{field}: {fields:?}");
    }
    assert_eq!(report(&app, &driver, json!("nope")).await.status(), 400);

    // Only for itself.
    let other = app.user(Role::Driver).await;
    let other_id = app.driver_id(&other).await;
    let mut foreign = point(0.0, 5);
    foreign["driverId"] = json!(other_id);
    assert_eq!(report(&app, &driver, foreign).await.status(), 403);
    let client = app.user(Role::Client).await;
    assert_eq!(report(&app, &client, point(0.0, 5)).await.status(), 403);
    assert_eq!(app.count("SELECT count(*) FROM driver_locations").await, 13);
}

async fn run_retention(app: &TestApp) -> Value {
    let function = functions::find("location-retention").expect("registered");
    let Lambda::Event(job) = function.lambda else {
        panic!("an event function");
    };
    let event: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("events/location-retention.json"))
            .expect("event"),
    )
    .expect("json");
    handle_event(
        &app.state,
        "location-retention",
        "test",
        job.handler,
        event,
        JobLog::Every,
    )
    .await
    .expect("retention")
}

#[tokio::test]
async fn retention_drops_whole_days_past_the_limit_and_prepares_the_coming_ones() {
    let app = TestApp::spawn_with(&[("LOCATION_RETENTION_DAYS", "3")]).await;
    let db = app.db().await;
    let today = Utc::now().date_naive();
    // Days long past (as if the job had not run), each with a point.
    db.query_typed(
        "SELECT driver_locations_ensure_partitions($1, $2)",
        &[
            p(&(today - Duration::days(6))),
            p(&(today - Duration::days(2))),
        ],
    )
    .await
    .expect("old partitions");
    let driver = app.user(Role::Driver).await;
    let driver_id = app
        .driver_id(&driver)
        .await
        .parse::<uuid::Uuid>()
        .expect("uuid");
    for days_ago in [6i64, 5, 2] {
        let at = Utc::now() - Duration::days(days_ago);
        db.execute_typed(
            "INSERT INTO driver_locations (driver_id, location, recorded_at)
             VALUES ($1, ST_GeogFromText('SRID=4326;POINT(-121.89 37.33)'), $2)",
            &[p(&driver_id), p(&at)],
        )
        .await
        .expect("old point");
    }
    let report = run_retention(&app).await;
    let name = |days: i64| {
        format!(
            "driver_locations_{}",
            (today - Duration::days(days)).format("%Y%m%d")
        )
    };
    let dropped: Vec<String> = serde_json::from_value(report["dropped"].clone()).expect("names");
    assert!(
        dropped.contains(&name(6)) && dropped.contains(&name(5)),
        "{dropped:?}"
    );
    assert!(!dropped.contains(&name(2)), "within three days");
    assert_eq!(
        app.count("SELECT count(*) FROM driver_locations").await,
        1,
        "only the point from two days ago is left"
    );
    let ahead = format!(
        "driver_locations_{}",
        (today + Duration::days(7)).format("%Y%m%d")
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM pg_class WHERE relname = '{ahead}'"
        ))
        .await,
        1,
        "a week ahead exists"
    );
    let again = run_retention(&app).await;
    assert_eq!(again["dropped"], json!([]));
    assert_eq!(again["created"], 0);
}

#[tokio::test]
async fn a_report_for_a_day_without_its_partition_makes_it_and_is_stored() {
    let app = TestApp::spawn().await;
    let driver = app.user(Role::Driver).await;
    start_shift(&app, &driver).await;
    // As if the retention job had not run for a week: today has no partition.
    let today = format!("driver_locations_{}", Utc::now().format("%Y%m%d"));
    app.db()
        .await
        .batch_execute(&format!("DROP TABLE {today}"))
        .await
        .expect("drop today's partition");
    let stored = report(&app, &driver, json!([point(0.0, 30), point(10.0, 29)])).await;
    assert_eq!(stored.status(), 200);
    assert_eq!(json_body(stored).await["accepted"], 2);
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM {today}")).await,
        2,
        "the day's partition was made and holds the points"
    );
}

/// An order of `owner` dispatched to `driver` (on shift), and the order's pickup.
async fn dispatched_order(
    app: &TestApp,
    owner: &TestUser,
    driver: &TestUser,
) -> (String, String, (f64, f64)) {
    let (order_id, number) = app.order_of(owner).await;
    let staff = app.user(Role::Admin).await;
    let assigned = app
        .call(
            "POST",
            "/api/orders/assignDriver",
            Some(&staff.token),
            Some(json!({ "orderId": order_id, "driverId": app.driver_id(driver).await })),
        )
        .await;
    assert_eq!(assigned.status(), 200);
    let order = json_body(assigned).await;
    let pickup = &order["order"]["pickupAddress"];
    let pickup = (
        pickup["latitude"].as_f64().expect("lat"),
        pickup["longitude"].as_f64().expect("lng"),
    );
    (order_id, number, pickup)
}

#[tokio::test]
async fn the_owner_follows_the_driver_only_while_the_delivery_is_underway() {
    let app = TestApp::spawn().await;
    let owner = app.user(Role::Client).await;
    let driver = app.user(Role::Driver).await;
    start_shift(&app, &driver).await;
    let (_, number, pickup) = dispatched_order(&app, &owner, &driver).await;
    let path = format!("/api/orders/{number}/driver-location");
    let located = |who: &TestUser| {
        let token = who.token.clone();
        let app = &app;
        let path = path.clone();
        async move { app.call("GET", &path, Some(&token), None).await }
    };
    // Assigned, not yet underway: nothing to see.
    let before = json_body(located(&owner).await).await;
    assert!(before["driverLocation"].is_null() && before["eta"].is_null());

    // 3 km south of the pickup, heading there.
    let point = json!({ "latitude": pickup.0 - 0.027, "longitude": pickup.1, "accuracy": 6,
                        "speed": 11, "heading": 0, "recordedAt": Utc::now() });
    assert_eq!(report(&app, &driver, point).await.status(), 200);
    let moved = app
        .call(
            "PATCH",
            &format!("/api/orders/{number}"),
            Some(&driver.token),
            Some(json!({ "driverStatus": "EN_ROUTE_TO_VENDOR" })),
        )
        .await;
    assert_eq!(moved.status(), 200);
    let seen = json_body(located(&owner).await).await;
    let location = &seen["driverLocation"];
    assert!((location["lat"].as_f64().expect("lat") - (pickup.0 - 0.027)).abs() < 1e-6);
    assert_eq!(location["accuracy"], 6.0);
    assert_eq!(location["isOnDuty"], true);
    assert_eq!(seen["eta"]["to"], "pickup");
    let miles = seen["eta"]["miles"].as_f64().expect("miles");
    // 3 km straight is 1.86 miles; by road (× 1.35) about 2.5.
    assert!((2.4..2.6).contains(&miles), "{miles}");
    assert!(seen["eta"]["minutes"].as_f64().expect("minutes") > 5.0);

    // Staff see it too; strangers and the driver itself get 404.
    let staff = app.user(Role::Helpdesk).await;
    assert_eq!(located(&staff).await.status(), 200);
    let stranger = app.user(Role::Client).await;
    assert_eq!(located(&stranger).await.status(), 404);
    assert_eq!(located(&driver).await.status(), 404);

    // Delivered: the position is no longer shown.
    let done = app
        .call(
            "PATCH",
            &format!("/api/orders/{number}"),
            Some(&driver.token),
            Some(json!({ "driverStatus": "COMPLETED" })),
        )
        .await;
    assert_eq!(done.status(), 200);
    let after = json_body(located(&owner).await).await;
    assert!(after["driverLocation"].is_null());
}

/// A report of one point at `(lat, lng)`, `seconds_ago` before now (after it, negative).
fn at(lat: f64, lng: f64, seconds_ago: i64) -> Value {
    json!({ "locations": [{ "latitude": lat, "longitude": lng,
                            "recordedAt": Utc::now() - Duration::seconds(seconds_ago) }] })
}

fn time_of(value: &Value) -> chrono::DateTime<Utc> {
    value.as_str().expect("a time").parse().expect("RFC 3339")
}

#[tokio::test]
async fn each_location_report_keeps_the_delivery_s_etas_current() {
    let app = TestApp::spawn().await;
    let owner = app.user(Role::Client).await;
    let driver = app.user(Role::Driver).await;
    start_shift(&app, &driver).await;
    let (_, number, pickup) = dispatched_order(&app, &owner, &driver).await;
    let view = |path: String| {
        let token = owner.token.clone();
        let app = &app;
        async move {
            let response = app.call("GET", &path, Some(&token), None).await;
            assert_eq!(response.status(), 200, "{path}");
            json_body(response).await
        }
    };
    let order_path = format!("/api/orders/{number}");
    assert!(
        view(order_path.clone()).await["eta"].is_null(),
        "no report yet"
    );

    // 3 km south of the vendor: the pickup by the routing core's estimate (1.86 miles
    // straight, × 1.35 by road, at 25 mph: about 6 minutes), then the vendor's 10
    // minutes and the leg to the client.
    let before = Utc::now();
    let far = report(&app, &driver, at(pickup.0 - 0.027, pickup.1, 0)).await;
    assert_eq!(far.status(), 200);
    let eta = view(order_path.clone()).await["eta"].clone();
    assert_eq!(eta["source"], "offline");
    let to_pickup = time_of(&eta["pickupAt"]) - before;
    assert!(
        (Duration::minutes(5)..Duration::minutes(8)).contains(&to_pickup),
        "{to_pickup}"
    );
    let dropoff = time_of(&eta["dropoffAt"]);
    assert!(dropoff >= time_of(&eta["pickupAt"]) + Duration::minutes(10));
    let first_computed = time_of(&eta["computedAt"]);

    // A point older than the newest one stored, even at the vendor, moves nothing: no
    // times, no arrival.
    let late = report(&app, &driver, at(pickup.0, pickup.1, 900)).await;
    assert_eq!(late.status(), 200);
    assert_eq!(json_body(late).await["arrivals"], json!([]));
    let unchanged = view(order_path.clone()).await["eta"].clone();
    assert_eq!(unchanged, eta, "a late point leaves the times as they were");

    // Passing the vendor's door at speed is no arrival (points a device clock ahead, as
    // the check allows, keep the drive plausible).
    let passing = json!({ "locations": [
        { "latitude": pickup.0 - 0.0009, "longitude": pickup.1, "speed": 15,
          "recordedAt": Utc::now() + Duration::seconds(50) },
        { "latitude": pickup.0, "longitude": pickup.1, "speed": 15,
          "recordedAt": Utc::now() + Duration::seconds(55) },
    ] });
    let passed = report(&app, &driver, passing).await;
    assert_eq!(json_body(passed).await["arrivals"], json!([]));
    // Stopped there: arrived, expected there now, the drop after the service time.
    let stopped = json!({ "locations": [
        { "latitude": pickup.0, "longitude": pickup.1, "speed": 0.5,
          "recordedAt": Utc::now() + Duration::seconds(65) },
        { "latitude": pickup.0, "longitude": pickup.1, "speed": 0,
          "recordedAt": Utc::now() + Duration::seconds(75) },
    ] });
    let arrived = report(&app, &driver, stopped).await;
    assert_eq!(
        json_body(arrived).await["arrivals"][0]["driverStatus"],
        "ARRIVED_AT_VENDOR"
    );
    let there = view(order_path.clone()).await["eta"].clone();
    assert!(time_of(&there["computedAt"]) > first_computed);
    let at_vendor = time_of(&there["pickupAt"]);
    assert!(
        (at_vendor - Utc::now()).num_seconds().abs() < 5,
        "{at_vendor}"
    );
    assert!(
        time_of(&there["dropoffAt"]) < dropoff,
        "nearer than from 3 km away"
    );

    // Picked up: no pickup time any more; the drop is timed from where the driver is.
    let picked = app
        .call(
            "PATCH",
            &order_path,
            Some(&driver.token),
            Some(json!({ "driverStatus": "PICKED_UP" })),
        )
        .await;
    assert_eq!(picked.status(), 200);
    // The customer's "on its way" notice gives the drop-off time the reports keep.
    let expected = time_of(&view(order_path.clone()).await["eta"]["dropoffAt"])
        .with_timezone(&chrono_tz::America::Los_Angeles)
        .format("%-I:%M %p")
        .to_string();
    let on_its_way: String = app
        .db()
        .await
        .query_typed_one(
            "SELECT payload->>'text' FROM outbox
              WHERE kind = 'CUSTOMER_EMAIL' AND payload->>'subject' LIKE '%is on its way'",
            &[],
        )
        .await
        .expect("the notice")
        .get(0);
    assert!(
        on_its_way.contains(&format!("We expect it around {expected}.")),
        "{on_its_way}"
    );
    assert_eq!(
        report(&app, &driver, at(pickup.0 + 0.001, pickup.1, -100))
            .await
            .status(),
        200
    );
    let located = view(format!("/api/orders/{number}/driver-location")).await;
    let carried = &located["deliveryEta"];
    assert!(carried["pickupAt"].is_null());
    assert!(time_of(&carried["dropoffAt"]) > Utc::now());
    let link = view(format!("/api/orders/{number}/tracking-link")).await;
    let public = app
        .call("GET", link["path"].as_str().expect("path"), None, None)
        .await;
    assert_eq!(json_body(public).await["deliveryEta"], *carried);
}

async fn evaluate_alerts(app: &TestApp) -> Value {
    let function = functions::find("alert-evaluator").expect("registered");
    let Lambda::Event(job) = function.lambda else {
        panic!("an event function");
    };
    handle_event(
        &app.state,
        "alert-evaluator",
        "test",
        job.handler,
        json!({}),
        JobLog::Every,
    )
    .await
    .expect("evaluated")
}

async fn delay_alert(app: &TestApp, number: &str) -> Option<String> {
    shared::monitoring::alerts::all(&app.state)
        .await
        .expect("alerts")
        .into_iter()
        .find(|a| a.rule == "delivery_delayed" && a.group_key == number)
        .map(|a| a.status.as_str().to_owned())
}

#[tokio::test]
async fn a_late_trip_is_recorded_once_told_and_closed_when_back_on_time() {
    let app = TestApp::spawn().await;
    let owner = app.user(Role::Client).await;
    app.give_phone(&owner, "31").await;
    let driver = app.user(Role::Driver).await;
    start_shift(&app, &driver).await;
    let (order_id, number, pickup) = dispatched_order(&app, &owner, &driver).await;
    let db = app.direct_db().await;
    // Due at the client in five minutes; the driver has the food 10 km from it.
    db.execute(
        "UPDATE orders SET pickup_date_time = now() - interval '30 minutes',
                arrival_date_time = now() + interval '5 minutes'
          WHERE id = $1::text::uuid",
        &[&order_id],
    )
    .await
    .expect("due soon");
    let picked = app
        .call(
            "PATCH",
            &format!("/api/orders/{number}"),
            Some(&driver.token),
            Some(json!({ "driverStatus": "PICKED_UP" })),
        )
        .await;
    assert_eq!(picked.status(), 200);
    let drop: (f64, f64) = {
        let row = db
            .query_one(
                "SELECT ST_Y(a.location::geometry), ST_X(a.location::geometry)
                   FROM orders o JOIN addresses a ON a.id = o.delivery_address_id
                  WHERE o.id = $1::text::uuid",
                &[&order_id],
            )
            .await
            .expect("drop");
        (row.get(0), row.get(1))
    };
    let _ = pickup;
    let delays = || async {
        db.query_one(
            "SELECT count(*), count(*) FILTER (WHERE recovered_at IS NULL) FROM delivery_delays
              WHERE order_id = $1::text::uuid",
            &[&order_id],
        )
        .await
        .map(|r| (r.get::<_, i64>(0), r.get::<_, i64>(1)))
        .expect("delays")
    };
    let notes = || async {
        db.query(
            "SELECT note FROM order_status_history WHERE order_id = $1::text::uuid
                AND (note LIKE 'predicted to arrive%' OR note LIKE 'back on time%') ORDER BY id",
            &[&order_id],
        )
        .await
        .expect("notes")
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect::<Vec<_>>()
    };

    // Ten km out (about 22 minutes at city speed): past the window by more than 10 min.
    // (Points after the shift's start, which set the driver's position: a device clock
    // ahead, as the check allows.)
    for seconds_ago in [-30, -60] {
        let late = report(&app, &driver, at(drop.0 - 0.09, drop.1, seconds_ago)).await;
        assert_eq!(late.status(), 200);
    }
    assert_eq!(
        delays().await,
        (1, 1),
        "recorded once, for two late reports"
    );
    let recorded = notes().await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert!(
        recorded[0].contains("min after its window ends"),
        "{recorded:?}"
    );
    let emails = app
        .count(&format!(
            "SELECT count(*) FROM outbox WHERE order_id = '{order_id}' AND kind = 'CUSTOMER_EMAIL'
               AND payload->>'subject' LIKE '%is running late'"
        ))
        .await;
    assert_eq!(emails, 1, "the customer is told once");
    let texts = app
        .count(&format!(
            "SELECT count(*) FROM outbox WHERE order_id = '{order_id}' AND kind = 'CUSTOMER_SMS'
               AND payload->>'text' LIKE '%is running late, now expected around%'"
        ))
        .await;
    assert_eq!(texts, 1, "and texted once");
    // Dispatchers: an alert, raised once by the minute's evaluation.
    assert_eq!(evaluate_alerts(&app).await["delays"]["raised"], 1);
    assert_eq!(delay_alert(&app, &number).await.as_deref(), Some("firing"));
    assert_eq!(evaluate_alerts(&app).await["delays"]["raised"], 0);

    // The client agrees to a later time: the next report is inside the window again.
    db.execute(
        "UPDATE orders SET arrival_date_time = now() + interval '2 hours' WHERE id = $1::text::uuid",
        &[&order_id],
    )
    .await
    .expect("later");
    let back = report(&app, &driver, at(drop.0 - 0.089, drop.1, -90)).await;
    assert_eq!(back.status(), 200);
    assert_eq!(delays().await, (1, 0));
    let recorded = notes().await;
    assert_eq!(recorded.len(), 2);
    assert!(recorded[1].starts_with("back on time"), "{recorded:?}");
    assert_eq!(evaluate_alerts(&app).await["delays"]["resolved"], 1);
    assert_eq!(
        delay_alert(&app, &number).await.as_deref(),
        Some("resolved")
    );
}

#[tokio::test]
async fn a_tracking_link_shows_the_delivery_to_anyone_holding_it_until_it_expires() {
    let app = TestApp::spawn().await;
    let owner = app.user(Role::Client).await;
    let driver = app.user(Role::Driver).await;
    start_shift(&app, &driver).await;
    let (order_id, number, pickup) = dispatched_order(&app, &owner, &driver).await;
    let link_path = format!("/api/orders/{number}/tracking-link");
    let stranger = app.user(Role::Client).await;
    assert_eq!(
        app.call("GET", &link_path, Some(&stranger.token), None)
            .await
            .status(),
        404
    );
    let link = json_body(app.call("GET", &link_path, Some(&owner.token), None).await).await;
    let public = link["path"].as_str().expect("path").to_owned();
    let token = link["token"].as_str().expect("token").to_owned();
    assert_eq!(public, format!("/api/track/{token}"));

    // No account needed; before the driver leaves, no driver details.
    let shown = json_body(app.call("GET", &public, None, None).await).await;
    assert_eq!(shown["orderNumber"], number.as_str());
    assert_eq!(shown["inProgress"], false);
    assert!(shown["driverFirstName"].is_null() && shown["position"].is_null());

    let point =
        json!({ "latitude": pickup.0 - 0.01, "longitude": pickup.1, "recordedAt": Utc::now() });
    assert_eq!(report(&app, &driver, point).await.status(), 200);
    app.call(
        "PATCH",
        &format!("/api/orders/{number}"),
        Some(&driver.token),
        Some(json!({ "driverStatus": "EN_ROUTE_TO_VENDOR" })),
    )
    .await;
    let shown = json_body(app.call("GET", &public, None, None).await).await;
    assert_eq!(shown["inProgress"], true);
    assert_eq!(shown["driverFirstName"], "Test", "the first name only");
    assert!(shown["position"]["lat"].is_number());
    assert_eq!(shown["eta"]["to"], "pickup");
    assert!(shown.get("driverPhone").is_none() && shown.get("driverId").is_none());

    // Any altered character, a truncated or an expired link: 404.
    let mut altered = token.clone().into_bytes();
    let last = altered.len() - 5;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).expect("ascii");
    for bad in [
        altered,
        token[..token.len() - 2].to_owned(),
        "nonsense".to_owned(),
    ] {
        let response = app
            .call("GET", &format!("/api/track/{bad}"), None, None)
            .await;
        assert_eq!(response.status(), 404, "{bad}");
    }
    // Signed with the real key, but a minute past its expiry.
    let expired = shared::auth::links::sign(
        &app.state.jwt().await.expect("keys"),
        shared::auth::links::LinkPurpose::Tracking,
        order_id.parse().expect("uuid"),
        Utc::now() - chrono::Duration::minutes(1),
    );
    let response = app
        .call("GET", &format!("/api/track/{expired}"), None, None)
        .await;
    assert_eq!(response.status(), 404, "expired a minute ago");
}

#[tokio::test]
async fn deliveries_are_listed_for_their_driver_and_staff() {
    let app = TestApp::spawn().await;
    let owner = app.user(Role::Client).await;
    let driver = app.user(Role::Driver).await;
    let other = app.user(Role::Driver).await;
    start_shift(&app, &driver).await;
    let (order_id, _, _) = dispatched_order(&app, &owner, &driver).await;
    let own = json_body(
        app.call("GET", "/api/tracking/deliveries", Some(&driver.token), None)
            .await,
    )
    .await;
    assert_eq!(own["items"][0]["orderId"], order_id.as_str());
    assert_eq!(own["items"][0]["status"], "ASSIGNED");
    assert_eq!(own["items"][0]["current"], true);
    assert!(
        own["items"][0]["shiftId"].is_string(),
        "opened during the shift"
    );
    let id = own["items"][0]["id"].as_str().expect("id").to_owned();
    let staff = app.user(Role::Helpdesk).await;
    let by_driver = format!(
        "/api/tracking/deliveries?driverId={}&status=ASSIGNED",
        app.driver_id(&driver).await
    );
    let listed = json_body(app.call("GET", &by_driver, Some(&staff.token), None).await).await;
    assert_eq!(listed["items"].as_array().expect("items").len(), 1);
    for (who, path, status) in [
        (&driver, format!("/api/tracking/deliveries/{id}"), 200),
        (&staff, format!("/api/tracking/deliveries/{id}"), 200),
        (&other, format!("/api/tracking/deliveries/{id}"), 404),
        (&owner, format!("/api/tracking/deliveries/{id}"), 404),
        (&owner, "/api/tracking/deliveries".to_owned(), 403),
        (&other, by_driver.clone(), 403),
        (
            &staff,
            "/api/tracking/deliveries?status=LOST".to_owned(),
            400,
        ),
    ] {
        let response = app.call("GET", &path, Some(&who.token), None).await;
        assert_eq!(response.status(), status, "{:?} {path}", who.role);
    }
    let mine = json_body(
        app.call("GET", "/api/tracking/deliveries", Some(&other.token), None)
            .await,
    )
    .await;
    assert_eq!(mine["items"], json!([]));
}
