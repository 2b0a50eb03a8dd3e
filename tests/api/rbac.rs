//! Every row of the RBAC table, through the routes that enforce it: each permission is
//! tried by every role (and anonymously) and must be allowed exactly for the roles listed
//! here, which are written out independently of the table in `shared`.

use api_tests::{catering_body, json_body, TestApp, TestUser};
use serde_json::json;
use shared::auth::{rbac::PERMISSIONS, Permission, Role};

use Role::{Admin, Client, Driver, Helpdesk, SuperAdmin, Vendor};

/// The expected holders of each permission (the original platform's rules).
fn expected(permission: Permission) -> &'static [Role] {
    match permission {
        Permission::OwnAccount => &[Client, Vendor, Driver, Helpdesk, Admin, SuperAdmin],
        Permission::ListUsers
        | Permission::ViewUsers
        | Permission::UpdateUsers
        | Permission::ShareAddresses
        | Permission::ManageAllAddresses
        | Permission::BackdateOrders
        | Permission::ViewAllOrders
        | Permission::ManageOrders
        | Permission::ViewAnyVendorOrders
        | Permission::ViewPricing
        | Permission::ViewSystemHealth
        | Permission::ResolveAlerts
        | Permission::ManageFiles
        | Permission::ViewDrivers
        | Permission::DispatchDrivers
        | Permission::ViewAudits
        | Permission::ReviewApplications => &[Helpdesk, Admin, SuperAdmin],
        Permission::Drive => &[Driver],
        Permission::PlanAvailability => &[Driver, Helpdesk, Admin, SuperAdmin],
        Permission::PurgeUsers => &[SuperAdmin],
        Permission::DeleteUsers
        | Permission::ChangeRoles
        | Permission::CreateUsers
        | Permission::RestoreUsers
        | Permission::DeleteOrders
        | Permission::ManagePricing
        | Permission::ManageWebhooks => &[Admin, SuperAdmin],
        Permission::OwnAddresses | Permission::ViewOrders | Permission::QuotePrices => {
            &[Client, Vendor, Driver, Helpdesk, Admin, SuperAdmin]
        }
        Permission::CreateOrders | Permission::ViewDeliveryAnalytics => {
            &[Client, Vendor, Helpdesk, Admin, SuperAdmin]
        }
        Permission::ViewVendorOrders => &[Vendor, Helpdesk, Admin, SuperAdmin],
    }
}

/// An order the CLIENT `target` placed; returns its id and number.
async fn order_of(app: &TestApp, target: &TestUser) -> (String, String) {
    let order = json_body(
        app.call(
            "POST",
            "/api/catering-requests",
            Some(&target.token),
            Some(catering_body(20)),
        )
        .await,
    )
    .await;
    (
        order["order"]["id"].as_str().expect("order id").to_owned(),
        order["order"]["orderNumber"]
            .as_str()
            .expect("order number")
            .to_owned(),
    )
}

/// Marks `target` deleted, as a DELETE by staff would.
async fn soft_delete(app: &TestApp, target: &TestUser) {
    app.db()
        .await
        .uncached()
        .execute(
            "UPDATE users SET status = 'DELETED', deleted_at = now() WHERE id = $1",
            &[&target.id],
        )
        .await
        .expect("soft delete");
}

/// Calls the route that needs `permission` on a fresh CLIENT target; true when allowed.
async fn attempt(app: &TestApp, permission: Permission, actor: Option<&TestUser>) -> bool {
    let target = app.user(Client).await;
    let token = actor.map(|a| a.token.as_str());
    let (response, allowed_status) = match permission {
        Permission::OwnAccount => (
            app.call("GET", "/api/auth/current-user", token, None).await,
            200,
        ),
        Permission::ListUsers => (app.call("GET", "/api/users", token, None).await, 200),
        Permission::ViewUsers => (
            app.call("GET", &format!("/api/users/{}", target.id), token, None)
                .await,
            200,
        ),
        Permission::UpdateUsers => (
            app.call(
                "PATCH",
                &format!("/api/users/{}", target.id),
                token,
                Some(json!({ "name": "Renamed" })),
            )
            .await,
            200,
        ),
        Permission::DeleteUsers => (
            app.call("DELETE", &format!("/api/users/{}", target.id), token, None)
                .await,
            204,
        ),
        Permission::ChangeRoles => (
            app.call(
                "POST",
                &format!("/api/users/{}/change-role", target.id),
                token,
                Some(json!({ "role": "VENDOR" })),
            )
            .await,
            200,
        ),
                Permission::CreateUsers => (
            app.call(
                "POST",
                "/api/users",
                token,
                Some(json!({
                    "email": format!("made-{}@example.com", uuid::Uuid::new_v4().simple()),
                    "role": "CLIENT",
                    "name": "Made By Staff",
                })),
            )
            .await,
            201,
        ),
        Permission::RestoreUsers => {
            soft_delete(app, &target).await;
            (
                app.call("POST", &format!("/api/users/{}/restore", target.id), token, None)
                    .await,
                200,
            )
        }
        Permission::PurgeUsers => {
            soft_delete(app, &target).await;
            (
                app.call(
                    "DELETE",
                    &format!("/api/users/{}/purge", target.id),
                    token,
                    Some(json!({ "confirmed": true, "reason": "the account holder asked" })),
                )
                .await,
                200,
            )
        }
                Permission::ViewAudits => (
            app.call("GET", &format!("/api/users/{}/audit", target.id), token, None)
                .await,
            200,
        ),
        Permission::ReviewApplications => (
            app.call("GET", "/api/admin/job-applications", token, None)
                .await,
            200,
        ),
        Permission::OwnAddresses => (app.call("GET", "/api/addresses", token, None).await, 200),
        Permission::CreateOrders => (
            app.call(
                "POST",
                "/api/catering-requests",
                token,
                Some(catering_body(20)),
            )
            .await,
            201,
        ),
        Permission::ViewOrders => (app.call("GET", "/api/orders", token, None).await, 200),
        Permission::ManageOrders => {
            // An order of the CLIENT target, which only staff may move forward.
            let (id, _) = order_of(app, &target).await;
            let path = format!("/api/catering-requests/{id}/status");
            (
                app.call("PATCH", &path, token, Some(json!({ "status": "ASSIGNED" })))
                    .await,
                200,
            )
        }
        Permission::ViewAllOrders => {
            let (_, number) = order_of(app, &target).await;
            (
                app.call("GET", &format!("/api/orders/{number}"), token, None)
                    .await,
                200,
            )
        }
        Permission::DeleteOrders => {
            let (_, number) = order_of(app, &target).await;
            (
                app.call("DELETE", &format!("/api/orders/{number}"), token, None)
                    .await,
                204,
            )
        }
        Permission::BackdateOrders => {
            let mut body = catering_body(20);
            let yesterday = chrono::Utc::now() - chrono::Duration::days(1);
            body["pickupDateTime"] = json!(yesterday);
            body["arrivalDateTime"] = json!(yesterday + chrono::Duration::minutes(45));
            (
                app.call("POST", "/api/catering-requests", token, Some(body))
                    .await,
                201,
            )
        }
        Permission::ShareAddresses => (
            app.call(
                "POST",
                "/api/addresses",
                token,
                Some(json!({ "street1": "1 Market St", "city": "San Francisco", "state": "CA", "isShared": true })),
            )
            .await,
            201,
        ),
        Permission::ManageAllAddresses => {
            let address = json_body(
                app.call(
                    "POST",
                    "/api/addresses",
                    Some(&target.token),
                    Some(json!({ "street1": "1 Market St", "city": "San Francisco", "state": "CA" })),
                )
                .await,
            )
            .await;
            let id = address["address"]["id"].as_str().expect("address id");
            (
                app.call("GET", &format!("/api/addresses/{id}"), token, None)
                    .await,
                200,
            )
        }
        Permission::ViewAnyVendorOrders => (
            app.call(
                "GET",
                &format!("/api/vendor/orders?vendorId={}", target.id),
                token,
                None,
            )
            .await,
            200,
        ),
        Permission::ViewPricing => (
            app.call("GET", "/api/pricing/tiers", token, None).await,
            200,
        ),
        Permission::ViewSystemHealth => {
            // Everyone learns whether the API is up; only holders see its dependencies.
            let response = app.call("GET", "/api/health", token, None).await;
            assert_eq!(response.status(), 200);
            return json_body(response).await["services"].is_object();
        }
        Permission::ViewVendorOrders => (
            app.call("GET", "/api/vendor/orders", token, None).await,
            200,
        ),
        Permission::ManageFiles => {
            // A file on the target's own account: staff see it; removing it is the test.
            let file = app
                .active_upload(&target, "DOCUMENT", "user", &target.id.to_string())
                .await;
            (
                app.call("DELETE", &format!("/api/file-uploads/{}", file.id), token, None)
                    .await,
                204,
            )
        }
        Permission::Drive => (
            app.call("POST", "/api/tracking/shifts/start", token, Some(json!({})))
                .await,
            200,
        ),
        Permission::ViewDrivers => {
            let driver = app.user(Driver).await;
            let driver_id = shared::drivers::driver_id_of(&*app.db().await, driver.id)
                .await
                .expect("lookup")
                .expect("a driver record");
            (
                app.call(
                    "GET",
                    &format!("/api/tracking/shifts/active?driverId={driver_id}"),
                    token,
                    None,
                )
                .await,
                200,
            )
        }
        Permission::DispatchDrivers => {
            // Suggestions for the target's order: staff only, nothing is assigned.
            let (id, _) = order_of(app, &target).await;
            (
                app.call(
                    "POST",
                    "/api/orders/assignDriver",
                    token,
                    Some(json!({ "orderId": id })),
                )
                .await,
                200,
            )
        }
        Permission::PlanAvailability => (
            app.call(
                "GET",
                "/api/drivers/availability?date=2030-06-03",
                token,
                None,
            )
            .await,
            200,
        ),
        Permission::ResolveAlerts => (
            app.call(
                "POST",
                "/api/health/alerts",
                token,
                Some(json!({ "ids": [uuid::Uuid::new_v4()] })),
            )
            .await,
            200,
        ),
        Permission::QuotePrices => (
            app.call(
                "POST",
                "/api/pricing/calculate",
                token,
                Some(json!({ "headCount": 10, "distance": 5 })),
            )
            .await,
            200,
        ),
        Permission::ManagePricing => (
            app.call(
                "PUT",
                "/api/pricing/tiers",
                token,
                Some(pricing_configuration()),
            )
            .await,
            201,
        ),
        Permission::ManageWebhooks => (
            app.call("GET", "/api/admin/webhooks", token, None).await,
            200,
        ),
        Permission::ViewDeliveryAnalytics => (
            app.call(
                "GET",
                "/api/analytics/deliveries?from=2026-11-01&to=2026-11-30",
                token,
                None,
            )
            .await,
            200,
        ),
    };
    let status = response.status().as_u16();
    if status == allowed_status {
        return true;
    }
    // A denial is 401 (no token), 403 (role) or 404 (another user's object): never data.
    // Recording a past pickup is a field rule for those without the permission: 400.
    let denials: &[u16] = if permission == Permission::BackdateOrders {
        &[400, 401, 403]
    } else {
        &[401, 403, 404]
    };
    assert!(
        denials.contains(&status),
        "{permission:?} by {:?}: unexpected {status}",
        actor.map(|a| a.role)
    );
    false
}

/// A small valid configuration for the publish route.
fn pricing_configuration() -> serde_json::Value {
    json!({
        "slug": "rbac-test", "name": "RBAC test", "distanceThreshold": 10, "mileageRate": 3, "minimumFee": 40,
        "beyondThresholdUsesWithinFee": true,
        "tiers": [{ "tierNumber": 1, "minHeadCount": 0, "minFoodCost": 0, "withinFee": 40 }]
    })
}

#[tokio::test]
async fn every_permission_is_allowed_exactly_for_its_roles() {
    let app = TestApp::spawn().await;
    let mut actors = Vec::new();
    for role in Role::ALL {
        actors.push(app.user(role).await);
    }
    for (permission, _) in PERMISSIONS {
        let holders = expected(*permission);
        assert!(!holders.is_empty());
        assert!(
            !attempt(&app, *permission, None).await,
            "{permission:?} must need a token"
        );
        for actor in &actors {
            let allowed = attempt(&app, *permission, Some(actor)).await;
            assert_eq!(
                allowed,
                holders.contains(&actor.role),
                "{permission:?} by {}",
                actor.role
            );
        }
    }
}

#[tokio::test]
async fn only_super_admins_grant_or_remove_super_admin() {
    let app = TestApp::spawn().await;
    let admin = app.user(Admin).await;
    let super_admin = app.user(SuperAdmin).await;
    let client = app.user(Client).await;
    let other_super = app.user(SuperAdmin).await;
    let change = |actor: &TestUser, target: &TestUser, role: &str| {
        let path = format!("/api/users/{}/change-role", target.id);
        let token = actor.token.clone();
        let body = json!({ "role": role, "reason": "test" });
        let app = &app;
        async move { app.call("POST", &path, Some(&token), Some(body)).await }
    };

    assert_eq!(change(&admin, &client, "SUPER_ADMIN").await.status(), 403);
    assert_eq!(change(&admin, &other_super, "ADMIN").await.status(), 403);
    assert_eq!(
        change(&admin, &admin, "VENDOR").await.status(),
        403,
        "own role"
    );
    let promoted = change(&super_admin, &client, "SUPER_ADMIN").await;
    assert_eq!(promoted.status(), 200);
    assert_eq!(json_body(promoted).await["user"]["type"], "SUPER_ADMIN");
    assert_eq!(
        change(&super_admin, &other_super, "CLIENT").await.status(),
        200
    );

    let audits: Vec<serde_json::Value> = app
        .db()
        .await
        .query_typed(
            "SELECT changes FROM user_audits WHERE action = 'ROLE_CHANGE' ORDER BY id",
            &[],
        )
        .await
        .expect("audits")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(audits.len(), 2, "refused changes leave no audit row");
    assert_eq!(
        audits[0]["role"],
        json!({ "from": "CLIENT", "to": "SUPER_ADMIN" })
    );
}

#[tokio::test]
async fn helpdesk_cannot_edit_staff_and_nobody_edits_above_their_rank() {
    let app = TestApp::spawn().await;
    let helpdesk = app.user(Helpdesk).await;
    let admin = app.user(Admin).await;
    let super_admin = app.user(SuperAdmin).await;
    let patch = |actor: &TestUser, target: &TestUser| {
        let path = format!("/api/users/{}", target.id);
        let token = actor.token.clone();
        let app = &app;
        async move {
            app.call(
                "PATCH",
                &path,
                Some(&token),
                Some(json!({ "status": "PENDING" })),
            )
            .await
            .status()
        }
    };
    assert_eq!(patch(&helpdesk, &admin).await, 403);
    assert_eq!(patch(&admin, &super_admin).await, 403);
    assert_eq!(patch(&super_admin, &admin).await, 200);
    // Nobody changes their own status.
    let own = app
        .call(
            "PATCH",
            &format!("/api/users/{}", admin.id),
            Some(&admin.token),
            Some(json!({ "status": "ACTIVE" })),
        )
        .await;
    assert_eq!(own.status(), 403);
    // But anyone edits their own profile.
    let renamed = app
        .call(
            "PATCH",
            &format!("/api/users/{}", helpdesk.id),
            Some(&helpdesk.token),
            Some(json!({ "name": "Hana" })),
        )
        .await;
    assert_eq!(renamed.status(), 200);
    assert_eq!(json_body(renamed).await["user"]["name"], "Hana");
}

#[tokio::test]
async fn the_user_list_filters_and_pages() {
    let app = TestApp::spawn().await;
    let admin = app.user(Admin).await;
    for _ in 0..3 {
        app.user(Vendor).await;
    }
    let first = json_body(
        app.call(
            "GET",
            "/api/users?role=VENDOR&limit=2",
            Some(&admin.token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(first["items"].as_array().expect("items").len(), 2);
    let cursor = first["nextCursor"].as_str().expect("more pages");
    let second = json_body(
        app.call(
            "GET",
            &format!("/api/users?role=VENDOR&limit=2&cursor={cursor}"),
            Some(&admin.token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(second["items"].as_array().expect("items").len(), 1);
    assert!(second["nextCursor"].is_null());
    assert!(second["items"][0]["type"] == "VENDOR");

    for bad in ["role=KING", "status=GONE", "limit=500", "cursor=abc"] {
        let response = app
            .call(
                "GET",
                &format!("/api/users?{bad}"),
                Some(&admin.token),
                None,
            )
            .await;
        assert_eq!(response.status(), 400, "{bad}");
    }
    let search = json_body(
        app.call(
            "GET",
            &format!("/api/users?search={}", &admin.email[..12]),
            Some(&admin.token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(search["items"].as_array().expect("items").len(), 1);
}
