//! Catering and on-demand orders through the local gateway: creation, scoping, the status
//! machine and its history, idempotent creates, filters, and bad input.

use api_tests::{catering_body, json_body, TestApp, TestUser};
use serde_json::{json, Value};
use shared::auth::Role;

async fn create(app: &TestApp, user: &TestUser, body: Value) -> reqwest::Response {
    app.call(
        "POST",
        "/api/catering-requests",
        Some(&user.token),
        Some(body),
    )
    .await
}

async fn created_order(app: &TestApp, user: &TestUser) -> Value {
    let response = create(app, user, catering_body(25)).await;
    assert_eq!(response.status(), 201);
    json_body(response).await["order"].clone()
}

async fn set_status(
    app: &TestApp,
    user: &TestUser,
    order: &Value,
    status: &str,
) -> reqwest::Response {
    let path = format!(
        "/api/catering-requests/{}/status",
        order["id"].as_str().expect("id")
    );
    app.call(
        "PATCH",
        &path,
        Some(&user.token),
        Some(json!({ "status": status, "note": format!("to {status}") })),
    )
    .await
}

#[tokio::test]
async fn a_client_sees_its_orders_and_never_anothers() {
    let app = TestApp::spawn().await;
    let alice = app.user(Role::Client).await;
    let bob = app.user(Role::Client).await;
    let order = created_order(&app, &alice).await;
    let number = order["orderNumber"].as_str().expect("number").to_owned();
    assert!(number.starts_with("CR-"), "{number}");
    assert_eq!(order["status"], "ACTIVE");
    assert_eq!(order["orderType"], "CATERING");
    assert_eq!(order["headcount"], 25);
    assert_eq!(order["orderTotal"], 350.25);
    assert!(
        order["pickupAddress"]["latitude"].as_f64().is_some(),
        "geocoded by ZIP"
    );
    assert!(order["deliveryDistance"].as_f64().expect("distance") > 1.0);

    for path in ["/api/catering-requests", "/api/orders", "/api/user-orders"] {
        let mine = json_body(app.call("GET", path, Some(&alice.token), None).await).await;
        assert_eq!(mine["items"].as_array().expect("items").len(), 1, "{path}");
        let theirs = json_body(app.call("GET", path, Some(&bob.token), None).await).await;
        assert!(
            theirs["items"].as_array().expect("items").is_empty(),
            "{path} leaked to another client"
        );
    }
    let hidden = app
        .call(
            "GET",
            &format!("/api/orders/{number}"),
            Some(&bob.token),
            None,
        )
        .await;
    assert_eq!(hidden.status(), 404);
    assert_eq!(
        set_status(&app, &bob, &order, "CANCELLED").await.status(),
        404
    );
    let shown = json_body(
        app.call(
            "GET",
            &format!("/api/orders/{number}"),
            Some(&alice.token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(shown["order"]["id"], order["id"]);
    assert_eq!(shown["statusHistory"][0]["status"], "ACTIVE");
}

#[tokio::test]
async fn an_admin_moves_an_order_through_its_statuses_and_sees_the_history() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let admin = app.user(Role::Admin).await;
    let order = created_order(&app, &client).await;
    for status in ["ASSIGNED", "IN_PROGRESS", "DELIVERED", "COMPLETED"] {
        let response = set_status(&app, &admin, &order, status).await;
        assert_eq!(response.status(), 200, "to {status}");
        assert_eq!(json_body(response).await["order"]["status"], status);
    }
    let number = order["orderNumber"].as_str().expect("number");
    let view = json_body(
        app.call(
            "GET",
            &format!("/api/orders/{number}"),
            Some(&admin.token),
            None,
        )
        .await,
    )
    .await;
    let history: Vec<&str> = view["statusHistory"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["status"].as_str())
        .collect();
    assert_eq!(
        history,
        [
            "COMPLETED",
            "DELIVERED",
            "IN_PROGRESS",
            "ASSIGNED",
            "ACTIVE"
        ]
    );
    assert_eq!(view["statusHistory"][0]["fromStatus"], "DELIVERED");
    assert_eq!(view["statusHistory"][0]["actorId"], json!(admin.id));
    assert_eq!(view["statusHistory"][0]["note"], "to COMPLETED");
    assert!(view["order"]["completeDateTime"].is_string());

    // Terminal: no transition, no edit, and a refusal writes nothing.
    let refused = set_status(&app, &admin, &order, "CANCELLED").await;
    assert_eq!(refused.status(), 409);
    let body = json_body(refused).await;
    assert_eq!(body["error"]["code"], "illegal_transition");
    assert!(body["error"]["message"]
        .as_str()
        .expect("message")
        .contains("COMPLETED"));
    assert!(body["error"]["message"]
        .as_str()
        .expect("message")
        .contains("CANCELLED"));
    let edit = app
        .call(
            "PATCH",
            &format!("/api/orders/{number}"),
            Some(&admin.token),
            Some(json!({ "pickupNotes": "late" })),
        )
        .await;
    assert_eq!(edit.status(), 409);
    assert_eq!(
        app.count("SELECT count(*) FROM order_status_history").await,
        5
    );
}

#[tokio::test]
async fn illegal_jumps_are_409_and_clients_may_only_cancel() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let admin = app.user(Role::Admin).await;
    let order = created_order(&app, &client).await;
    assert_eq!(
        set_status(&app, &admin, &order, "DELIVERED").await.status(),
        409,
        "ACTIVE cannot jump to DELIVERED"
    );
    assert_eq!(
        set_status(&app, &admin, &order, "CONFIRMED").await.status(),
        409,
        "no step back to CONFIRMED"
    );
    let unknown = set_status(&app, &admin, &order, "SHIPPED").await;
    assert_eq!(unknown.status(), 400);
    assert_eq!(
        json_body(unknown).await["error"]["details"][0]["field"],
        "status"
    );
    assert_eq!(
        set_status(&app, &client, &order, "ASSIGNED").await.status(),
        403
    );
    let cancelled = set_status(&app, &client, &order, "CANCELLED").await;
    assert_eq!(cancelled.status(), 200);
    assert_eq!(
        json_body(cancelled).await["order"]["cancellationReason"],
        "to CANCELLED"
    );
}

#[tokio::test]
async fn two_concurrent_transitions_one_wins_and_history_agrees() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let admin = app.user(Role::Admin).await;
    let helpdesk = app.user(Role::Helpdesk).await;
    let order = created_order(&app, &client).await;
    let (a, b) = tokio::join!(
        set_status(&app, &admin, &order, "ASSIGNED"),
        set_status(&app, &helpdesk, &order, "ASSIGNED")
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    assert_eq!(
        app.count("SELECT count(*) FROM order_status_history WHERE to_status = 'ASSIGNED'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_retried_create_with_the_same_key_makes_one_order() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let body = catering_body(40);
    let send = |body: Value, key: &'static str| {
        app.http
            .post(app.url("/api/catering-requests"))
            .bearer_auth(&client.token)
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };
    let first = send(body.clone(), "order-attempt-1")
        .await
        .expect("request");
    assert_eq!(first.status(), 201);
    assert!(!first.headers().contains_key("x-idempotent-replay"));
    let first = json_body(first).await;
    let retry = send(body.clone(), "order-attempt-1")
        .await
        .expect("request");
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["x-idempotent-replay"], "true");
    assert_eq!(json_body(retry).await["order"]["id"], first["order"]["id"]);

    let mut different = body.clone();
    different["headcount"] = json!(41);
    let reused = send(different, "order-attempt-1").await.expect("request");
    assert_eq!(reused.status(), 422);
    assert_eq!(
        json_body(reused).await["error"]["code"],
        "idempotency_key_reused"
    );

    // Parallel retries of a new key: still one order.
    let parallel =
        futures_util::future::join_all((0..6).map(|_| send(body.clone(), "order-attempt-2"))).await;
    let statuses: Vec<u16> = parallel
        .iter()
        .map(|r| r.as_ref().expect("request").status().as_u16())
        .collect();
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    assert!(statuses.contains(&201));
    assert_eq!(
        app.count("SELECT count(*) FROM orders").await,
        2,
        "one order per key"
    );
}

/// Turns a valid order body into an invalid one.
type BreakBody = fn(&mut Value);

#[tokio::test]
async fn bad_orders_get_clear_400s() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let cases: Vec<(&str, BreakBody)> = vec![
        ("headcount", |b| b["headcount"] = json!(-5)),
        ("headcount", |b| {
            b.as_object_mut().expect("object").remove("headcount");
        }),
        ("pickupDateTime", |b| {
            b["pickupDateTime"] = json!("tomorrow at noon")
        }),
        ("pickupDateTime", |b| {
            b["pickupDateTime"] = json!("2020-01-01T10:00:00Z")
        }),
        ("arrivalDateTime", |b| {
            b["arrivalDateTime"] = json!("2020-01-01T10:00:00Z")
        }),
        ("needHost", |b| b["needHost"] = json!("MAYBE")),
        ("orderTotal", |b| b["orderTotal"] = json!(-1)),
        ("deliveryAddress.zip", |b| {
            b["deliveryAddress"]["zip"] = json!("9505")
        }),
        ("pickupAddress", |b| {
            b["pickupAddressId"] = json!("00000000-0000-4000-8000-000000000101")
        }),
        ("pickupAddressId", |b| {
            b.as_object_mut().expect("object").remove("pickupAddress");
            b["pickupAddressId"] = json!("NOT-A-UUID");
        }),
    ];
    for (field, change) in cases {
        let mut body = catering_body(10);
        change(&mut body);
        let response = create(&app, &client, body).await;
        assert_eq!(response.status(), 400, "{field}");
        let body = json_body(response).await;
        let fields = body["error"]["details"].to_string();
        assert!(fields.contains(field), "{field}: {body}");
    }
    let huge = app
        .http
        .post(app.url("/api/catering-requests"))
        .bearer_auth(&client.token)
        .header("content-type", "application/json")
        .body(vec![b' '; 10 * 1024 * 1024])
        .send()
        .await
        .expect("request");
    assert_eq!(huge.status(), 413);
    assert_eq!(
        app.count("SELECT count(*) FROM orders").await,
        0,
        "nothing half-written"
    );
    assert_eq!(app.count("SELECT count(*) FROM addresses").await, 0);
}

#[tokio::test]
async fn saved_addresses_of_others_are_not_found() {
    let app = TestApp::spawn().await;
    let alice = app.user(Role::Client).await;
    let bob = app.user(Role::Client).await;
    let saved = json_body(
        app.call("POST", "/api/addresses", Some(&bob.token), Some(json!({ "street1": "1 Main St", "city": "San Jose", "state": "CA", "zip": "95113" })))
            .await,
    )
    .await;
    let mut body = catering_body(10);
    body.as_object_mut()
        .expect("object")
        .remove("pickupAddress");
    body["pickupAddressId"] = saved["address"]["id"].clone();
    let response = create(&app, &alice, body.clone()).await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        create(&app, &bob, body).await.status(),
        201,
        "the owner may use it"
    );
}

#[tokio::test]
async fn order_numbers_in_paths_are_decoded_and_checked() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    for (path, status) in [
        ("/api/orders/CR%2D000000%2DAAAAA", 404),
        ("/api/orders/CR%20X", 400),
        ("/api/orders/%27%20OR%201%3D1", 400),
        ("/api/orders/a%2Fb", 400),
    ] {
        assert_eq!(
            app.call("GET", path, Some(&admin.token), None)
                .await
                .status(),
            status,
            "{path}"
        );
    }
    let client = app.user(Role::Client).await;
    let order = created_order(&app, &client).await;
    let number = order["orderNumber"].as_str().expect("number");
    let encoded = number.replace('-', "%2D");
    let found = app
        .call(
            "GET",
            &format!("/api/orders/{encoded}"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(found.status(), 200);
}

#[tokio::test]
async fn lists_filter_and_page() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let admin = app.user(Role::Admin).await;
    for _ in 0..3 {
        created_order(&app, &client).await;
    }
    let first = created_order(&app, &client).await;
    set_status(&app, &client, &first, "CANCELLED").await;

    let get = |query: String| {
        let token = admin.token.clone();
        let app = &app;
        async move {
            app.call("GET", &format!("/api/orders?{query}"), Some(&token), None)
                .await
        }
    };
    let page = json_body(get("limit=3".into()).await).await;
    assert_eq!(page["items"].as_array().expect("items").len(), 3);
    let next = json_body(
        get(format!(
            "limit=3&cursor={}",
            page["nextCursor"].as_str().expect("cursor")
        ))
        .await,
    )
    .await;
    assert_eq!(next["items"].as_array().expect("items").len(), 1);
    assert!(next["nextCursor"].is_null());

    let cancelled = json_body(get("status=CANCELLED".into()).await).await;
    assert_eq!(cancelled["items"].as_array().expect("items").len(), 1);
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).date_naive();
    let in_range = json_body(
        get(format!(
            "startDate={tomorrow}&endDate={tomorrow}&type=catering"
        ))
        .await,
    )
    .await;
    assert_eq!(in_range["items"].as_array().expect("items").len(), 4);
    let past = json_body(get("startDate=2020-01-01&endDate=2020-12-31".into()).await).await;
    assert!(past["items"].as_array().expect("items").is_empty());
    let number = first["orderNumber"].as_str().expect("number");
    let found = json_body(get(format!("search={}", &number[number.len() - 5..])).await).await;
    assert_eq!(found["items"][0]["id"], first["id"]);

    for bad in [
        "status=LOST",
        "startDate=12/01/2026",
        "startDate=2026-12-02&endDate=2026-12-01",
        "type=boat",
        "limit=1000",
    ] {
        assert_eq!(get(bad.into()).await.status(), 400, "{bad}");
    }
}

#[tokio::test]
async fn drivers_see_only_orders_assigned_to_them() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let driver = app.user(Role::Driver).await;
    let assigned = created_order(&app, &client).await;
    created_order(&app, &client).await;
    app.dispatch(&driver, assigned["id"].as_str().expect("id"))
        .await;
    let listed = json_body(
        app.call("GET", "/api/orders", Some(&driver.token), None)
            .await,
    )
    .await;
    let ids: Vec<&Value> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|o| &o["id"])
        .collect();
    assert_eq!(ids, [&assigned["id"]]);
    assert_eq!(
        app.call(
            "POST",
            "/api/catering-requests",
            Some(&driver.token),
            Some(catering_body(5))
        )
        .await
        .status(),
        403
    );
}

#[tokio::test]
async fn owners_edit_and_delete_before_the_order_is_underway() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let admin = app.user(Role::Admin).await;
    let order = created_order(&app, &client).await;
    let path = format!(
        "/api/orders/{}",
        order["orderNumber"].as_str().expect("number")
    );
    let edited = app
        .call(
            "PATCH",
            &path,
            Some(&client.token),
            Some(json!({ "headcount": 30, "specialNotes": "Vegan options" })),
        )
        .await;
    assert_eq!(edited.status(), 200);
    let edited = json_body(edited).await;
    assert_eq!(
        (
            edited["order"]["headcount"].clone(),
            edited["order"]["specialNotes"].clone()
        ),
        (json!(30), json!("Vegan options"))
    );
    assert_eq!(
        app.call(
            "PATCH",
            &path,
            Some(&client.token),
            Some(json!({ "itemDelivered": "boxes" }))
        )
        .await
        .status(),
        400
    );
    set_status(&app, &admin, &order, "ASSIGNED").await;
    assert_eq!(
        app.call(
            "PATCH",
            &path,
            Some(&client.token),
            Some(json!({ "headcount": 31 }))
        )
        .await
        .status(),
        409
    );
    assert_eq!(
        app.call("DELETE", &path, Some(&admin.token), None)
            .await
            .status(),
        204
    );
    assert_eq!(
        app.call("GET", &path, Some(&client.token), None)
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn on_demand_orders_and_vendor_views() {
    let app = TestApp::spawn().await;
    let vendor = app.user(Role::Vendor).await;
    let client = app.user(Role::Client).await;
    let mut body = catering_body(1);
    let object = body.as_object_mut().expect("object");
    for key in ["headcount", "needHost"] {
        object.remove(key);
    }
    body["itemDelivered"] = json!("Menu boxes");
    body["vehicleType"] = json!("van");
    body["weight"] = json!(12.5);
    let created = app
        .call(
            "POST",
            "/api/on-demand/create",
            Some(&vendor.token),
            Some(body.clone()),
        )
        .await;
    assert_eq!(created.status(), 201);
    let order = json_body(created).await["order"].clone();
    assert_eq!(
        (order["orderType"].clone(), order["vehicleType"].clone()),
        (json!("ON_DEMAND"), json!("VAN"))
    );
    assert!(order["orderNumber"]
        .as_str()
        .expect("number")
        .starts_with("OD-"));
    body["vehicleType"] = json!("BICYCLE");
    assert_eq!(
        app.call(
            "POST",
            "/api/on-demand/create",
            Some(&vendor.token),
            Some(body)
        )
        .await
        .status(),
        400
    );

    let mine = json_body(
        app.call("GET", "/api/vendor/orders", Some(&vendor.token), None)
            .await,
    )
    .await;
    assert_eq!(mine["items"].as_array().expect("items").len(), 1);
    assert_eq!(
        app.call("GET", "/api/vendor/orders", Some(&client.token), None)
            .await
            .status(),
        403
    );
}
