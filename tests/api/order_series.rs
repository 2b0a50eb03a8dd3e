//! Recurring catering orders through the API and the hourly job: each date placed once
//! at its local time across a daylight-saving change, exceptions skipped, edits reaching
//! only the orders to come that no driver has, a date that cannot be placed reported
//! while the series goes on, and who may do what.

use api_tests::{error_fields, json_body, TestApp, TestUser};
use serde_json::{json, Value};
use shared::{auth::Role, db::p};

/// A saved address of `owner`'s: its id.
async fn saved_address(app: &TestApp, owner: &TestUser, street: &str) -> String {
    let created = app
        .call(
            "POST",
            "/api/addresses",
            Some(&owner.token),
            Some(json!({ "name": "Office", "street1": street, "city": "San Jose", "state": "CA", "zip": "95113" })),
        )
        .await;
    assert_eq!(created.status(), 201, "saving an address");
    json_body(created).await["address"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

async fn series_body(
    app: &TestApp,
    owner: &TestUser,
    rule: &str,
    starts_on: &str,
    horizon: i64,
) -> Value {
    json!({
        "rule": rule,
        "startsOn": starts_on,
        "pickupTime": "11:15",
        "arrivalTime": "12:00",
        "horizonDays": horizon,
        "order": {
            "pickupAddressId": saved_address(app, owner, "100 S 1st St").await,
            "deliveryAddressId": saved_address(app, owner, "2 N Market St").await,
            "headcount": 25,
            "needHost": "NO",
            "orderTotal": 300,
            "tip": 10,
            "clientAttention": "Reception",
        },
    })
}

async fn create(app: &TestApp, who: &TestUser, body: Value) -> reqwest::Response {
    app.call("POST", "/api/order-series", Some(&who.token), Some(body))
        .await
}

async fn run(app: &TestApp) -> Value {
    app.run_job("order-series-run", json!({}))
        .await
        .expect("the job")
}

/// The series' placed orders: (date, local arrival, UTC arrival hour, headcount, status).
async fn placed(app: &TestApp, series_id: &str) -> Vec<(String, String, i32, i32, String)> {
    app.db()
        .await
        .query_typed(
            "SELECT oc.occurs_on::text AS day,
                    to_char(o.arrival_date_time AT TIME ZONE 'America/Los_Angeles', 'HH24:MI') AS local,
                    extract(hour FROM o.arrival_date_time AT TIME ZONE 'UTC')::int AS utc_hour,
                    o.headcount, o.status
               FROM order_series_occurrences oc JOIN orders o ON o.id = oc.order_id
              WHERE oc.series_id = $1::text::uuid ORDER BY oc.occurs_on",
            &[p(&series_id)],
        )
        .await
        .expect("orders")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect()
}

#[tokio::test]
async fn a_weekly_series_places_each_date_once_at_its_local_time_and_edits_reach_only_orders_to_come(
) {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let staff = app.user(Role::Admin).await;
    let driver = app.user(Role::Driver).await;
    // Mondays from 2027-03-01, across the change to daylight time on 2027-03-14, placed
    // 120 days ahead.
    let body = series_body(&app, &client, "FREQ=WEEKLY;BYDAY=MO", "2027-03-01", 120).await;
    let created = create(&app, &client, body).await;
    assert_eq!(created.status(), 201);
    let series = json_body(created).await["series"].clone();
    let id = series["id"].as_str().expect("id").to_owned();
    assert_eq!(series["rule"], "FREQ=WEEKLY;BYDAY=MO");
    assert_eq!(series["next"][0]["date"], "2027-03-01");
    assert!(series["next"][0]["status"].is_null(), "not placed yet");

    // An exception before the job: that Monday gets no order.
    let skipped = app
        .call(
            "POST",
            &format!("/api/order-series/{id}/dates/2027-03-22/skip"),
            Some(&client.token),
            None,
        )
        .await;
    assert_eq!(skipped.status(), 200);
    // A Tuesday is not a date of this series.
    let not_a_date = app
        .call(
            "POST",
            &format!("/api/order-series/{id}/dates/2027-03-23/skip"),
            Some(&client.token),
            None,
        )
        .await;
    assert_eq!(not_a_date.status(), 422);
    assert_eq!(
        json_body(not_a_date).await["error"]["code"],
        "not_a_series_date"
    );

    let first = run(&app).await;
    assert_eq!(first["created"], 5, "{first}");
    let orders = placed(&app, &id).await;
    let days: Vec<&str> = orders.iter().map(|o| o.0.as_str()).collect();
    assert_eq!(
        days,
        [
            "2027-03-01",
            "2027-03-08",
            "2027-03-15",
            "2027-03-29",
            "2027-04-05"
        ]
    );
    // 12:00 in San Jose each time: 20:00 UTC in standard time, 19:00 in daylight time.
    for (day, local, utc_hour, _, _) in &orders {
        assert_eq!(local, "12:00", "{day}");
        let expected = if day.as_str() < "2027-03-14" { 20 } else { 19 };
        assert_eq!(*utc_hour, expected, "{day}");
    }
    // Again: nothing twice.
    let second = run(&app).await;
    assert_eq!(second["created"], 0, "{second}");
    assert_eq!(placed(&app, &id).await.len(), 5);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM orders WHERE user_id = '{}' AND deleted_at IS NULL",
            client.id
        ))
        .await,
        5
    );

    // Skipping a placed date cancels its order; the series keeps the others.
    let skip = app
        .call(
            "POST",
            &format!("/api/order-series/{id}/dates/2027-04-05/skip"),
            Some(&client.token),
            None,
        )
        .await;
    assert_eq!(skip.status(), 200);
    let view = json_body(skip).await["series"].clone();
    let april = view["next"]
        .as_array()
        .expect("next")
        .iter()
        .find(|d| d["date"] == "2027-04-05")
        .expect("the date")
        .clone();
    assert_eq!(april["status"], "SKIPPED");
    assert_eq!(april["orderStatus"], "CANCELLED");

    // One order changed by hand leaves the series alone.
    let march_15 = view["next"]
        .as_array()
        .expect("next")
        .iter()
        .find(|d| d["date"] == "2027-03-15")
        .expect("15th")["orderNumber"]
        .clone();
    let own_edit = app
        .call(
            "PATCH",
            &format!("/api/orders/{}", march_15.as_str().expect("number")),
            Some(&client.token),
            Some(json!({ "specialNotes": "Vegan this week" })),
        )
        .await;
    assert!(own_edit.status().is_success(), "{}", own_edit.status());

    // The 8th gets a driver; the 1st becomes a past date.
    let db = app.db().await;
    let order_of = |day: &'static str| {
        let db = &db;
        let id = id.clone();
        async move {
            db.query_typed_one(
                "SELECT order_id::text FROM order_series_occurrences WHERE series_id = $1::text::uuid AND occurs_on = $2::text::date",
                &[p(&id), p(&day)],
            )
            .await
            .expect("occurrence")
            .get::<_, String>(0)
        }
    };
    let dispatched = order_of("2027-03-08").await;
    app.assign_driver(&staff, &dispatched, &driver).await;
    let past = order_of("2027-03-01").await;
    db.execute_typed(
        "UPDATE orders SET pickup_date_time = pickup_date_time - interval '100 days',
                arrival_date_time = arrival_date_time - interval '100 days' WHERE id = $1::text::uuid",
        &[p(&past)],
    )
    .await
    .expect("the past");
    db.execute_typed(
        "UPDATE order_series_occurrences SET occurs_on = occurs_on - 100 WHERE order_id = $1::text::uuid",
        &[p(&past)],
    )
    .await
    .expect("the past date");

    let edited = app
        .call(
            "PATCH",
            &format!("/api/order-series/{id}"),
            Some(&client.token),
            Some(json!({ "arrivalTime": "12:30", "order": { "headcount": 40 } })),
        )
        .await;
    assert_eq!(edited.status(), 200);
    assert_eq!(json_body(edited).await["series"]["arrivalTime"], "12:30");
    let after: Vec<(String, String, i32, String)> = placed(&app, &id)
        .await
        .into_iter()
        .map(|(day, local, _, headcount, status)| (day, local, headcount, status))
        .collect();
    assert_eq!(
        after,
        [
            ("2026-11-21".into(), "12:00".into(), 25, "ACTIVE".into()),
            ("2027-03-08".into(), "12:00".into(), 25, "ASSIGNED".into()),
            ("2027-03-15".into(), "12:30".into(), 40, "ACTIVE".into()),
            ("2027-03-29".into(), "12:30".into(), 40, "ACTIVE".into()),
            ("2027-04-05".into(), "12:00".into(), 25, "CANCELLED".into()),
        ],
        "past and dispatched orders stay; orders to come follow"
    );
    // The hand edit of the 15th stayed with it.
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM orders WHERE order_number = '{}' AND special_notes = 'Vegan this week'",
            march_15.as_str().expect("number")
        ))
        .await,
        1
    );

    // Pausing cancels the orders to come that no driver has; the job then places none.
    let pause = |paused: bool| {
        let id = id.clone();
        let app = &app;
        let client = &client;
        async move {
            app.call(
                "PATCH",
                &format!("/api/order-series/{id}"),
                Some(&client.token),
                Some(json!({ "paused": paused })),
            )
            .await
            .status()
        }
    };
    assert_eq!(pause(true).await, 200);
    assert_eq!(run(&app).await["series"], 0);
    let cancelled = app
        .count(&format!(
            "SELECT count(*) FROM orders WHERE user_id = '{}' AND status = 'CANCELLED'",
            client.id
        ))
        .await;
    assert_eq!(cancelled, 3, "the 15th, the 29th and the skipped 5th");
    let days: Vec<String> = placed(&app, &id).await.into_iter().map(|o| o.0).collect();
    assert_eq!(days, ["2026-11-21", "2027-03-08", "2027-04-05"]);
    // Resumed, the next run places those dates again as new orders, as the series now is.
    assert_eq!(pause(false).await, 200);
    // (The 1st too: this test moved its record into the past.)
    assert_eq!(run(&app).await["created"], 3);
    let again: Vec<(String, String, i32, String)> = placed(&app, &id)
        .await
        .into_iter()
        .map(|(day, local, _, headcount, status)| (day, local, headcount, status))
        .filter(|(day, ..)| day.as_str() == "2027-03-15" || day.as_str() == "2027-03-29")
        .collect();
    assert_eq!(
        again,
        [
            ("2027-03-15".into(), "12:30".into(), 40, "ACTIVE".into()),
            ("2027-03-29".into(), "12:30".into(), 40, "ACTIVE".into()),
        ]
    );
}

#[tokio::test]
async fn a_date_that_cannot_be_placed_is_reported_once_and_the_series_goes_on() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let staff = app.user(Role::Admin).await;
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .with_timezone(&chrono_tz::America::Los_Angeles)
        .date_naive()
        .to_string();
    let body = series_body(&app, &client, "FREQ=DAILY", &tomorrow, 1).await;
    let delivery_address = body["order"]["deliveryAddressId"]
        .as_str()
        .expect("id")
        .to_owned();
    let created = create(&app, &client, body).await;
    assert_eq!(created.status(), 201);
    let id = json_body(created).await["series"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(run(&app).await["created"], 1);

    // The client removes the delivery address from its book; the next dates fail.
    let removed = app
        .call(
            "DELETE",
            &format!("/api/addresses/{delivery_address}"),
            Some(&client.token),
            None,
        )
        .await;
    assert_eq!(removed.status(), 204);
    app.db()
        .await
        .execute_typed(
            "UPDATE order_series SET horizon_days = 3 WHERE id = $1::text::uuid",
            &[p(&id)],
        )
        .await
        .expect("a longer horizon");
    let failing = run(&app).await;
    assert_eq!(
        (failing["created"].as_i64(), failing["failed"].as_i64()),
        (Some(0), Some(2)),
        "{failing}"
    );
    assert_eq!(run(&app).await["failed"], 0, "each date is reported once");

    let view = json_body(
        app.call(
            "GET",
            &format!("/api/order-series/{id}"),
            Some(&client.token),
            None,
        )
        .await,
    )
    .await["series"]
        .clone();
    let statuses: Vec<&str> = view["next"]
        .as_array()
        .expect("next")
        .iter()
        .take(3)
        .map(|d| d["status"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(statuses, ["CREATED", "FAILED", "FAILED"]);
    assert!(
        view["next"][1]["error"]
            .as_str()
            .expect("why")
            .contains("address"),
        "{view}"
    );

    // The client hears by email (an email no order carries, relayed like any) ...
    app.relay_all().await;
    let emails = app.emails_to(&client.email).await;
    let failures = emails
        .iter()
        .filter(|(subject, _)| subject.starts_with("Your recurring order for"))
        .count();
    assert_eq!(failures, 2, "{emails:?}");
    // ... and staff by an alert per date.
    let alerts = json_body(
        app.call("GET", "/api/health/alerts", Some(&staff.token), None)
            .await,
    )
    .await;
    let raised = alerts["active"]
        .as_array()
        .expect("active")
        .iter()
        .filter(|a| a["rule"] == "order_series_failed")
        .count();
    assert_eq!(raised, 2, "{alerts}");
}

#[tokio::test]
async fn who_may_keep_a_series_and_bad_series_are_named() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let other = app.user(Role::Client).await;
    let staff = app.user(Role::Admin).await;
    let driver = app.user(Role::Driver).await;
    let good = series_body(
        &app,
        &client,
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE",
        "2027-01-04",
        14,
    )
    .await;

    // 401 and 403 before the body is read.
    assert_eq!(
        app.call("POST", "/api/order-series", None, Some(json!({})))
            .await
            .status(),
        401
    );
    assert_eq!(
        create(&app, &driver, json!({ "garbage": true }))
            .await
            .status(),
        403
    );
    assert_eq!(
        app.call("GET", "/api/order-series", Some(&driver.token), None)
            .await
            .status(),
        403
    );

    let with = |path: &str, value: Value| {
        let mut body = good.clone();
        let mut at = &mut body;
        let parts: Vec<&str> = path.split('.').collect();
        for part in &parts[..parts.len() - 1] {
            at = &mut at[*part];
        }
        at[parts[parts.len() - 1]] = value;
        body
    };
    for (body, field) in [
        (with("rule", json!("FREQ=MONTHLY;BYMONTHDAY=1")), "rule"),
        (with("rule", json!("FREQ=WEEKLY;COUNT=4")), "rule"),
        (with("arrivalTime", json!("11:00")), "arrivalTime"),
        (with("pickupTime", json!("noon")), "pickupTime"),
        (with("horizonDays", json!(500)), "horizonDays"),
        (with("endsOn", json!("2026-01-01")), "endsOn"),
        (
            with("order.pickupDateTime", json!("2027-01-04T19:00:00Z")),
            "order.pickupDateTime",
        ),
        (
            with("order.pickupAddress", json!({ "street1": "1 Main St" })),
            "order.pickupAddress",
        ),
        (with("order.headcount", json!(0)), "headcount"),
    ] {
        let refused = create(&app, &client, body).await;
        assert_eq!(refused.status(), 400, "{field}");
        assert!(
            error_fields(&json_body(refused).await).contains(&field.to_owned()),
            "{field}"
        );
    }
    // Another client's address is not this client's to use.
    let foreign = with(
        "order.deliveryAddressId",
        json!(saved_address(&app, &other, "5 Elm St").await),
    );
    let refused = create(&app, &client, foreign).await;
    assert_eq!(refused.status(), 400);
    assert_eq!(
        error_fields(&json_body(refused).await),
        ["order.deliveryAddressId"]
    );
    // Staff name whose series it is.
    let unnamed = create(&app, &staff, good.clone()).await;
    assert_eq!(unnamed.status(), 400);
    assert_eq!(error_fields(&json_body(unnamed).await), ["userId"]);
    assert_eq!(
        app.count("SELECT count(*) FROM order_series").await,
        0,
        "nothing stored"
    );

    let created = create(&app, &client, good.clone()).await;
    assert_eq!(created.status(), 201);
    let id = json_body(created).await["series"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let by_staff = create(&app, &staff, with("userId", json!(client.id))).await;
    assert_eq!(by_staff.status(), 201);
    assert_eq!(
        json_body(by_staff).await["series"]["userId"],
        client.id.to_string()
    );

    // A client sees its own; another client does not; staff see every one.
    for (who, status) in [(&client, 200), (&other, 404), (&staff, 200)] {
        let got = app
            .call(
                "GET",
                &format!("/api/order-series/{id}"),
                Some(&who.token),
                None,
            )
            .await;
        assert_eq!(got.status(), status, "{:?}", who.role);
    }
    let skip_foreign = app
        .call(
            "POST",
            &format!("/api/order-series/{id}/dates/2027-01-04/skip"),
            Some(&other.token),
            None,
        )
        .await;
    assert_eq!(skip_foreign.status(), 404);
    let bad_date = app
        .call(
            "POST",
            &format!("/api/order-series/{id}/dates/2027-13-01/skip"),
            Some(&client.token),
            None,
        )
        .await;
    assert_eq!(bad_date.status(), 400);
    let listed = json_body(
        app.call(
            "GET",
            "/api/order-series?limit=1",
            Some(&client.token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));
    assert!(listed["nextCursor"].is_string(), "two series, one a page");
    let theirs = json_body(
        app.call("GET", "/api/order-series", Some(&other.token), None)
            .await,
    )
    .await;
    assert_eq!(theirs["items"], json!([]));
    let edit_addresses = app
        .call(
            "PATCH",
            &format!("/api/order-series/{id}"),
            Some(&client.token),
            Some(json!({ "order": { "deliveryAddressId": uuid::Uuid::new_v4() } })),
        )
        .await;
    assert_eq!(edit_addresses.status(), 400);
    assert_eq!(
        error_fields(&json_body(edit_addresses).await),
        ["order.deliveryAddressId"]
    );
}
