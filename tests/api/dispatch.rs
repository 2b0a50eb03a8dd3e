//! Dispatch through the API: assigning, reassigning and refusing; what drivers see of
//! their assignments; the driver app's progress reports; and the nearest-driver search
//! against a brute-force sort of random drivers.

use api_tests::{json_body, TestApp, TestUser};
use serde_json::{json, Value};
use shared::{
    auth::Role,
    db::p,
    drivers::roster::{nearest_available, NearQuery},
    geo::{haversine_miles, Point},
};

async fn assign(app: &TestApp, staff: &TestUser, body: Value) -> reqwest::Response {
    app.call(
        "POST",
        "/api/orders/assignDriver",
        Some(&staff.token),
        Some(body),
    )
    .await
}

fn items(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| a["order"]["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn staff_assign_reassign_and_are_refused_what_cannot_be_delivered() {
    let app = TestApp::spawn().await;
    let owner = app.user(Role::Client).await;
    let (order_id, number) = app.order_of(&owner).await;
    let staff = app.user(Role::Helpdesk).await;
    let first = app.user(Role::Driver).await;
    let second = app.user(Role::Driver).await;
    let (first_id, second_id) = (app.driver_id(&first).await, app.driver_id(&second).await);
    // The order's pickup is the catering body's ZIP centroid; the first driver waits near it.
    let order = json_body(
        app.call(
            "GET",
            &format!("/api/orders/{number}"),
            Some(&owner.token),
            None,
        )
        .await,
    )
    .await;
    let pickup = &order["order"]["pickupAddress"];
    let (lat, lng) = (
        pickup["latitude"].as_f64().expect("lat"),
        pickup["longitude"].as_f64().expect("lng"),
    );
    app.start_shift_at(&first, (lat + 0.01, lng)).await;

    // Without a driver: suggestions only, nothing written.
    let suggested = json_body(assign(&app, &staff, json!({ "orderId": order_id })).await).await;
    assert!(suggested["dispatch"].is_null());
    assert_eq!(suggested["suggestions"][0]["id"], first_id.as_str());
    let meters = suggested["suggestions"][0]["distanceMeters"]
        .as_f64()
        .expect("distance");
    assert!((1_000.0..1_200.0).contains(&meters), "{meters}");
    assert!(
        suggested["suggestions"][0]["etaMinutes"]
            .as_f64()
            .expect("eta")
            > 1.0
    );
    assert_eq!(app.count("SELECT count(*) FROM dispatches").await, 0);

    // Refusals first: each writes nothing.
    let refused = [
        (
            json!({ "orderId": order_id, "driverId": uuid::Uuid::new_v4() }),
            404,
        ),
        (
            json!({ "orderId": uuid::Uuid::new_v4(), "driverId": first_id }),
            404,
        ),
        (
            json!({ "orderId": order_id, "driverId": first_id, "orderType": "on_demand" }),
            422,
        ),
        (
            json!({ "orderId": order_id, "driverId": first_id, "orderType": "boat" }),
            400,
        ),
        (json!({ "driverId": first_id }), 400),
    ];
    for (body, status) in refused {
        assert_eq!(
            assign(&app, &staff, body.clone()).await.status(),
            status,
            "{body}"
        );
    }
    for who in [&owner, &first] {
        let response = assign(
            &app,
            who,
            json!({ "orderId": order_id, "driverId": first_id }),
        )
        .await;
        assert_eq!(response.status(), 403, "{:?}", who.role);
    }
    assert_eq!(app.count("SELECT count(*) FROM dispatches").await, 0);

    let assigned = assign(
        &app,
        &staff,
        json!({ "orderId": order_id, "driverId": first_id, "orderType": "catering" }),
    )
    .await;
    assert_eq!(assigned.status(), 200);
    let assigned = json_body(assigned).await;
    assert_eq!(assigned["order"]["status"], "ASSIGNED");
    assert_eq!(assigned["order"]["driverStatus"], "ASSIGNED");
    assert_eq!(assigned["dispatch"]["driverId"], first_id.as_str());
    assert!(assigned["dispatch"]["reassignedFrom"].is_null());
    // Again: the same dispatch, nothing new.
    let again = json_body(
        assign(
            &app,
            &staff,
            json!({ "orderId": order_id, "driverId": first_id }),
        )
        .await,
    )
    .await;
    assert_eq!(again["dispatch"]["id"], assigned["dispatch"]["id"]);
    assert_eq!(app.count("SELECT count(*) FROM dispatches").await, 1);

    // The driver's feed and dispatch's view of it.
    let feed = json_body(
        app.call("GET", "/api/driver-deliveries", Some(&first.token), None)
            .await,
    )
    .await;
    assert_eq!(items(&feed), std::slice::from_ref(&order_id));
    let path = format!("/api/dispatch/driver/{first_id}/assignments");
    for (who, status) in [(&staff, 200), (&first, 200), (&second, 404), (&owner, 404)] {
        let response = app.call("GET", &path, Some(&who.token), None).await;
        assert_eq!(response.status(), status, "{:?}", who.role);
    }
    assert_eq!(
        app.call("GET", "/api/driver-deliveries", Some(&owner.token), None)
            .await
            .status(),
        403
    );

    // Reassigned: the old dispatch closes, the history says who replaced whom.
    let moved = json_body(
        assign(
            &app,
            &staff,
            json!({ "orderId": order_id, "driverId": second_id }),
        )
        .await,
    )
    .await;
    assert_eq!(moved["dispatch"]["reassignedFrom"], first_id.as_str());
    assert_eq!(moved["order"]["driverStatus"], "ASSIGNED");
    let first_feed = json_body(
        app.call("GET", "/api/driver-deliveries", Some(&first.token), None)
            .await,
    )
    .await;
    assert!(items(&first_feed).is_empty());
    let history = json_body(app.call("GET", &path, Some(&staff.token), None).await).await;
    assert!(
        history["items"][0]["unassignedAt"].is_string(),
        "past ones stay listed"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM order_status_history WHERE order_id = '{order_id}' AND note LIKE '%replaced by%'"
        ))
        .await,
        1
    );
    assert_eq!(app.count("SELECT count(*) FROM deliveries").await, 2);

    // A driver at its cap, an inactive one, a closed order.
    let (other_order, _) = app.order_of(&owner).await;
    app.db()
        .await
        .execute_typed(
            "UPDATE drivers SET max_active_deliveries = 1 WHERE id = $1",
            &[p(&second_id.parse::<uuid::Uuid>().expect("uuid"))],
        )
        .await
        .expect("cap");
    let full = assign(
        &app,
        &staff,
        json!({ "orderId": other_order, "driverId": second_id }),
    )
    .await;
    assert_eq!(full.status(), 409);
    assert_eq!(json_body(full).await["error"]["code"], "driver_at_capacity");
    app.db()
        .await
        .execute_typed(
            "UPDATE drivers SET is_active = false WHERE id = $1",
            &[p(&first_id.parse::<uuid::Uuid>().expect("uuid"))],
        )
        .await
        .expect("deactivate");
    let inactive = assign(
        &app,
        &staff,
        json!({ "orderId": other_order, "driverId": first_id }),
    )
    .await;
    assert_eq!(inactive.status(), 409);
    let cancelled = app
        .call(
            "PATCH",
            &format!("/api/catering-requests/{other_order}/status"),
            Some(&staff.token),
            Some(json!({ "status": "CANCELLED" })),
        )
        .await;
    assert_eq!(cancelled.status(), 200);
    let closed = assign(
        &app,
        &staff,
        json!({ "orderId": other_order, "driverId": second_id }),
    )
    .await;
    assert_eq!(closed.status(), 409);
    assert_eq!(json_body(closed).await["error"]["code"], "order_closed");
}

#[tokio::test]
async fn only_the_assigned_driver_reports_progress_and_only_forward() {
    let app = TestApp::spawn().await;
    let owner = app.user(Role::Client).await;
    let (order_id, number) = app.order_of(&owner).await;
    let staff = app.user(Role::Admin).await;
    let driver = app.user(Role::Driver).await;
    let other = app.user(Role::Driver).await;
    let id = app.driver_id(&driver).await;
    let assigned = assign(&app, &staff, json!({ "orderId": order_id, "driverId": id })).await;
    assert_eq!(assigned.status(), 200);
    let path = format!("/api/orders/{number}");
    let patch = |who: &TestUser, body: Value| {
        let token = who.token.clone();
        let app = &app;
        let path = path.clone();
        async move { app.call("PATCH", &path, Some(&token), Some(body)).await }
    };
    let en_route = json!({ "driverStatus": "EN_ROUTE_TO_VENDOR",
                           "location": { "lat": 37.33, "lng": -121.89 }, "notes": "leaving now" });
    assert_eq!(
        patch(&other, en_route.clone()).await.status(),
        404,
        "not their order"
    );
    assert_eq!(patch(&owner, en_route.clone()).await.status(), 403);
    assert_eq!(patch(&staff, en_route.clone()).await.status(), 403);
    let moved = patch(&driver, en_route).await;
    assert_eq!(moved.status(), 200);
    let moved = json_body(moved).await;
    assert_eq!(moved["order"]["status"], "IN_PROGRESS");
    assert_eq!(moved["order"]["driverStatus"], "EN_ROUTE_TO_VENDOR");
    let back = patch(&driver, json!({ "driverStatus": "ASSIGNED" })).await;
    assert_eq!(back.status(), 409);
    for bad in [
        json!({ "driverStatus": "FLYING" }),
        json!({ "driverStatus": "PICKED_UP", "location": { "lat": 123, "lng": 0 } }),
        json!({ "driverStatus": "PICKED_UP", "speed": 3 }),
    ] {
        assert_eq!(patch(&driver, bad.clone()).await.status(), 400, "{bad}");
    }
    let located = app
        .count(&format!(
            "SELECT count(*) FROM order_status_history WHERE order_id = '{order_id}'
               AND to_driver_status = 'EN_ROUTE_TO_VENDOR' AND location IS NOT NULL AND note = 'leaving now'"
        ))
        .await;
    assert_eq!(located, 1);
}

async fn unassign(app: &TestApp, who: &TestUser, body: Value) -> reqwest::Response {
    app.call(
        "POST",
        "/api/orders/unassignDriver",
        Some(&who.token),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn staff_take_a_driver_off_before_the_pickup_and_never_after() {
    let app = TestApp::spawn().await;
    let owner = app.user(Role::Client).await;
    let (order_id, number) = app.order_of(&owner).await;
    let staff = app.user(Role::Admin).await;
    let driver = app.user(Role::Driver).await;
    let driver_id = app.driver_id(&driver).await;
    let status_before: String = app
        .direct_db()
        .await
        .query_one(
            "SELECT status FROM orders WHERE id = $1::text::uuid",
            &[&order_id],
        )
        .await
        .expect("status")
        .get(0);

    // Refused before anything is read: those who do not dispatch, whatever the body.
    for who in [&owner, &driver] {
        let refused = unassign(&app, who, json!("garbage")).await;
        assert_eq!(refused.status(), 403);
    }
    // Nothing to take off yet.
    let why = json!({ "orderId": order_id, "reason": "the driver is ill" });
    let none = unassign(&app, &staff, why.clone()).await;
    assert_eq!(none.status(), 409);
    assert_eq!(json_body(none).await["error"]["code"], "no_driver");
    let assigned = assign(
        &app,
        &staff,
        json!({ "orderId": order_id, "driverId": driver_id }),
    )
    .await;
    assert_eq!(assigned.status(), 200);
    // The reason is required and bounded; an unknown order is a 404.
    for (bad, field) in [
        (json!({ "orderId": order_id }), "reason"),
        (json!({ "orderId": order_id, "reason": "  " }), "reason"),
        (
            json!({ "orderId": order_id, "reason": "x".repeat(501) }),
            "reason",
        ),
    ] {
        let refused = unassign(&app, &staff, bad.clone()).await;
        assert_eq!(refused.status(), 400, "{bad}");
        assert_eq!(
            api_tests::error_fields(&json_body(refused).await),
            vec![field.to_owned()]
        );
    }
    let unknown = unassign(
        &app,
        &staff,
        json!({ "orderId": uuid::Uuid::new_v4(), "reason": "ill" }),
    )
    .await;
    assert_eq!(unknown.status(), 404);

    // Taken off: the order is as it was before its driver, and the driver is free.
    let taken_off = unassign(&app, &staff, why.clone()).await;
    assert_eq!(taken_off.status(), 200);
    let taken_off = json_body(taken_off).await;
    assert_eq!(taken_off["driverId"], json!(driver_id));
    assert_eq!(taken_off["order"]["status"], json!(status_before));
    assert_eq!(taken_off["order"]["driverStatus"], Value::Null);
    assert_eq!(taken_off["offer"], Value::Null, "auto-dispatch is off");
    let open_dispatches = app
        .count(&format!(
            "SELECT count(*) FROM dispatches WHERE order_id = '{order_id}' AND unassigned_at IS NULL"
        ))
        .await;
    assert_eq!(open_dispatches, 0);
    let noted = app
        .count(&format!(
            "SELECT count(*) FROM order_status_history WHERE order_id = '{order_id}'
               AND from_driver_status = 'ASSIGNED' AND to_driver_status IS NULL
               AND note LIKE '%the driver is ill'"
        ))
        .await;
    assert_eq!(noted, 1);
    let feed = app
        .call("GET", "/api/driver-deliveries", Some(&driver.token), None)
        .await;
    assert_eq!(feed.status(), 200);
    assert!(
        items(&json_body(feed).await).is_empty(),
        "off the driver's feed"
    );
    let again = unassign(&app, &staff, why.clone()).await;
    assert_eq!(again.status(), 409, "taken off already");

    // Assigned again and picked up: too late to take the driver off.
    let assigned = assign(
        &app,
        &staff,
        json!({ "orderId": order_id, "driverId": driver_id }),
    )
    .await;
    assert_eq!(assigned.status(), 200);
    let picked_up = app
        .call(
            "PATCH",
            &format!("/api/orders/{number}"),
            Some(&driver.token),
            Some(json!({ "driverStatus": "PICKED_UP" })),
        )
        .await;
    assert_eq!(picked_up.status(), 200);
    let late = unassign(&app, &staff, why).await;
    assert_eq!(late.status(), 409);
    assert_eq!(json_body(late).await["error"]["code"], "order_picked_up");
    let still = app
        .count(&format!(
            "SELECT count(*) FROM dispatches WHERE order_id = '{order_id}' AND unassigned_at IS NULL
               AND driver_id = '{driver_id}'"
        ))
        .await;
    assert_eq!(still, 1, "nothing changed");
}

/// A small deterministic generator, so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[tokio::test]
async fn nearest_drivers_come_in_the_order_of_a_brute_force_distance_sort() {
    let app = TestApp::spawn().await;
    let mut rng = Lcg(0x005e_ed0f_d157_a9c3);
    let center = Point {
        lat: 37.77,
        lng: -122.42,
    };
    let count = 400;
    let mut lat = Vec::new();
    let mut lng = Vec::new();
    let mut on_duty = Vec::new();
    let mut active = Vec::new();
    for _ in 0..count {
        lat.push(center.lat + (rng.next() - 0.5) * 0.6);
        lng.push(center.lng + (rng.next() - 0.5) * 0.6);
        on_duty.push(rng.next() < 0.7);
        active.push(rng.next() < 0.9);
    }
    let db = app.db().await;
    let ids: Vec<uuid::Uuid> = db
        .query_typed(
            "WITH u AS (
                INSERT INTO users (email, role, status, name)
                SELECT 'near-' || n || '@example.com', 'DRIVER', 'ACTIVE', 'Driver ' || n
                  FROM generate_series(1, $1::int8) n
                RETURNING id, email
             ), numbered AS (
                SELECT id, split_part(split_part(email, '@', 1), '-', 2)::int AS n FROM u
             )
             INSERT INTO drivers (user_id, is_active, is_on_duty, last_known_location, last_location_update)
             SELECT numbered.id, a.active, a.on_duty,
                    ST_SetSRID(ST_MakePoint(a.lng, a.lat), 4326)::geography, now()
               FROM numbered
               JOIN unnest($2::float8[], $3::float8[], $4::bool[], $5::bool[])
                    WITH ORDINALITY AS a(lat, lng, on_duty, active, n) ON a.n = numbered.n
             RETURNING id",
            &[p(&(count as i64)), p(&lat), p(&lng), p(&on_duty), p(&active)],
        )
        .await
        .expect("drivers")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids.len(), count);
    // Ten drivers are at their cap: one open order each, cap one.
    let owner = app.user(Role::Client).await;
    let capped: Vec<uuid::Uuid> = db
        .query_typed(
            "SELECT id FROM drivers WHERE is_active AND is_on_duty ORDER BY id LIMIT 10",
            &[],
        )
        .await
        .expect("capped")
        .iter()
        .map(|r| r.get(0))
        .collect();
    for driver in &capped {
        let (order_id, _) = app.order_of(&owner).await;
        let order_id: uuid::Uuid = order_id.parse().expect("uuid");
        db.execute_typed(
            "UPDATE drivers SET max_active_deliveries = 1 WHERE id = $1",
            &[p(driver)],
        )
        .await
        .expect("cap");
        db.execute_typed(
            "INSERT INTO dispatches (order_id, driver_id) VALUES ($1, $2)",
            &[p(&order_id), p(driver)],
        )
        .await
        .expect("dispatch");
    }
    let available: Vec<(uuid::Uuid, Point)> = db
        .query_typed(
            "SELECT id, ST_Y(last_known_location::geometry), ST_X(last_known_location::geometry)
               FROM drivers WHERE is_active AND is_on_duty AND NOT (id = ANY($1))",
            &[p(&capped)],
        )
        .await
        .expect("available")
        .iter()
        .map(|r| {
            (
                r.get(0),
                Point {
                    lat: r.get(1),
                    lng: r.get(2),
                },
            )
        })
        .collect();

    let mut compared = 0;
    for _ in 0..100 {
        let point = Point {
            lat: center.lat + (rng.next() - 0.5) * 0.5,
            lng: center.lng + (rng.next() - 0.5) * 0.5,
        };
        let radius_m = 1_000.0 + rng.next() * 20_000.0;
        let limit = 1 + (rng.next() * 20.0) as i64;
        let meters = |p: Point| haversine_miles(point, p) * 1609.344;
        // Spheroid and sphere distances differ by well under 1 %: skip searches with a
        // driver that close to the edge of the radius, where the two may disagree.
        if available
            .iter()
            .any(|(_, p)| (meters(*p) / radius_m - 1.0).abs() < 0.01)
        {
            continue;
        }
        let mut expected: Vec<(f64, uuid::Uuid)> = available
            .iter()
            .map(|(id, p)| (meters(*p), *id))
            .filter(|(m, _)| *m <= radius_m)
            .collect();
        expected.sort_by(|a, b| a.0.total_cmp(&b.0));
        expected.truncate(limit as usize);
        let found = nearest_available(
            &*db,
            NearQuery {
                point,
                radius_m,
                limit,
            },
        )
        .await
        .expect("nearest");
        let found_ids: Vec<uuid::Uuid> = found.iter().map(|d| d.driver.id).collect();
        let expected_ids: Vec<uuid::Uuid> = expected.iter().map(|(_, id)| *id).collect();
        assert_eq!(
            found_ids, expected_ids,
            "at {point:?} within {radius_m} m, {limit}"
        );
        for (d, (m, _)) in found.iter().zip(&expected) {
            assert!((d.distance_meters - m).abs() / m.max(1.0) < 0.01);
        }
        compared += 1;
    }
    assert!(compared >= 40, "enough searches compared: {compared}");

    // Through the route: staff only, positions checked.
    let staff = app.user(Role::Helpdesk).await;
    let near = app
        .call(
            "GET",
            "/api/tracking/drivers?lat=37.77&lng=-122.42&radiusM=5000&limit=3",
            Some(&staff.token),
            None,
        )
        .await;
    assert_eq!(near.status(), 200);
    assert!(
        json_body(near).await["drivers"]
            .as_array()
            .expect("list")
            .len()
            <= 3
    );
    for (path, status) in [
        ("/api/tracking/drivers?lat=37.77&lng=-122.42", 403),
        ("/api/tracking/drivers?lat=97&lng=-122.42", 400),
        ("/api/tracking/drivers?lat=37.77", 400),
        ("/api/tracking/drivers?lat=37.77&lng=-122.42&radiusM=0", 400),
    ] {
        let token = if status == 403 {
            &owner.token
        } else {
            &staff.token
        };
        assert_eq!(
            app.call("GET", path, Some(token), None).await.status(),
            status,
            "{path}"
        );
    }
    // The list: staff page through everyone; a driver sees only itself.
    let page = json_body(
        app.call(
            "GET",
            "/api/drivers?onDuty=true&limit=50",
            Some(&staff.token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(page["items"].as_array().expect("items").len(), 50);
    assert!(page["nextCursor"].is_string());
    assert!(page["items"]
        .as_array()
        .expect("items")
        .iter()
        .all(|d| d["isOnDuty"] == true));
    let driver = app.user(Role::Driver).await;
    let own = json_body(
        app.call("GET", "/api/tracking/drivers", Some(&driver.token), None)
            .await,
    )
    .await;
    assert_eq!(own["items"].as_array().expect("items").len(), 1);
    assert_eq!(own["items"][0]["userId"], driver.id.to_string());
    assert_eq!(
        app.call("GET", "/api/drivers", Some(&owner.token), None)
            .await
            .status(),
        403
    );
    assert_eq!(
        app.call("GET", "/api/drivers?active=maybe", Some(&staff.token), None)
            .await
            .status(),
        400
    );
}

#[tokio::test]
async fn a_completed_delivery_records_the_drivers_pay_in_stats_and_history() {
    let app = TestApp::spawn().await;
    let owner = app.user(Role::Client).await;
    let (order_id, number) = app.order_of(&owner).await;
    let staff = app.user(Role::Admin).await;
    let driver = app.user(Role::Driver).await;
    let id = app.driver_id(&driver).await;
    assert_eq!(
        assign(&app, &staff, json!({ "orderId": order_id, "driverId": id }))
            .await
            .status(),
        200
    );
    for status in ["PICKED_UP", "COMPLETED"] {
        let moved = app
            .call(
                "PATCH",
                &format!("/api/orders/{number}"),
                Some(&driver.token),
                Some(json!({ "driverStatus": status })),
            )
            .await;
        assert_eq!(moved.status(), 200, "{status}");
    }
    let db = app.db().await;
    let row = db
        .query_typed_one(
            "SELECT o.headcount, o.tip_cents, round(o.delivery_distance_miles * 100)::int8 AS hundredths,
                    d.pay_base_cents, d.pay_mileage_cents, d.pay_bonus_cents, d.pay_toll_cents,
                    d.pay_tip_cents, d.pay_total_cents
               FROM deliveries d JOIN orders o ON o.id = d.order_id WHERE o.id = $1",
            &[p(&order_id.parse::<uuid::Uuid>().expect("uuid"))],
        )
        .await
        .expect("delivery");
    let headcount: Option<i32> = row.get("headcount");
    assert_eq!(headcount, Some(20));
    let base: i64 = row.get("pay_base_cents");
    assert_eq!(base, 2_300, "tier 1: up to 24 people");
    let hundredths: Option<i64> = row.get("hundredths");
    let mileage: i64 = row.get("pay_mileage_cents");
    assert_eq!(
        mileage,
        shared::pay::mileage_cents(hundredths.expect("priced distance"))
    );
    let bonus: i64 = row.get("pay_bonus_cents");
    assert_eq!(bonus, 1_000);
    let tip: i64 = row.get("tip_cents");
    let paid_tip: i64 = row.get("pay_tip_cents");
    assert_eq!(paid_tip, tip);
    let total: i64 = row.get("pay_total_cents");
    let toll: i64 = row.get("pay_toll_cents");
    assert_eq!(total, base + mileage + bonus + toll + tip);

    let stats = json_body(
        app.call(
            "GET",
            &format!("/api/drivers/{id}/stats?period=today"),
            Some(&driver.token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(stats["deliveries"]["completed"], 1);
    assert_eq!(stats["deliveries"]["open"], 0);
    assert_eq!(stats["earnings"]["total"], total as f64 / 100.0);
    assert_eq!(stats["earnings"]["bonus"], 10.0);
    let history = json_body(
        app.call(
            "GET",
            &format!("/api/drivers/{id}/history"),
            Some(&staff.token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(history["items"][0]["orderNumber"], number.as_str());
    assert_eq!(history["items"][0]["pay"]["total"], total as f64 / 100.0);
    let other = app.user(Role::Driver).await;
    for (who, path, status) in [
        (&other, format!("/api/drivers/{id}/stats"), 404),
        (&owner, format!("/api/drivers/{id}/history"), 404),
        (
            &driver,
            format!("/api/drivers/{id}/stats?period=decade"),
            400,
        ),
        (
            &staff,
            format!("/api/drivers/{}/stats", uuid::Uuid::new_v4()),
            404,
        ),
    ] {
        let response = app.call("GET", &path, Some(&who.token), None).await;
        assert_eq!(response.status(), status, "{path}");
    }
}

/// The token of the tracking link a customer message carries, after `before`.
fn link_token<'a>(message: &'a str, before: &str) -> &'a str {
    let start = message
        .find(before)
        .unwrap_or_else(|| panic!("no link in {message:?}"))
        + before.len();
    message[start..].split_whitespace().next().expect("a token")
}

#[tokio::test]
async fn the_customer_is_emailed_and_texted_from_assignment_to_delivery_with_a_working_link() {
    let app = TestApp::spawn().await;
    let owner = app.user(Role::Client).await;
    let phone = app.give_phone(&owner, "23").await;
    let (order_id, number) = app.order_of(&owner).await;
    let staff = app.user(Role::Admin).await;
    let driver = app.user(Role::Driver).await;
    let id = app.driver_id(&driver).await;
    assert_eq!(
        assign(&app, &staff, json!({ "orderId": order_id, "driverId": id }))
            .await
            .status(),
        200
    );
    let photo = app.active_upload(&driver, "POD", "order", &order_id).await;
    for status in ["EN_ROUTE_TO_VENDOR", "PICKED_UP", "ARRIVED_TO_CLIENT"] {
        let moved = app
            .call(
                "PATCH",
                &format!("/api/orders/{number}"),
                Some(&driver.token),
                Some(json!({ "driverStatus": status })),
            )
            .await;
        assert_eq!(moved.status(), 200, "{status}");
    }
    let proof = app
        .call(
            "POST",
            &format!("/api/orders/{number}/pod"),
            Some(&driver.token),
            Some(json!({ "uploadId": photo.id })),
        )
        .await;
    assert_eq!(proof.status(), 200);
    let done = app
        .call(
            "PATCH",
            &format!("/api/orders/{number}"),
            Some(&driver.token),
            Some(json!({ "driverStatus": "COMPLETED" })),
        )
        .await;
    assert_eq!(done.status(), 200);
    for kind in ["CUSTOMER_EMAIL", "CUSTOMER_SMS"] {
        assert_eq!(
            app.count(&format!(
                "SELECT count(*) FROM outbox WHERE kind = '{kind}'"
            ))
            .await,
            4,
            "{kind}: assigned, picked up, arriving, delivered; nothing for the steps between"
        );
    }
    assert_eq!(
        app.count("SELECT count(*) FROM outbox WHERE payload::text LIKE '%track.readyset.test%'")
            .await,
        0,
        "no queued message holds a working link: the relay signs it as it sends"
    );
    app.relay_all().await;
    assert_eq!(
        app.count(
            "SELECT count(*) FROM outbox WHERE kind IN ('CUSTOMER_EMAIL', 'CUSTOMER_SMS') AND status = 'DELIVERED'"
        )
        .await,
        8
    );
    let emails = app.emails_to(&owner.email).await;
    let subjects: Vec<&str> = emails.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        subjects,
        [
            format!("Your Ready Set order {number} has a driver"),
            format!("Your Ready Set order {number} is on its way"),
            format!("Your Ready Set order {number} is arriving"),
            format!("Your Ready Set order {number} was delivered"),
        ]
    );
    assert!(emails[0].1.contains("Test will deliver"), "{}", emails[0].1);
    assert!(
        emails[3].1.contains("photo.jpg"),
        "the proof: {}",
        emails[3].1
    );
    assert!(
        !emails[3].1.contains("Follow your delivery"),
        "nothing to follow once delivered: {}",
        emails[3].1
    );
    // The emailed link opens the order's public tracking view.
    let token = link_token(
        &emails[1].1,
        "Follow your delivery: https://track.readyset.test/t/",
    );
    let tracked = app
        .call("GET", &format!("/api/track/{token}"), None, None)
        .await;
    assert_eq!(tracked.status(), 200);
    assert_eq!(json_body(tracked).await["orderNumber"], number);

    let texts = app.texts_to(&phone).await;
    assert_eq!(texts.len(), 4, "{texts:?}");
    assert!(
        texts[0].starts_with(&format!("Ready Set: Test will deliver your order {number}")),
        "{texts:?}"
    );
    assert!(texts[1].contains("is on its way"), "{texts:?}");
    assert!(
        texts.iter().all(|t| t.ends_with("Reply STOP to opt out.")),
        "{texts:?}"
    );
    let token = link_token(&texts[2], "Track it: https://track.readyset.test/t/");
    let tracked = app
        .call("GET", &format!("/api/track/{token}"), None, None)
        .await;
    assert_eq!(tracked.status(), 200);
    assert_eq!(
        texts[3],
        format!("Ready Set: your order {number} was delivered. Reply STOP to opt out.")
    );
}
