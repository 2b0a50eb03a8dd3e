//! The API against its description, as a client meets it: schemathesis (pinned in
//! `infra/local/requirements.txt`, installed into `.local/venv` by the test command)
//! generates requests from `infra/openapi.yaml`, sends them to this test's gateway with
//! the demo data loaded, and checks every answer's status, content type, headers and body
//! against the document. It fails when the two disagree.
//!
//! Signed in as the demo client. The API's budgets are per user (100 requests a minute),
//! so each operation behind a bearer token is called by its own copy of the demo client
//! (same role, same password, its own session); the public routes share the one source
//! address, and their small budgets (sign-up, applications, partner authentication
//! failures) answer 429, which the document describes. Bounded: a fixed seed, at most
//! [`MAX_EXAMPLES`] generated cases per operation and phase, the coverage phase's
//! boundary values for valid requests only (its invalid ones are thousands of requests).

use std::{fmt::Write as _, time::Instant};

use api_tests::{json_body, repo_root, TestApp};
use serde_json::json;
use shared::{
    auth::{sessions, Role},
    db::p,
};

const SEED: u64 = 20_261_206;
const MAX_EXAMPLES: u32 = 2;

/// Checks left out, and why. The status, content-type, header and body checks all run.
const EXCLUDED_CHECKS: &[(&str, &str)] = &[
    // API Gateway answers a method no route has with its own 404 {"message":"Not Found"};
    // the local gateway's 405 and its Allow are a local courtesy. And a static path
    // beside a templated one (/api/users/deleted, /api/users/{userId}) is served other
    // methods by the templated route, so neither is a property of the static operation.
    (
        "unsupported_method",
        "a method no route has is not part of the contract",
    ),
    (
        "allow_header_conformance",
        "Allow lists the templated sibling route's methods",
    ),
    // An empty query parameter is the same as an absent one (a web form's `?status=`),
    // which OpenAPI 3.0 cannot say of a date or an enum parameter; bad values are
    // refused, as the area tests check.
    (
        "negative_data_rejection",
        "an empty query parameter is an absent one",
    ),
];

/// Operations whose requests the server judges by more than their schema, so a
/// schema-valid request may rightly be refused (400 or 422): positive_data_acceptance
/// is off for them, every other check still runs.
const RULES_BEYOND_THE_SCHEMA: &[(&str, &str)] = &[
    (
        "applyToDrive",
        "names, email and phone are checked for their shape",
    ),
    ("signup", "password strength"),
    ("register", "password strength"),
    ("setPassword", "the link must be live"),
    (
        "updateProfile",
        "the current password must be the account's",
    ),
    (
        "createAddress",
        "an Idempotency-Key generated twice is reused (422)",
    ),
    (
        "createCateringRequest",
        "pickup in the future, an address or its id, hosts",
    ),
    (
        "createOnDemand",
        "pickup in the future, an address or its id",
    ),
    (
        "calculatePrice",
        "clientConfig names a stored configuration",
    ),
    (
        "calculatorCalculate",
        "clientConfig names a stored configuration",
    ),
    ("trackingDrivers", "lat and lng come together"),
    (
        "createOrderSeries",
        "a rule RFC 5545 parses, saved addresses the client may use, a date to come",
    ),
    (
        "editOrderSeries",
        "the rule, times and order fields checked as on create",
    ),
    (
        "signUpload",
        "the file type and the name's extension must agree",
    ),
    (
        "signApplicationDocument",
        "the file type and the name's extension must agree",
    ),
];

#[tokio::test]
async fn the_api_answers_as_its_description_says() {
    let st = repo_root().join(".local/venv/bin/st");
    assert!(
        st.exists(),
        "{} is missing: the test command installs schemathesis from infra/local/requirements.txt",
        st.display()
    );
    let app = TestApp::spawn().await;
    app.seed().await;
    let login = app
        .call(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({ "email": "client@readyset.local", "password": "readyset-demo-1" })),
        )
        .await;
    assert_eq!(login.status(), 200, "the demo client signs in");
    let token = json_body(login).await["accessToken"]
        .as_str()
        .expect("accessToken")
        .to_owned();

    let dir = std::env::temp_dir().join(format!("readyset-schemathesis-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("work folder");
    let config = config(&app, &token).await;
    std::fs::write(dir.join("schemathesis.toml"), config).expect("config");
    let started = Instant::now();
    let output = tokio::process::Command::new(&st)
        .arg("run")
        .arg(repo_root().join("infra/openapi.yaml"))
        .args(["--no-color", "--output-truncate", "true"])
        .current_dir(&dir)
        .output()
        .await
        .expect("run schemathesis");
    let report = String::from_utf8_lossy(&output.stdout);
    let summary = report
        .lines()
        .filter(|line| line.contains("generated") || line.contains(" in "))
        .collect::<Vec<_>>()
        .join("\n");
    println!(
        "schemathesis: {:.1} s\n{summary}",
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        output.status.success(),
        "infra/openapi.yaml and the API disagree:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The run's configuration: the gateway, the seed and bounds, the checks, and each
/// operation's caller.
async fn config(app: &TestApp, demo_token: &str) -> String {
    let mut toml = format!(
        "base-url = \"{}\"\nseed = {SEED}\nworkers = 1\nheaders = {{ Authorization = \"Bearer {demo_token}\" }}\n\n",
        app.url("")
    );
    toml.push_str(&format!(
        "[generation]\nmax-examples = {MAX_EXAMPLES}\ndatabase = \"none\"\n\n"
    ));
    toml.push_str("[phases.coverage]\nunexpected-methods = []\ngeneration.mode = \"positive\"\n\n");
    toml.push_str("[checks]\n");
    for (check, _) in EXCLUDED_CHECKS {
        let _ = writeln!(toml, "{check}.enabled = false");
    }
    // A spent budget is a 429 whichever header is missing (partner authentication
    // failures are counted per address).
    toml.push_str(
        "missing_required_header.expected-statuses = [\"400\", \"401\", \"403\", \"406\", \"415\", \"422\", \"429\"]\n",
    );
    for (operation, _) in RULES_BEYOND_THE_SCHEMA {
        let _ = write!(
            toml,
            "\n[[operations]]\ninclude-operation-id = \"{operation}\"\nchecks.positive_data_acceptance.enabled = false\n"
        );
    }
    // The upload link's routes answer a missing or wrong link 404, as for an unknown
    // application, and share the applications' budget per address.
    for operation in ["signApplicationDocument", "completeApplicationDocument"] {
        let _ = write!(
            toml,
            "\n[[operations]]\ninclude-operation-id = \"{operation}\"\nchecks.missing_required_header.enabled = false\n"
        );
    }
    for (n, operation) in bearer_operations().iter().enumerate() {
        let token = copy_of_demo_client(app, n).await;
        let _ = write!(
            toml,
            "\n[[operations]]\ninclude-operation-id = \"{operation}\"\nheaders = {{ Authorization = \"Bearer {token}\" }}\n"
        );
    }
    toml
}

/// The operationId of every operation that takes the session's bearer token.
fn bearer_operations() -> Vec<String> {
    let text = std::fs::read_to_string(repo_root().join("infra/openapi.yaml")).expect("openapi");
    let doc: serde_json::Value = serde_json::to_value(
        yaml_serde::from_str::<yaml_serde::Value>(&text).expect("openapi parses"),
    )
    .expect("as JSON");
    let default = &doc["security"];
    let mut operations = Vec::new();
    for item in doc["paths"].as_object().expect("paths").values() {
        for (method, operation) in item.as_object().expect("path item") {
            if method == "parameters" {
                continue;
            }
            let security = operation.get("security").unwrap_or(default);
            let bearer = security
                .as_array()
                .is_some_and(|all| all.iter().any(|s| s.get("bearer").is_some()));
            if bearer {
                operations.push(
                    operation["operationId"]
                        .as_str()
                        .expect("operationId")
                        .to_owned(),
                );
            }
        }
    }
    operations
}

/// An access token of a new CLIENT account with the demo client's password, signed in.
async fn copy_of_demo_client(app: &TestApp, n: usize) -> String {
    let email = format!("client-{n}@schemathesis.readyset.local");
    let id: uuid::Uuid = app
        .db()
        .await
        .query_typed_one(
            "INSERT INTO users (email, password_hash, role, status, name)
             SELECT $1, password_hash, role, status, name FROM users WHERE email = 'client@readyset.local'
             RETURNING id",
            &[p(&email)],
        )
        .await
        .expect("copy the demo client")
        .get(0);
    let (session, _) = sessions::create(&app.state, id, Role::Client)
        .await
        .expect("session");
    let (token, _) = app.state.jwt().await.expect("keys").issue(
        id,
        session.id,
        Role::Client,
        chrono::Utc::now(),
    );
    token
}
