//! Completion requirements through the API: staff set what a driver must record per order
//! type and per client (audited, validated); a driver's COMPLETED without it is a 422
//! naming what is missing and changes nothing; a client's rule replaces its order type's.

use api_tests::{error_fields, json_body, TestApp, TestUser};
use serde_json::{json, Value};
use shared::auth::Role;

const PATH: &str = "/api/dispatch/completion-requirements";

async fn put(app: &TestApp, who: &TestUser, path: &str, body: Value) -> reqwest::Response {
    app.call("PUT", path, Some(&who.token), Some(body)).await
}

/// A driver assigned to the owner's order who has picked it up; the order's number.
async fn picked_up(
    app: &TestApp,
    staff: &TestUser,
    owner: &TestUser,
    driver: &TestUser,
) -> (String, String) {
    let (order_id, number) = app.order_of(owner).await;
    app.assign_driver(staff, &order_id, driver).await;
    let picked = app.report_status(driver, &number, "PICKED_UP").await;
    assert_eq!(picked.status(), 200);
    (order_id, number)
}

/// The proofs a refused completion names.
async fn missing(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 422);
    let body = json_body(response).await;
    assert_eq!(body["error"]["code"], "proof_required", "{body}");
    body["error"]["details"]["missing"].clone()
}

#[tokio::test]
async fn staff_set_requirements_per_order_type_and_client_and_drivers_meet_them() {
    let app = TestApp::spawn().await;
    let staff = app.user(Role::Admin).await;
    let owner = app.user(Role::Client).await;
    let other = app.user(Role::Client).await;
    let driver = app.user(Role::Driver).await;

    // Who may not, and what a change must say.
    for who in [&owner, &driver] {
        let refused = put(&app, who, &format!("{PATH}/CATERING"), json!({ "x": 1 })).await;
        assert_eq!(refused.status(), 403);
        let listed = app.call("GET", PATH, Some(&who.token), None).await;
        assert_eq!(listed.status(), 403);
    }
    let empty = put(&app, &staff, &format!("{PATH}/CATERING"), json!({})).await;
    assert_eq!(empty.status(), 400);
    assert_eq!(
        error_fields(&json_body(empty).await),
        ["photo", "signature", "pin"]
    );
    let odd = put(
        &app,
        &staff,
        &format!("{PATH}/PICNIC"),
        json!({ "photo": true, "signature": false, "pin": false }),
    )
    .await;
    assert_eq!(odd.status(), 400);
    let nobody = put(
        &app,
        &staff,
        &format!("{PATH}/clients/{}", uuid::Uuid::new_v4()),
        json!({ "photo": true, "signature": false, "pin": false }),
    )
    .await;
    assert_eq!(nobody.status(), 404);
    let a_driver = put(
        &app,
        &staff,
        &format!("{PATH}/clients/{}", driver.id),
        json!({ "photo": true, "signature": false, "pin": false }),
    )
    .await;
    assert_eq!(a_driver.status(), 422);

    // Nothing set: a driver completes with no proof.
    let (_, free) = picked_up(&app, &staff, &other, &driver).await;
    assert_eq!(
        app.report_status(&driver, &free, "COMPLETED")
            .await
            .status(),
        200
    );

    // Catering orders need a photo.
    let set = put(
        &app,
        &staff,
        &format!("{PATH}/catering"),
        json!({ "photo": true, "signature": false, "pin": false }),
    )
    .await;
    assert_eq!(set.status(), 200);
    let set = json_body(set).await;
    assert_eq!(set["requirements"]["orderType"], "CATERING");
    assert_eq!(set["requirements"]["photo"], true);
    let (order_id, number) = picked_up(&app, &staff, &owner, &driver).await;
    assert_eq!(
        missing(app.report_status(&driver, &number, "COMPLETED").await).await,
        json!(["photo"])
    );
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
    let order = order.get("order").unwrap_or(&order);
    assert_eq!(
        order["driverStatus"], "PICKED_UP",
        "nothing changed: {order}"
    );

    // The owner's own rule replaces the type's: a signature, no photo.
    let mine = put(
        &app,
        &staff,
        &format!("{PATH}/clients/{}", owner.id),
        json!({ "photo": false, "signature": true, "pin": false }),
    )
    .await;
    assert_eq!(mine.status(), 200);
    assert_eq!(
        app.report_status(&driver, &number, "ARRIVED_TO_CLIENT")
            .await
            .status(),
        200,
        "only completing is held"
    );
    assert_eq!(
        missing(app.report_status(&driver, &number, "COMPLETED").await).await,
        json!(["signature"])
    );
    let signature = app
        .active_upload(&driver, "SIGNATURE", "order", &order_id)
        .await;
    let signed = app
        .call(
            "POST",
            &format!("/api/orders/{number}/signature"),
            Some(&driver.token),
            Some(json!({ "uploadId": signature.id })),
        )
        .await;
    assert_eq!(signed.status(), 200);
    assert_eq!(
        app.report_status(&driver, &number, "COMPLETED")
            .await
            .status(),
        200
    );

    // Without its own rule the owner's next order follows the type's again.
    let removed = app
        .call(
            "DELETE",
            &format!("{PATH}/clients/{}", owner.id),
            Some(&staff.token),
            None,
        )
        .await;
    assert_eq!(removed.status(), 204);
    let again = app
        .call(
            "DELETE",
            &format!("{PATH}/clients/{}", owner.id),
            Some(&staff.token),
            None,
        )
        .await;
    assert_eq!(again.status(), 404);
    let (_, next) = picked_up(&app, &staff, &owner, &driver).await;
    assert_eq!(
        missing(app.report_status(&driver, &next, "COMPLETED").await).await,
        json!(["photo"])
    );

    let listed = json_body(app.call("GET", PATH, Some(&staff.token), None).await).await;
    assert_eq!(listed["orderTypes"].as_array().map(Vec::len), Some(1));
    assert_eq!(listed["clients"], json!([]));
    assert_eq!(
        app.count(
            "SELECT count(*) FROM staff_audits WHERE entity_type = 'COMPLETION_REQUIREMENTS'"
        )
        .await,
        3,
        "the type's rule, the client's, and its removal"
    );
}

/// The hand-off code the customer was last texted, and the same in their email.
async fn texted_code(app: &TestApp, phone: &str, email: &str) -> String {
    app.relay_all().await;
    let code_in = |message: &str| {
        let start = message
            .find("hand-off code is ")
            .unwrap_or_else(|| panic!("no code in {message:?}"))
            + "hand-off code is ".len();
        message[start..start + 4].to_owned()
    };
    let texts = app.texts_to(phone).await;
    let code = code_in(texts.last().expect("a text"));
    let emails = app.emails_to(email).await;
    assert_eq!(
        code_in(&emails.last().expect("an email").1),
        code,
        "one code"
    );
    code
}

fn another_code(code: &str, n: u32) -> String {
    let value: u32 = code.parse().expect("digits");
    format!("{:04}", (value + n) % 10_000)
}

async fn complete_with(
    app: &TestApp,
    driver: &TestUser,
    number: &str,
    pin: &str,
) -> reqwest::Response {
    app.call(
        "PATCH",
        &format!("/api/orders/{number}"),
        Some(&driver.token),
        Some(json!({ "driverStatus": "COMPLETED", "pin": pin })),
    )
    .await
}

#[tokio::test]
async fn the_hand_off_code_completes_five_wrong_ones_lock_it_and_it_is_never_stored() {
    let app = TestApp::spawn().await;
    let staff = app.user(Role::Admin).await;
    let owner = app.user(Role::Client).await;
    let phone = app.give_phone(&owner, "64").await;
    let driver = app.user(Role::Driver).await;
    let stranger = app.user(Role::Driver).await;
    let set = put(
        &app,
        &staff,
        &format!("{PATH}/CATERING"),
        json!({ "photo": false, "signature": false, "pin": true }),
    )
    .await;
    assert_eq!(set.status(), 200);

    let (_, number) = picked_up(&app, &staff, &owner, &driver).await;
    assert_eq!(
        missing(app.report_status(&driver, &number, "COMPLETED").await).await,
        json!(["pin"]),
        "a missing code is named"
    );
    let early = complete_with(&app, &driver, &number, "1234").await;
    assert_eq!(early.status(), 409);
    assert_eq!(json_body(early).await["error"]["code"], "no_pin_sent");
    assert_eq!(
        app.report_status(&driver, &number, "ARRIVED_TO_CLIENT")
            .await
            .status(),
        200
    );
    let code = texted_code(&app, &phone, &owner.email).await;
    // Only the sent message holds it: no queued payload, no column (a bare four digits
    // would match inside ids and times, so the sentence is searched, and the delivery's
    // own columns for the digits).
    let holding = app.rows_holding(&format!("code is {code}")).await;
    assert!(
        holding.is_empty(),
        "the code is stored nowhere: {holding:?}"
    );
    let on_delivery = app
        .count(&format!(
            "SELECT count(*) FROM deliveries d WHERE strpos(row_to_json(d)::text, '\"{code}\"') > 0"
        ))
        .await;
    assert_eq!(on_delivery, 0);
    // Only the assigned driver may spend the tries; a malformed code is a 400.
    let theirs = complete_with(&app, &stranger, &number, &code).await;
    assert_eq!(theirs.status(), 404);
    let odd = complete_with(&app, &driver, &number, "12a4").await;
    assert_eq!(odd.status(), 400);
    for (n, left) in [(1, 4), (2, 3)] {
        let wrong = complete_with(&app, &driver, &number, &another_code(&code, n)).await;
        assert_eq!(wrong.status(), 422);
        let wrong = json_body(wrong).await;
        assert_eq!(wrong["error"]["code"], "wrong_pin");
        assert_eq!(wrong["error"]["details"]["triesLeft"], left);
    }
    let done = complete_with(&app, &driver, &number, &code).await;
    assert_eq!(done.status(), 200);
    let done = json_body(done).await;
    let done = done.get("order").unwrap_or(&done);
    assert_eq!(done["driverStatus"], "COMPLETED", "{done}");

    // Five wrong codes lock it: the right one no longer completes, staff do.
    let (order_id, locked) = picked_up(&app, &staff, &owner, &driver).await;
    assert_eq!(
        app.report_status(&driver, &locked, "ARRIVED_TO_CLIENT")
            .await
            .status(),
        200
    );
    let code = texted_code(&app, &phone, &owner.email).await;
    for n in 1..=4 {
        let wrong = complete_with(&app, &driver, &locked, &another_code(&code, n)).await;
        assert_eq!(wrong.status(), 422, "try {n}");
    }
    let fifth = complete_with(&app, &driver, &locked, &another_code(&code, 5)).await;
    assert_eq!(fifth.status(), 409);
    assert_eq!(json_body(fifth).await["error"]["code"], "pin_locked");
    let right = complete_with(&app, &driver, &locked, &code).await;
    assert_eq!(right.status(), 409, "locked");
    let closed = app
        .call(
            "PATCH",
            &format!("/api/catering-requests/{order_id}/status"),
            Some(&staff.token),
            Some(json!({ "status": "COMPLETED", "note": "code locked; recipient confirmed by phone" })),
        )
        .await;
    assert_eq!(closed.status(), 200);
    // The delivery is completed with the order, and the driver paid.
    let finished = app
        .count(&format!(
            "SELECT count(*) FROM deliveries d JOIN orders o ON o.id = d.order_id
              WHERE o.id = '{order_id}' AND o.driver_status = 'COMPLETED' AND d.status = 'COMPLETED'
                AND d.completed_at IS NOT NULL AND d.pay_total_cents > 0"
        ))
        .await;
    assert_eq!(
        finished, 1,
        "the delivery completed and paid with the order"
    );
}
