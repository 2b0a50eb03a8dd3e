//! Driver applications (issue 21): the public form, the applicant's documents through its
//! upload link, staff review with notes and history, approval opening the DRIVER account,
//! the per-IP limit, and a purge that leaves none of the applicant's data behind.

use api_tests::{json_body, put_signed, TestApp, UPLOAD_BYTES};
use serde_json::{json, Value};
use shared::auth::Role;

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

fn application(tag: &str) -> Value {
    json!({
        "firstName": "Avery",
        "lastName": format!("Applicant{tag}"),
        "email": format!("avery-{tag}@example.com"),
        "phone": format!("+1 415 555 {}", &tag[..4]),
        "city": "Oakland",
        "state": "CA",
        "zip": "94607",
        "vehicleType": "VAN",
        "yearsExperience": 4,
        "message": "Weekends and evenings.",
    })
}

fn tag() -> String {
    let digits: String = uuid::Uuid::new_v4()
        .as_u128()
        .to_string()
        .chars()
        .take(8)
        .collect();
    digits
}

async fn submit(app: &TestApp, body: Value) -> Value {
    let response = app
        .call("POST", "/api/job-applications", None, Some(body))
        .await;
    assert_eq!(response.status(), 201, "submitting an application");
    json_body(response).await
}

/// Calls an applicant route with the upload link as the bearer token.
async fn with_link(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    app.call("POST", path, token, body).await
}

fn document(category: &str) -> Value {
    json!({
        "fileName": "licence.jpg",
        "fileType": "image/jpeg",
        "fileSize": UPLOAD_BYTES.len(),
        "category": category,
    })
}

/// Uploads and completes one document; returns the upload id.
async fn upload_document(app: &TestApp, submitted: &Value) -> String {
    let path = submitted["documentsPath"].as_str().expect("documents path");
    let token = submitted["uploadToken"].as_str().expect("upload token");
    let signed = with_link(app, path, Some(token), Some(document("DRIVERS_LICENSE"))).await;
    assert_eq!(signed.status(), 200, "signing a document");
    let signed = json_body(signed).await;
    assert!(put_signed(&signed, UPLOAD_BYTES, None)
        .await
        .status()
        .is_success());
    let id = signed["uploadId"].as_str().expect("upload id").to_owned();
    let completed = with_link(app, &format!("{path}/{id}/complete"), Some(token), None).await;
    assert_eq!(completed.status(), 200, "completing a document");
    id
}

#[tokio::test]
async fn an_applicant_applies_and_uploads_documents_only_through_its_own_live_link() {
    let app = TestApp::spawn().await;
    let tag = tag();
    let submitted = submit(&app, application(&tag)).await;
    assert_eq!(submitted["application"]["status"], "PENDING");
    let id = submitted["application"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        submitted["documentsPath"],
        format!("/api/job-applications/{id}/documents")
    );
    let again = app
        .call(
            "POST",
            "/api/job-applications",
            None,
            Some(application(&tag)),
        )
        .await;
    assert_eq!(
        again.status(),
        409,
        "one application under review per email"
    );
    assert_eq!(code(&json_body(again).await), "application_open");

    let mut bad = application(&tag);
    bad["phone"] = json!("call me");
    bad["yearsExperience"] = json!(99);
    bad["firstName"] = json!("");
    let refused = app
        .call("POST", "/api/job-applications", None, Some(bad))
        .await;
    assert_eq!(refused.status(), 400);
    let refused = json_body(refused).await;
    let fields: Vec<&str> = refused["error"]["details"]
        .as_array()
        .expect("field errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        ["firstName", "phone", "yearsExperience"],
        "{refused}"
    );
    let mut unknown = application(&tag);
    unknown["role"] = json!("ADMIN");
    assert_eq!(
        app.call("POST", "/api/job-applications", None, Some(unknown))
            .await
            .status(),
        400
    );

    let upload_id = upload_document(&app, &submitted).await;
    let path = submitted["documentsPath"].as_str().expect("path");
    let token = submitted["uploadToken"].as_str().expect("token");
    // Proof-of-delivery photos are not application documents.
    let pod = with_link(&app, path, Some(token), Some(document("POD"))).await;
    assert_eq!(pod.status(), 400);
    // No link, an altered one, another application's: the same 404.
    let other = submit(&app, application(&self::tag())).await;
    let other_token = other["uploadToken"].as_str().expect("token");
    let mut altered = token.to_owned();
    let last = altered.pop().expect("a character");
    altered.push(if last == 'A' { 'B' } else { 'A' });
    for (label, presented) in [
        ("no link", None),
        ("altered", Some(altered.as_str())),
        ("another application's", Some(other_token)),
    ] {
        let response = with_link(&app, path, presented, Some(document("INSURANCE"))).await;
        assert_eq!(response.status(), 404, "{label}");
        let complete = with_link(
            &app,
            &format!("{path}/{upload_id}/complete"),
            presented,
            None,
        )
        .await;
        assert_eq!(complete.status(), 404, "{label} completes nothing");
    }
    // The link is no account token: the authorizer refuses it on the account file routes.
    let account_route = app
        .call(
            "POST",
            "/api/file-uploads/signed-url",
            Some(token),
            Some(api_tests::upload_request("DOCUMENT", "user", &id)),
        )
        .await;
    assert_eq!(account_route.status(), 403);
    // Nor may an account attach files to an application through them.
    let client = app.user(Role::Client).await;
    let attach = app
        .call(
            "POST",
            "/api/file-uploads/signed-url",
            Some(&client.token),
            Some(api_tests::upload_request(
                "DOCUMENT",
                "job_application",
                &id,
            )),
        )
        .await;
    assert_eq!(attach.status(), 404);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM file_uploads WHERE entity_id = '{id}' AND status = 'ACTIVE'"
        ))
        .await,
        1
    );

    // An expired link opens nothing, though it names the right application.
    let keys = app.state.jwt().await.expect("keys");
    let expired = shared::auth::links::sign(
        &keys,
        shared::auth::links::LinkPurpose::ApplicationUploads,
        id.parse().expect("uuid"),
        chrono::Utc::now() - chrono::Duration::minutes(1),
    );
    let late = with_link(&app, path, Some(&expired), Some(document("RESUME"))).await;
    assert_eq!(late.status(), 404);
}

#[tokio::test]
async fn staff_review_with_notes_and_an_admin_approval_opens_the_driver_account() {
    let app = TestApp::spawn().await;
    let helpdesk = app.user(Role::Helpdesk).await;
    let admin = app.user(Role::Admin).await;
    let submitted = submit(&app, application(&tag())).await;
    let id = submitted["application"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let upload_id = upload_document(&app, &submitted).await;
    let one = format!("/api/admin/job-applications/{id}");

    let listed = json_body(
        app.call(
            "GET",
            "/api/admin/job-applications?status=PENDING",
            Some(&helpdesk.token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(listed["items"][0]["id"], id.as_str());
    let none = json_body(
        app.call(
            "GET",
            "/api/admin/job-applications?status=approved",
            Some(&helpdesk.token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(none["items"], json!([]));
    assert_eq!(
        app.call(
            "GET",
            "/api/admin/job-applications?status=HIRED",
            Some(&helpdesk.token),
            None
        )
        .await
        .status(),
        400
    );

    let interviewing = app
        .call(
            "PATCH",
            &one,
            Some(&helpdesk.token),
            Some(json!({ "status": "INTERVIEWING", "notes": "Call on Monday." })),
        )
        .await;
    assert_eq!(interviewing.status(), 200);
    let interviewing = json_body(interviewing).await;
    assert_eq!(interviewing["application"]["status"], "INTERVIEWING");
    assert!(interviewing.get("account").is_none());
    // Helpdesk reviews but does not open accounts.
    let helpdesk_approval = app
        .call(
            "PATCH",
            &one,
            Some(&helpdesk.token),
            Some(json!({ "status": "APPROVED" })),
        )
        .await;
    assert_eq!(helpdesk_approval.status(), 403);
    assert_eq!(
        app.call("PATCH", &one, Some(&admin.token), Some(json!({})))
            .await
            .status(),
        400,
        "a review changes something"
    );
    assert_eq!(
        app.call(
            "PATCH",
            &one,
            Some(&admin.token),
            Some(json!({ "status": "PENDING" }))
        )
        .await
        .status(),
        400,
        "no way back"
    );

    let approved = app
        .call(
            "PATCH",
            &one,
            Some(&admin.token),
            Some(json!({ "status": "APPROVED", "notes": "Licence checked." })),
        )
        .await;
    assert_eq!(approved.status(), 200);
    let approved = json_body(approved).await;
    let account = &approved["account"];
    assert_eq!(account["user"]["type"], "DRIVER");
    assert_eq!(account["user"]["status"], "ACTIVE");
    assert_eq!(approved["application"]["userId"], account["user"]["id"]);
    let user_id = account["user"]["id"].as_str().expect("user id").to_owned();
    let vehicle: String = app
        .db()
        .await
        .uncached()
        .query_one(
            "SELECT vehicle_type FROM drivers WHERE user_id = $1::text::uuid",
            &[&user_id],
        )
        .await
        .expect("the driver record")
        .get(0);
    assert_eq!(vehicle, "VAN");
    let password = "correct-horse-42";
    let set = app
        .call(
            "POST",
            "/api/auth/set-password",
            None,
            Some(json!({ "token": account["setPasswordToken"], "password": password })),
        )
        .await;
    assert_eq!(set.status(), 204);
    let email = submitted_email(&app, &id).await;
    let login = app
        .call(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({ "email": email, "password": password })),
        )
        .await;
    assert_eq!(login.status(), 200, "the new driver signs in");

    // A decision is final, and a decided application takes no more documents.
    let reject = app
        .call(
            "PATCH",
            &one,
            Some(&admin.token),
            Some(json!({ "status": "REJECTED" })),
        )
        .await;
    assert_eq!(reject.status(), 400);
    let late = with_link(
        &app,
        submitted["documentsPath"].as_str().expect("path"),
        submitted["uploadToken"].as_str(),
        Some(document("RESUME")),
    )
    .await;
    assert_eq!(late.status(), 404);

    let detail = json_body(app.call("GET", &one, Some(&helpdesk.token), None).await).await;
    assert_eq!(detail["application"]["notes"], "Licence checked.");
    assert_eq!(detail["documents"][0]["id"], upload_id.as_str());
    assert_eq!(detail["documents"][0]["category"], "DRIVERS_LICENSE");
    let history = detail["history"].as_array().expect("history");
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[0]["performedBy"], helpdesk.id.to_string());
    assert_eq!(history[0]["changes"]["status"]["to"], "INTERVIEWING");
    assert_eq!(history[1]["changes"]["status"]["to"], "APPROVED");
    assert_eq!(history[1]["changes"]["userId"]["to"], user_id.as_str());
    // Staff list and download the documents through the file routes; accounts cannot.
    let listed = format!("/api/file-uploads?entityType=job_application&entityId={id}");
    let page = json_body(app.call("GET", &listed, Some(&helpdesk.token), None).await).await;
    assert_eq!(page["items"][0]["id"], upload_id.as_str());
    assert_eq!(
        page["items"][0]["uploadedBy"],
        Value::Null,
        "no account uploaded it"
    );
    let file = format!("/api/file-uploads/{upload_id}");
    assert_eq!(
        app.call("GET", &file, Some(&helpdesk.token), None)
            .await
            .status(),
        200
    );
    let client = app.user(Role::Client).await;
    assert_eq!(
        app.call("GET", &file, Some(&client.token), None)
            .await
            .status(),
        404
    );
    assert_eq!(
        app.call("GET", &listed, Some(&client.token), None)
            .await
            .status(),
        404
    );
}

async fn submitted_email(app: &TestApp, id: &str) -> String {
    app.db()
        .await
        .uncached()
        .query_one(
            "SELECT email FROM job_applications WHERE id = $1::text::uuid",
            &[&id],
        )
        .await
        .expect("the application")
        .get(0)
}

#[tokio::test]
async fn approving_an_email_that_already_has_an_account_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let existing = app.user(Role::Client).await;
    let mut body = application(&tag());
    body["email"] = json!(existing.email);
    let submitted = submit(&app, body).await;
    let id = submitted["application"]["id"].as_str().expect("id");
    let approval = app
        .call(
            "PATCH",
            &format!("/api/admin/job-applications/{id}"),
            Some(&admin.token),
            Some(json!({ "status": "APPROVED" })),
        )
        .await;
    assert_eq!(approval.status(), 409);
    assert_eq!(code(&json_body(approval).await), "email_taken");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM job_applications WHERE id = '{id}' AND status = 'PENDING'
                AND user_id IS NULL AND reviewed_by IS NULL"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM staff_audits WHERE entity_id = '{id}'"
        ))
        .await,
        0,
        "nothing half-written"
    );
    assert_eq!(
        app.call(
            "GET",
            "/api/admin/job-applications/00000000-0000-4000-8000-000000000000",
            Some(&admin.token),
            None
        )
        .await
        .status(),
        404
    );
}

#[tokio::test]
async fn a_client_ip_submits_five_applications_an_hour() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        submit(&app, application(&tag())).await;
    }
    let sixth = app
        .call(
            "POST",
            "/api/job-applications",
            None,
            Some(application(&tag())),
        )
        .await;
    assert_eq!(sixth.status(), 429);
    assert_eq!(
        app.count("SELECT count(*) FROM job_applications").await,
        5,
        "the refused one stored nothing"
    );
}

#[tokio::test]
async fn a_purge_of_an_approved_applicant_leaves_its_application_data_nowhere() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let super_admin = app.user(Role::SuperAdmin).await;
    let tag = tag();
    let body = application(&tag);
    let (email, last_name, phone) = (
        body["email"].as_str().expect("email").to_owned(),
        body["lastName"].as_str().expect("name").to_owned(),
        body["phone"].as_str().expect("phone").to_owned(),
    );
    // An earlier application under the same email, rejected, and the approved one.
    let first = submit(&app, body.clone()).await;
    let first_id = first["application"]["id"].as_str().expect("id");
    upload_document(&app, &first).await;
    let reject = app
        .call(
            "PATCH",
            &format!("/api/admin/job-applications/{first_id}"),
            Some(&admin.token),
            Some(json!({ "status": "REJECTED", "notes": format!("{last_name} had no licence") })),
        )
        .await;
    assert_eq!(reject.status(), 200);
    let second = submit(&app, body).await;
    let second_id = second["application"]["id"].as_str().expect("id");
    let document = upload_document(&app, &second).await;
    let key: String = app
        .db()
        .await
        .uncached()
        .query_one(
            "SELECT s3_key FROM file_uploads WHERE id = $1::text::uuid",
            &[&document],
        )
        .await
        .expect("the document")
        .get(0);
    let approved = json_body(
        app.call(
            "PATCH",
            &format!("/api/admin/job-applications/{second_id}"),
            Some(&admin.token),
            Some(json!({ "status": "APPROVED" })),
        )
        .await,
    )
    .await;
    let user_id = approved["account"]["user"]["id"]
        .as_str()
        .expect("account")
        .to_owned();
    for value in [email.as_str(), last_name.as_str(), phone.as_str()] {
        assert!(
            !app.rows_holding(value).await.is_empty(),
            "{value} is stored"
        );
    }

    assert_eq!(
        app.call(
            "DELETE",
            &format!("/api/users/{user_id}"),
            Some(&admin.token),
            None
        )
        .await
        .status(),
        204
    );
    let purged = app
        .call(
            "DELETE",
            &format!("/api/users/{user_id}/purge"),
            Some(&super_admin.token),
            Some(json!({ "confirmed": true, "reason": "the driver asked for erasure" })),
        )
        .await;
    assert_eq!(purged.status(), 200);
    assert_eq!(json_body(purged).await["filesRemoved"], 2);
    for value in [email.as_str(), last_name.as_str(), phone.as_str()] {
        let left = app.rows_holding(value).await;
        assert!(left.is_empty(), "{value} is still in {left:?}");
    }
    assert!(
        !app.object_exists(&key).await,
        "the document's object is gone"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM job_applications").await,
        2,
        "the applications stay, emptied, with their decisions"
    );
}
