//! What happens to uploaded files after they are uploaded: expiry, lists, removal, proof
//! of delivery, the cleanup job, the bucket's settings, and every role against every
//! files route.

use api_tests::{
    error_fields, json_body, put_signed, repo_root, upload_request, TestApp, TestUser, Uploaded,
    UPLOAD_BYTES,
};
use serde_json::{json, Value};
use shared::{
    auth::Role,
    db::p,
    runtime::{handle_event, JobLog, Lambda},
};

#[tokio::test]
async fn an_upload_made_after_its_url_expired_is_refused_and_removed() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let own = client.id.to_string();
    let signed = app
        .sign_upload(&client, upload_request("POD", "user", &own))
        .await;
    let url = signed["signedUrl"].as_str().expect("url");
    assert!(url.contains("X-Amz-Expires=600"), "ten minutes: {url}");

    // S3 refuses an expired presigned PUT; the emulator does not, so the object it stores
    // stands for one written another way after the deadline. Issued an hour ago:
    let db = app.db().await;
    let backdate = "UPDATE file_uploads SET uploaded_at = now() - interval '1 hour' WHERE id = $1";
    let id: uuid::Uuid = signed["uploadId"]
        .as_str()
        .expect("id")
        .parse()
        .expect("uuid");
    db.execute_typed(backdate, &[p(&id)])
        .await
        .expect("backdate");
    assert!(put_signed(&signed, UPLOAD_BYTES, None)
        .await
        .status()
        .is_success());
    let late = app.complete_upload(&client, &id.to_string()).await;
    assert_eq!(late.status(), 410);
    assert_eq!(json_body(late).await["error"]["code"], "upload_expired");
    assert!(
        !app.object_exists(signed["path"].as_str().expect("path"))
            .await
    );

    // Expired with nothing uploaded: refused too, not "not yet".
    let never = app
        .sign_upload(&client, upload_request("POD", "user", &own))
        .await;
    let never_id: uuid::Uuid = never["uploadId"]
        .as_str()
        .expect("id")
        .parse()
        .expect("uuid");
    db.execute_typed(backdate, &[p(&never_id)])
        .await
        .expect("backdate");
    assert_eq!(
        app.complete_upload(&client, &never_id.to_string())
            .await
            .status(),
        410
    );
    assert_eq!(app.count("SELECT count(*) FROM file_uploads").await, 0);
}

#[tokio::test]
async fn lists_page_through_what_the_caller_may_see_and_nothing_else() {
    let app = TestApp::spawn().await;
    let owner = app.user(Role::Client).await;
    let (order_id, number) = app.order_of(&owner).await;
    let mut uploaded = Vec::new();
    for _ in 0..3 {
        uploaded.push(
            app.active_upload(&owner, "DOCUMENT", "order", &order_id)
                .await,
        );
    }
    // Not listed: a pending upload, a removed file, a file on the owner's account.
    app.sign_upload(&owner, upload_request("POD", "order", &order_id))
        .await;
    let removed = app
        .active_upload(&owner, "DOCUMENT", "order", &order_id)
        .await;
    let gone = app
        .call(
            "DELETE",
            &format!("/api/file-uploads/{}", removed.id),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(gone.status(), 204);
    let on_account = app
        .active_upload(&owner, "DOCUMENT", "user", &owner.id.to_string())
        .await;

    let entity_list = format!("/api/file-uploads?entityType=order&entityId={order_id}");
    let first = json_body(
        app.call(
            "GET",
            &format!("{entity_list}&limit=2"),
            Some(&owner.token),
            None,
        )
        .await,
    )
    .await;
    let cursor = first["nextCursor"].as_str().expect("a second page");
    let second = json_body(
        app.call(
            "GET",
            &format!("{entity_list}&limit=2&cursor={cursor}"),
            Some(&owner.token),
            None,
        )
        .await,
    )
    .await;
    assert!(second["nextCursor"].is_null());
    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|f| f["id"].as_str().expect("id").to_owned())
            .collect()
    };
    let mut listed = [ids(&first), ids(&second)].concat();
    let newest_first: Vec<String> = uploaded.iter().rev().map(|u| u.id.clone()).collect();
    assert_eq!(listed, newest_first, "newest first, each once");
    assert_eq!(first["items"][0]["entityType"], "order");
    assert_eq!(first["items"][0]["uploadedBy"], owner.id.to_string());

    // The order's own route lists the same; staff see it too.
    let staff = app.user(Role::Helpdesk).await;
    for reader in [&owner, &staff] {
        let page = json_body(
            app.call(
                "GET",
                &format!("/api/orders/{number}/files"),
                Some(&reader.token),
                None,
            )
            .await,
        )
        .await;
        listed = ids(&page);
        assert_eq!(listed, newest_first);
    }

    // The account's files: what it uploaded and what is attached to it.
    let account = json_body(
        app.call(
            "GET",
            &format!("/api/users/{}/files", owner.id),
            Some(&owner.token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(ids(&account).len(), 4);
    assert_eq!(ids(&account)[0], on_account.id);

    // Strangers learn nothing: every list is a 404.
    let stranger = app.user(Role::Client).await;
    for path in [
        entity_list.clone(),
        format!("/api/orders/{number}/files"),
        format!("/api/users/{}/files", owner.id),
        format!("/api/file-uploads?entityType=user&entityId={}", owner.id),
    ] {
        let response = app.call("GET", &path, Some(&stranger.token), None).await;
        assert_eq!(response.status(), 404, "{path}");
    }
    let unknown_user = format!("/api/users/{}/files", uuid::Uuid::new_v4());
    assert_eq!(
        app.call("GET", &unknown_user, Some(&staff.token), None)
            .await
            .status(),
        404
    );

    // Bad queries are 400 naming the field.
    for (query, field) in [
        ("entityId=".to_owned() + &order_id, "entityType"),
        ("entityType=order&entityId=nope".to_owned(), "entityId"),
        (
            "entityType=planet&entityId=".to_owned() + &order_id,
            "entityType",
        ),
    ] {
        let response = app
            .call(
                "GET",
                &format!("/api/file-uploads?{query}"),
                Some(&owner.token),
                None,
            )
            .await;
        assert_eq!(response.status(), 400, "{query}");
        assert!(error_fields(&json_body(response).await)
            .iter()
            .any(|f| f == field));
    }
    let bad_cursor = app
        .call(
            "GET",
            &format!("{entity_list}&cursor=xyz"),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(bad_cursor.status(), 400);
    assert_eq!(
        app.call("GET", &entity_list, None, None).await.status(),
        401
    );
}

#[tokio::test]
async fn removal_is_for_the_uploader_or_staff_and_hides_the_file() {
    let app = TestApp::spawn().await;
    let owner = app.user(Role::Client).await;
    let (order_id, _) = app.order_of(&owner).await;
    let staff = app.user(Role::Admin).await;
    // Staff attach a file to the owner's order: the owner sees it but may not remove it.
    let staff_file = app
        .active_upload(&staff, "DOCUMENT", "order", &order_id)
        .await;
    let path = |file: &Uploaded| format!("/api/file-uploads/{}", file.id);
    assert_eq!(
        app.call("GET", &path(&staff_file), Some(&owner.token), None)
            .await
            .status(),
        200
    );
    let refused = app
        .call("DELETE", &path(&staff_file), Some(&owner.token), None)
        .await;
    assert_eq!(refused.status(), 403);
    let stranger = app.user(Role::Vendor).await;
    assert_eq!(
        app.call("DELETE", &path(&staff_file), Some(&stranger.token), None)
            .await
            .status(),
        404
    );

    let own = app
        .active_upload(&owner, "DOCUMENT", "order", &order_id)
        .await;
    assert_eq!(
        app.call("DELETE", &path(&own), Some(&owner.token), None)
            .await
            .status(),
        204
    );
    assert_eq!(
        app.call("GET", &path(&own), Some(&owner.token), None)
            .await
            .status(),
        404
    );
    assert_eq!(
        app.call("DELETE", &path(&own), Some(&owner.token), None)
            .await
            .status(),
        404,
        "removed once"
    );
    // Soft: the row says who removed it; the object waits for the cleanup job.
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM file_uploads WHERE id = '{}' AND deleted_by = '{}'",
            own.id, owner.id
        ))
        .await,
        1
    );
    assert!(app.object_exists(&own.path).await);

    // An upload never completed may be withdrawn by its uploader.
    let pending = app
        .sign_upload(&owner, upload_request("POD", "order", &order_id))
        .await;
    let withdraw = format!(
        "/api/file-uploads/{}",
        pending["uploadId"].as_str().expect("id")
    );
    assert_eq!(
        app.call("DELETE", &withdraw, Some(&staff.token), None)
            .await
            .status(),
        404
    );
    assert_eq!(
        app.call("DELETE", &withdraw, Some(&owner.token), None)
            .await
            .status(),
        204
    );
    assert_eq!(
        app.call("DELETE", &path(&staff_file), Some(&staff.token), None)
            .await
            .status(),
        204
    );
}

async fn prove(
    app: &TestApp,
    user: &TestUser,
    number: &str,
    kind: &str,
    upload_id: &str,
) -> reqwest::Response {
    app.call(
        "POST",
        &format!("/api/orders/{number}/{kind}"),
        Some(&user.token),
        Some(json!({ "uploadId": upload_id })),
    )
    .await
}

#[tokio::test]
async fn the_assigned_driver_records_proof_of_delivery_with_their_own_uploads() {
    let app = TestApp::spawn().await;
    let owner = app.user(Role::Client).await;
    let (order_id, number) = app.order_of(&owner).await;
    let driver = app.user(Role::Driver).await;
    app.dispatch(&driver, &order_id).await;

    let photo = app.active_upload(&driver, "POD", "order", &order_id).await;
    let answer = prove(&app, &driver, &number, "pod", &photo.id).await;
    assert_eq!(answer.status(), 200);
    let delivery = json_body(answer).await["delivery"].clone();
    assert_eq!(delivery["orderId"], order_id.as_str());
    assert_eq!(delivery["proofOfDelivery"]["uploadId"], photo.id.as_str());
    assert!(delivery["signature"].is_null());

    let signature = app
        .active_upload(&driver, "SIGNATURE", "order", &order_id)
        .await;
    let answer = json_body(prove(&app, &driver, &number, "signature", &signature.id).await).await;
    assert_eq!(
        answer["delivery"]["signature"]["uploadId"],
        signature.id.as_str()
    );
    assert_eq!(
        answer["delivery"]["proofOfDelivery"]["uploadId"],
        photo.id.as_str()
    );
    // A retaken photo replaces the first on the same delivery.
    let retaken = app.active_upload(&driver, "POD", "order", &order_id).await;
    let answer = json_body(prove(&app, &driver, &number, "pod", &retaken.id).await).await;
    assert_eq!(
        answer["delivery"]["proofOfDelivery"]["uploadId"],
        retaken.id.as_str()
    );
    assert_eq!(answer["delivery"]["deliveryId"], delivery["deliveryId"]);
    assert_eq!(app.count("SELECT count(*) FROM deliveries").await, 1);

    // The owner sees the proof among the order's files, and nobody removes it.
    let files = json_body(
        app.call(
            "GET",
            &format!("/api/orders/{number}/files"),
            Some(&owner.token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(files["items"].as_array().expect("items").len(), 3);
    let keep = app
        .call(
            "DELETE",
            &format!("/api/file-uploads/{}", retaken.id),
            Some(&driver.token),
            None,
        )
        .await;
    assert_eq!(keep.status(), 409);
    assert_eq!(json_body(keep).await["error"]["code"], "file_in_use");

    // What is refused, and with what.
    let document = app
        .active_upload(&driver, "DOCUMENT", "order", &order_id)
        .await;
    let wrong = prove(&app, &driver, &number, "pod", &document.id).await;
    assert_eq!(wrong.status(), 422);
    assert_eq!(json_body(wrong).await["error"]["code"], "wrong_category");
    let wrong = prove(&app, &driver, &number, "signature", &photo.id).await;
    assert_eq!(wrong.status(), 422);
    let (other_id, other_number) = app.order_of(&owner).await;
    app.dispatch(&driver, &other_id).await;
    let misfiled = prove(&app, &driver, &other_number, "pod", &photo.id).await;
    assert_eq!(misfiled.status(), 422);
    assert_eq!(json_body(misfiled).await["error"]["code"], "wrong_entity");
    let owners_photo = app.active_upload(&owner, "POD", "order", &order_id).await;
    assert_eq!(
        prove(&app, &driver, &number, "pod", &owners_photo.id)
            .await
            .status(),
        404,
        "another's upload"
    );
    let pending = app
        .sign_upload(&driver, upload_request("POD", "order", &order_id))
        .await;
    let pending_id = pending["uploadId"].as_str().expect("id");
    assert_eq!(
        prove(&app, &driver, &number, "pod", pending_id)
            .await
            .status(),
        404
    );
    assert_eq!(
        prove(&app, &owner, &number, "pod", &owners_photo.id)
            .await
            .status(),
        403
    );
    let other_driver = app.user(Role::Driver).await;
    assert_eq!(
        prove(&app, &other_driver, &number, "pod", &photo.id)
            .await
            .status(),
        404,
        "an order they do not deliver"
    );
    let missing = app
        .call(
            "POST",
            &format!("/api/orders/{number}/pod"),
            Some(&driver.token),
            Some(json!({})),
        )
        .await;
    assert_eq!(missing.status(), 400);

    let staff = app.user(Role::Helpdesk).await;
    let cancelled = app
        .call(
            "PATCH",
            &format!("/api/catering-requests/{other_id}/status"),
            Some(&staff.token),
            Some(json!({ "status": "CANCELLED" })),
        )
        .await;
    assert_eq!(cancelled.status(), 200);
    let late = app.active_upload(&driver, "POD", "order", &other_id).await;
    let closed = prove(&app, &driver, &other_number, "pod", &late.id).await;
    assert_eq!(closed.status(), 409);
    assert_eq!(json_body(closed).await["error"]["code"], "order_closed");
    assert_eq!(
        app.count("SELECT count(*) FROM deliveries").await,
        1,
        "nothing half-written"
    );
}

async fn run_cleanup(app: &TestApp, event: Value) -> Result<Value, String> {
    let function = functions::find("upload-cleanup").expect("registered");
    let Lambda::Event(cleanup) = function.lambda else {
        panic!("an event function");
    };
    handle_event(
        &app.state,
        "upload-cleanup",
        "test",
        cleanup.handler,
        event,
        JobLog::Every,
    )
    .await
    .map_err(|e| e.to_string())
}

#[tokio::test]
async fn the_cleanup_job_removes_stale_uploads_and_old_deleted_files_only_when_scheduled() {
    let app = TestApp::spawn().await;
    let owner = app.user(Role::Client).await;
    let own = owner.id.to_string();
    // Due: a pending upload from two days ago (its object too), a file deleted 31 days ago.
    let stale = app
        .sign_upload(&owner, upload_request("POD", "user", &own))
        .await;
    assert!(put_signed(&stale, UPLOAD_BYTES, None)
        .await
        .status()
        .is_success());
    let old = app.active_upload(&owner, "DOCUMENT", "user", &own).await;
    // Not due: a pending upload of today, a file deleted yesterday, an active file.
    let fresh = app
        .sign_upload(&owner, upload_request("POD", "user", &own))
        .await;
    let recent = app.active_upload(&owner, "DOCUMENT", "user", &own).await;
    let kept = app.active_upload(&owner, "DOCUMENT", "user", &own).await;
    let db = app.db().await;
    let stale_id: uuid::Uuid = stale["uploadId"]
        .as_str()
        .expect("id")
        .parse()
        .expect("uuid");
    db.execute_typed(
        "UPDATE file_uploads SET uploaded_at = now() - interval '2 days' WHERE id = $1",
        &[p(&stale_id)],
    )
    .await
    .expect("age");
    for (file, age) in [(&old, "31 days"), (&recent, "1 day")] {
        let id: uuid::Uuid = file.id.parse().expect("uuid");
        db.execute_typed(
            &format!("UPDATE file_uploads SET deleted_at = now() - interval '{age}' WHERE id = $1"),
            &[p(&id)],
        )
        .await
        .expect("delete");
    }

    // By hand: a dry run that names what is due and removes nothing.
    let dry = run_cleanup(&app, json!({})).await.expect("dry run");
    assert_eq!(dry["dryRun"], true);
    assert_eq!(dry["stalePending"]["files"], 1);
    assert_eq!(
        dry["deletedPastRetention"],
        json!({"files": 1, "bytes": 11})
    );
    assert_eq!(app.count("SELECT count(*) FROM file_uploads").await, 5);
    assert!(
        app.object_exists(stale["path"].as_str().expect("path"))
            .await
    );
    assert!(run_cleanup(&app, json!({"dryRun": "no"})).await.is_err());

    // On EventBridge's schedule: removed, rows and objects.
    let scheduled: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("events/upload-cleanup.json")).expect("event"),
    )
    .expect("json");
    let done = run_cleanup(&app, scheduled).await.expect("run");
    assert_eq!(done["dryRun"], false);
    assert_eq!(done["stalePending"]["files"], 1);
    assert_eq!(done["deletedPastRetention"]["files"], 1);
    assert_eq!(done["failed"], 0);
    assert!(
        !app.object_exists(stale["path"].as_str().expect("path"))
            .await
    );
    assert!(!app.object_exists(&old.path).await);
    for left in [
        &recent.path,
        &kept.path,
        fresh["path"].as_str().expect("path"),
    ] {
        let row = app
            .count(&format!(
                "SELECT count(*) FROM file_uploads WHERE s3_key = '{left}'"
            ))
            .await;
        assert_eq!(row, 1, "{left} stays");
    }
    assert!(app.object_exists(&recent.path).await);
    assert_eq!(app.count("SELECT count(*) FROM file_uploads").await, 3);
    // Asked explicitly, a manual run removes too; nothing is due any more.
    let again = run_cleanup(&app, json!({"dryRun": false}))
        .await
        .expect("run");
    assert_eq!(again["stalePending"]["files"], 0);
}

#[tokio::test]
async fn the_uploads_bucket_allows_the_web_origins_and_aborts_stale_multipart_uploads() {
    let app = TestApp::spawn_with(&[("CORS_ALLOWED_ORIGINS", "https://app.readyset.test")]).await;
    let bucket = &app.state.config.resources.uploads_bucket;
    let cors = app
        .state
        .s3
        .get_bucket_cors()
        .bucket(bucket)
        .send()
        .await
        .expect("cors");
    let rule = &cors.cors_rules()[0];
    assert_eq!(rule.allowed_origins(), ["https://app.readyset.test"]);

    // The emulator's rule is the template's (whose origins are the AllowedOrigins parameter).
    let template: yaml_serde::Value = yaml_serde::from_str(
        &std::fs::read_to_string(repo_root().join("template.yaml")).expect("template"),
    )
    .expect("yaml");
    let props = &template["Resources"]["UploadsBucket"]["Properties"];
    let declared = &props["CorsConfiguration"]["CorsRules"][0];
    let strings = |v: &yaml_serde::Value| -> Vec<String> {
        v.as_sequence()
            .expect("list")
            .iter()
            .map(|s| s.as_str().expect("text").to_owned())
            .collect()
    };
    assert_eq!(rule.allowed_methods(), strings(&declared["AllowedMethods"]));
    assert_eq!(rule.allowed_headers(), strings(&declared["AllowedHeaders"]));
    assert_eq!(rule.expose_headers(), strings(&declared["ExposedHeaders"]));
    let rules = &props["LifecycleConfiguration"]["Rules"];
    assert_eq!(
        rules[0]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"].as_u64(),
        Some(1)
    );
    let lifecycle = app
        .state
        .s3
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
        .expect("lifecycle");
    let abort = lifecycle.rules()[0]
        .abort_incomplete_multipart_upload()
        .and_then(|a| a.days_after_initiation());
    assert_eq!(abort, Some(1));

    // S3 answers browsers' preflights from this rule. The emulator's server answers every
    // preflight for any origin itself, so the rule, not a preflight, is what is checked.
}

/// Who calls in the matrix, relative to one order placed by a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Actor {
    Owner,
    Vendor,
    AssignedDriver,
    OtherDriver,
    Helpdesk,
    Admin,
}

/// Expected statuses, per actor in the order of [`ACTORS`], for each files route.
const ACTORS: [Actor; 6] = [
    Actor::Owner,
    Actor::Vendor,
    Actor::AssignedDriver,
    Actor::OtherDriver,
    Actor::Helpdesk,
    Actor::Admin,
];
const MATRIX: &[(&str, [u16; 6])] = &[
    (
        "POST signed-url for the order",
        [200, 404, 200, 404, 200, 200],
    ),
    (
        "POST complete the owner's upload",
        [200, 404, 404, 404, 404, 404],
    ),
    (
        "GET the order's files by entity",
        [200, 404, 200, 404, 200, 200],
    ),
    ("GET the owner's file", [200, 404, 200, 404, 200, 200]),
    ("GET /api/orders/{n}/files", [200, 404, 200, 404, 200, 200]),
    (
        "GET /api/users/{owner}/files",
        [200, 404, 404, 404, 200, 200],
    ),
    // Proofs are drivers' to give: other roles are refused by the route, before any
    // order is looked up, so the vendor who cannot see the order gets 403 as well.
    ("POST /api/orders/{n}/pod", [403, 403, 200, 404, 403, 403]),
    (
        "POST /api/orders/{n}/signature",
        [403, 403, 200, 404, 403, 403],
    ),
    ("DELETE the owner's file", [204, 404, 403, 404, 204, 204]),
];

/// Runs every files route as `actor` against a fresh order; the statuses in route order.
async fn statuses_of(app: &TestApp, actor: Actor) -> Vec<u16> {
    let owner = app.user(Role::Client).await;
    let (order_id, number) = app.order_of(&owner).await;
    let driver = app.user(Role::Driver).await;
    app.dispatch(&driver, &order_id).await;
    let caller = match actor {
        Actor::Owner => owner.clone(),
        Actor::Vendor => app.user(Role::Vendor).await,
        Actor::AssignedDriver => driver.clone(),
        Actor::OtherDriver => app.user(Role::Driver).await,
        Actor::Helpdesk => app.user(Role::Helpdesk).await,
        Actor::Admin => app.user(Role::Admin).await,
    };
    let token = Some(caller.token.as_str());
    let file = app
        .active_upload(&owner, "DOCUMENT", "order", &order_id)
        .await;
    let pending = app
        .sign_upload(&owner, upload_request("POD", "order", &order_id))
        .await;
    assert!(put_signed(&pending, UPLOAD_BYTES, None)
        .await
        .status()
        .is_success());
    let pending_id = pending["uploadId"].as_str().expect("id");
    // Proof uploads are the caller's own where they may make them.
    let may_upload = !matches!(actor, Actor::Vendor | Actor::OtherDriver);
    let proof_of = |category: &'static str| {
        let caller = caller.clone();
        let order_id = order_id.clone();
        async move {
            if may_upload {
                app.active_upload(&caller, category, "order", &order_id)
                    .await
                    .id
            } else {
                uuid::Uuid::new_v4().to_string()
            }
        }
    };
    let photo = proof_of("POD").await;
    let signature = proof_of("SIGNATURE").await;

    let mut statuses = Vec::new();
    let sign_body = json!({
        "fileName": "menu.pdf", "fileType": "application/pdf", "fileSize": 9,
        "category": "DOCUMENT", "entityType": "order", "entityId": order_id,
    });
    let calls: Vec<(&str, String, Option<Value>)> = vec![
        (
            "POST",
            "/api/file-uploads/signed-url".into(),
            Some(sign_body),
        ),
        (
            "POST",
            format!("/api/file-uploads/{pending_id}/complete"),
            None,
        ),
        (
            "GET",
            format!("/api/file-uploads?entityType=order&entityId={order_id}"),
            None,
        ),
        ("GET", format!("/api/file-uploads/{}", file.id), None),
        ("GET", format!("/api/orders/{number}/files"), None),
        ("GET", format!("/api/users/{}/files", owner.id), None),
        (
            "POST",
            format!("/api/orders/{number}/pod"),
            Some(json!({ "uploadId": photo })),
        ),
        (
            "POST",
            format!("/api/orders/{number}/signature"),
            Some(json!({ "uploadId": signature })),
        ),
        ("DELETE", format!("/api/file-uploads/{}", file.id), None),
    ];
    for (method, path, body) in calls {
        let anonymous = app.call(method, &path, None, body.clone()).await;
        assert_eq!(anonymous.status(), 401, "anonymous {method} {path}");
        statuses.push(app.call(method, &path, token, body).await.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn every_role_gets_what_it_may_on_every_files_route() {
    let app = TestApp::spawn().await;
    let mut mismatches = Vec::new();
    for (i, actor) in ACTORS.iter().enumerate() {
        let got = statuses_of(&app, *actor).await;
        for ((route, expected), status) in MATRIX.iter().zip(&got) {
            if expected[i] != *status {
                mismatches.push(format!(
                    "{actor:?} {route}: {status}, expected {}",
                    expected[i]
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}
