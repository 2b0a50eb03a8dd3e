//! What each order state means is decided once, on `OrderStatus`, and SQL asks the same
//! questions through the functions of migration V19; these tests hold the two together
//! and show the decision for DELIVERED through the API.

use api_tests::{json_body, TestApp, TestUser};
use serde_json::json;
use shared::{
    auth::Role,
    db::{p, RowExt},
    drivers::shifts::ShiftStatus,
    orders::status::OrderStatus,
};

#[tokio::test]
async fn the_sql_state_functions_agree_with_the_rust_predicates_for_every_status() {
    let app = TestApp::spawn().await;
    let db = app.db().await;
    for status in OrderStatus::ALL {
        let row = db
            .query_typed_one(
                "SELECT order_is_open($1) AS open, order_is_settled($1) AS settled,
                        order_is_handed_over($1) AS handed_over",
                &[p(&status)],
            )
            .await
            .expect("asked");
        let answers: (bool, bool, bool) = (
            row.col("open").expect("open"),
            row.col("settled").expect("settled"),
            row.col("handed_over").expect("handed_over"),
        );
        assert_eq!(
            answers,
            (
                status.is_open(),
                status.is_settled(),
                status.is_handed_over()
            ),
            "{status}"
        );
    }
    for status in ShiftStatus::ALL {
        let open: bool = db
            .query_typed_one("SELECT shift_is_open($1) AS open", &[p(&status)])
            .await
            .expect("asked")
            .col("open")
            .expect("open");
        assert_eq!(open, status.is_open(), "{status}");
    }
}

/// A DELIVERED order no longer weighs on its driver (the staff list counts no active
/// delivery, so a capped driver can take the next one) but stays on the driver's feed
/// until the driver completes it; once completed it leaves the feed too.
#[tokio::test]
async fn a_delivered_order_frees_its_driver_but_stays_on_the_feed_until_completed() {
    let app = TestApp::spawn().await;
    let owner = app.user(Role::Client).await;
    let staff = app.user(Role::Admin).await;
    let driver = app.user(Role::Driver).await;
    let driver_id = app.driver_id(&driver).await;
    let (order_id, _) = app.order_of(&owner).await;
    let assigned = app
        .call(
            "POST",
            "/api/orders/assignDriver",
            Some(&staff.token),
            Some(json!({ "orderId": order_id, "driverId": driver_id })),
        )
        .await;
    assert_eq!(assigned.status(), 200);

    assert_eq!(
        (
            load(&app, &staff, &driver_id).await,
            feed(&app, &driver).await
        ),
        (1, 1),
        "assigned"
    );

    for status in ["IN_PROGRESS", "DELIVERED"] {
        let moved = app
            .call(
                "PATCH",
                &format!("/api/catering-requests/{order_id}/status"),
                Some(&staff.token),
                Some(json!({ "status": status })),
            )
            .await;
        assert_eq!(moved.status(), 200, "to {status}");
    }
    assert_eq!(
        (
            load(&app, &staff, &driver_id).await,
            feed(&app, &driver).await
        ),
        (0, 1),
        "delivered"
    );

    let completed = app
        .call(
            "PATCH",
            &format!("/api/catering-requests/{order_id}/status"),
            Some(&staff.token),
            Some(json!({ "status": "COMPLETED" })),
        )
        .await;
    assert_eq!(completed.status(), 200);
    assert_eq!(
        (
            load(&app, &staff, &driver_id).await,
            feed(&app, &driver).await
        ),
        (0, 0),
        "completed"
    );
}

/// The driver's active deliveries as the staff list counts them.
async fn load(app: &TestApp, staff: &TestUser, driver_id: &str) -> i64 {
    let list = json_body(
        app.call("GET", "/api/drivers?limit=100", Some(&staff.token), None)
            .await,
    )
    .await;
    list["items"]
        .as_array()
        .expect("drivers")
        .iter()
        .find(|d| d["id"] == driver_id)
        .expect("listed")["activeDeliveries"]
        .as_i64()
        .expect("count")
}

/// How many orders the driver's feed lists.
async fn feed(app: &TestApp, driver: &TestUser) -> usize {
    json_body(
        app.call("GET", "/api/driver-deliveries", Some(&driver.token), None)
            .await,
    )
    .await["items"]
        .as_array()
        .expect("items")
        .len()
}
