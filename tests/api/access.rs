//! Who may call comes before what they send. For every route behind the session
//! authorizer: a request without a token is a 401, and a role the route's declaration
//! refuses (`Route::requires`) gets 403 for an empty, a garbage or a malformed body, never
//! a 400 or a 422 that would tell it how to shape the request.

use api_tests::{TestApp, TestUser};
use functions::{deploy::Route, REGISTRY};
use shared::auth::{rbac::allows, Role};

/// A path of the route with its parameters filled in (ids that exist nowhere).
fn concrete(route: &Route) -> String {
    route
        .path
        .split('/')
        .map(|segment| match segment {
            s if s.contains("order_number") => "CV-NOPE",
            s if s.starts_with('{') => "00000000-0000-4000-8000-000000000001",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The bodies a refused caller may send: none, an empty object, not JSON at all.
const BODIES: [Option<&str>; 3] = [None, Some("{}"), Some("not json {")];

async fn send(app: &TestApp, route: &Route, token: Option<&str>, body: Option<&str>) -> u16 {
    let method = reqwest::Method::from_bytes(route.method.as_str().as_bytes()).expect("method");
    let mut request = app.http.request(method, app.url(&concrete(route)));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    request.send().await.expect("request").status().as_u16()
}

#[tokio::test]
async fn refused_callers_get_401_or_403_whatever_they_send() {
    let app = TestApp::spawn().await;
    let mut checked = 0;
    for function in REGISTRY {
        for route in function.deploy.routes.iter().filter(|r| r.authorizer) {
            for body in BODIES {
                let status = send(&app, route, None, body).await;
                assert_eq!(
                    status,
                    401,
                    "{} without a token, body {body:?}",
                    route.key()
                );
            }
            let Some(permission) = route.requires else {
                continue;
            };
            for role in Role::ALL.into_iter().filter(|r| !allows(*r, permission)) {
                // A fresh caller per route and role: refusals still draw on its budget.
                let caller: TestUser = app.user(role).await;
                for body in BODIES {
                    let status = send(&app, route, Some(&caller.token), body).await;
                    assert_eq!(
                        status,
                        403,
                        "{} as {role} (lacking {permission:?}), body {body:?}",
                        route.key()
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(
        checked > 100,
        "the declarations refuse roles on many routes ({checked})"
    );
}

/// The two routes the review found answering 400 to roles that may not call them.
#[tokio::test]
async fn assigning_drivers_and_reporting_locations_refuse_before_reading() {
    let app = TestApp::spawn().await;
    for (path, roles) in [
        (
            "/api/orders/assignDriver",
            &[Role::Driver, Role::Vendor, Role::Client][..],
        ),
        ("/api/tracking/locations", &[Role::Vendor, Role::Client][..]),
    ] {
        for role in roles {
            let caller = app.user(*role).await;
            let response = app
                .call(
                    "POST",
                    path,
                    Some(&caller.token),
                    Some(serde_json::json!({})),
                )
                .await;
            assert_eq!(response.status(), 403, "{path} as {role}");
            let body: serde_json::Value = response.json().await.expect("json");
            assert_eq!(
                body["error"]["code"], "forbidden",
                "{path} as {role}: {body}"
            );
        }
    }
}
