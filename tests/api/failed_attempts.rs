//! Failed delivery attempts through the API: who may report one and what a report must
//! carry, the order back with dispatch, what the customer hears (once), the driver's pay
//! for the trip, and a second attempt by another driver.

use api_tests::{error_fields, json_body, TestApp, TestUser};
use serde_json::{json, Value};
use shared::{auth::Role, db::p};

async fn fail(app: &TestApp, who: &TestUser, number: &str, body: Value) -> reqwest::Response {
    app.call(
        "POST",
        &format!("/api/orders/{number}/failed-attempt"),
        Some(&who.token),
        Some(body),
    )
    .await
}

/// (failed attempts, customer emails, customer texts) about the order.
async fn written(app: &TestApp, order_id: &str) -> (i64, i64, i64) {
    let count = |sql: String| async move { app.count(&sql).await };
    (
        count(format!(
            "SELECT count(*) FROM failed_attempts WHERE order_id = '{order_id}'"
        ))
        .await,
        count(format!(
            "SELECT count(*) FROM outbox WHERE order_id = '{order_id}' AND kind = 'CUSTOMER_EMAIL'
               AND payload->>'subject' LIKE 'We could not deliver%'"
        ))
        .await,
        count(format!(
            "SELECT count(*) FROM outbox WHERE order_id = '{order_id}' AND kind = 'CUSTOMER_SMS'
               AND payload->>'text' LIKE '%could not deliver%'"
        ))
        .await,
    )
}

#[tokio::test]
async fn a_failed_attempt_sends_the_order_back_to_dispatch_and_the_customer_hears_once() {
    let app = TestApp::spawn().await;
    let owner = app.user(Role::Client).await;
    app.give_phone(&owner, "55").await;
    let staff = app.user(Role::Admin).await;
    let vendor = app.user(Role::Vendor).await;
    let driver = app.user(Role::Driver).await;
    let stranger = app.user(Role::Driver).await;
    let (order_id, number) = app.order_of(&owner).await;
    app.db()
        .await
        .execute_typed(
            "UPDATE orders SET tip_cents = 500 WHERE id = $1::text::uuid",
            &[p(&order_id)],
        )
        .await
        .expect("a tip");
    app.assign_driver(&staff, &order_id, &driver).await;
    let photo = app.active_upload(&driver, "POD", "order", &order_id).await;
    let document = app
        .active_upload(&driver, "DOCUMENT", "order", &order_id)
        .await;
    let report = json!({
        "reason": "NO_ONE_THERE",
        "photoUploadId": photo.id,
        "note": "Reception closed; called twice",
        "location": { "lat": 37.3352, "lng": -121.8811 },
    });

    // Before the pickup there is nothing on board to attempt with.
    let early = fail(&app, &driver, &number, report.clone()).await;
    assert_eq!(early.status(), 409);
    assert_eq!(json_body(early).await["error"]["code"], "not_picked_up");
    assert_eq!(
        app.report_status(&driver, &number, "PICKED_UP")
            .await
            .status(),
        200,
        "PICKED_UP"
    );
    assert_eq!(
        app.report_status(&driver, &number, "ARRIVED_TO_CLIENT")
            .await
            .status(),
        200,
        "ARRIVED_TO_CLIENT"
    );

    // Only the assigned driver, and 403 comes before the body is read.
    for (who, status) in [
        (&vendor, 403),
        (&owner, 403),
        (&staff, 403),
        (&stranger, 404),
    ] {
        let refused = fail(&app, who, &number, json!({ "garbage": true })).await;
        assert_eq!(refused.status(), status, "{:?}", who.role);
    }
    let empty = fail(&app, &driver, &number, json!({})).await;
    assert_eq!(empty.status(), 400);
    assert_eq!(
        error_fields(&json_body(empty).await),
        ["reason", "photoUploadId"]
    );
    let odd = fail(
        &app,
        &driver,
        &number,
        json!({ "reason": "LOST", "photoUploadId": photo.id }),
    )
    .await;
    assert_eq!(odd.status(), 400);
    assert_eq!(error_fields(&json_body(odd).await), ["reason"]);
    let misfiled = fail(
        &app,
        &driver,
        &number,
        json!({ "reason": "REFUSED", "photoUploadId": document.id }),
    )
    .await;
    assert_eq!(misfiled.status(), 422);
    let unknown = fail(
        &app,
        &driver,
        &number,
        json!({ "reason": "REFUSED", "photoUploadId": uuid::Uuid::new_v4() }),
    )
    .await;
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        written(&app, &order_id).await,
        (0, 0, 0),
        "nothing half-written"
    );

    let failed = fail(&app, &driver, &number, report.clone()).await;
    assert_eq!(failed.status(), 200);
    let failed = json_body(failed).await;
    assert_eq!(failed["order"]["status"], "ACTIVE");
    assert!(failed["order"]["driverStatus"].is_null());
    let attempt = &failed["attempt"];
    assert_eq!(attempt["reason"], "NO_ONE_THERE");
    assert_eq!(attempt["attempt"], 1);
    // The trip is paid; the tip goes with the food to whoever delivers it.
    assert_eq!(attempt["pay"]["tips"], 0.0);
    assert!(attempt["pay"]["total"].as_f64().expect("total") > 0.0);
    assert!(failed["offer"].is_null(), "auto-dispatch is off");
    assert_eq!(written(&app, &order_id).await, (1, 1, 1));
    let db = app.db().await;
    let delivery = db
        .query_typed_one(
            "SELECT d.failed_at IS NOT NULL, d.pay_tip_cents, ds.unassigned_at IS NOT NULL
               FROM deliveries d JOIN dispatches ds ON ds.id = d.dispatch_id
              WHERE d.order_id = $1::text::uuid",
            &[p(&order_id)],
        )
        .await
        .expect("the delivery");
    assert!(delivery.get::<_, bool>(0), "the delivery ended failed");
    assert_eq!(delivery.get::<_, Option<i64>>(1), Some(0));
    assert!(delivery.get::<_, bool>(2), "the dispatch is closed");
    let note: String = db
        .query_typed_one(
            "SELECT note FROM order_status_history WHERE order_id = $1::text::uuid ORDER BY id DESC LIMIT 1",
            &[p(&order_id)],
        )
        .await
        .expect("history")
        .get(0);
    assert_eq!(
        note,
        "delivery attempt 1 failed (NO_ONE_THERE): Reception closed; called twice"
    );
    // The driver's figures count no completed delivery, and the trip's pay.
    let driver_id = app.driver_id(&driver).await;
    let stats = app
        .call(
            "GET",
            &format!("/api/drivers/{driver_id}/stats"),
            Some(&staff.token),
            None,
        )
        .await;
    let stats = json_body(stats).await;
    assert_eq!(stats["deliveries"]["completed"], 0, "{stats}");
    assert_eq!(
        stats["earnings"]["total"], attempt["pay"]["total"],
        "{stats}"
    );
    assert_eq!(stats["earnings"]["tips"], 0.0, "{stats}");

    // The driver no longer has the order: a repeat writes nothing.
    let again = fail(&app, &driver, &number, report).await;
    assert_eq!(again.status(), 404);
    assert_eq!(written(&app, &order_id).await, (1, 1, 1), "heard once");

    // Another driver takes it and fails too: the second attempt.
    let second = app.user(Role::Driver).await;
    app.assign_driver(&staff, &order_id, &second).await;
    assert_eq!(
        app.report_status(&second, &number, "PICKED_UP")
            .await
            .status(),
        200,
        "PICKED_UP"
    );
    let photo = app.active_upload(&second, "POD", "order", &order_id).await;
    let refused = fail(
        &app,
        &second,
        &number,
        json!({ "reason": "REFUSED", "photoUploadId": photo.id }),
    )
    .await;
    assert_eq!(refused.status(), 200);
    assert_eq!(json_body(refused).await["attempt"]["attempt"], 2);
    assert_eq!(written(&app, &order_id).await, (2, 2, 2));
}

#[tokio::test]
async fn who_does_not_drive_the_order_gets_403_before_the_progress_body_is_read() {
    let app = TestApp::spawn().await;
    let owner = app.user(Role::Client).await;
    let staff = app.user(Role::Admin).await;
    let (_, number) = app.order_of(&owner).await;
    for who in [&owner, &staff] {
        let refused = app
            .call(
                "PATCH",
                &format!("/api/orders/{number}"),
                Some(&who.token),
                Some(json!({ "driverStatus": "BOGUS", "notes": "" })),
            )
            .await;
        assert_eq!(refused.status(), 403, "{:?}", who.role);
    }
}
