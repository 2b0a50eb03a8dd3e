//! Regression tests for the three vulnerability classes of the original platform: an admin
//! panel reachable without an admin session, ids accepted by their *length* instead of
//! being parsed, and objects served without an ownership check.

use api_tests::{json_body, TestApp};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{Duration, Utc};
use shared::auth::{tokens::JwtKeys, Role};

#[tokio::test]
async fn the_admin_panel_needs_a_valid_staff_session() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let admin = app.user(Role::Admin).await;

    let no_token = app.call("GET", "/api/users", None, None).await;
    assert_eq!(no_token.status(), 401);
    let client_token = app
        .call("GET", "/api/users", Some(&client.token), None)
        .await;
    assert_eq!(client_token.status(), 403);
    assert_eq!(json_body(client_token).await["error"]["code"], "forbidden");

    let keys = app.state.jwt().await.expect("keys");
    let foreign_keys = JwtKeys::new(
        &[9u8; 48],
        "readyset",
        "readyset-api",
        Duration::minutes(15),
    )
    .expect("keys");
    let (forged, _) = foreign_keys.issue(admin.id, admin.session_id, Role::SuperAdmin, Utc::now());
    let (expired, _) = keys.issue(
        admin.id,
        admin.session_id,
        Role::Admin,
        Utc::now() - Duration::hours(2),
    );
    let payload = URL_SAFE_NO_PAD.encode(
        serde_json::json!({
            "sub": admin.id, "sid": admin.session_id, "role": "SUPER_ADMIN", "iss": "readyset",
            "aud": "readyset-api", "iat": Utc::now().timestamp(), "exp": (Utc::now() + Duration::hours(1)).timestamp(),
            "jti": uuid::Uuid::new_v4()
        })
        .to_string(),
    );
    let alg_none = format!(
        "{}.{payload}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#)
    );
    let (unknown_session, _) = keys.issue(admin.id, uuid::Uuid::new_v4(), Role::Admin, Utc::now());
    for (name, token) in [
        ("forged", forged.as_str()),
        ("expired", expired.as_str()),
        ("alg:none", alg_none.as_str()),
        ("unknown session", unknown_session.as_str()),
        ("garbage", "not.a.token"),
    ] {
        let response = app.call("GET", "/api/users", Some(token), None).await;
        assert_eq!(response.status(), 403, "{name}");
        assert_eq!(
            json_body(response).await,
            serde_json::json!({ "message": "Forbidden" }),
            "{name}"
        );
    }
    let basic = app
        .http
        .get(app.url("/api/users"))
        .header("authorization", "Basic YWRtaW46YWRtaW4=")
        .send()
        .await
        .expect("request");
    assert_eq!(basic.status(), 403);

    assert_eq!(
        app.call("GET", "/api/users", Some(&admin.token), None)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn ids_of_every_shape_are_parsed_not_measured() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let target = app.user(Role::Client).await;
    let id = target.id.to_string();
    let shapes = [
        "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaaa".to_owned()[..36].replace('a', "z"),
        id.to_uppercase(),
        format!("{{{id}}}"),
        format!("urn:uuid:{id}"),
        id.replace('-', ""),
        format!("{}'--", &id[..33]),
        "' OR '1'='1' --aaaaaaaaaaaaaaaaaaaaa".to_owned(),
        "1 OR 1=1".to_owned(),
        format!("{id}0"),
    ];
    for shape in shapes {
        let encoded: String = url_encode(&shape);
        let response = app
            .call(
                "GET",
                &format!("/api/users/{encoded}"),
                Some(&admin.token),
                None,
            )
            .await;
        assert_eq!(response.status(), 400, "{shape:?} must be rejected");
        let body = json_body(response).await;
        assert_eq!(body["error"]["code"], "invalid_id", "{shape:?}");
        assert!(
            !body.to_string().contains(&target.email),
            "{shape:?} leaked the account"
        );
    }
    assert_eq!(
        app.call("GET", &format!("/api/users/{id}"), Some(&admin.token), None)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn another_users_object_is_404_not_403_and_not_data() {
    let app = TestApp::spawn().await;
    let alice = app.user(Role::Client).await;
    let bob = app.user(Role::Client).await;
    for method in ["GET", "PATCH"] {
        let body = (method == "PATCH").then(|| serde_json::json!({ "name": "Mallory" }));
        let response = app
            .call(
                method,
                &format!("/api/users/{}", bob.id),
                Some(&alice.token),
                body,
            )
            .await;
        assert_eq!(response.status(), 404, "{method}");
        let body = json_body(response).await;
        assert_eq!(body["error"]["code"], "not_found");
        assert!(!body.to_string().contains(&bob.email));
    }
    let missing = app
        .call(
            "GET",
            &format!("/api/users/{}", uuid::Uuid::new_v4()),
            Some(&alice.token),
            None,
        )
        .await;
    assert_eq!(missing.status(), 404, "absent and hidden look the same");
    let name: Option<String> = app
        .db()
        .await
        .query_typed_one(
            "SELECT name FROM users WHERE id = $1",
            &[shared::db::p(&bob.id)],
        )
        .await
        .expect("row")
        .get(0);
    assert_eq!(name.as_deref(), Some("Test User"), "nothing was written");
    assert_eq!(
        app.call(
            "GET",
            &format!("/api/users/{}", alice.id),
            Some(&alice.token),
            None
        )
        .await
        .status(),
        200
    );
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn the_signing_key_rotates_without_signing_anyone_out() {
    // Containers re-read the keys at once here (five minutes in AWS).
    let app = TestApp::spawn_with(&[("SIGNING_KEYS_REFRESH_SECONDS", "0")]).await;
    let during = app.user(Role::Client).await;
    let after = app.user(Role::Client).await;
    let secret_id = app.state.config.auth.jwt_secret_id.clone();
    let old = app
        .state
        .secrets
        .get_secret_value()
        .secret_id(&secret_id)
        .send()
        .await
        .expect("the signing key")
        .secret_string()
        .expect("a string secret")
        .to_owned();
    let new = format!("rotated-{}", uuid::Uuid::new_v4().simple());
    let put = |value: String| {
        let secrets = app.state.secrets.clone();
        let id = secret_id.clone();
        async move {
            secrets
                .put_secret_value()
                .secret_id(id)
                .secret_string(value)
                .send()
                .await
                .expect("rotate the secret");
        }
    };
    let me = |token: String| {
        let app = &app;
        async move {
            app.call("GET", "/api/auth/current-user", Some(&token), None)
                .await
                .status()
                .as_u16()
        }
    };
    let login = |email: String, password: String| {
        let app = &app;
        async move {
            let response = app
                .call(
                    "POST",
                    "/api/auth/login",
                    None,
                    Some(serde_json::json!({ "email": email, "password": password })),
                )
                .await;
            assert_eq!(response.status(), 200);
            json_body(response).await["accessToken"]
                .as_str()
                .expect("token")
                .to_owned()
        }
    };

    // The new key goes first, the old one stays beside it.
    put(format!("{new}\n{old}")).await;
    assert_eq!(
        me(during.token.clone()).await,
        200,
        "tokens of the old key still work"
    );
    let fresh = login(during.email.clone(), during.password.clone()).await;
    assert_eq!(me(fresh.clone()).await, 200);
    let old_only = JwtKeys::new(
        old.as_bytes(),
        "readyset",
        "readyset-api",
        Duration::minutes(15),
    )
    .expect("keys");
    assert!(old_only.verify(&fresh).is_err(), "signed with the new key");

    // Once the old key is removed (after the access-token lifetime), its tokens stop.
    put(new).await;
    assert_eq!(me(fresh).await, 200);
    assert_ne!(
        me(after.token.clone()).await,
        200,
        "the old key's token is refused"
    );
    assert_eq!(
        me(login(after.email.clone(), after.password.clone()).await).await,
        200,
        "signing in again works"
    );
}
