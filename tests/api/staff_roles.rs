//! Staff roles: only a SUPER_ADMIN grants, changes or removes them.

use crate::support::{create_order, number};
use api_tests::{TestApp, TestUser};
use serde_json::json;
use shared::auth::Role;

#[tokio::test]
async fn only_super_admins_grant_change_or_remove_staff_roles() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let super_admin = app.user(Role::SuperAdmin).await;
    let helpdesk = app.user(Role::Helpdesk).await;
    let other_admin = app.user(Role::Admin).await;
    let client = app.user(Role::Client).await;
    let change = |actor: &TestUser, target: &TestUser, role: &str| {
        let path = format!("/api/users/{}/change-role", target.id);
        let token = actor.token.clone();
        let body = json!({ "role": role });
        let app = &app;
        async move {
            app.call("POST", &path, Some(&token), Some(body))
                .await
                .status()
                .as_u16()
        }
    };
    assert_eq!(change(&admin, &client, "ADMIN").await, 403, "grant ADMIN");
    assert_eq!(
        change(&admin, &client, "HELPDESK").await,
        403,
        "grant HELPDESK"
    );
    assert_eq!(
        change(&admin, &helpdesk, "CLIENT").await,
        403,
        "remove HELPDESK"
    );
    assert_eq!(
        change(&admin, &other_admin, "VENDOR").await,
        403,
        "remove ADMIN"
    );
    assert_eq!(
        change(&admin, &client, "VENDOR").await,
        200,
        "ordinary roles stay with admins"
    );
    assert_eq!(change(&super_admin, &helpdesk, "ADMIN").await, 200);
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/api/users/{}", other_admin.id),
            Some(&admin.token),
            None
        )
        .await
        .status(),
        403,
        "nor do admins delete other admins"
    );
    // HELPDESK moves orders along but does not delete them.
    let desk = app.user(Role::Helpdesk).await;
    let order = create_order(&app, &client, None).await;
    let path = format!("/api/orders/{}", number(&order));
    assert_eq!(
        app.call("DELETE", &path, Some(&desk.token), None)
            .await
            .status(),
        403
    );
    assert_eq!(
        app.call("DELETE", &path, Some(&admin.token), None)
            .await
            .status(),
        204
    );
}
