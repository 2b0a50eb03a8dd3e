//! Issuing uploads: a presigned PUT against the local S3 emulator for a checked file the
//! caller may attach, and clear 4xx answers that leave no row for everything else.

use api_tests::{error_fields, json_body, put_signed, TestApp, TestUser};
use serde_json::{json, Value};
use shared::auth::Role;

fn request(entity_type: &str, entity_id: &str) -> Value {
    json!({
        "fileName": "proof.jpg",
        "fileType": "image/jpeg",
        "fileSize": 11,
        "category": "POD",
        "entityType": entity_type,
        "entityId": entity_id,
    })
}

#[tokio::test]
async fn a_checked_file_is_put_through_its_presigned_url() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let order = app.order_of(&client).await.0;
    let response = app
        .call(
            "POST",
            "/api/file-uploads/signed-url",
            Some(&client.token),
            Some(request("order", &order)),
        )
        .await;
    assert_eq!(response.status(), 200);
    let signed = json_body(response).await;
    let path = signed["path"].as_str().expect("path");
    let upload_id = signed["uploadId"].as_str().expect("id");
    assert_eq!(
        path,
        format!("order/{order}/{upload_id}.jpg"),
        "the server's key"
    );

    let uploaded = put_signed(&signed, b"jpeg-bytes!", None).await;
    assert!(uploaded.status().is_success(), "{}", uploaded.status());
    let stored = app
        .state
        .s3
        .get_object()
        .bucket(&app.state.config.resources.uploads_bucket)
        .key(path)
        .send()
        .await
        .expect("the object");
    assert_eq!(stored.content_type(), Some("image/jpeg"));
    let bytes = stored.body.collect().await.expect("body").into_bytes();
    assert_eq!(&bytes[..], b"jpeg-bytes!");
    assert_eq!(
        app.count(
            "SELECT count(*) FROM file_uploads WHERE status = 'PENDING' AND entity_type = 'order'"
        )
        .await,
        1,
        "pending until completed"
    );
}

#[tokio::test]
async fn bad_files_and_foreign_entities_are_refused_and_leave_nothing() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let other = app.user(Role::Client).await;
    let others_order = app.order_of(&other).await.0;
    let own = client.id.to_string();
    let with = |changes: Value| {
        let mut body = request("user", &own);
        for (k, v) in changes.as_object().expect("object") {
            body[k] = v.clone();
        }
        body
    };
    let refused: Vec<(Value, u16, &str)> = vec![
        (
            with(json!({"fileName": "../../etc/passwd.jpg"})),
            400,
            "fileName",
        ),
        (
            with(
                json!({"fileName": "a.exe", "fileType": "application/pdf", "category": "DOCUMENT"}),
            ),
            400,
            "fileName",
        ),
        (
            with(json!({"fileName": "a.html", "fileType": "text/html"})),
            400,
            "fileType",
        ),
        (
            with(json!({"fileSize": 5 * 1024 * 1024 + 1})),
            400,
            "fileSize",
        ),
        (
            with(json!({"fileName": "a.pdf", "fileType": "application/pdf"})),
            400,
            "fileType",
        ),
        (with(json!({"category": "SELFIE"})), 400, "category"),
        (with(json!({"entityType": "planet"})), 400, "entityType"),
        (with(json!({"entityId": "not-a-uuid"})), 400, "entityId"),
    ];
    for (body, status, field) in refused {
        let response = app
            .call(
                "POST",
                "/api/file-uploads/signed-url",
                Some(&client.token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(response.status(), status, "{body}");
        let answer = json_body(response).await;
        assert!(
            error_fields(&answer).iter().any(|f| f == field),
            "{field}: {answer}"
        );
    }
    for (entity_type, id) in [
        ("order", others_order.clone()),
        ("order", uuid::Uuid::new_v4().to_string()),
        ("user", other.id.to_string()),
    ] {
        let response = app
            .call(
                "POST",
                "/api/file-uploads/signed-url",
                Some(&client.token),
                Some(request(entity_type, &id)),
            )
            .await;
        assert_eq!(response.status(), 404, "{entity_type} {id}");
    }
    let anonymous = app
        .call(
            "POST",
            "/api/file-uploads/signed-url",
            None,
            Some(request("user", &own)),
        )
        .await;
    assert_eq!(anonymous.status(), 401);
    assert_eq!(app.count("SELECT count(*) FROM file_uploads").await, 0);

    // Staff may attach to any order.
    let staff = app.user(Role::Helpdesk).await;
    let response = app
        .call(
            "POST",
            "/api/file-uploads/signed-url",
            Some(&staff.token),
            Some(request("order", &others_order)),
        )
        .await;
    assert_eq!(response.status(), 200);
}

/// Signs `body` for `user`, then PUTs `bytes` to the signed URL (as `content_type` when
/// given). The emulator does not check what S3 would refuse against the signature (a body
/// of another length or type): completion must catch it.
async fn sign_and_put(
    app: &TestApp,
    user: &TestUser,
    body: Value,
    bytes: &'static [u8],
    content_type: Option<&str>,
) -> Value {
    let signed = app.sign_upload(user, body).await;
    put_signed(&signed, bytes, content_type).await;
    signed
}

#[tokio::test]
async fn completion_activates_only_what_matches_the_declaration() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let own = client.id.to_string();

    // Declared 11 bytes of JPEG, 11 bytes of JPEG sent: active.
    let good = sign_and_put(&app, &client, request("user", &own), b"jpeg-bytes!", None).await;
    let id = good["uploadId"].as_str().expect("id");
    let other = app.user(Role::Client).await;
    assert_eq!(
        app.complete_upload(&other, id).await.status(),
        404,
        "not theirs"
    );
    let response = app.complete_upload(&client, id).await;
    assert_eq!(response.status(), 200);
    let body = json_body(response).await;
    assert_eq!(body["upload"]["status"], "ACTIVE");
    assert_eq!(body["upload"]["fileSize"], 11);
    assert_eq!(
        app.complete_upload(&client, id).await.status(),
        404,
        "completed once"
    );

    // Larger than declared (put beside the signed URL, as a client holding other
    // credentials could), or of another type: refused, object and row gone.
    let larger = json_body(
        app.call(
            "POST",
            "/api/file-uploads/signed-url",
            Some(&client.token),
            Some(request("user", &own)),
        )
        .await,
    )
    .await;
    app.state
        .s3
        .put_object()
        .bucket(&app.state.config.resources.uploads_bucket)
        .key(larger["path"].as_str().expect("path"))
        .content_type("image/jpeg")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(
            b"jpeg-bytes-and-more",
        ))
        .send()
        .await
        .expect("put");
    let retyped = sign_and_put(
        &app,
        &client,
        request("user", &own),
        b"jpeg-bytes!",
        Some("image/png"),
    )
    .await;
    for bad in [larger, retyped] {
        let response = app
            .complete_upload(&client, bad["uploadId"].as_str().expect("id"))
            .await;
        assert_eq!(response.status(), 422, "{bad}");
        assert_eq!(
            json_body(response).await["error"]["code"],
            "upload_mismatch"
        );
        assert!(!app.object_exists(bad["path"].as_str().expect("path")).await);
    }
    assert_eq!(
        app.count("SELECT count(*) FROM file_uploads").await,
        1,
        "only the matching upload is left"
    );

    // Signed but never uploaded: not yet.
    let response = app
        .call(
            "POST",
            "/api/file-uploads/signed-url",
            Some(&client.token),
            Some(request("user", &own)),
        )
        .await;
    let signed = json_body(response).await;
    let early = app
        .complete_upload(&client, signed["uploadId"].as_str().expect("id"))
        .await;
    assert_eq!(early.status(), 409);
    assert_eq!(json_body(early).await["error"]["code"], "upload_incomplete");
    assert_eq!(
        app.count("SELECT count(*) FROM file_uploads WHERE status = 'ACTIVE'")
            .await,
        1
    );
    assert_eq!(
        app.complete_upload(&client, "not-a-uuid").await.status(),
        400
    );
}

#[tokio::test]
async fn an_active_file_is_read_back_exactly_by_those_who_may_see_it() {
    let app = TestApp::spawn().await;
    let owner = app.user(Role::Client).await;
    let order = app.order_of(&owner).await.0;
    let body = json!({
        "fileName": "Menu \"final\".pdf",
        "fileType": "application/pdf",
        "fileSize": 9,
        "category": "DOCUMENT",
        "entityType": "order",
        "entityId": order,
    });
    let signed = sign_and_put(&app, &owner, body.clone(), b"%PDF-1.7\n", None).await;
    let id = signed["uploadId"].as_str().expect("id");
    // Pending: nobody reads it yet.
    let pending = app
        .call(
            "GET",
            &format!("/api/file-uploads/{id}"),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(pending.status(), 404);
    assert_eq!(app.complete_upload(&owner, id).await.status(), 200);

    let staff = app.user(Role::Admin).await;
    for reader in [&owner, &staff] {
        let response = app
            .call(
                "GET",
                &format!("/api/file-uploads/{id}"),
                Some(&reader.token),
                None,
            )
            .await;
        assert_eq!(response.status(), 200);
        let download = json_body(response).await;
        assert_eq!(download["fileName"], "Menu \"final\".pdf");
        let got = reqwest::Client::new()
            .get(download["url"].as_str().expect("url"))
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await
            .expect("download");
        assert!(got.status().is_success(), "{}", got.status());
        let disposition = got.headers()["content-disposition"]
            .to_str()
            .expect("disposition")
            .to_owned();
        assert!(
            disposition.starts_with("attachment; filename=\"Menu _final_.pdf\""),
            "{disposition}"
        );
        assert_eq!(&got.bytes().await.expect("bytes")[..], b"%PDF-1.7\n");
    }
    let stranger = app.user(Role::Client).await;
    let hidden = app
        .call(
            "GET",
            &format!("/api/file-uploads/{id}"),
            Some(&stranger.token),
            None,
        )
        .await;
    assert_eq!(hidden.status(), 404);
    let missing = app
        .call(
            "GET",
            &format!("/api/file-uploads/{}", uuid::Uuid::new_v4()),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(missing.status(), 404);
}
