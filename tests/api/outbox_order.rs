//! The outbox keeps a partner's view in order: a dead message holds back later ones, so a
//! status never goes backwards, and an unresolvable destination is retried, not dropped.

use std::time::{Duration, Instant};

use crate::support::{draft_with_key, webhook_partner};
use api_tests::{json_body, Receiver, TestApp};
use serde_json::json;
use shared::{auth::Role, outbox::relay};

async fn settle(app: &TestApp) {
    for _ in 0..40 {
        relay::run(&app.state, 50, Instant::now() + Duration::from_secs(5))
            .await
            .expect("relay");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn a_dead_message_holds_back_later_ones_so_status_never_goes_backwards() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    receiver.answer_with(&[400]);
    webhook_partner(&app, &receiver.url).await;
    let admin = app.user(Role::Admin).await;
    let draft = json_body(draft_with_key(&app, None, 10).await).await;
    let id = draft["id"].as_str().expect("id");
    for status in ["ASSIGNED", "IN_PROGRESS"] {
        assert_eq!(
            app.call(
                "PATCH",
                &format!("/api/catering-requests/{id}/status"),
                Some(&admin.token),
                Some(json!({ "status": status }))
            )
            .await
            .status(),
            200
        );
    }
    settle(&app).await;
    assert_eq!(
        receiver.received().len(),
        1,
        "ON_THE_WAY waits behind the dead ASSIGNED"
    );
    let dead = json_body(
        app.call(
            "GET",
            "/api/admin/webhooks?status=DEAD",
            Some(&admin.token),
            None,
        )
        .await,
    )
    .await;
    let event_id = dead["items"][0]["eventId"]
        .as_str()
        .expect("event")
        .to_owned();
    assert_eq!(
        app.call(
            "POST",
            &format!("/api/admin/webhooks/{event_id}/retry"),
            Some(&admin.token),
            None
        )
        .await
        .status(),
        200
    );
    settle(&app).await;
    let statuses: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| r.json()["status"].as_str().expect("status").to_owned())
        .collect();
    assert_eq!(statuses, ["ASSIGNED", "ASSIGNED", "ON_THE_WAY"]);
}

#[tokio::test]
async fn an_unresolvable_destination_is_retried_not_dropped() {
    let app = TestApp::spawn().await;
    webhook_partner(&app, "http://partner-hooks.invalid/readyset").await;
    let admin = app.user(Role::Admin).await;
    let draft = json_body(draft_with_key(&app, None, 10).await).await;
    let id = draft["id"].as_str().expect("id");
    app.call(
        "PATCH",
        &format!("/api/catering-requests/{id}/status"),
        Some(&admin.token),
        Some(json!({ "status": "ASSIGNED" })),
    )
    .await;
    relay::run(&app.state, 10, Instant::now() + Duration::from_secs(10))
        .await
        .expect("relay");
    let row = app
        .db()
        .await
        .query_typed_one("SELECT status, attempts, last_error FROM outbox", &[])
        .await
        .expect("message");
    assert_eq!(row.get::<_, String>(0), "PENDING", "DNS trouble passes");
    assert_eq!(row.get::<_, i32>(1), 1);
    assert!(row
        .get::<_, Option<String>>(2)
        .expect("error")
        .contains("resolve"));
}
