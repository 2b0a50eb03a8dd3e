//! On-time analytics through the API (`GET /api/analytics/deliveries`): a month of
//! deliveries made through the API and then set to known times, whose figures per day,
//! driver, client, vendor and partner must match what this test computes on its own from
//! the times it set; who may see what; bad requests; the CSV.

use std::collections::BTreeMap;

use api_tests::{error_fields, json_body, PartnerSpec, TestApp, TestUser};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{json, Value};
use shared::{auth::Role, db::p};

/// One delivery of the seeded month, as this test set it.
#[derive(Debug, Clone)]
struct Seeded {
    /// The order's due day and time (Pacific).
    day: NaiveDate,
    driver: usize,
    orderer: usize,
    partner: bool,
    /// Minutes the drop-off arrival was after the order's arrival time (negative: early).
    late_by: f64,
    /// Minutes at the pickup; none when the driver never reported arriving there.
    pickup_minutes: Option<f64>,
    /// Minutes at the drop-off; none when the driver completed without reporting arrival.
    dropoff_minutes: Option<f64>,
    failed: bool,
}

const LATE_BY: [f64; 9] = [-20.0, 0.0, 3.0, 12.5, 45.0, 95.0, 130.0, -1.0, 7.25];
const PICKUP: [f64; 5] = [5.0, 12.0, 40.0, 0.5, 9.0];
const DROPOFF: [f64; 4] = [3.0, 8.0, 35.0, 14.5];

fn seeds() -> Vec<Seeded> {
    (0..18)
        .map(|i| Seeded {
            // Nine days, two deliveries each; the last one due just after the month.
            day: if i == 17 {
                NaiveDate::from_ymd_opt(2026, 12, 1).expect("day")
            } else {
                NaiveDate::from_ymd_opt(2026, 11, 1 + (i % 9) * 3).expect("day")
            },
            driver: (i % 2) as usize,
            orderer: (i % 3) as usize,
            partner: i % 4 == 0,
            late_by: LATE_BY[i as usize % LATE_BY.len()],
            pickup_minutes: (i % 5 != 4).then(|| PICKUP[i as usize % PICKUP.len()]),
            dropoff_minutes: (i % 7 != 3).then(|| DROPOFF[i as usize % DROPOFF.len()]),
            failed: i == 5 || i == 11,
        })
        .collect()
}

fn due(seed: &Seeded, i: usize) -> DateTime<Utc> {
    let local = seed
        .day
        .and_hms_opt(11 + (i % 3) as u32, 30, 0)
        .expect("time");
    api_tests::san_jose(local)
}

fn minutes(m: f64) -> Duration {
    Duration::microseconds((m * 60_000_000.0).round() as i64)
}

/// What the report should say for `seeds`, computed here without SQL.
#[derive(Debug, Default)]
struct Expected {
    deliveries: i64,
    on_time: i64,
    late: i64,
    delays: Vec<f64>,
    pickup: Vec<f64>,
    dropoff: Vec<f64>,
    failed: i64,
}

impl Expected {
    fn add(&mut self, seed: &Seeded) {
        if seed.failed {
            self.failed += 1;
            return;
        }
        self.deliveries += 1;
        if seed.late_by <= 0.0 {
            self.on_time += 1;
        } else {
            self.late += 1;
            self.delays.push(seed.late_by.min(90.0));
        }
        self.pickup.extend(seed.pickup_minutes.map(|m| m.min(30.0)));
        self.dropoff
            .extend(seed.dropoff_minutes.map(|m| m.min(30.0)));
    }

    fn check(&self, what: &str, got: &Value) {
        let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        // PostgreSQL's percentile_cont: between the closest ranks.
        let p90 = |v: &[f64]| {
            let mut v = v.to_vec();
            v.sort_by(f64::total_cmp);
            (!v.is_empty()).then(|| {
                let at = 0.9 * (v.len() - 1) as f64;
                let (low, high) = (at.floor() as usize, at.ceil() as usize);
                v[low] + (v[high] - v[low]) * (at - low as f64)
            })
        };
        let close =
            |field: &str, want: Option<f64>, tolerance: f64| match (want, got[field].as_f64()) {
                (None, None) => {}
                (Some(w), Some(g)) if (w - g).abs() <= tolerance => {}
                (w, _) => panic!("{what}: {field} should be {w:?}; the report says {got}"),
            };
        assert_eq!(got["deliveries"], self.deliveries, "{what}: {got}");
        assert_eq!(got["onTime"], self.on_time, "{what}: {got}");
        assert_eq!(got["late"], self.late, "{what}: {got}");
        assert_eq!(got["failedAttempts"], self.failed, "{what}: {got}");
        let rate = (self.deliveries > 0).then(|| self.on_time as f64 / self.deliveries as f64);
        close("onTimeRate", rate, 0.00006);
        close("delayMeanMinutes", mean(&self.delays), 0.006);
        close("delayP90Minutes", p90(&self.delays), 0.006);
        close("pickupServiceMeanMinutes", mean(&self.pickup), 0.006);
        close("dropoffServiceMeanMinutes", mean(&self.dropoff), 0.006);
    }
}

/// A seeded delivery's group under one grouping, if it belongs to one.
type KeyOf<'a> = Box<dyn Fn(&Seeded) -> Option<String> + 'a>;

struct Month {
    app: TestApp,
    staff: TestUser,
    drivers: Vec<TestUser>,
    orderers: Vec<TestUser>,
    partner: uuid::Uuid,
    seeds: Vec<Seeded>,
}

/// Places, dispatches and moves each seeded order through the API, then sets its times.
async fn seed_month() -> Month {
    let app = TestApp::spawn().await;
    let staff = app.user(Role::Admin).await;
    let drivers = vec![app.user(Role::Driver).await, app.user(Role::Driver).await];
    let orderers = vec![
        app.user(Role::Client).await,
        app.user(Role::Client).await,
        app.user(Role::Vendor).await,
    ];
    let partner_id = app
        .partner(PartnerSpec::new("catervalley", "CV-", "key-0123456789"))
        .await;
    let seeds = seeds();
    let db = app.db().await;
    for (i, seed) in seeds.iter().enumerate() {
        let (order_id, number) = app.order_of(&orderers[seed.orderer]).await;
        let driver = &drivers[seed.driver];
        app.assign_driver(&staff, &order_id, driver).await;
        let mut steps = vec!["EN_ROUTE_TO_VENDOR"];
        if seed.pickup_minutes.is_some() {
            steps.push("ARRIVED_AT_VENDOR");
        }
        steps.extend(["PICKED_UP", "EN_ROUTE_TO_CLIENT"]);
        if seed.dropoff_minutes.is_some() {
            steps.push("ARRIVED_TO_CLIENT");
        }
        for step in steps {
            let moved = app.report_status(driver, &number, step).await;
            assert_eq!(moved.status(), 200, "{number} to {step}");
        }
        if seed.failed {
            let failed = app.report_failed_attempt(driver, &order_id, &number).await;
            assert_eq!(failed.status(), 200, "failing {number}");
        } else {
            let done = app.report_status(driver, &number, "COMPLETED").await;
            assert_eq!(done.status(), 200, "completing {number}");
        }

        // The same delivery, moved to its day: the times the flow recorded, replaced by
        // the seeded ones (a stop the flow skipped stays without its time).
        let due = due(seed, i);
        let arrived = due + minutes(seed.late_by);
        let pickup_arrival = due - Duration::minutes(40);
        let picked_up = pickup_arrival + minutes(seed.pickup_minutes.unwrap_or(0.0));
        let ended = arrived + minutes(seed.dropoff_minutes.unwrap_or(0.0));
        let partner = seed.partner.then_some(partner_id);
        db.execute_typed(
            "UPDATE orders SET pickup_date_time = $2 - interval '45 minutes', arrival_date_time = $2,
                    partner_id = $3
              WHERE id = $1::text::uuid",
            &[p(&order_id), p(&due), p(&partner)],
        )
        .await
        .expect("moving the order");
        let moved = db
            .execute_typed(
                "UPDATE deliveries
                    SET pickup_arrival = CASE WHEN pickup_arrival IS NOT NULL THEN $2 END,
                        picked_up_at = $3,
                        actual_arrival = CASE WHEN actual_arrival IS NOT NULL THEN $4 END,
                        completed_at = $5,
                        failed_at = CASE WHEN failed_at IS NOT NULL THEN $5 END
                  WHERE order_id = $1::text::uuid AND completed_at IS NOT NULL
                    AND (pickup_arrival IS NOT NULL) = $6 AND (actual_arrival IS NOT NULL) = $7
                    AND picked_up_at IS NOT NULL",
                &[
                    p(&order_id),
                    p(&pickup_arrival),
                    p(&picked_up),
                    p(&arrived),
                    p(&ended),
                    p(&seed.pickup_minutes.is_some()),
                    p(&seed.dropoff_minutes.is_some()),
                ],
            )
            .await
            .expect("moving the delivery");
        assert_eq!(moved, 1, "the flow recorded {number}'s stops as reported");
    }

    // Shifts: 8 h on the 4th; 20:00 to 02:00 across the night of the 4th; 4.5 h on the
    // 10th; one across the month's start (half an hour inside, before the clocks go back
    // that night) and one before it.
    let shifts = [
        (0, "2026-11-04 08:00", "2026-11-04 16:00"),
        (1, "2026-11-04 20:00", "2026-11-05 02:00"),
        (0, "2026-11-10 09:00", "2026-11-10 13:30"),
        (1, "2026-10-31 22:00", "2026-11-01 00:30"),
        (0, "2026-10-31 10:00", "2026-10-31 12:00"),
    ];
    for (driver, start, end) in shifts {
        let driver_id = app.driver_id(&drivers[driver]).await;
        db.execute_typed(
            "INSERT INTO driver_shifts (driver_id, start_time, end_time, status)
             VALUES ($1::text::uuid, ($2::text::timestamp AT TIME ZONE 'America/Los_Angeles'),
                     ($3::text::timestamp AT TIME ZONE 'America/Los_Angeles'), 'completed')",
            &[p(&driver_id), p(&start), p(&end)],
        )
        .await
        .expect("a shift");
    }
    Month {
        app,
        staff,
        drivers,
        orderers,
        partner: partner_id,
        seeds,
    }
}

async fn report(app: &TestApp, who: &TestUser, query: &str) -> Value {
    let response = app
        .call(
            "GET",
            &format!("/api/analytics/deliveries?{query}"),
            Some(&who.token),
            None,
        )
        .await;
    assert_eq!(response.status(), 200, "{query}");
    json_body(response).await
}

const NOVEMBER: &str = "from=2026-11-01&to=2026-11-30";

#[tokio::test]
async fn a_seeded_month_matches_an_independent_computation_by_every_grouping() {
    let month = Box::pin(seed_month()).await;
    let app = &month.app;
    let in_month: Vec<&Seeded> = month
        .seeds
        .iter()
        .filter(|s| s.day.to_string().starts_with("2026-11"))
        .collect();
    let driver_ids = [
        app.driver_id(&month.drivers[0]).await,
        app.driver_id(&month.drivers[1]).await,
    ];
    let partner_id = month.partner;

    let keys: [(&str, KeyOf); 5] = [
        ("day", Box::new(|s| Some(s.day.to_string()))),
        ("driver", Box::new(|s| Some(driver_ids[s.driver].clone()))),
        (
            "client",
            Box::new(|s| (s.orderer < 2).then(|| month.orderers[s.orderer].id.to_string())),
        ),
        (
            "vendor",
            Box::new(|s| (s.orderer == 2).then(|| month.orderers[2].id.to_string())),
        ),
        (
            "partner",
            Box::new(|s| s.partner.then(|| partner_id.to_string())),
        ),
    ];
    for (group_by, key_of) in &keys {
        let got = report(app, &month.staff, &format!("{NOVEMBER}&groupBy={group_by}")).await;
        let mut expected: BTreeMap<String, Expected> = BTreeMap::new();
        let mut total = Expected::default();
        for seed in &in_month {
            if let Some(key) = key_of(seed) {
                expected.entry(key).or_default().add(seed);
                total.add(seed);
            }
        }
        let groups = got["groups"].as_array().expect("groups");
        let with_deliveries: Vec<&Value> = groups
            .iter()
            .filter(|g| {
                g["deliveries"].as_i64() > Some(0) || g["failedAttempts"].as_i64() > Some(0)
            })
            .collect();
        assert_eq!(
            with_deliveries
                .iter()
                .map(|g| g["key"].as_str().expect("key").to_owned())
                .collect::<Vec<_>>(),
            expected.keys().cloned().collect::<Vec<_>>(),
            "groups by {group_by}"
        );
        for group in with_deliveries {
            let key = group["key"].as_str().expect("key");
            expected[key].check(&format!("{group_by} {key}"), group);
        }
        total.check(&format!("the total by {group_by}"), &got["total"]);
    }

    // Shift hours, cut at the range's and the days' bounds: (day, hours).
    let by_day = report(app, &month.staff, &format!("{NOVEMBER}&groupBy=day")).await;
    let hours_of = |report: &Value, key: &str| {
        report["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .find(|g| g["key"] == key)
            .map(|g| g["driverHours"].clone())
    };
    for (day, hours) in [
        ("2026-11-01", 0.5),
        ("2026-11-04", 12.0),
        ("2026-11-05", 2.0),
        ("2026-11-10", 4.5),
    ] {
        assert_eq!(hours_of(&by_day, day), Some(json!(hours)), "hours on {day}");
    }
    assert_eq!(by_day["total"]["driverHours"], json!(19.0));
    let month_deliveries = in_month.iter().filter(|s| !s.failed).count() as f64;
    assert_eq!(
        by_day["total"]["deliveriesPerDriverHour"],
        json!(((month_deliveries / 19.0) * 100.0).round() / 100.0)
    );
    let by_driver = report(app, &month.staff, &format!("{NOVEMBER}&groupBy=driver")).await;
    assert_eq!(hours_of(&by_driver, &driver_ids[0]), Some(json!(12.5)));
    assert_eq!(hours_of(&by_driver, &driver_ids[1]), Some(json!(6.5)));
    // Days without any shift: no hours, so no rate per hour.
    let late_month = report(app, &month.staff, "from=2026-11-19&to=2026-11-30").await;
    assert_eq!(late_month["total"]["driverHours"], json!(0.0));
    assert!(late_month["total"]["deliveriesPerDriverHour"].is_null());
    assert!(late_month["total"]["deliveries"].as_i64() > Some(0));
    // A client's deliveries share their drivers' hours with everyone's: none shown.
    let by_client = report(app, &month.staff, &format!("{NOVEMBER}&groupBy=client")).await;
    assert!(by_client["total"]["driverHours"].is_null(), "{by_client}");
}

#[tokio::test]
async fn clients_and_vendors_see_their_own_orders_only_and_bad_requests_are_named() {
    let month = Box::pin(seed_month()).await;
    let app = &month.app;
    for (k, orderer) in month.orderers.iter().enumerate() {
        let got = report(app, orderer, &format!("{NOVEMBER}&groupBy=day")).await;
        let mut own = Expected::default();
        for seed in month
            .seeds
            .iter()
            .filter(|s| s.orderer == k && s.day.to_string().starts_with("2026-11"))
        {
            own.add(seed);
        }
        own.check(&format!("orderer {k}'s own total"), &got["total"]);
        assert!(got["total"]["driverHours"].is_null(), "{got}");
        // Grouped by client, a client sees itself alone.
        let by_client = report(app, orderer, &format!("{NOVEMBER}&groupBy=client")).await;
        for group in by_client["groups"].as_array().expect("groups") {
            assert_eq!(group["key"], orderer.id.to_string());
        }
    }

    // 401 and 403 come before any 400.
    let driver = &month.drivers[0];
    let refused = app
        .call(
            "GET",
            "/api/analytics/deliveries?from=junk",
            Some(&driver.token),
            None,
        )
        .await;
    assert_eq!(refused.status(), 403);
    let anonymous = app
        .call("GET", "/api/analytics/deliveries", None, None)
        .await;
    assert_eq!(anonymous.status(), 401);
    for (query, field) in [
        ("to=2026-11-30", "from"),
        ("from=2026-11-31&to=2026-12-01", "from"),
        ("from=2026-11-02&to=2026-11-01", "to"),
        ("from=2026-01-01&to=2026-12-31", "to"),
        ("from=2026-11-01&to=2026-11-30&groupBy=week", "groupBy"),
        ("from=2026-11-01&to=2026-11-30&format=xml", "format"),
        ("from=%2B262142-12-30&to=%2B262142-12-31", "from"),
    ] {
        let bad = app
            .call(
                "GET",
                &format!("/api/analytics/deliveries?{query}"),
                Some(&month.staff.token),
                None,
            )
            .await;
        assert_eq!(bad.status(), 400, "{query}");
        assert_eq!(error_fields(&json_body(bad).await), [field], "{query}");
    }

    // The CSV: the same figures, a row per group and the total.
    let csv = app
        .call(
            "GET",
            &format!("/api/analytics/deliveries?{NOVEMBER}&groupBy=driver&format=csv"),
            Some(&month.staff.token),
            None,
        )
        .await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .expect("type")
        .starts_with("text/csv"));
    let json = report(app, &month.staff, &format!("{NOVEMBER}&groupBy=driver")).await;
    let text = csv.text().await.expect("csv");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0].split(',').take(3).collect::<Vec<_>>(),
        ["driver", "label", "deliveries"]
    );
    assert_eq!(
        lines.len(),
        json["groups"].as_array().expect("groups").len() + 2,
        "{text}"
    );
    let total: Vec<&str> = lines.last().expect("total").split(',').collect();
    assert_eq!(total[0], "total");
    assert_eq!(total[2], json["total"]["deliveries"].to_string());
}

#[tokio::test]
async fn a_driver_sent_back_after_a_failed_attempt_counts_the_failure_and_the_delivery() {
    let app = TestApp::spawn().await;
    let staff = app.user(Role::Admin).await;
    let client = app.user(Role::Client).await;
    let driver = app.user(Role::Driver).await;
    let (order_id, number) = app.order_of(&client).await;
    app.assign_driver(&staff, &order_id, &driver).await;
    assert_eq!(
        app.report_status(&driver, &number, "PICKED_UP")
            .await
            .status(),
        200
    );
    let failed = app.report_failed_attempt(&driver, &order_id, &number).await;
    assert_eq!(failed.status(), 200);
    // The same driver, who still has the food, goes back and delivers.
    app.assign_driver(&staff, &order_id, &driver).await;
    for step in ["PICKED_UP", "ARRIVED_TO_CLIENT", "COMPLETED"] {
        assert_eq!(
            app.report_status(&driver, &number, step).await.status(),
            200,
            "{step}"
        );
    }
    let due: NaiveDate = app
        .db()
        .await
        .query_typed_one(
            "SELECT (arrival_date_time AT TIME ZONE 'America/Los_Angeles')::date FROM orders WHERE id = $1::text::uuid",
            &[p(&order_id)],
        )
        .await
        .expect("due day")
        .get(0);
    let got = report(&app, &staff, &format!("from={due}&to={due}&groupBy=driver")).await;
    assert_eq!(got["total"]["deliveries"], 1, "{got}");
    assert_eq!(got["total"]["failedAttempts"], 1, "{got}");
}
