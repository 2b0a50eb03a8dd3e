//! The local gateway behaves like API Gateway in front of the handlers.

use api_tests::{json_body, TestApp};

#[tokio::test]
async fn unknown_routes_are_404_with_the_error_shape_and_headers() {
    let app = TestApp::spawn().await;
    let response = app.get("/api/no-such-route").await;
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert!(response.headers().contains_key("strict-transport-security"));
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .expect("id")
        .to_owned();
    let body = json_body(response).await;
    assert_eq!(body["error"]["code"], "route_not_found");
    assert_eq!(body["error"]["requestId"], request_id);
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .delete(app.url("/api/health"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, HEAD");
    let body = json_body(response).await;
    assert_eq!(body["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn bodies_over_the_gateway_limit_are_413() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .get(app.url("/api/health"))
        .body(vec![b'x'; 10 * 1024 * 1024 + 1])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 413);
    assert_eq!(
        json_body(response).await["error"]["code"],
        "payload_too_large"
    );
}

#[tokio::test]
async fn bodies_over_the_function_limit_are_413_before_the_handler() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .get(app.url("/api/health"))
        .body(vec![b'x'; shared::input::MAX_BODY_BYTES + 1])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn query_strings_and_trailing_slashes_reach_the_route() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/api/health/?verbose=1&x=%20").await.status(), 200);
}
