//! The Google Maps provider against a stand-in Google on 127.0.0.1: the key comes from
//! Secrets Manager, answers are used, and failures open the circuit breaker and fall back
//! to ZIP centroids.

use api_tests::{json_body, Receiver, TestApp};
use serde_json::json;
use shared::auth::Role;

async fn google_app(google: &Receiver) -> TestApp {
    TestApp::spawn_with_google(google, &[]).await
}

fn address() -> serde_json::Value {
    json!({ "street1": "1 Market St", "city": "San Francisco", "state": "CA", "zip": "94105" })
}

#[tokio::test]
async fn google_answers_are_used_with_the_key_from_secrets_manager() {
    let google = Receiver::start().await;
    google.answer_body(json!({ "status": "OK", "results": [{ "geometry": { "location": { "lat": 37.7941, "lng": -122.3951 } } }] }));
    let app = google_app(&google).await;
    let user = app.user(Role::Client).await;
    let created = app
        .call("POST", "/api/addresses", Some(&user.token), Some(address()))
        .await;
    assert_eq!(created.status(), 201);
    let saved = json_body(created).await["address"].clone();
    assert_eq!(saved["geocodeSource"], "google");
    assert_eq!(saved["latitude"], 37.7941);
    let calls = google.received();
    assert_eq!(calls.len(), 1);
    assert!(
        calls[0].uri.starts_with("/maps/api/geocode/json?"),
        "{}",
        calls[0].uri
    );
    assert!(
        calls[0].uri.contains("key=maps-key-123"),
        "the key from Secrets Manager: {}",
        calls[0].uri
    );
    assert!(
        calls[0].uri.contains("address=1+Market+St"),
        "{}",
        calls[0].uri
    );

    google.answer_body(
        json!({ "status": "OK", "rows": [{ "elements": [{ "distance": { "value": 16093 } }] }] }),
    );
    let quote = app
        .call("POST", "/api/pricing/calculate", Some(&user.token), Some(json!({
            "headCount": 10,
            "pickupAddress": { "street1": "1 Market St", "city": "San Francisco", "state": "CA", "zip": "94105" },
            "deliveryAddress": { "street1": "2 Main St", "city": "San Francisco", "state": "CA", "zip": "94105" }
        })))
        .await;
    let quote = json_body(quote).await;
    assert_eq!(quote["distance"], 10.0, "16093 m from the Distance Matrix");
}

#[tokio::test]
async fn failures_open_the_breaker_and_fall_back_to_zip_centroids() {
    let google = Receiver::start().await;
    google.answer_with(&[500; 5]);
    let app = google_app(&google).await;
    let user = app.user(Role::Client).await;
    for _ in 0..5 {
        let created = app
            .call("POST", "/api/addresses", Some(&user.token), Some(address()))
            .await;
        assert_eq!(
            created.status(),
            201,
            "a failing provider never fails the request"
        );
        assert_eq!(
            json_body(created).await["address"]["geocodeSource"],
            "zip_centroid"
        );
    }
    assert_eq!(google.received().len(), 5);
    // The breaker is open: no more calls for the cool-down, straight to the fallback.
    let created = app
        .call("POST", "/api/addresses", Some(&user.token), Some(address()))
        .await;
    assert_eq!(
        json_body(created).await["address"]["geocodeSource"],
        "zip_centroid"
    );
    assert_eq!(google.received().len(), 5);
}
