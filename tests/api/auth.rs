//! Accounts and sessions through the local gateway: sign-up, login, refresh rotation and
//! reuse detection, logout, the cookie flow with CSRF, and CORS.

use std::time::Duration;

use api_tests::{json_body, TestApp};
use serde_json::{json, Value};
use shared::auth::Role;

async fn signup(app: &TestApp, body: Value) -> reqwest::Response {
    app.call("POST", "/api/auth/signup", None, Some(body)).await
}

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.call(
        "POST",
        "/api/auth/login",
        None,
        Some(json!({ "email": email, "password": password })),
    )
    .await
}

async fn refresh(app: &TestApp, refresh_token: &str) -> reqwest::Response {
    app.call(
        "POST",
        "/api/auth/refresh",
        None,
        Some(json!({ "refreshToken": refresh_token })),
    )
    .await
}

fn cookie_value(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            c.strip_prefix(&format!("{name}="))
                .map(|rest| rest.split(';').next().unwrap_or("").to_owned())
        })
}

#[tokio::test]
async fn a_new_user_signs_up_logs_in_refreshes_and_logs_out() {
    let app = TestApp::spawn_with_authorizer_ttl(Duration::from_millis(300)).await;
    let created = signup(
        &app,
        json!({ "email": "  Casey.New@Example.com ", "password": "delivery-2026!", "role": "CLIENT", "name": "Casey" }),
    )
    .await;
    assert_eq!(created.status(), 201);
    let user = json_body(created).await["user"].clone();
    assert_eq!(user["email"], "casey.new@example.com");
    assert_eq!(user["type"], "CLIENT");
    assert_eq!(user["status"], "ACTIVE");
    assert!(user.get("passwordHash").is_none() && !user.to_string().contains("argon2"));

    let logged_in = login(&app, "casey.new@example.com", "delivery-2026!").await;
    assert_eq!(logged_in.status(), 200);
    let refresh_cookie = cookie_value(&logged_in, "rs_refresh").expect("refresh cookie");
    let cookies: Vec<String> = logged_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .collect();
    assert!(cookies.iter().any(|c| c.starts_with("rs_refresh=")
        && c.contains("HttpOnly")
        && c.contains("Path=/api/auth")
        && c.contains("SameSite=Strict")
        && c.contains("Secure")));
    assert!(cookies
        .iter()
        .any(|c| c.starts_with("rs_csrf=") && !c.contains("HttpOnly")));
    let tokens = json_body(logged_in).await;
    assert_eq!(tokens["tokenType"], "Bearer");
    assert_eq!(tokens["expiresIn"], 900);
    assert_eq!(tokens["refreshToken"], refresh_cookie);
    let access = tokens["accessToken"]
        .as_str()
        .expect("access token")
        .to_owned();

    let me = app
        .call("GET", "/api/auth/current-user", Some(&access), None)
        .await;
    assert_eq!(me.status(), 200);
    assert_eq!(
        json_body(me).await["user"]["email"],
        "casey.new@example.com"
    );

    let refreshed = refresh(&app, tokens["refreshToken"].as_str().expect("refresh")).await;
    assert_eq!(refreshed.status(), 200);
    let refreshed = json_body(refreshed).await;
    let access = refreshed["accessToken"]
        .as_str()
        .expect("access")
        .to_owned();
    let refresh_token = refreshed["refreshToken"]
        .as_str()
        .expect("refresh")
        .to_owned();
    assert_ne!(refresh_token, tokens["refreshToken"]);
    assert_eq!(
        app.call("GET", "/api/auth/current-user", Some(&access), None)
            .await
            .status(),
        200
    );

    assert_eq!(
        app.call("POST", "/api/auth/logout", Some(&access), None)
            .await
            .status(),
        204
    );
    // The refresh token stops at once.
    let after = refresh(&app, &refresh_token).await;
    assert_eq!(after.status(), 401);
    assert_eq!(
        json_body(after).await["error"]["code"],
        "invalid_refresh_token"
    );
    // The access token stops once the authorizer's cached answer expires.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let denied = app
        .call("GET", "/api/auth/current-user", Some(&access), None)
        .await;
    assert_eq!(denied.status(), 403);
    assert_eq!(json_body(denied).await, json!({ "message": "Forbidden" }));
}

#[tokio::test]
async fn a_cached_authorization_lasts_until_its_ttl() {
    let app = TestApp::spawn().await; // the template's 60 s cache
    let user = app.user(Role::Client).await;
    assert_eq!(
        app.call("GET", "/api/auth/current-user", Some(&user.token), None)
            .await
            .status(),
        200
    );
    assert_eq!(
        app.call("POST", "/api/auth/logout", Some(&user.token), None)
            .await
            .status(),
        204
    );
    // Same Authorization header: API Gateway answers from its cache, as in AWS.
    assert_eq!(
        app.call("GET", "/api/auth/current-user", Some(&user.token), None)
            .await
            .status(),
        200
    );
    // The authorizer itself already refuses the session (a fresh cache key proves it).
    let fresh_key = app
        .http
        .get(app.url("/api/auth/current-user"))
        .header("authorization", format!("bearer {}", user.token))
        .send()
        .await
        .expect("request");
    assert_eq!(fresh_key.status(), 403);
}

#[tokio::test]
async fn signup_rejects_bad_input_with_field_details() {
    let app = TestApp::spawn().await;
    let response = signup(
        &app,
        json!({ "email": "not-an-email", "password": "short", "role": "ADMIN", "name": "" }),
    )
    .await;
    assert_eq!(response.status(), 400);
    let body = json_body(response).await;
    assert_eq!(body["error"]["code"], "validation_failed");
    let fields = api_tests::error_fields(&body);
    assert!(
        ["email", "role", "name"]
            .iter()
            .all(|f| fields.iter().any(|g| g == f)),
        "{fields:?}"
    );

    let weak = signup(
        &app,
        json!({ "email": "a@example.com", "password": "password", "role": "CLIENT", "name": "A" }),
    )
    .await;
    assert_eq!(
        json_body(weak).await["error"]["details"][0]["field"],
        "password"
    );

    let unknown_role = signup(&app, json!({ "email": "a@example.com", "password": "delivery-2026!", "role": "KING", "name": "A" })).await;
    assert_eq!(unknown_role.status(), 400);
    assert_eq!(
        json_body(unknown_role).await["error"]["details"][0]["field"],
        "role"
    );

    let extra_field = signup(&app, json!({ "email": "a@example.com", "password": "delivery-2026!", "role": "CLIENT", "name": "A", "status": "ACTIVE" })).await;
    assert_eq!(extra_field.status(), 400);

    let not_json = app
        .http
        .post(app.url("/api/auth/signup"))
        .header("content-type", "application/json")
        .body("{\"email\":")
        .send()
        .await
        .expect("request");
    assert_eq!(not_json.status(), 400);
    assert_eq!(json_body(not_json).await["error"]["code"], "invalid_json");
}

#[tokio::test]
async fn emails_are_unique_whatever_their_case() {
    let app = TestApp::spawn().await;
    let body = |email: &str| json!({ "email": email, "password": "delivery-2026!", "role": "VENDOR", "name": "V" });
    assert_eq!(signup(&app, body("vendor@example.com")).await.status(), 201);
    let duplicate = signup(&app, body("VENDOR@Example.com")).await;
    assert_eq!(duplicate.status(), 409);
    assert_eq!(json_body(duplicate).await["error"]["code"], "email_taken");
    let count: i64 = app
        .count("SELECT count(*) FROM users WHERE email = 'vendor@example.com'")
        .await;
    assert_eq!(count, 1);
}

#[tokio::test]
async fn drivers_wait_for_approval() {
    let app = TestApp::spawn().await;
    let created = signup(&app, json!({ "email": "dana@example.com", "password": "delivery-2026!", "role": "DRIVER", "name": "Dana" })).await;
    assert_eq!(created.status(), 201);
    assert_eq!(json_body(created).await["user"]["status"], "PENDING");
    let denied = login(&app, "dana@example.com", "delivery-2026!").await;
    assert_eq!(denied.status(), 403);
    assert_eq!(json_body(denied).await["error"]["code"], "account_pending");
    let drivers: i64 = app.count("SELECT count(*) FROM drivers d JOIN users u ON u.id = d.user_id WHERE u.email = 'dana@example.com'").await;
    assert_eq!(drivers, 1);
}

#[tokio::test]
async fn login_failures_look_the_same() {
    let app = TestApp::spawn().await;
    let user = app.user(Role::Client).await;
    let wrong_password = json_body(login(&app, &user.email, "wrong-password-1").await).await;
    let unknown_email =
        json_body(login(&app, "nobody@example.com", "wrong-password-1").await).await;
    assert_eq!(wrong_password["error"]["code"], "invalid_credentials");
    assert_eq!(
        wrong_password["error"]["message"],
        unknown_email["error"]["message"]
    );
    assert_eq!(login(&app, &user.email, &user.password).await.status(), 200);
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_session() {
    // No grace: any reuse is a stolen copy.
    let app = TestApp::spawn_with(&[("REFRESH_REUSE_GRACE_SECONDS", "0")]).await;
    let user = app.user(Role::Vendor).await;
    let first = refresh(&app, &user.refresh_token).await;
    assert_eq!(first.status(), 200);
    let second_token = json_body(first).await["refreshToken"]
        .as_str()
        .expect("token")
        .to_owned();

    // The old token again: someone else holds a copy. The whole session ends.
    let replay = refresh(&app, &user.refresh_token).await;
    assert_eq!(replay.status(), 401);
    assert!(
        cookie_value(&replay, "rs_refresh").is_some_and(|v| v.is_empty()),
        "cookies are cleared"
    );
    assert_eq!(refresh(&app, &second_token).await.status(), 401);
    let session = shared::auth::sessions::get(&app.state, user.session_id)
        .await
        .expect("store")
        .expect("session");
    assert!(session.revoked);
}

#[tokio::test]
async fn malformed_refresh_tokens_are_401() {
    // Each auth route allows 5 calls a minute per IP; this test stays under it.
    let app = TestApp::spawn().await;
    for garbage in [
        "",
        "x",
        "00000000-0000-4000-8000-000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        assert_eq!(refresh(&app, garbage).await.status(), 401, "{garbage:?}");
    }
}

#[tokio::test]
async fn the_refresh_cookie_needs_a_csrf_token_or_a_trusted_origin() {
    let app = TestApp::spawn_with(&[("CORS_ALLOWED_ORIGINS", "https://app.readyset.test")]).await;
    let user = app.user(Role::Client).await;
    let logged_in = login(&app, &user.email, &user.password).await;
    let refresh_cookie = cookie_value(&logged_in, "rs_refresh").expect("cookie");
    let csrf = cookie_value(&logged_in, "rs_csrf").expect("csrf cookie");
    let cookie_header = format!("rs_refresh={refresh_cookie}; rs_csrf={csrf}");

    let forged = app
        .http
        .post(app.url("/api/auth/refresh"))
        .header("cookie", &cookie_header)
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("request");
    assert_eq!(forged.status(), 403);
    assert_eq!(json_body(forged).await["error"]["code"], "csrf_failed");

    let double_submit = app
        .http
        .post(app.url("/api/auth/refresh"))
        .header("cookie", &cookie_header)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .expect("request");
    assert_eq!(double_submit.status(), 200);
    let rotated = cookie_value(&double_submit, "rs_refresh").expect("rotated cookie");

    let trusted_origin = app
        .http
        .post(app.url("/api/auth/refresh"))
        .header("cookie", format!("rs_refresh={rotated}"))
        .header("origin", "https://app.readyset.test")
        .send()
        .await
        .expect("request");
    assert_eq!(trusted_origin.status(), 200);
    assert_eq!(
        trusted_origin.headers()["access-control-allow-origin"],
        "https://app.readyset.test"
    );
    assert_eq!(
        trusted_origin.headers()["access-control-allow-credentials"],
        "true"
    );
}

#[tokio::test]
async fn cors_answers_only_listed_origins() {
    let app = TestApp::spawn_with(&[("CORS_ALLOWED_ORIGINS", "https://app.readyset.test")]).await;
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/api/auth/login"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let allowed = preflight("https://app.readyset.test")
        .await
        .expect("request");
    assert_eq!(allowed.status(), 204);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.readyset.test"
    );
    assert!(allowed.headers()["access-control-allow-headers"]
        .to_str()
        .expect("ascii")
        .contains("authorization"));
    let refused = preflight("https://evil.example").await.expect("request");
    assert!(!refused
        .headers()
        .contains_key("access-control-allow-origin"));

    let plain = app
        .http
        .get(app.url("/api/health"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("request");
    assert!(!plain.headers().contains_key("access-control-allow-origin"));
    assert_eq!(plain.headers()["vary"], "Origin");
}

#[tokio::test]
async fn tokens_of_deleted_accounts_stop_working() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let client = app.user(Role::Client).await;
    let deleted = app
        .call(
            "DELETE",
            &format!("/api/users/{}?reason=fraud", client.id),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        app.call("GET", "/api/auth/current-user", Some(&client.token), None)
            .await
            .status(),
        403
    );
    assert_eq!(refresh(&app, &client.refresh_token).await.status(), 401);
    assert_eq!(
        login(&app, &client.email, &client.password).await.status(),
        401
    );
    let audit: i64 = app
        .db()
        .await
        .query_typed_one(
            "SELECT count(*) FROM user_audits WHERE user_id = $1 AND action = 'DELETE' AND performed_by = $2 AND reason = 'fraud'",
            &[shared::db::p(&client.id), shared::db::p(&admin.id)],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(audit, 1);
}
