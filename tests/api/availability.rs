//! Drivers' planned availability through the API: who may write and read whose windows,
//! what a window must be (span, order, places on the map, a vehicle), overlaps refused
//! even when two writers race, ended windows kept as they were, and staff changes audited.

use api_tests::{error_fields, json_body, TestApp, TestUser};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use shared::auth::Role;

const DOWNTOWN: &str = "95113";

fn place(zip: &str) -> Value {
    json!({ "address": { "street1": "100 S 1st St", "city": "San Jose", "state": "CA", "zip": zip } })
}

/// Tomorrow at `hour` UTC plus `minutes`.
fn tomorrow_at(hour: i64, minutes: i64) -> DateTime<Utc> {
    let midnight = (Utc::now() + Duration::days(1))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    midnight + Duration::hours(hour) + Duration::minutes(minutes)
}

fn window(starts: DateTime<Utc>, hours: i64) -> Value {
    json!({
        "startsAt": starts,
        "endsAt": starts + Duration::hours(hours),
        "startPlace": place(DOWNTOWN),
        "vehicleType": "VAN",
    })
}

async fn add(app: &TestApp, user: &TestUser, body: Value) -> reqwest::Response {
    app.call(
        "POST",
        "/api/drivers/availability",
        Some(&user.token),
        Some(body),
    )
    .await
}

async fn list(app: &TestApp, user: &TestUser, query: &str) -> reqwest::Response {
    app.call(
        "GET",
        &format!("/api/drivers/availability?{query}"),
        Some(&user.token),
        None,
    )
    .await
}

/// The Pacific business day a UTC time falls on, as the list is asked by.
fn pacific_day(at: DateTime<Utc>) -> String {
    at.with_timezone(&chrono_tz::America::Los_Angeles)
        .date_naive()
        .to_string()
}

#[tokio::test]
async fn a_driver_plans_its_own_days_and_reads_only_its_own() {
    let app = TestApp::spawn().await;
    let driver = app.user(Role::Driver).await;
    let other = app.user(Role::Driver).await;
    let driver_id = app.driver_id(&driver).await;
    // 18:00 UTC is 10:00 or 11:00 in San Jose: the same business day.
    let starts = tomorrow_at(18, 0);

    let response = add(&app, &driver, window(starts, 8)).await;
    assert_eq!(response.status(), 201);
    let created = json_body(response).await["window"].clone();
    assert_eq!(created["driverId"], driver_id.as_str());
    assert_eq!(created["date"], pacific_day(starts).as_str());
    assert_eq!(created["vehicleType"], "VAN");
    assert!(created["startPlace"]["lat"].is_number(), "{created}");
    assert_eq!(
        created["endPlace"], created["startPlace"],
        "the day ends where it starts unless told"
    );

    let day = pacific_day(starts);
    let own = json_body(list(&app, &driver, &format!("date={day}")).await).await;
    assert_eq!(own["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(own["items"][0]["id"], created["id"]);

    // Another driver sees none of it: its own list is empty, the first's id is a 404.
    let theirs = json_body(list(&app, &other, &format!("date={day}")).await).await;
    assert_eq!(theirs["items"], json!([]));
    let peek = list(&app, &other, &format!("date={day}&driverId={driver_id}")).await;
    assert_eq!(peek.status(), 404);

    // A driver writes only its own windows: naming another is a 403, changing or
    // removing another's a 404.
    let other_id = app.driver_id(&other).await;
    let mut for_other = window(tomorrow_at(4, 0), 2);
    for_other["driverId"] = json!(other_id);
    assert_eq!(add(&app, &driver, for_other).await.status(), 403);
    let path = format!(
        "/api/drivers/availability/{}",
        created["id"].as_str().expect("id")
    );
    let put = app
        .call("PUT", &path, Some(&other.token), Some(window(starts, 6)))
        .await;
    assert_eq!(put.status(), 404);
    assert_eq!(
        app.call("DELETE", &path, Some(&other.token), None)
            .await
            .status(),
        404
    );

    // Its own: changed (a different end place), then removed.
    let mut shorter = window(starts, 6);
    shorter["endPlace"] = place("95110");
    let put = app
        .call("PUT", &path, Some(&driver.token), Some(shorter))
        .await;
    assert_eq!(put.status(), 200);
    let changed = json_body(put).await["window"].clone();
    assert_eq!(
        changed["endsAt"]
            .as_str()
            .map(|t| t.parse::<DateTime<Utc>>().ok()),
        Some(Some(starts + Duration::hours(6)))
    );
    assert_ne!(
        changed["endPlace"]["addressId"],
        changed["startPlace"]["addressId"]
    );
    assert_eq!(
        app.call("DELETE", &path, Some(&driver.token), None)
            .await
            .status(),
        204
    );
    assert_eq!(
        app.call("DELETE", &path, Some(&driver.token), None)
            .await
            .status(),
        404
    );
    // Drivers change their own plans without staff audit rows.
    assert_eq!(
        app.count("SELECT count(*) FROM staff_audits WHERE entity_type = 'DRIVER_AVAILABILITY'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_window_must_be_a_plannable_span_with_places_and_a_vehicle() {
    let app = TestApp::spawn().await;
    let driver = app.user(Role::Driver).await;
    let starts = tomorrow_at(16, 0);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "an end before the start",
            json!({ "endsAt": starts - Duration::hours(1) }),
            "endsAt",
        ),
        ("an empty span", json!({ "endsAt": starts }), "endsAt"),
        (
            "over 16 hours",
            json!({ "endsAt": starts + Duration::hours(16) + Duration::minutes(1) }),
            "endsAt",
        ),
        (
            "already over",
            json!({ "startsAt": Utc::now() - Duration::hours(5), "endsAt": Utc::now() - Duration::hours(1) }),
            "endsAt",
        ),
        (
            "no vehicle on the window or the driver record",
            json!({ "vehicleType": null }),
            "vehicleType",
        ),
        (
            "an unknown vehicle",
            json!({ "vehicleType": "BIKE" }),
            "vehicleType",
        ),
        (
            "both an address id and an address",
            json!({ "startPlace": { "addressId": uuid::Uuid::new_v4(), "address": place(DOWNTOWN)["address"] } }),
            "startPlace",
        ),
        ("neither", json!({ "startPlace": {} }), "startPlace"),
        (
            "an address nobody can place",
            json!({ "endPlace": { "address": { "street1": "1 Nowhere Rd", "city": "Atlantis", "state": "ZZ" } } }),
            "endPlace",
        ),
        (
            "someone else's address",
            json!({ "startPlace": { "addressId": uuid::Uuid::new_v4() } }),
            "startPlace.addressId",
        ),
        (
            "a bad ZIP",
            json!({ "startPlace": place("9511") }),
            "startPlace.address.zip",
        ),
        ("an unknown field", json!({ "shift": "morning" }), "shift"),
    ];
    for (what, change, field) in cases {
        let mut body = window(starts, 8);
        for (key, value) in change.as_object().expect("object") {
            body[key] = value.clone();
        }
        let response = add(&app, &driver, body).await;
        assert_eq!(response.status(), 400, "{what}");
        let body = json_body(response).await;
        assert_eq!(body["error"]["code"], "validation_failed", "{what}: {body}");
        let fields = error_fields(&body);
        assert!(
            fields.iter().any(|f| f == field)
                || body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(field)),
            "{what}: expected {field} in {body}"
        );
    }
    assert_eq!(
        app.count("SELECT count(*) FROM driver_availability").await,
        0
    );

    // The list needs a day, written as a date.
    for query in ["", "date=tomorrow", "date=2030-02-30"] {
        let response = list(&app, &driver, query).await;
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(
            error_fields(&json_body(response).await),
            ["date"],
            "{query}"
        );
    }
}

#[tokio::test]
async fn overlapping_windows_are_refused_even_when_two_writers_race() {
    let app = TestApp::spawn().await;
    let driver = app.user(Role::Driver).await;
    let starts = tomorrow_at(15, 0);
    assert_eq!(add(&app, &driver, window(starts, 4)).await.status(), 201);

    let response = add(&app, &driver, window(starts + Duration::hours(3), 4)).await;
    assert_eq!(response.status(), 409);
    assert_eq!(
        json_body(response).await["error"]["code"],
        "availability_overlap"
    );
    // Back to back is not an overlap: the first ends as the second starts.
    assert_eq!(
        add(&app, &driver, window(starts + Duration::hours(4), 2))
            .await
            .status(),
        201
    );

    // Two writers at once for the same free hours: exactly one wins.
    let later = starts + Duration::hours(8);
    let (a, b) = tokio::join!(
        add(&app, &driver, window(later, 3)),
        add(&app, &driver, window(later + Duration::hours(1), 3)),
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409]);
    assert_eq!(
        app.count("SELECT count(*) FROM driver_availability").await,
        3
    );
}

#[tokio::test]
async fn staff_plan_any_driver_audited_and_ended_windows_stay_as_they_were() {
    let app = TestApp::spawn().await;
    let dispatcher = app.user(Role::Helpdesk).await;
    let driver = app.user(Role::Driver).await;
    let driver_id = app.driver_id(&driver).await;
    let starts = tomorrow_at(17, 0);

    // Staff must say whose window it is, and the driver must exist.
    let response = add(&app, &dispatcher, window(starts, 8)).await;
    assert_eq!(response.status(), 400);
    assert_eq!(error_fields(&json_body(response).await), ["driverId"]);
    let mut nobody = window(starts, 8);
    nobody["driverId"] = json!(uuid::Uuid::new_v4());
    assert_eq!(add(&app, &dispatcher, nobody).await.status(), 404);

    let mut body = window(starts, 8);
    body["driverId"] = json!(driver_id);
    let response = add(&app, &dispatcher, body).await;
    assert_eq!(response.status(), 201);
    let created = json_body(response).await["window"].clone();
    let id = created["id"].as_str().expect("id").to_owned();

    // Staff see every driver's windows of the day, and one driver's on request.
    let day = pacific_day(starts);
    let all = json_body(list(&app, &dispatcher, &format!("date={day}")).await).await;
    assert_eq!(all["items"][0]["id"], id.as_str());
    let one = json_body(
        list(
            &app,
            &dispatcher,
            &format!("date={day}&driverId={driver_id}"),
        )
        .await,
    )
    .await;
    assert_eq!(one["items"].as_array().map(Vec::len), Some(1));
    let elsewhere = json_body(
        list(
            &app,
            &dispatcher,
            &format!("date={}", pacific_day(starts + Duration::days(3))),
        )
        .await,
    )
    .await;
    assert_eq!(elsewhere["items"], json!([]));

    // A window stays with its driver.
    let other = app.user(Role::Driver).await;
    let mut moved = window(starts, 8);
    moved["driverId"] = json!(app.driver_id(&other).await);
    let path = format!("/api/drivers/availability/{id}");
    let response = app
        .call("PUT", &path, Some(&dispatcher.token), Some(moved))
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(error_fields(&json_body(response).await), ["driverId"]);

    // The same places by id (a new inline address would be a new place), another vehicle.
    let mut truck = window(starts, 8);
    truck["startPlace"] = json!({ "addressId": created["startPlace"]["addressId"] });
    truck["vehicleType"] = json!("TRUCK");
    let response = app
        .call("PUT", &path, Some(&dispatcher.token), Some(truck))
        .await;
    assert_eq!(response.status(), 200);

    let audits = app
        .db()
        .await
        .query_typed(
            "SELECT action, performed_by::text AS by, changes FROM staff_audits
              WHERE entity_type = 'DRIVER_AVAILABILITY' AND entity_id = $1::text::uuid
              ORDER BY created_at, id",
            &[shared::db::p(&id)],
        )
        .await
        .expect("audits");
    let actions: Vec<String> = audits.iter().map(|r| r.get("action")).collect();
    assert_eq!(actions, ["CREATE", "UPDATE"]);
    let by: String = audits[1].get("by");
    assert_eq!(by, dispatcher.id.to_string());
    let changes: Value = audits[1].get("changes");
    assert_eq!(
        changes,
        json!({ "vehicleType": { "from": "VAN", "to": "TRUCK" } })
    );

    // Once a window has ended it is history: neither changed nor removed.
    app.db()
        .await
        .execute_typed(
            "UPDATE driver_availability
                SET starts_at = now() - interval '9 hours', ends_at = now() - interval '1 hour'
              WHERE id = $1::text::uuid",
            &[shared::db::p(&id)],
        )
        .await
        .expect("age the window");
    for (method, body) in [("PUT", Some(window(starts, 8))), ("DELETE", None)] {
        let response = app.call(method, &path, Some(&dispatcher.token), body).await;
        assert_eq!(response.status(), 409, "{method}");
        assert_eq!(
            json_body(response).await["error"]["code"],
            "availability_ended"
        );
    }
    assert_eq!(
        app.count("SELECT count(*) FROM driver_availability").await,
        1
    );
}
