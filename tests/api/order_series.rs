//! Recurring catering orders through the API and the hourly job: each date placed once
//! at its local time across a daylight-saving change, exceptions skipped, edits reaching
//! only the orders to come that no driver has, a date that cannot be placed reported
//! while the series goes on, and who may do what.

use api_tests::{error_fields, json_body, TestApp, TestUser};
use chrono::{Duration, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::America::Los_Angeles;
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

/// The first Sunday the clocks change in San Jose at least three weeks from today (so
/// the two Mondays before it are still to come): within a year.
fn next_clock_change() -> NaiveDate {
    let noon_offset = |day: NaiveDate| {
        Los_Angeles
            .from_local_datetime(&day.and_hms_opt(12, 0, 0).expect("noon"))
            .single()
            .expect("noon is never skipped")
            .offset()
            .fix()
    };
    let today = Utc::now().with_timezone(&Los_Angeles).date_naive();
    (21..=340)
        .map(|k| today + Duration::days(k))
        .find(|day| noon_offset(*day) != noon_offset(*day - Duration::days(1)))
        .expect("a clock change within a year")
}

#[tokio::test]
async fn a_weekly_series_places_each_date_once_at_its_local_time_and_edits_reach_only_orders_to_come(
) {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let staff = app.user(Role::Admin).await;
    let driver = app.user(Role::Driver).await;
    // Six Mondays around the next change of the clocks (a Sunday): two before, four after.
    let change = next_clock_change();
    let monday = |k: i64| (change - Duration::days(13) + Duration::days(7 * k)).to_string();
    let today = Utc::now().with_timezone(&Los_Angeles).date_naive();
    let horizon = (change + Duration::days(23) - today).num_days();
    let mut body = series_body(&app, &client, "FREQ=WEEKLY;BYDAY=MO", &monday(0), horizon).await;
    body["endsOn"] = json!(monday(5));
    let created = create(&app, &client, body).await;
    assert_eq!(created.status(), 201);
    let series = json_body(created).await["series"].clone();
    let id = series["id"].as_str().expect("id").to_owned();
    assert_eq!(series["rule"], "FREQ=WEEKLY;BYDAY=MO");
    assert_eq!(series["next"][0]["date"], monday(0));
    assert!(series["next"][0]["status"].is_null(), "not placed yet");

    // An exception before the job: that Monday gets no order.
    let skip = |date: String| {
        let (app, id, token) = (&app, id.clone(), client.token.clone());
        async move {
            app.call(
                "POST",
                &format!("/api/order-series/{id}/dates/{date}/skip"),
                Some(&token),
                None,
            )
            .await
        }
    };
    assert_eq!(skip(monday(3)).await.status(), 200);
    // A Tuesday is not a date of this series.
    let tuesday = (change - Duration::days(12)).to_string();
    let not_a_date = skip(tuesday).await;
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
        [monday(0), monday(1), monday(2), monday(4), monday(5)]
    );
    // 12:00 in San Jose each time: the UTC hour moves by one across the change.
    let before_hour = orders[0].2;
    for (day, local, utc_hour, _, _) in &orders {
        assert_eq!(local, "12:00", "{day}");
        let moved = if day.as_str() < change.to_string().as_str() {
            0
        } else {
            1
        };
        assert_eq!((before_hour - utc_hour).abs(), moved, "{day}");
    }
    assert!([19, 20].contains(&before_hour), "{before_hour}");
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
    let skipped = skip(monday(5)).await;
    assert_eq!(skipped.status(), 200);
    let view = json_body(skipped).await["series"].clone();
    let date_of = |view: &Value, day: String| {
        view["next"]
            .as_array()
            .expect("next")
            .iter()
            .find(|d| d["date"] == day.as_str())
            .expect("the date")
            .clone()
    };
    let last = date_of(&view, monday(5));
    assert_eq!(last["status"], "SKIPPED");
    assert_eq!(last["orderStatus"], "CANCELLED");

    // One order changed by hand leaves the series alone, and keeps its change through
    // series edits that do not touch what it changed.
    let third = date_of(&view, monday(2))["orderNumber"]
        .as_str()
        .expect("number")
        .to_owned();
    let own_edit = app
        .call(
            "PATCH",
            &format!("/api/orders/{third}"),
            Some(&client.token),
            Some(json!({ "specialNotes": "Vegan this week" })),
        )
        .await;
    assert!(own_edit.status().is_success(), "{}", own_edit.status());
    let fifth = date_of(&view, monday(4))["orderNumber"]
        .as_str()
        .expect("number")
        .to_owned();
    let moved_by_hand = app
        .call(
            "PATCH",
            &format!("/api/orders/{fifth}"),
            Some(&client.token),
            Some(json!({ "arrivalDateTime": due_at(&monday(4), "13:00") })),
        )
        .await;
    assert!(
        moved_by_hand.status().is_success(),
        "{}",
        moved_by_hand.status()
    );
    let headcount_only = app
        .call(
            "PATCH",
            &format!("/api/order-series/{id}"),
            Some(&client.token),
            Some(json!({ "order": { "headcount": 30 } })),
        )
        .await;
    assert_eq!(headcount_only.status(), 200);
    let fifth_now = placed(&app, &id)
        .await
        .into_iter()
        .find(|o| o.0 == monday(4))
        .expect("fifth");
    assert_eq!(
        (fifth_now.1.as_str(), fifth_now.3),
        ("13:00", 30),
        "its own time, the new headcount"
    );

    // The second Monday gets a driver; the first becomes a past date.
    let db = app.db().await;
    let order_of = |day: String| {
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
    let dispatched = order_of(monday(1)).await;
    app.assign_driver(&staff, &dispatched, &driver).await;
    let past = order_of(monday(0)).await;
    db.execute_typed(
        "UPDATE orders SET pickup_date_time = pickup_date_time - interval '400 days',
                arrival_date_time = arrival_date_time - interval '400 days' WHERE id = $1::text::uuid",
        &[p(&past)],
    )
    .await
    .expect("the past");
    db.execute_typed(
        "UPDATE order_series_occurrences SET occurs_on = occurs_on - 400 WHERE order_id = $1::text::uuid",
        &[p(&past)],
    )
    .await
    .expect("the past date");
    let past_day = (change - Duration::days(13 + 400)).to_string();

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
            (past_day, "12:00".into(), 30, "ACTIVE".into()),
            (monday(1), "12:00".into(), 30, "ASSIGNED".into()),
            (monday(2), "12:30".into(), 40, "ACTIVE".into()),
            (monday(4), "13:00".into(), 40, "ACTIVE".into()),
            (monday(5), "12:00".into(), 25, "CANCELLED".into()),
        ],
        "past and dispatched orders stay; orders to come follow, but a time set by hand stays"
    );
    // The hand edit of the third stayed with it.
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM orders WHERE order_number = '{third}' AND special_notes = 'Vegan this week'"
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
    assert_eq!(cancelled, 3, "the third, the fifth and the skipped sixth");
    let days: Vec<String> = placed(&app, &id).await.into_iter().map(|o| o.0).collect();
    assert_eq!(
        days,
        [
            (change - Duration::days(413)).to_string(),
            monday(1),
            monday(5)
        ]
    );
    // Resumed, the next run places those dates again as new orders, as the series now is
    // (the first Monday too: this test moved its record into the past).
    assert_eq!(pause(false).await, 200);
    assert_eq!(run(&app).await["created"], 3);
    let again: Vec<(String, String, i32, String)> = placed(&app, &id)
        .await
        .into_iter()
        .map(|(day, local, _, headcount, status)| (day, local, headcount, status))
        .filter(|(day, ..)| *day == monday(2) || *day == monday(4))
        .collect();
    assert_eq!(
        again,
        [
            (monday(2), "12:30".into(), 40, "ACTIVE".into()),
            (monday(4), "12:30".into(), 40, "ACTIVE".into()),
        ]
    );

    // Ending the series on its first Monday: the orders after it that no driver has are
    // cancelled and their dates forgotten; the dispatched one stays.
    let ended = app
        .call(
            "PATCH",
            &format!("/api/order-series/{id}"),
            Some(&client.token),
            Some(json!({ "endsOn": monday(0) })),
        )
        .await;
    assert_eq!(ended.status(), 200);
    let days: Vec<(String, String)> = placed(&app, &id)
        .await
        .into_iter()
        .map(|o| (o.0, o.4))
        .collect();
    assert_eq!(
        days,
        [
            ((change - Duration::days(413)).to_string(), "ACTIVE".into()),
            (monday(0), "ACTIVE".into()),
            (monday(1), "ASSIGNED".into()),
            (monday(5), "CANCELLED".into()),
        ]
    );
    let cancelled = app
        .count(&format!(
            "SELECT count(*) FROM orders WHERE user_id = '{}' AND status = 'CANCELLED'",
            client.id
        ))
        .await;
    assert_eq!(cancelled, 5, "the two placed again, cancelled again");
    assert_eq!(run(&app).await["created"], 0);
}

/// `day` at `time` in San Jose, as an instant.
fn due_at(day: &str, time: &str) -> String {
    let local = chrono::NaiveDateTime::parse_from_str(&format!("{day} {time}"), "%Y-%m-%d %H:%M")
        .expect("time");
    api_tests::san_jose(local).to_rfc3339()
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
    // The horizon counts today: two days are today and tomorrow.
    let body = series_body(&app, &client, "FREQ=DAILY", &tomorrow, 2).await;
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
            "UPDATE order_series SET horizon_days = 4 WHERE id = $1::text::uuid",
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

    // An account purge leaves the email that no order carries without the address (its
    // open order skipped first: an account with open orders is not deleted).
    let skipped = app
        .call(
            "POST",
            &format!("/api/order-series/{id}/dates/{tomorrow}/skip"),
            Some(&client.token),
            None,
        )
        .await;
    assert_eq!(skipped.status(), 200);
    let super_admin = app.user(Role::SuperAdmin).await;
    let deleted = app
        .call(
            "DELETE",
            &format!("/api/users/{}?reason=closed", client.id),
            Some(&staff.token),
            None,
        )
        .await;
    assert_eq!(deleted.status(), 204);
    let purged = app
        .call(
            "DELETE",
            &format!("/api/users/{}/purge", client.id),
            Some(&super_admin.token),
            Some(json!({ "confirmed": true, "reason": "the account holder asked for erasure" })),
        )
        .await;
    assert_eq!(purged.status(), 200);
    let left: Vec<String> = app
        .rows_holding(&client.email)
        .await
        .into_iter()
        .filter(|place| !place.starts_with("users.email"))
        .collect();
    assert!(left.is_empty(), "the client's email is still in {left:?}");
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

    // A retried create with its Idempotency-Key answers the first series again.
    let send = || {
        app.http
            .post(app.url("/api/order-series"))
            .bearer_auth(&client.token)
            .header("idempotency-key", "series-attempt-1")
            .json(&good)
            .send()
    };
    let created = send().await.expect("request");
    assert_eq!(created.status(), 201);
    let id = json_body(created).await["series"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let retried = send().await.expect("request");
    assert_eq!(retried.status(), 201);
    assert_eq!(retried.headers()["x-idempotent-replay"], "true");
    assert_eq!(json_body(retried).await["series"]["id"], id.as_str());
    assert_eq!(app.count("SELECT count(*) FROM order_series").await, 1);
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
