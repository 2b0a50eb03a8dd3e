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

/// One Distance Matrix element: `seconds` and ten times as many meters, or unroutable.
fn element(seconds: Option<f64>) -> serde_json::Value {
    match seconds {
        Some(s) => {
            json!({ "status": "OK", "distance": { "value": s * 10.0 }, "duration": { "value": s } })
        }
        None => json!({ "status": "ZERO_RESULTS" }),
    }
}

fn square(n: usize, unroutable: Option<(usize, usize)>) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = (0..n)
        .map(|a| {
            let elements: Vec<serde_json::Value> = (0..n)
                .map(|b| {
                    element((unroutable != Some((a, b))).then_some(100.0 + (a * n + b) as f64))
                })
                .collect();
            json!({ "elements": elements })
        })
        .collect();
    json!({ "status": "OK", "rows": rows })
}

#[tokio::test]
async fn plans_travel_by_google_road_times_cached_and_estimate_what_google_cannot_answer() {
    use shared::{
        geo::Point,
        routing::travel::{matrix, TravelSource},
    };
    let google = Receiver::start().await;
    let app = google_app(&google).await;
    let mut points = vec![
        Point {
            lat: 37.3337,
            lng: -121.8881,
        },
        Point {
            lat: 37.3353,
            lng: -121.8947,
        },
        Point {
            lat: 37.3541,
            lng: -121.9552,
        },
    ];
    google.answer_body(square(3, None));
    let (first, source) = matrix(&app.state, &*app.db().await, &points)
        .await
        .expect("a matrix");
    assert_eq!(source, TravelSource::Google);
    assert_eq!(first.duration(0, 1), 101.0);
    assert_eq!(first.distance(2, 1), 1070.0);
    assert_eq!(first.duration(1, 1), 0.0);
    let calls = google.received();
    assert_eq!(calls.len(), 1, "one tile of 3 × 3");
    assert!(
        calls[0].uri.starts_with("/maps/api/distancematrix/json?"),
        "{}",
        calls[0].uri
    );
    assert!(calls[0].uri.contains("key=maps-key-123"));

    // Asked again, the cache answers: Google is not called.
    let (again, source) = matrix(&app.state, &*app.db().await, &points)
        .await
        .expect("a matrix");
    assert_eq!((source, again), (TravelSource::Google, first.clone()));
    assert_eq!(google.received().len(), 1);

    // A new place: Google is asked again; a pair it cannot route is estimated.
    points.push(Point {
        lat: 37.4419,
        lng: -122.1430,
    });
    google.answer_body(square(4, Some((3, 0))));
    let (mixed, source) = matrix(&app.state, &*app.db().await, &points)
        .await
        .expect("a matrix");
    assert_eq!(source, TravelSource::Mixed);
    assert_eq!(google.received().len(), 2);
    assert_eq!(mixed.duration(0, 3), 103.0);
    let estimated = shared::routing::travel::estimated(&points).expect("an estimate");
    assert_eq!(mixed.duration(3, 0), estimated.duration(3, 0));

    // Google down: the estimate throughout, and the plan still gets a matrix.
    points.push(Point {
        lat: 37.7749,
        lng: -122.4194,
    });
    google.answer_with(&[500, 500, 500, 500, 500, 500]);
    let (fallback, source) = matrix(&app.state, &*app.db().await, &points)
        .await
        .expect("a matrix");
    assert_ne!(source, TravelSource::Google);
    assert_eq!(fallback.duration(4, 0), estimated_for(&points, 4, 0));
}

fn estimated_for(points: &[shared::geo::Point], a: usize, b: usize) -> f64 {
    shared::routing::travel::estimated(points)
        .expect("an estimate")
        .duration(a, b)
}
