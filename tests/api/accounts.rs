//! Accounts beyond sign-up (issue 21): made by staff with a one-time set-password link,
//! one's own profile, deletion refused while work is live, restore, the deleted list and
//! the purge that leaves no personal data anywhere; the role × route matrix of them.

use api_tests::{catering_body, json_body, TestApp, TestUser};
use serde_json::{json, Value};
use shared::auth::Role;

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.call(
        "POST",
        "/api/auth/login",
        None,
        Some(json!({ "email": email, "password": password })),
    )
    .await
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

async fn soft_delete(app: &TestApp, user: &TestUser) {
    app.db()
        .await
        .uncached()
        .execute(
            "UPDATE users SET status = 'DELETED', deleted_at = now() WHERE id = $1",
            &[&user.id],
        )
        .await
        .expect("soft delete");
}

#[tokio::test]
async fn staff_make_accounts_whose_one_time_link_sets_the_password() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let super_admin = app.user(Role::SuperAdmin).await;
    let email = format!("made-{}@example.com", uuid::Uuid::new_v4().simple());
    let body = json!({ "email": email, "role": "VENDOR", "name": "Made Vendor" });
    let made = app
        .call("POST", "/api/users", Some(&admin.token), Some(body.clone()))
        .await;
    assert_eq!(made.status(), 201);
    let made = json_body(made).await;
    let token = made["setPasswordToken"].as_str().expect("token").to_owned();
    assert_eq!(made["user"]["status"], "ACTIVE");
    let stored: i64 = app
        .count(&format!(
            "SELECT count(*) FROM password_set_tokens WHERE token_hash = '{}'",
            hex_sha256(&token)
        ))
        .await;
    assert_eq!(stored, 1, "only the hash is stored");
    let again = app
        .call("POST", "/api/users", Some(&admin.token), Some(body))
        .await;
    assert_eq!(again.status(), 409);
    assert_eq!(code(&json_body(again).await), "email_taken");

    // An ADMIN makes no staff account; a SUPER_ADMIN does.
    let staff = json!({ "email": format!("h-{}@example.com", uuid::Uuid::new_v4().simple()), "role": "HELPDESK", "name": "Help" });
    assert_eq!(
        app.call(
            "POST",
            "/api/users",
            Some(&admin.token),
            Some(staff.clone())
        )
        .await
        .status(),
        403
    );
    assert_eq!(
        app.call("POST", "/api/users", Some(&super_admin.token), Some(staff))
            .await
            .status(),
        201
    );

    // Before the link is used there is no password to sign in with.
    assert_eq!(login(&app, &email, "correct-horse-42").await.status(), 401);
    let weak = app
        .call(
            "POST",
            "/api/auth/set-password",
            None,
            Some(json!({ "token": token, "password": "short" })),
        )
        .await;
    assert_eq!(weak.status(), 400);
    assert_eq!(code(&json_body(weak).await), "validation_failed");
    let set = app
        .call(
            "POST",
            "/api/auth/set-password",
            None,
            Some(json!({ "token": token, "password": "correct-horse-42" })),
        )
        .await;
    assert_eq!(set.status(), 204);
    assert_eq!(login(&app, &email, "correct-horse-42").await.status(), 200);
    let reused = app
        .call(
            "POST",
            "/api/auth/set-password",
            None,
            Some(json!({ "token": token, "password": "another-horse-43" })),
        )
        .await;
    assert_eq!(reused.status(), 400);
    assert_eq!(code(&json_body(reused).await), "invalid_token");

    // An expired link is the same 400.
    let other = app
        .call(
            "POST",
            "/api/users",
            Some(&admin.token),
            Some(json!({ "email": format!("late-{}@example.com", uuid::Uuid::new_v4().simple()), "role": "CLIENT", "name": "Late" })),
        )
        .await;
    let late = json_body(other).await["setPasswordToken"]
        .as_str()
        .expect("token")
        .to_owned();
    app.db()
        .await
        .batch_execute("UPDATE password_set_tokens SET expires_at = now() - interval '1 minute' WHERE used_at IS NULL")
        .await
        .expect("expire");
    let expired = app
        .call(
            "POST",
            "/api/auth/set-password",
            None,
            Some(json!({ "token": late, "password": "correct-horse-42" })),
        )
        .await;
    assert_eq!(expired.status(), 400);
    let audits = app
        .count(&format!(
            "SELECT count(*) FROM user_audits WHERE user_id = '{}' AND action IN ('CREATE', 'PASSWORD_SET')",
            made["user"]["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(audits, 2);
}

fn hex_sha256(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[tokio::test]
async fn own_profile_changes_need_the_current_password_and_a_new_one_ends_other_sessions() {
    let app = TestApp::spawn().await;
    let user = app.user(Role::Client).await;
    let other = app.user(Role::Vendor).await;
    let second = json_body(login(&app, &user.email, &user.password).await).await;
    let second_token = second["accessToken"]
        .as_str()
        .expect("access token")
        .to_owned();

    let renamed = app
        .call(
            "PUT",
            "/api/profile",
            Some(&user.token),
            Some(json!({ "name": "New Name", "phone": "+1 415 555 0100" })),
        )
        .await;
    assert_eq!(renamed.status(), 200);
    assert_eq!(json_body(renamed).await["user"]["name"], "New Name");
    let got = json_body(
        app.call("GET", "/api/profile", Some(&user.token), None)
            .await,
    )
    .await;
    assert_eq!(got["user"]["phone"], "+1 415 555 0100");
    for (body, status, expected_code) in [
        (json!({ "role": "ADMIN" }), 400, "invalid_body"),
        (
            json!({ "email": "fresh@example.com" }),
            400,
            "validation_failed",
        ),
        (
            json!({ "email": "fresh@example.com", "currentPassword": "wrong-password-1" }),
            400,
            "validation_failed",
        ),
        (
            json!({ "email": other.email, "currentPassword": user.password }),
            409,
            "email_taken",
        ),
    ] {
        let response = app
            .call("PUT", "/api/profile", Some(&user.token), Some(body.clone()))
            .await;
        assert_eq!(response.status(), status, "{body}");
        let response = json_body(response).await;
        assert!(
            code(&response) == expected_code
                || (expected_code == "invalid_body" && response["error"]["code"].is_string()),
            "{body}: {response}"
        );
    }
    let new_email = format!("moved-{}@example.com", uuid::Uuid::new_v4().simple());
    let moved = app
        .call(
            "PUT",
            "/api/profile",
            Some(&user.token),
            Some(json!({ "email": new_email, "currentPassword": user.password })),
        )
        .await;
    assert_eq!(moved.status(), 200);

    // A third session the registry does not know of (a login racing the change): the
    // cutoff written with the new password ends it all the same.
    let third = json_body(login(&app, &new_email, &user.password).await).await;
    let third_token = third["accessToken"]
        .as_str()
        .expect("access token")
        .to_owned();
    let third_refresh = third["refreshToken"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    let third_session = third_refresh
        .split('.')
        .next()
        .expect("session id")
        .to_owned();
    app.state
        .dynamodb
        .delete_item()
        .table_name(&app.state.config.resources.app_table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("USER_SESSIONS#{}", user.id)),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("SESSION#{third_session}")),
        )
        .send()
        .await
        .expect("forget the third session");
    // Sessions begun in the second of the change are kept (the cutoff is whole seconds).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    let changed = app
        .call(
            "PUT",
            "/api/profile",
            Some(&user.token),
            Some(json!({ "currentPassword": user.password, "newPassword": "brand-new-horse-7" })),
        )
        .await;
    assert_eq!(changed.status(), 200);
    assert!(json_body(changed).await["sessionsEnded"].as_u64() >= Some(1));
    assert_eq!(
        app.call("GET", "/api/profile", Some(&second_token), None)
            .await
            .status(),
        403,
        "the other session ended: the authorizer refuses its token"
    );
    assert_eq!(
        app.call("GET", "/api/profile", Some(&user.token), None)
            .await
            .status(),
        200,
        "this one goes on"
    );
    assert_eq!(
        app.call("GET", "/api/profile", Some(&third_token), None)
            .await
            .status(),
        403,
        "the cutoff ends it"
    );
    let refreshed = app
        .call(
            "POST",
            "/api/auth/refresh",
            None,
            Some(json!({ "refreshToken": third_refresh })),
        )
        .await;
    assert_eq!(refreshed.status(), 401, "and its refresh token");
    assert_eq!(login(&app, &new_email, &user.password).await.status(), 401);
    assert_eq!(
        login(&app, &new_email, "brand-new-horse-7").await.status(),
        200
    );
    // Each request with a current password counts against the account's sign-in budget
    // (5 a minute; four were used above): guessing it here is soon refused.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let guess = json!({ "email": "guess@example.com", "currentPassword": "a-wrong-guess-1" });
        statuses.push(
            app.call("PUT", "/api/profile", Some(&user.token), Some(guess))
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}

#[tokio::test]
async fn register_is_sign_up_and_never_makes_a_staff_account() {
    let app = TestApp::spawn().await;
    for (role, status) in [
        ("ADMIN", 400),
        ("SUPER_ADMIN", 400),
        ("HELPDESK", 400),
        ("CLIENT", 201),
    ] {
        let response = app
            .call(
                "POST",
                "/api/register",
                None,
                Some(json!({
                    "email": format!("reg-{}@example.com", uuid::Uuid::new_v4().simple()),
                    "password": "correct-horse-42",
                    "role": role,
                    "name": "Registered",
                })),
            )
            .await;
        assert_eq!(response.status(), status, "{role}");
    }
}

#[tokio::test]
async fn deletion_waits_for_live_work_and_never_takes_a_super_admin_and_restore_brings_back() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let super_admin = app.user(Role::SuperAdmin).await;
    let client = app.user(Role::Client).await;
    let (order_id, _) = app.order_of(&client).await;
    let refused = app
        .call(
            "DELETE",
            &format!("/api/users/{}", client.id),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(refused.status(), 409);
    let refused = json_body(refused).await;
    assert_eq!(code(&refused), "account_has_live_work");
    assert_eq!(refused["error"]["details"]["liveOrders"], 1);
    let other_super = app.user(Role::SuperAdmin).await;
    let never = app
        .call(
            "DELETE",
            &format!("/api/users/{}", other_super.id),
            Some(&super_admin.token),
            None,
        )
        .await;
    assert_eq!(never.status(), 403);

    app.db()
        .await
        .uncached()
        .execute(
            "UPDATE orders SET status = 'CANCELLED' WHERE id = $1::text::uuid",
            &[&order_id],
        )
        .await
        .expect("cancel");
    let deleted = app
        .call(
            "DELETE",
            &format!("/api/users/{}?reason=left", client.id),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        app.call("GET", "/api/profile", Some(&client.token), None)
            .await
            .status(),
        401,
        "its tokens stop at the authorizer"
    );
    assert_eq!(
        login(&app, &client.email, &client.password).await.status(),
        401
    );

    let listed = json_body(
        app.call("GET", "/api/users/deleted", Some(&admin.token), None)
            .await,
    )
    .await;
    let item = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|u| u["id"] == client.id.to_string())
        .cloned()
        .expect("listed");
    assert_eq!(item["deletionReason"], "left");
    let helpdesk = app.user(Role::Helpdesk).await;
    assert_eq!(
        app.call("GET", "/api/users/deleted", Some(&helpdesk.token), None)
            .await
            .status(),
        200
    );
    let restore = format!("/api/users/{}/restore", client.id);
    assert_eq!(
        app.call("POST", &restore, Some(&helpdesk.token), None)
            .await
            .status(),
        403
    );
    let restored = app.call("POST", &restore, Some(&admin.token), None).await;
    assert_eq!(restored.status(), 200);
    assert_eq!(json_body(restored).await["user"]["status"], "ACTIVE");
    assert_eq!(
        login(&app, &client.email, &client.password).await.status(),
        200
    );
    let twice = app.call("POST", &restore, Some(&admin.token), None).await;
    assert_eq!(twice.status(), 409);
    assert_eq!(code(&json_body(twice).await), "not_deleted");

    // An ADMIN brings back no SUPER_ADMIN.
    soft_delete(&app, &other_super).await;
    let path = format!("/api/users/{}/restore", other_super.id);
    assert_eq!(
        app.call("POST", &path, Some(&admin.token), None)
            .await
            .status(),
        403
    );
    assert_eq!(
        app.call("POST", &path, Some(&super_admin.token), None)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_purge_leaves_the_account_s_email_name_and_phone_in_no_column_of_any_table() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let super_admin = app.user(Role::SuperAdmin).await;
    let client = app.user(Role::Client).await;
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let (name, phone) = (
        format!("Perdita Purgeable {tag}"),
        format!("+1 628 555 {tag}"),
    );
    // Its name and phone where the app writes them: the profile (by staff, so audited),
    // an order's attention line, a file, a customer email in the outbox.
    let edited = app
        .call(
            "PATCH",
            &format!("/api/users/{}", client.id),
            Some(&admin.token),
            Some(json!({ "name": name, "phone": phone })),
        )
        .await;
    assert_eq!(edited.status(), 200);
    let mut order = catering_body(20);
    order["clientAttention"] = json!(name.clone());
    let order = json_body(
        app.call(
            "POST",
            "/api/catering-requests",
            Some(&client.token),
            Some(order),
        )
        .await,
    )
    .await;
    let order_id = order["order"]["id"].as_str().expect("order id").to_owned();
    let upload = app
        .active_upload(&client, "DOCUMENT", "user", &client.id.to_string())
        .await;
    app.db()
        .await
        .uncached().execute(
            "INSERT INTO outbox (kind, order_id, payload, status) VALUES ('CUSTOMER_EMAIL', $1::text::uuid,
                 jsonb_build_object('to', $2::text, 'name', $3::text, 'phone', $4::text), 'DELIVERED')",
            &[&order_id, &client.email, &name, &phone],
        )
        .await
        .expect("a sent customer email");
    // A text not yet sent is not sent after the purge.
    app.db()
        .await
        .uncached()
        .execute(
            "INSERT INTO outbox (kind, order_id, payload) VALUES ('CUSTOMER_SMS', $1::text::uuid,
                 jsonb_build_object('to', $2::text, 'text', 'Ready Set: your order is on its way.'))",
            &[&order_id, &phone],
        )
        .await
        .expect("a queued customer text");
    app.db()
        .await
        .uncached()
        .execute(
            "UPDATE orders SET status = 'CANCELLED' WHERE id = $1::text::uuid",
            &[&order_id],
        )
        .await
        .expect("cancel");
    // Someone else whose email holds the purged one inside it is left alone.
    let bystander_email = format!("x{}", client.email);
    app.db()
        .await
        .uncached().execute(
            "INSERT INTO users (email, role, status, name, phone) VALUES ($1, 'CLIENT', 'ACTIVE', $2, $3)",
            &[&bystander_email, &format!("Not {name}"), &phone],
        )
        .await
        .expect("bystander");
    for value in [client.email.as_str(), name.as_str(), phone.as_str()] {
        assert!(
            !app.rows_holding(value).await.is_empty(),
            "{value} is stored before the purge"
        );
    }

    let purge = format!("/api/users/{}/purge", client.id);
    let body = json!({ "confirmed": true, "reason": "the account holder asked for erasure" });
    let early = app
        .call(
            "DELETE",
            &purge,
            Some(&super_admin.token),
            Some(body.clone()),
        )
        .await;
    assert_eq!(early.status(), 409, "only after a soft delete");
    assert_eq!(code(&json_body(early).await), "not_deleted");
    let reason = format!("closed at the request of {name}");
    assert_eq!(
        app.call(
            "DELETE",
            &format!(
                "/api/users/{}?reason={}",
                client.id,
                reason.replace(' ', "%20")
            ),
            Some(&admin.token),
            None
        )
        .await
        .status(),
        204
    );
    for (bad, status) in [
        (
            json!({ "confirmed": false, "reason": "the account holder asked" }),
            400,
        ),
        (json!({ "confirmed": true, "reason": "short" }), 400),
        (json!({ "confirmed": true }), 400),
    ] {
        assert_eq!(
            app.call(
                "DELETE",
                &purge,
                Some(&super_admin.token),
                Some(bad.clone())
            )
            .await
            .status(),
            status,
            "{bad}"
        );
    }
    assert_eq!(
        app.call("DELETE", &purge, Some(&admin.token), Some(body.clone()))
            .await
            .status(),
        403
    );
    let purged = app
        .call(
            "DELETE",
            &purge,
            Some(&super_admin.token),
            Some(body.clone()),
        )
        .await;
    assert_eq!(purged.status(), 200);
    let purged = json_body(purged).await;
    assert_eq!(purged["filesRemoved"], 1);

    // The bystander is why these look at whole values of the purged account's rows only.
    let bystander = app
        .db()
        .await
        .uncached()
        .query_one(
            "SELECT email, name, phone FROM users WHERE email = $1",
            &[&bystander_email],
        )
        .await
        .expect("the bystander is intact");
    assert_eq!(bystander.get::<_, String>(2), phone);
    for value in [client.email.as_str(), name.as_str(), phone.as_str()] {
        let left: Vec<String> = app
            .rows_holding(value)
            .await
            .into_iter()
            .filter(|place| {
                !place.starts_with("users.email (1)")
                    && !place.starts_with("users.phone (1)")
                    && !place.starts_with("users.name (1)")
            })
            .collect();
        assert!(left.is_empty(), "{value} is still in {left:?}");
    }
    let purged_row = app
        .db()
        .await
        .uncached()
        .query_one(
            "SELECT email, name, phone, deletion_reason FROM users WHERE id = $1",
            &[&client.id],
        )
        .await
        .expect("the purged row stays");
    assert!(purged_row.get::<_, String>(0).ends_with("@purged.invalid"));
    assert!(
        purged_row.get::<_, Option<String>>(1).is_none()
            && purged_row.get::<_, Option<String>>(2).is_none()
    );
    assert!(purged_row.get::<_, Option<String>>(3).is_none());
    assert!(
        !app.object_exists(&upload.path).await,
        "the file's object is gone"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM orders WHERE id = '{order_id}'"
        ))
        .await,
        1,
        "orders stay"
    );
    assert!(
        app.count(&format!(
            "SELECT count(*) FROM user_audits WHERE user_id = '{}'",
            client.id
        ))
        .await
            >= 3,
        "audit rows stay"
    );
    assert_eq!(
        login(&app, &client.email, &client.password).await.status(),
        401
    );
    let again = app
        .call("DELETE", &purge, Some(&super_admin.token), Some(body))
        .await;
    assert_eq!(code(&json_body(again).await), "purged");
    let restore = app
        .call(
            "POST",
            &format!("/api/users/{}/restore", client.id),
            Some(&super_admin.token),
            None,
        )
        .await;
    assert_eq!(restore.status(), 409);
    assert_eq!(code(&json_body(restore).await), "purged");
}

/// Every route of this part by every role, and anonymously, with the outcome of each
/// cell written out. Each cell acts on a fresh target, so cells do not depend on
/// each other.
/// A PENDING driver application under a fresh email; its id.
async fn pending_application(app: &TestApp) -> uuid::Uuid {
    app.db()
        .await
        .uncached()
        .query_one(
            "INSERT INTO job_applications (first_name, last_name, email, phone)
             VALUES ('Matrix', 'Applicant', $1, '5550100') RETURNING id",
            &[&format!("a-{}@example.com", uuid::Uuid::new_v4().simple())],
        )
        .await
        .expect("an application")
        .get(0)
}

#[tokio::test]
async fn role_by_route_matrix_of_account_routes() {
    let app = TestApp::spawn().await;
    const ROLES: [Option<Role>; 7] = [
        None,
        Some(Role::Client),
        Some(Role::Vendor),
        Some(Role::Driver),
        Some(Role::Helpdesk),
        Some(Role::Admin),
        Some(Role::SuperAdmin),
    ];
    #[rustfmt::skip]
    let matrix: [(&str, [u16; 7]); 18] = [
        //                                    anonymous client vendor driver helpdesk admin super
        ("GET /api/profile",                  [401, 200, 200, 200, 200, 200, 200]),
        ("PUT /api/profile",                  [401, 200, 200, 200, 200, 200, 200]),
        ("POST /api/users (client)",          [401, 403, 403, 403, 403, 201, 201]),
        ("POST /api/users (admin)",           [401, 403, 403, 403, 403, 403, 201]),
        ("GET /api/users/deleted",            [401, 403, 403, 403, 200, 200, 200]),
        ("POST /api/users/{id}/restore",      [401, 403, 403, 403, 403, 200, 200]),
        ("DELETE /api/users/{id}/purge",      [401, 403, 403, 403, 403, 403, 200]),
        ("GET /api/users/{id}/audit",         [401, 403, 403, 403, 200, 200, 200]),
        ("GET /api/users/{id}/audit/export",  [401, 403, 403, 403, 200, 200, 200]),
        ("POST /api/users/bulk/status",       [401, 403, 403, 403, 200, 200, 200]),
        ("POST /api/users/bulk/role",         [401, 403, 403, 403, 403, 200, 200]),
        ("POST /api/users/bulk/delete",       [401, 403, 403, 403, 403, 200, 200]),
        ("POST /api/users/bulk/restore",      [401, 403, 403, 403, 403, 200, 200]),
        ("GET /api/users/bulk/export",        [401, 403, 403, 403, 200, 200, 200]),
        ("GET /api/admin/job-applications",   [401, 403, 403, 403, 200, 200, 200]),
        ("GET /api/admin/job-applications/{id}", [401, 403, 403, 403, 200, 200, 200]),
        ("PATCH /api/admin/job-applications/{id} (interview)", [401, 403, 403, 403, 200, 200, 200]),
        ("PATCH /api/admin/job-applications/{id} (approve)",   [401, 403, 403, 403, 403, 200, 200]),
    ];
    let mut failures = Vec::new();
    for (route, expected) in matrix {
        for (role, want) in ROLES.iter().zip(expected) {
            let actor = match role {
                Some(role) => Some(app.user(*role).await),
                None => None,
            };
            let token = actor.as_ref().map(|a| a.token.as_str());
            let target = app.user(Role::Client).await;
            let fresh_email = format!("m-{}@example.com", uuid::Uuid::new_v4().simple());
            let response = match route {
                "GET /api/profile" => app.call("GET", "/api/profile", token, None).await,
                "PUT /api/profile" => {
                    app.call(
                        "PUT",
                        "/api/profile",
                        token,
                        Some(json!({ "name": "Matrix" })),
                    )
                    .await
                }
                "POST /api/users (client)" | "POST /api/users (admin)" => {
                    let role = if route.ends_with("(client)") {
                        "CLIENT"
                    } else {
                        "ADMIN"
                    };
                    app.call(
                        "POST",
                        "/api/users",
                        token,
                        Some(json!({ "email": fresh_email, "role": role, "name": "M" })),
                    )
                    .await
                }
                "GET /api/users/deleted" => {
                    app.call("GET", "/api/users/deleted", token, None).await
                }
                "GET /api/users/{id}/audit" => {
                    app.call(
                        "GET",
                        &format!("/api/users/{}/audit", target.id),
                        token,
                        None,
                    )
                    .await
                }
                "GET /api/users/{id}/audit/export" => {
                    app.call(
                        "GET",
                        &format!("/api/users/{}/audit/export", target.id),
                        token,
                        None,
                    )
                    .await
                }
                "GET /api/users/bulk/export" => {
                    app.call("GET", "/api/users/bulk/export", token, None).await
                }
                "GET /api/admin/job-applications" => {
                    app.call("GET", "/api/admin/job-applications", token, None)
                        .await
                }
                application if application.contains("/api/admin/job-applications/{id}") => {
                    let id = pending_application(&app).await;
                    let path = format!("/api/admin/job-applications/{id}");
                    let status = if application.ends_with("(approve)") {
                        "APPROVED"
                    } else {
                        "INTERVIEWING"
                    };
                    if application.starts_with("GET") {
                        app.call("GET", &path, token, None).await
                    } else {
                        app.call("PATCH", &path, token, Some(json!({ "status": status })))
                            .await
                    }
                }
                bulk if bulk.starts_with("POST /api/users/bulk/") => {
                    let action = bulk.rsplit('/').next().unwrap_or_default();
                    if action == "restore" {
                        soft_delete(&app, &target).await;
                    }
                    let body =
                        json!({ "userIds": [target.id], "status": "PENDING", "role": "VENDOR" });
                    app.call(
                        "POST",
                        &format!("/api/users/bulk/{action}"),
                        token,
                        Some(body),
                    )
                    .await
                }
                "POST /api/users/{id}/restore" => {
                    soft_delete(&app, &target).await;
                    app.call(
                        "POST",
                        &format!("/api/users/{}/restore", target.id),
                        token,
                        None,
                    )
                    .await
                }
                _ => {
                    soft_delete(&app, &target).await;
                    let body = json!({ "confirmed": true, "reason": "matrix cell erasure" });
                    app.call(
                        "DELETE",
                        &format!("/api/users/{}/purge", target.id),
                        token,
                        Some(body),
                    )
                    .await
                }
            };
            let got = response.status().as_u16();
            if got != want {
                failures.push(format!("{route} as {role:?}: {got}, expected {want}"));
            } else if route.starts_with("POST /api/users/bulk/") && got == 200 {
                // A batch answers 200 whatever it changed: the one account must have changed.
                let body = json_body(response).await;
                if body["results"]["totalSuccess"] != 1 {
                    failures.push(format!("{route} as {role:?}: changed nothing: {body}"));
                }
            }
        }
    }
    // Anyone may try a set-password link; a made-up one is refused the same way for all.
    for role in ROLES {
        let actor = match role {
            Some(role) => Some(app.user(role).await),
            None => None,
        };
        let response = app
            .call(
                "POST",
                "/api/auth/set-password",
                actor.as_ref().map(|a| a.token.as_str()),
                Some(json!({ "token": "made-up", "password": "correct-horse-42" })),
            )
            .await;
        if response.status() != 400 {
            failures.push(format!(
                "POST /api/auth/set-password as {role:?}: {}",
                response.status()
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn an_account_s_audit_history_is_filtered_paged_and_exported_as_safe_csv() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let helpdesk = app.user(Role::Helpdesk).await;
    let client = app.user(Role::Client).await;
    let user = format!("/api/users/{}", client.id);
    let steps = [
        (
            "PATCH",
            user.clone(),
            Some(json!({ "name": "Audited Name" })),
            200,
        ),
        (
            "POST",
            format!("{user}/change-role"),
            Some(json!({ "role": "VENDOR", "reason": "=SUM(1+1)" })),
            200,
        ),
        ("DELETE", format!("{user}?reason=audit"), None, 204),
        ("POST", format!("{user}/restore"), None, 200),
    ];
    for (method, path, body, status) in steps {
        assert_eq!(
            app.call(method, &path, Some(&admin.token), body)
                .await
                .status(),
            status,
            "{method} {path}"
        );
    }
    let audit = format!("{user}/audit");
    let all = json_body(app.call("GET", &audit, Some(&helpdesk.token), None).await).await;
    let actions: Vec<&str> = all["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(actions, ["RESTORE", "DELETE", "ROLE_CHANGE", "UPDATE"]);
    assert_eq!(
        all["items"][2]["changes"]["role"],
        json!({ "from": "CLIENT", "to": "VENDOR" })
    );
    assert_eq!(all["items"][2]["performedByEmail"], admin.email);

    let roles = json_body(
        app.call(
            "GET",
            &format!("{audit}?action=ROLE_CHANGE"),
            Some(&admin.token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(roles["items"].as_array().map(Vec::len), Some(1));
    let by_admin = json_body(
        app.call(
            "GET",
            &format!("{audit}?performedBy={}", admin.id),
            Some(&admin.token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(by_admin["items"].as_array().map(Vec::len), Some(4));
    let first = json_body(
        app.call("GET", &format!("{audit}?limit=3"), Some(&admin.token), None)
            .await,
    )
    .await;
    let cursor = first["nextCursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let second = json_body(
        app.call(
            "GET",
            &format!("{audit}?limit=3&cursor={cursor}"),
            Some(&admin.token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(second["items"][0]["action"], "UPDATE");
    assert!(second["nextCursor"].is_null());
    let later = json_body(
        app.call(
            "GET",
            &format!("{audit}?from=2100-01-01T00:00:00Z"),
            Some(&admin.token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(later["items"].as_array().map(Vec::len), Some(0));
    for (query, status) in [
        ("action=NOPE", 400),
        ("performedBy=abc", 400),
        ("from=yesterday", 400),
    ] {
        assert_eq!(
            app.call("GET", &format!("{audit}?{query}"), Some(&admin.token), None)
                .await
                .status(),
            status,
            "{query}"
        );
    }
    let unknown = format!("/api/users/{}/audit", uuid::Uuid::new_v4());
    assert_eq!(
        app.call("GET", &unknown, Some(&admin.token), None)
            .await
            .status(),
        404
    );
    assert_eq!(
        app.call("GET", &audit, Some(&client.token), None)
            .await
            .status(),
        403
    );

    let export = app
        .call(
            "GET",
            &format!("{audit}/export"),
            Some(&helpdesk.token),
            None,
        )
        .await;
    assert_eq!(export.status(), 200);
    assert!(export.headers()["content-type"]
        .to_str()
        .unwrap_or("")
        .starts_with("text/csv"));
    assert!(export.headers()["content-disposition"]
        .to_str()
        .unwrap_or("")
        .contains("attachment"));
    let csv = export.text().await.expect("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(lines[0].starts_with("id,createdAt,action"));
    assert!(csv.contains("'=SUM(1+1)"), "formulas are defused: {csv}");
    assert!(!csv.contains(",=SUM"));
}

#[tokio::test]
async fn a_bulk_batch_changes_every_account_it_may_and_reports_each_it_may_not() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let helpdesk = app.user(Role::Helpdesk).await;
    let super_admin = app.user(Role::SuperAdmin).await;
    let (a, b, c) = (
        app.user(Role::Client).await,
        app.user(Role::Client).await,
        app.user(Role::Vendor).await,
    );
    let stranger = uuid::Uuid::new_v4().to_string();
    let batch = json!({
        "userIds": [a.id, b.id, "not-an-id", stranger, super_admin.id, a.id],
        "status": "PENDING",
    });
    let response = app
        .call(
            "POST",
            "/api/users/bulk/status",
            Some(&helpdesk.token),
            Some(batch),
        )
        .await;
    assert_eq!(response.status(), 200);
    let results = json_body(response).await["results"].clone();
    assert_eq!(results["success"], json!([a.id, b.id]));
    assert_eq!(
        (
            results["totalSuccess"].as_u64(),
            results["totalFailed"].as_u64()
        ),
        (Some(2), Some(4))
    );
    let failed: Vec<&str> = results["failed"]
        .as_array()
        .expect("failed")
        .iter()
        .map(|f| f["id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        failed,
        [
            String::from("not-an-id"),
            stranger.clone(),
            super_admin.id.to_string(),
            a.id.to_string()
        ]
    );
    assert!(results["failed"]
        .as_array()
        .expect("failed")
        .iter()
        .all(|f| !f["reason"].as_str().unwrap_or("").is_empty()));
    let pending = app
        .count(&format!(
            "SELECT count(*) FROM users WHERE status = 'PENDING' AND id IN ('{}', '{}')",
            a.id, b.id
        ))
        .await;
    assert_eq!(pending, 2);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM users WHERE id = '{}' AND status = 'ACTIVE'",
            super_admin.id
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM user_audits WHERE user_id IN ('{}', '{}')",
            a.id, b.id
        ))
        .await,
        2
    );

    // HELPDESK changes nothing role-related; an ADMIN changes roles within its rank.
    let roles = json!({ "userIds": [c.id, super_admin.id], "role": "CLIENT" });
    assert_eq!(
        app.call(
            "POST",
            "/api/users/bulk/role",
            Some(&helpdesk.token),
            Some(roles.clone())
        )
        .await
        .status(),
        403
    );
    let changed = json_body(
        app.call(
            "POST",
            "/api/users/bulk/role",
            Some(&admin.token),
            Some(roles),
        )
        .await,
    )
    .await;
    assert_eq!(changed["results"]["success"], json!([c.id]));
    assert_eq!(
        changed["results"]["failed"][0]["id"],
        super_admin.id.to_string()
    );
    let deleted = json_body(
        app.call(
            "POST",
            "/api/users/bulk/delete",
            Some(&admin.token),
            Some(json!({ "userIds": [a.id, b.id], "reason": "bulk" })),
        )
        .await,
    )
    .await;
    assert_eq!(deleted["results"]["totalSuccess"], 2);
    let restored = json_body(
        app.call(
            "POST",
            "/api/users/bulk/restore",
            Some(&admin.token),
            Some(json!({ "userIds": [a.id, b.id, c.id] })),
        )
        .await,
    )
    .await;
    assert_eq!(restored["results"]["success"], json!([a.id, b.id]));
    assert_eq!(
        restored["results"]["failed"][0]["reason"],
        "the account is not deleted"
    );

    for (path, body) in [
        (
            "/api/users/bulk/status",
            json!({ "userIds": [], "status": "ACTIVE" }),
        ),
        (
            "/api/users/bulk/status",
            json!({ "userIds": vec![a.id.to_string(); 101], "status": "ACTIVE" }),
        ),
        ("/api/users/bulk/status", json!({ "userIds": [a.id] })),
        ("/api/users/bulk/role", json!({ "userIds": [a.id] })),
    ] {
        assert_eq!(
            app.call("POST", path, Some(&admin.token), Some(body.clone()))
                .await
                .status(),
            400,
            "{path} {body}"
        );
    }

    let export = app
        .call(
            "GET",
            "/api/users/bulk/export?role=CLIENT",
            Some(&helpdesk.token),
            None,
        )
        .await;
    assert_eq!(export.status(), 200);
    let csv = export.text().await.expect("csv");
    assert!(
        csv.contains(&a.email) && csv.contains(&b.email) && csv.contains(&c.email),
        "{csv}"
    );
    assert!(!csv.contains(&admin.email));
    assert_eq!(
        app.call("GET", "/api/users/bulk/export", Some(&a.token), None)
            .await
            .status(),
        403
    );
}

#[tokio::test]
async fn staff_edits_to_orders_and_pricing_leave_audit_rows_with_what_changed() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let client = app.user(Role::Client).await;
    let (id, number) = app.order_of(&client).await;
    let path = format!("/api/orders/{number}");
    let own = app
        .call(
            "PATCH",
            &path,
            Some(&client.token),
            Some(json!({ "pickupNotes": "ring twice" })),
        )
        .await;
    assert_eq!(own.status(), 200);
    assert_eq!(
        app.count("SELECT count(*) FROM staff_audits").await,
        0,
        "an owner's own edit is not a staff change"
    );
    let by_staff = app
        .call(
            "PATCH",
            &path,
            Some(&admin.token),
            Some(json!({ "pickupNotes": "use the dock" })),
        )
        .await;
    assert_eq!(by_staff.status(), 200);
    let row = app
        .db()
        .await
        .uncached()
        .query_one(
            "SELECT entity_type, entity_id::text, action, performed_by, changes FROM staff_audits",
            &[],
        )
        .await
        .expect("one audit row");
    assert_eq!(
        (
            row.get::<_, String>(0),
            row.get::<_, String>(1),
            row.get::<_, String>(2)
        ),
        ("ORDER".into(), id, "UPDATE".into())
    );
    assert_eq!(row.get::<_, uuid::Uuid>(3), admin.id);
    let changes: Value = row.get(4);
    assert_eq!(
        changes["pickupNotes"],
        json!({ "from": "ring twice", "to": "use the dock" })
    );

    let configuration = json!({
        "slug": "audit-test", "name": "Audit test", "distanceThreshold": 10, "mileageRate": 3, "minimumFee": 40,
        "beyondThresholdUsesWithinFee": true,
        "tiers": [{ "tierNumber": 1, "minHeadCount": 0, "minFoodCost": 0, "withinFee": 40 }]
    });
    assert_eq!(
        app.call(
            "PUT",
            "/api/pricing/tiers",
            Some(&admin.token),
            Some(configuration.clone())
        )
        .await
        .status(),
        201
    );
    let mut cheaper = configuration;
    cheaper["minimumFee"] = json!(35);
    assert_eq!(
        app.call(
            "PUT",
            "/api/pricing/tiers",
            Some(&admin.token),
            Some(cheaper)
        )
        .await
        .status(),
        201
    );
    let published = app
        .db()
        .await
        .uncached().query(
            "SELECT changes FROM staff_audits WHERE entity_type = 'PRICING_CONFIGURATION' AND action = 'PUBLISH' ORDER BY id",
            &[],
        )
        .await
        .expect("pricing audits");
    assert_eq!(published.len(), 2);
    let second: Value = published[1].get(0);
    assert!(second.get("version").is_some(), "{second}");
    assert!(
        second.to_string().contains("inimum"),
        "the fee change is recorded: {second}"
    );
}

#[tokio::test]
async fn single_order_views_show_only_one_s_own_and_dashboards_answer_with_etags() {
    let app = TestApp::spawn().await;
    let client = app.user(Role::Client).await;
    let other = app.user(Role::Client).await;
    let vendor = app.user(Role::Vendor).await;
    let admin = app.user(Role::Admin).await;
    let (_, number) = app.order_of(&client).await;
    let mine = format!("/api/user-orders/{number}");
    let own = app.call("GET", &mine, Some(&client.token), None).await;
    assert_eq!(own.status(), 200);
    assert_eq!(
        json_body(own).await["order"]["orderNumber"],
        number.as_str()
    );
    assert_eq!(
        app.call("GET", &mine, Some(&other.token), None)
            .await
            .status(),
        404
    );
    assert_eq!(
        app.call("GET", &mine, Some(&admin.token), None)
            .await
            .status(),
        404,
        "not the admin's own"
    );
    assert_eq!(
        app.call(
            "GET",
            "/api/user-orders/NO-SUCH-1",
            Some(&client.token),
            None
        )
        .await
        .status(),
        404
    );

    let by_vendor = json_body(
        app.call(
            "POST",
            "/api/catering-requests",
            Some(&vendor.token),
            Some(catering_body(30)),
        )
        .await,
    )
    .await;
    let vendor_number = by_vendor["order"]["orderNumber"]
        .as_str()
        .expect("number")
        .to_owned();
    let vendor_path = format!("/api/vendor/orders/{vendor_number}");
    assert_eq!(
        app.call("GET", &vendor_path, Some(&vendor.token), None)
            .await
            .status(),
        200
    );
    assert_eq!(
        app.call("GET", &vendor_path, Some(&admin.token), None)
            .await
            .status(),
        200
    );
    assert_eq!(
        app.call("GET", &vendor_path, Some(&client.token), None)
            .await
            .status(),
        403
    );
    let another_vendor = app.user(Role::Vendor).await;
    assert_eq!(
        app.call("GET", &vendor_path, Some(&another_vendor.token), None)
            .await
            .status(),
        404
    );

    let dashboard = app
        .call(
            "GET",
            "/api/dashboard-metrics?period=week",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(dashboard.status(), 200);
    let etag = dashboard.headers()["etag"]
        .to_str()
        .expect("etag")
        .to_owned();
    let figures = json_body(dashboard).await["metrics"].clone();
    assert_eq!(figures["orders"], 2);
    assert_eq!(figures["ordersByStatus"]["ACTIVE"], 2);
    assert!(figures["activeDrivers"].is_number());
    let unchanged = app
        .http
        .get(app.url("/api/dashboard-metrics?period=week"))
        .bearer_auth(&admin.token)
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("request");
    assert_eq!(unchanged.status(), 304);
    assert!(unchanged.bytes().await.expect("body").is_empty());
    for (path, token, status) in [
        ("/api/dashboard-metrics", &vendor.token, 403),
        ("/api/dashboard-metrics?period=decade", &admin.token, 400),
        ("/api/vendor/metrics", &client.token, 403),
        ("/api/vendor/metrics", &admin.token, 400),
    ] {
        assert_eq!(
            app.call("GET", path, Some(token), None).await.status(),
            status,
            "{path}"
        );
    }
    let own_figures = json_body(
        app.call(
            "GET",
            "/api/vendor/metrics?period=day",
            Some(&vendor.token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(own_figures["metrics"]["orders"], 1);
    assert!(own_figures["metrics"]["activeDrivers"].is_null());
    let named = json_body(
        app.call(
            "GET",
            &format!("/api/vendor/metrics?vendorId={}", vendor.id),
            Some(&admin.token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(named["metrics"]["vendorId"], vendor.id.to_string());
    let someone_else = format!("/api/vendor/metrics?vendorId={}", another_vendor.id);
    assert_eq!(
        app.call("GET", &someone_else, Some(&vendor.token), None)
            .await
            .status(),
        403
    );
}
