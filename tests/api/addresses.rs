//! The address book: geocoding, ownership, updates.

use api_tests::{json_body, TestApp};
use serde_json::json;
use shared::auth::Role;

#[tokio::test]
async fn addresses_are_geocoded_owned_and_private() {
    let app = TestApp::spawn().await;
    let alice = app.user(Role::Vendor).await;
    let bob = app.user(Role::Client).await;
    let created = app
        .call("POST", "/api/addresses", Some(&alice.token), Some(json!({ "name": "Kitchen", "street1": "100 S 1st St", "city": "San Jose", "state": "ca", "zip": "95113", "alias": "Main kitchen", "isDefault": true, "isRestaurant": true })))
        .await;
    assert_eq!(created.status(), 201);
    let address = json_body(created).await["address"].clone();
    assert_eq!(address["state"], "CA");
    assert_eq!(address["alias"], "Main kitchen");
    assert_eq!(address["geocodeSource"], "zip_centroid");
    assert!((address["latitude"].as_f64().expect("lat") - 37.33).abs() < 0.1);
    let path = format!("/api/addresses/{}", address["id"].as_str().expect("id"));

    let listed = json_body(
        app.call("GET", "/api/addresses", Some(&alice.token), None)
            .await,
    )
    .await;
    assert_eq!(listed["items"].as_array().expect("items").len(), 1);
    assert!(json_body(
        app.call("GET", "/api/addresses", Some(&bob.token), None)
            .await
    )
    .await["items"]
        .as_array()
        .expect("items")
        .is_empty());
    for method in ["GET", "PATCH", "DELETE"] {
        let body = (method == "PATCH").then(|| json!({ "name": "Mine now" }));
        assert_eq!(
            app.call(method, &path, Some(&bob.token), body)
                .await
                .status(),
            404,
            "{method}"
        );
    }

    let moved = app
        .call(
            "PATCH",
            &path,
            Some(&alice.token),
            Some(json!({ "zip": "94105", "city": "San Francisco" })),
        )
        .await;
    assert_eq!(moved.status(), 200);
    let moved = json_body(moved).await["address"].clone();
    assert!(
        (moved["latitude"].as_f64().expect("lat") - 37.79).abs() < 0.1,
        "re-geocoded: {moved}"
    );
    assert_eq!(
        app.call(
            "PATCH",
            &path,
            Some(&alice.token),
            Some(json!({ "zip": "ABCDE" }))
        )
        .await
        .status(),
        400
    );
    assert_eq!(
        app.call("DELETE", &path, Some(&alice.token), None)
            .await
            .status(),
        204
    );
    assert_eq!(
        app.call("GET", &path, Some(&alice.token), None)
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn bad_addresses_name_their_fields() {
    let app = TestApp::spawn().await;
    let user = app.user(Role::Client).await;
    let response = app
        .call(
            "POST",
            "/api/addresses",
            Some(&user.token),
            Some(json!({ "street1": "", "city": "X", "state": "California", "zip": "123" })),
        )
        .await;
    assert_eq!(response.status(), 400);
    let details = json_body(response).await["error"]["details"].to_string();
    for field in ["street1", "state", "zip"] {
        assert!(details.contains(field), "{field}: {details}");
    }
    let shared = app
        .call(
            "POST",
            "/api/addresses",
            Some(&user.token),
            Some(
                json!({ "street1": "1 A St", "city": "San Jose", "state": "CA", "isShared": true }),
            ),
        )
        .await;
    assert_eq!(shared.status(), 403, "only staff share addresses");
    let unknown_place = app
        .call(
            "POST",
            "/api/addresses",
            Some(&user.token),
            Some(json!({ "street1": "1 A St", "city": "Nowhere", "state": "ZZ" })),
        )
        .await;
    assert_eq!(unknown_place.status(), 201);
    assert!(
        json_body(unknown_place).await["address"]["latitude"].is_null(),
        "kept, not placed"
    );
}
