//! Sign-in and refresh budgets and sessions: one office behind one address signs in while
//! one account is guarded, refreshes count per session, two tabs refreshing at once both
//! stay signed in, and a session's item keeps its size however often it rotates.

use api_tests::{json_body, TestApp};
use serde_json::json;
use shared::auth::{sessions, Role};

async fn login_from(app: &TestApp, client: &reqwest::Client, email: &str) -> u16 {
    client
        .post(app.url("/api/auth/login"))
        .json(&json!({ "email": email, "password": "wrong-password-1" }))
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.call(
        "POST",
        "/api/auth/refresh",
        None,
        Some(json!({ "refreshToken": token })),
    )
    .await
}

#[tokio::test]
async fn one_office_can_sign_in_while_one_account_is_guarded() {
    let app = TestApp::spawn().await;
    // Six colleagues behind one NAT: none is turned away.
    for i in 0..6 {
        let status = login_from(&app, &app.http, &format!("colleague{i}@example.com")).await;
        assert_eq!(status, 401, "colleague {i}");
    }
    // One account: five attempts, wherever they come from, then 429.
    for _ in 0..5 {
        assert_eq!(login_from(&app, &app.http, "target@example.com").await, 401);
    }
    let elsewhere = app.client_from([127, 0, 0, 2]);
    assert_eq!(
        login_from(&app, &elsewhere, "target@example.com").await,
        429
    );
    // Sign-ups count per address.
    let signup = |client: reqwest::Client, i: u32| {
        let app = &app;
        async move {
            client
                .post(app.url("/api/auth/signup"))
                .json(&json!({ "email": format!("new{i}@example.com"), "password": "correct-horse-42", "role": "CLIENT", "name": "New" }))
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        }
    };
    for i in 0..5 {
        assert_eq!(signup(app.http.clone(), i).await, 201);
    }
    assert_eq!(signup(app.http.clone(), 5).await, 429);
    assert_eq!(signup(elsewhere.clone(), 6).await, 201);
}

#[tokio::test]
async fn refreshes_count_per_session() {
    let app = TestApp::spawn().await;
    let user = app.user(Role::Client).await;
    let other = app.user(Role::Client).await;
    let mut token = user.refresh_token.clone();
    for i in 0..5 {
        let response = refresh(&app, &token).await;
        assert_eq!(response.status(), 200, "refresh {}", i + 1);
        token = json_body(response).await["refreshToken"]
            .as_str()
            .expect("token")
            .to_owned();
    }
    assert_eq!(refresh(&app, &token).await.status(), 429);
    assert_eq!(
        refresh(&app, &other.refresh_token).await.status(),
        200,
        "another session from the same address is not held back"
    );
}

#[tokio::test]
async fn two_tabs_refreshing_at_once_both_stay_signed_in() {
    let app = TestApp::spawn().await;
    let user = app.user(Role::Vendor).await;
    let (first, second) = tokio::join!(
        refresh(&app, &user.refresh_token),
        refresh(&app, &user.refresh_token)
    );
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let (first, second) = (json_body(first).await, json_body(second).await);
    assert_eq!(
        first["refreshToken"], second["refreshToken"],
        "the same new token"
    );
    let next = first["refreshToken"].as_str().expect("token");
    for answer in [&first, &second] {
        let access = answer["accessToken"].as_str().expect("access token");
        assert_eq!(
            app.call("GET", "/api/auth/current-user", Some(access), None)
                .await
                .status(),
            200
        );
    }
    let later = refresh(&app, next).await;
    assert_eq!(later.status(), 200, "the session lives on");
    // The first token, once the chain has moved past it, is a stolen copy.
    assert_eq!(refresh(&app, &user.refresh_token).await.status(), 401);
    let session = sessions::get(&app.state, user.session_id)
        .await
        .expect("store")
        .expect("session");
    assert!(session.revoked);
}

#[tokio::test]
async fn session_items_stay_the_same_size_however_often_they_rotate() {
    let app = TestApp::spawn().await;
    let user = app.user(Role::Client).await;
    let item_size = || async {
        let item = app
            .state
            .dynamodb
            .get_item()
            .table_name(&app.state.config.resources.app_table)
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("SESSION#{}", user.session_id)),
            )
            .key(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S("SESSION".into()),
            )
            .send()
            .await
            .expect("item")
            .item()
            .cloned()
            .expect("session item");
        (item.len(), format!("{item:?}").len())
    };
    let mut token = user.refresh_token.clone();
    let mut sizes = Vec::new();
    for _ in 0..40 {
        token = sessions::rotate(&app.state, &token)
            .await
            .expect("rotates")
            .1;
        sizes.push(item_size().await);
    }
    assert!(
        sizes.windows(2).skip(1).all(|w| w[0].0 == w[1].0),
        "{sizes:?}"
    );
    let spread =
        sizes.iter().map(|s| s.1).max().unwrap_or(0) - sizes.iter().map(|s| s.1).min().unwrap_or(0);
    assert!(spread <= 8, "only the counter's digits change: {sizes:?}");
}
