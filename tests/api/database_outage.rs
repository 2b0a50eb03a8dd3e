//! A database outage is a 503 with `Retry-After` on every kind of route, never a 500 that
//! reads as a bug, and it never lets a session do what it could not with the database up.
//!
//! The app reaches its database through a [`DatabaseLink`] the test cuts and restores
//! (the cluster is shared by the tests running beside this one, so it is never stopped).
//! Before the cut, routes behind the session authorizer answered API Gateway's own 500:
//! the authorizer could not read the account, and an authorizer that fails is a 500.

use std::time::Duration;

use api_tests::{json_body, DatabaseLink, PartnerSpec, TestApp, TestUser};
use serde_json::{json, Value};
use shared::auth::Role;

/// Asserts an outage's answer: 503, a `Retry-After` of whole seconds, and an error body
/// whose code says the service is unavailable (`pick` finds the code in the body's shape).
async fn assert_unavailable(response: reqwest::Response, what: &str, pick: fn(&Value) -> &Value) {
    assert_eq!(response.status(), 503, "{what}");
    let retry_after = response
        .headers()
        .get("retry-after")
        .unwrap_or_else(|| panic!("{what}: no Retry-After"))
        .to_str()
        .expect("text")
        .parse::<u64>()
        .unwrap_or_else(|e| panic!("{what}: Retry-After is not seconds: {e}"));
    assert!((1..=60).contains(&retry_after), "{what}: {retry_after}");
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .expect("id")
        .to_owned();
    let body = json_body(response).await;
    assert_eq!(pick(&body), "service_unavailable", "{what}: {body}");
    let shown_id = if body["error"].is_object() {
        &body["error"]["requestId"]
    } else {
        &body["requestId"]
    };
    assert_eq!(shown_id, request_id.as_str(), "{what}: {body}");
}

fn standard_code(body: &Value) -> &Value {
    &body["error"]["code"]
}

/// The partner API keeps its own error shape, which partners' clients read.
fn partner_code(body: &Value) -> &Value {
    &body["code"]
}

async fn login(app: &TestApp, user: &TestUser) -> reqwest::Response {
    app.call(
        "POST",
        "/api/auth/login",
        None,
        Some(json!({ "email": user.email, "password": user.password })),
    )
    .await
}

async fn partner_view(app: &TestApp) -> reqwest::Response {
    app.partner_get(
        &app.http,
        &format!("/api/partners/orders/{}", uuid::Uuid::new_v4()),
        "catervalley",
        "key-0123456789",
    )
    .await
}

#[tokio::test]
async fn every_kind_of_route_answers_503_with_retry_after_and_recovers_without_a_restart() {
    let (app, link): (TestApp, DatabaseLink) = TestApp::spawn_with_database_link(None).await;
    app.partner(PartnerSpec::new("catervalley", "CV-", "key-0123456789"))
        .await;
    let client = app.user(Role::Client).await;

    link.cut().await;
    // Behind the session authorizer: its first answer for this token comes now, with the
    // account unreadable.
    for path in ["/api/user-orders", "/api/auth/current-user"] {
        let response = app.call("GET", path, Some(&client.token), None).await;
        assert_unavailable(response, path, standard_code).await;
    }
    // Public: sign-in.
    assert_unavailable(login(&app, &client).await, "login", standard_code).await;
    // The partner API, in its own shape.
    assert_unavailable(partner_view(&app).await, "partner view", partner_code).await;
    // Health says unhealthy, with a Retry-After too.
    let health = app.get("/api/health").await;
    assert_eq!(health.status(), 503);
    assert!(health.headers().contains_key("retry-after"));

    link.restore().await;
    // The authorizer's answer for this token is still cached: it is checked again in
    // full, and the client gets its orders.
    let orders = app
        .call("GET", "/api/user-orders", Some(&client.token), None)
        .await;
    assert_eq!(
        orders.status(),
        200,
        "{}",
        orders.text().await.unwrap_or_default()
    );
    let me = app
        .call("GET", "/api/auth/current-user", Some(&client.token), None)
        .await;
    assert_eq!(me.status(), 200);
    assert_eq!(
        json_body(me).await["user"]["id"],
        client.id.to_string().as_str()
    );
    assert_eq!(login(&app, &client).await.status(), 200);
    assert_eq!(partner_view(&app).await.status(), 404);
    assert_eq!(app.get("/api/health").await.status(), 200);
}

#[tokio::test]
async fn an_approval_given_while_the_database_was_down_never_outlasts_the_account() {
    // The authorizer's answers are cached as in AWS: what it approved during the outage
    // is still in its cache after the database is back.
    let (app, link) = TestApp::spawn_with_database_link(Some(Duration::from_secs(60))).await;
    let pending = app.user_with_status(Role::Client, "PENDING").await;
    let deleted = app.user(Role::Client).await;
    let signed_out = app.user(Role::Client).await;
    // Demoted after its token was signed: the token still says ADMIN.
    let demoted = app.user(Role::Admin).await;
    let db = app.direct_db().await;
    db.execute(
        "UPDATE users SET status = 'DELETED', deleted_at = now() WHERE id = $1",
        &[&deleted.id],
    )
    .await
    .expect("delete");
    db.execute(
        "UPDATE users SET role = 'CLIENT' WHERE id = $1",
        &[&demoted.id],
    )
    .await
    .expect("demote");
    let forged = format!("{}x", &pending.token[..pending.token.len() - 1]);

    link.cut().await;
    for (who, path) in [
        (&pending, "/api/auth/current-user"),
        (&deleted, "/api/auth/current-user"),
        (&signed_out, "/api/auth/current-user"),
        (&demoted, "/api/users"),
    ] {
        let response = app.call("GET", path, Some(&who.token), None).await;
        assert_unavailable(response, &format!("{path} as {}", who.email), standard_code).await;
    }
    // Signed out during the outage, after its provisional approval was cached.
    shared::auth::sessions::revoke(&app.state, signed_out.session_id)
        .await
        .expect("sign out");
    // A token whose signature does not verify is refused at once, database or not.
    let refused = app
        .call("GET", "/api/auth/current-user", Some(&forged), None)
        .await;
    assert_eq!(refused.status(), 403);
    let garbage = app
        .call("GET", "/api/user-orders", Some("not-a-token"), None)
        .await;
    assert_eq!(garbage.status(), 403);

    link.restore().await;
    // Each answer above is cached; the function checks them again now that it can.
    for (who, path, status) in [
        (&pending, "/api/auth/current-user", 403),
        (&deleted, "/api/auth/current-user", 403),
        (&signed_out, "/api/auth/current-user", 401),
        (&demoted, "/api/users", 403),
    ] {
        let response = app.call("GET", path, Some(&who.token), None).await;
        assert_eq!(response.status(), status, "{path} as {}", who.email);
        let body = json_body(response).await;
        assert!(body["error"]["code"].is_string(), "{path}: {body}");
    }
}
