//! Customer texts through the emulator's SNS: who is not texted (numbers SNS or a STOP
//! reply opted out, texts switched off), STOP and START replies from the inbound topic,
//! and how long delivery attempts stay listed.

use api_tests::{json_body, TestApp};
use serde_json::{json, Value};
use shared::auth::Role;

/// The order's texts as the outbox holds them: (status, last error), oldest first.
async fn texts_of(app: &TestApp, order_id: &str) -> Vec<(String, Option<String>)> {
    app.db()
        .await
        .query_typed(
            "SELECT status, last_error FROM outbox
              WHERE order_id = $1::text::uuid AND kind = 'CUSTOMER_SMS' ORDER BY id",
            &[shared::db::p(&order_id)],
        )
        .await
        .expect("texts")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// An SNS delivery of incoming texts, as two-way SMS publishes them.
fn replies(texts: &[(&str, &str)]) -> Value {
    let records: Vec<Value> = texts
        .iter()
        .map(|(from, body)| {
            let message = json!({
                "originationNumber": from,
                "destinationNumber": "+12125550101",
                "messageKeyword": "KEYWORD_123456789012",
                "messageBody": body,
                "inboundMessageId": uuid::Uuid::new_v4().to_string(),
            });
            json!({ "EventSource": "aws:sns", "Sns": { "Message": message.to_string() } })
        })
        .collect();
    json!({ "Records": records })
}

async fn opt_out_of(app: &TestApp, phone: &str) -> Option<(String, Option<String>)> {
    app.db()
        .await
        .query_typed_opt(
            "SELECT source, keyword FROM sms_opt_outs WHERE phone = $1",
            &[shared::db::p(&phone)],
        )
        .await
        .expect("opt-out")
        .map(|r| (r.get(0), r.get(1)))
}

#[tokio::test]
async fn a_number_that_opted_out_gets_no_texts_and_stop_and_start_replies_are_kept() {
    let app = TestApp::spawn().await;
    let staff = app.user(Role::Admin).await;
    let driver = app.user(Role::Driver).await;

    // A number SNS reports as opted out (the emulator: any ending in 99).
    let carrier_out = app.user(Role::Client).await;
    let phone_a = app.give_phone(&carrier_out, "99").await;
    let (order_a, number_a) = app.order_of(&carrier_out).await;
    app.assign_driver(&staff, &order_a, &driver).await;
    app.relay_all().await;
    let texts = texts_of(&app, &order_a).await;
    assert_eq!(texts.len(), 1);
    assert_eq!(texts[0].0, "SKIPPED");
    assert!(
        texts[0].1.as_deref().is_some_and(|e| e.contains("SNS")),
        "{texts:?}"
    );
    assert_eq!(
        opt_out_of(&app, &phone_a).await,
        Some(("CARRIER".into(), None))
    );
    assert!(app.texts_to(&phone_a).await.is_empty());
    // Known now: the next notice is emailed only.
    assert_eq!(
        app.report_status(&driver, &number_a, "PICKED_UP")
            .await
            .status(),
        200,
        "PICKED_UP"
    );
    assert_eq!(texts_of(&app, &order_a).await.len(), 1);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM outbox WHERE order_id = '{order_a}' AND kind = 'CUSTOMER_EMAIL'"
        ))
        .await,
        2
    );

    // A customer who replies STOP after a text was queued: it is not sent.
    let replier = app.user(Role::Client).await;
    let phone_b = app.give_phone(&replier, "42").await;
    let (order_b, number_b) = app.order_of(&replier).await;
    app.assign_driver(&staff, &order_b, &driver).await;
    assert_eq!(texts_of(&app, &order_b).await.len(), 1);
    let handled = app
        .run_job("sms-inbound", replies(&[(&phone_b, "Stop.")]))
        .await
        .expect("replies");
    assert_eq!(handled["optedOut"], 1);
    assert_eq!(
        opt_out_of(&app, &phone_b).await,
        Some(("REPLY".into(), Some("STOP".into())))
    );
    app.relay_all().await;
    let texts = texts_of(&app, &order_b).await;
    assert_eq!(texts[0].0, "SKIPPED");
    assert!(
        texts[0].1.as_deref().is_some_and(|e| e.contains("STOP")),
        "{texts:?}"
    );
    assert_eq!(
        app.report_status(&driver, &number_b, "PICKED_UP")
            .await
            .status(),
        200,
        "PICKED_UP"
    );
    assert_eq!(
        texts_of(&app, &order_b).await.len(),
        1,
        "not queued while opted out"
    );
    assert!(app.texts_to(&phone_b).await.is_empty());

    // START: texted again from the next notice.
    let handled = app
        .run_job("sms-inbound", replies(&[(&phone_b, "start")]))
        .await
        .expect("replies");
    assert_eq!(handled["optedIn"], 1);
    assert_eq!(opt_out_of(&app, &phone_b).await, None);
    assert_eq!(
        app.report_status(&driver, &number_b, "ARRIVED_TO_CLIENT")
            .await
            .status(),
        200,
        "ARRIVED_TO_CLIENT"
    );
    app.relay_all().await;
    let texts = texts_of(&app, &order_b).await;
    assert_eq!(texts.len(), 2);
    assert_eq!(texts[1].0, "DELIVERED");
    let received = app.texts_to(&phone_b).await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert!(received[0].contains("is arriving"), "{received:?}");

    // Other replies are not kept; records that are no incoming text are skipped.
    let mut mixed = replies(&[(&phone_b, "where is my food? stop"), ("555-0100", "STOP")]);
    mixed["Records"]
        .as_array_mut()
        .expect("records")
        .push(json!({ "Sns": { "Message": "not json" } }));
    let handled = app.run_job("sms-inbound", mixed).await.expect("replies");
    assert_eq!(handled["other"], 1);
    assert_eq!(handled["skipped"], 2);
    assert_eq!(opt_out_of(&app, &phone_b).await, None);
}

#[tokio::test]
async fn texts_switched_off_are_recorded_and_skipped_while_emails_go() {
    let app = TestApp::spawn_with(&[("CUSTOMER_SMS", "false")]).await;
    let staff = app.user(Role::Admin).await;
    let driver = app.user(Role::Driver).await;
    let owner = app.user(Role::Client).await;
    let phone = app.give_phone(&owner, "17").await;
    let (order_id, _) = app.order_of(&owner).await;
    app.assign_driver(&staff, &order_id, &driver).await;
    let report = app.relay_all().await;
    assert_eq!((report.delivered, report.skipped), (1, 1));
    let texts = texts_of(&app, &order_id).await;
    assert_eq!(texts[0].0, "SKIPPED");
    assert!(
        texts[0]
            .1
            .as_deref()
            .is_some_and(|e| e.contains("CUSTOMER_SMS")),
        "{texts:?}"
    );
    assert!(app.texts_to(&phone).await.is_empty());
    assert_eq!(app.emails_to(&owner.email).await.len(), 1);
}

#[tokio::test]
async fn delivery_attempts_stay_listed_for_the_retention_then_go_with_settled_messages() {
    let app = TestApp::spawn().await;
    let owner = app.user(Role::Client).await;
    let staff = app.user(Role::Admin).await;
    let (order_id, _) = app.order_of(&owner).await;
    let db = app.db().await;
    // (name, status, message age in days, attempt ages in days)
    let cases: [(&str, &str, i32, &[i32]); 5] = [
        ("old-delivered", "DELIVERED", 20, &[20]),
        ("old-but-retried-lately", "DELIVERED", 20, &[16, 2]),
        ("old-dead", "DEAD", 20, &[19]),
        ("recent", "DELIVERED", 14, &[14]),
        ("old-pending", "PENDING", 20, &[]),
    ];
    for (name, status, age, attempts) in cases {
        let id: i64 = db
            .query_typed_one(
                "INSERT INTO outbox (kind, order_id, payload, status, created_at)
                 VALUES ('CUSTOMER_EMAIL', $1::text::uuid, jsonb_build_object('name', $2::text), $3,
                         now() - make_interval(days => $4))
                 RETURNING id",
                &[
                    shared::db::p(&order_id),
                    shared::db::p(&name),
                    shared::db::p(&status),
                    shared::db::p(&age),
                ],
            )
            .await
            .expect("message")
            .get(0);
        for days in attempts {
            db.execute_typed(
                "INSERT INTO outbox_attempts (outbox_id, attempted_at, status_code, latency_ms, succeeded)
                 VALUES ($1, now() - make_interval(days => $2), 200, 12, true)",
                &[shared::db::p(&id), shared::db::p(days)],
            )
            .await
            .expect("attempt");
        }
    }
    let pruned = app
        .run_job("outbox-retention", json!({}))
        .await
        .expect("retention");
    assert_eq!(
        (pruned["attempts"].as_u64(), pruned["messages"].as_u64()),
        (Some(3), Some(1))
    );
    let listed = app
        .call(
            "GET",
            &format!("/api/admin/webhooks?order={order_id}"),
            Some(&staff.token),
            None,
        )
        .await;
    assert_eq!(listed.status(), 200);
    let listed = json_body(listed).await;
    let mut kept: Vec<(String, usize)> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| {
            (
                m["payload"]["name"].as_str().expect("name").to_owned(),
                m["recentAttempts"].as_array().map_or(0, Vec::len),
            )
        })
        .collect();
    kept.sort();
    assert_eq!(
        kept,
        [
            ("old-but-retried-lately".to_owned(), 1),
            ("old-dead".to_owned(), 0),
            ("old-pending".to_owned(), 0),
            ("recent".to_owned(), 1),
        ]
    );
    let again = app
        .run_job("outbox-retention", json!({}))
        .await
        .expect("retention");
    assert_eq!(
        (again["attempts"].as_u64(), again["messages"].as_u64()),
        (Some(0), Some(0))
    );
}

#[tokio::test]
async fn every_attempt_of_a_message_is_listed_page_by_page_to_staff_alone() {
    let app = TestApp::spawn().await;
    let owner = app.user(Role::Client).await;
    let staff = app.user(Role::Admin).await;
    let vendor = app.user(Role::Vendor).await;
    let (order_id, _) = app.order_of(&owner).await;
    let db = app.db().await;
    let row = db
        .query_typed_one(
            "INSERT INTO outbox (kind, order_id, payload, status, attempts)
             VALUES ('CUSTOMER_SMS', $1::text::uuid, '{}', 'DEAD', 7) RETURNING id, event_id",
            &[shared::db::p(&order_id)],
        )
        .await
        .expect("message");
    let (id, event_id): (i64, uuid::Uuid) = (row.get(0), row.get(1));
    // Seven tries a minute apart: six refused by the receiver, the last unanswered.
    for minute in 0..7 {
        let status_code: Option<i32> = (minute < 6).then_some(503);
        db.execute_typed(
            "INSERT INTO outbox_attempts (outbox_id, attempted_at, status_code, latency_ms, error, succeeded)
             VALUES ($1, now() - make_interval(mins => 10 - $2), $3, 40 + $2, 'try ' || $2, false)",
            &[shared::db::p(&id), shared::db::p(&minute), shared::db::p(&status_code)],
        )
        .await
        .expect("attempt");
    }
    let path = format!("/api/admin/webhooks/{event_id}/attempts");
    for who in [&owner, &vendor] {
        let refused = app.call("GET", &path, Some(&who.token), None).await;
        assert_eq!(refused.status(), 403, "{:?}", who.role);
    }
    let first = app
        .call("GET", &format!("{path}?limit=5"), Some(&staff.token), None)
        .await;
    assert_eq!(first.status(), 200);
    let first = json_body(first).await;
    let errors = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|a| a["error"].as_str().expect("error").to_owned())
            .collect()
    };
    assert_eq!(
        errors(&first),
        ["try 6", "try 5", "try 4", "try 3", "try 2"]
    );
    assert!(first["items"][0]["statusCode"].is_null());
    assert_eq!(first["items"][1]["statusCode"], 503);
    assert_eq!(first["items"][1]["latencyMs"], 45);
    let cursor = first["nextCursor"].as_str().expect("another page");
    let second = app
        .call(
            "GET",
            &format!("{path}?limit=5&cursor={cursor}"),
            Some(&staff.token),
            None,
        )
        .await;
    let second = json_body(second).await;
    assert_eq!(errors(&second), ["try 1", "try 0"]);
    assert!(second["nextCursor"].is_null());

    let unknown = app
        .call(
            "GET",
            &format!("/api/admin/webhooks/{}/attempts", uuid::Uuid::new_v4()),
            Some(&staff.token),
            None,
        )
        .await;
    assert_eq!(unknown.status(), 404);
    for bad in [
        "/api/admin/webhooks/not-an-id/attempts".to_owned(),
        format!("{path}?limit=0"),
        format!("{path}?cursor=zz"),
    ] {
        let refused = app.call("GET", &bad, Some(&staff.token), None).await;
        assert_eq!(refused.status(), 400, "{bad}");
    }
}
