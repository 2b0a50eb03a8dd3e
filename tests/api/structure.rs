//! The template, the functions registry, the binaries, the sample events, the OpenAPI
//! document and the local gateway must describe the same set of functions and routes.

use std::collections::BTreeSet;

use api_tests::{repo_root, TestApp};
use local_stack::template::Template;

fn template() -> Template {
    Template::load(&repo_root().join("template.yaml")).expect("template.yaml parses")
}

#[test]
fn every_template_function_is_registered_and_every_registered_function_is_deployed() {
    let in_template: BTreeSet<String> = template()
        .functions
        .iter()
        .map(|f| f.binary.clone())
        .collect();
    let registered: BTreeSet<String> = functions::REGISTRY
        .iter()
        .map(|f| f.name.to_owned())
        .collect();
    assert_eq!(in_template, registered);
}

#[test]
fn every_function_has_a_binary_a_cargo_target_and_a_sample_event() {
    let manifest =
        std::fs::read_to_string(repo_root().join("functions/Cargo.toml")).expect("manifest");
    for function in template().functions {
        let name = &function.binary;
        let bin = repo_root().join(format!("functions/src/bin/{name}.rs"));
        assert!(
            bin.is_file(),
            "{} has no {}",
            function.logical_id,
            bin.display()
        );
        assert!(
            manifest.contains(&format!(
                "name = \"{name}\"\npath = \"src/bin/{name}.rs\"\ntest = false"
            )),
            "functions/Cargo.toml has no [[bin]] {name} with test = false"
        );
        let event = repo_root().join(format!("events/{name}.json"));
        let text = std::fs::read_to_string(&event).unwrap_or_else(|_| {
            panic!(
                "{} has no sample event {}",
                function.logical_id,
                event.display()
            )
        });
        let json: serde_json::Value = serde_json::from_str(&text).expect("sample event is JSON");
        if !function.routes.is_empty() {
            assert_eq!(
                json["version"], "2.0",
                "{name}: HTTP sample events are API Gateway v2 events"
            );
            lambda_http::request::from_str(&text).expect("sample event decodes as a request");
        }
    }
}

#[test]
fn every_function_module_is_named_like_its_binary() {
    for function in template().functions {
        let module = repo_root().join(format!(
            "functions/src/{}.rs",
            function.binary.replace('-', "_")
        ));
        assert!(
            module.is_file(),
            "{} should live in {}",
            function.binary,
            module.display()
        );
    }
}

#[test]
fn every_function_has_a_matching_lambda_kind() {
    for function in template().functions {
        let registered = functions::find(&function.binary).expect("registered");
        let is_http = matches!(registered.handler, functions::Handler::Http(_));
        let is_authorizer = template()
            .default_authorizer
            .is_some_and(|a| a.function_logical_id == function.logical_id);
        if is_authorizer {
            assert!(!is_http, "the authorizer is invoked with authorizer events");
            continue;
        }
        assert_eq!(
            is_http,
            !function.routes.is_empty(),
            "{}: HTTP handlers must have HttpApi routes and event handlers none",
            function.binary
        );
    }
}

#[test]
fn openapi_documents_exactly_the_template_routes() {
    let text =
        std::fs::read_to_string(repo_root().join("infra/openapi.yaml")).expect("openapi.yaml");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("openapi parses");
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_mapping().expect("paths") {
        for (method, _) in item.as_mapping().expect("path item") {
            let method = method.as_str().expect("method").to_ascii_uppercase();
            if method != "PARAMETERS" {
                documented.insert(format!("{method} {}", path.as_str().expect("path")));
            }
        }
    }
    let routed: BTreeSet<String> = template().routes().map(|(_, r)| r.key()).collect();
    assert_eq!(documented, routed);
}

#[tokio::test]
async fn the_local_gateway_serves_exactly_the_template_routes() {
    let app = TestApp::spawn().await;
    let routed: Vec<String> = {
        let mut keys: Vec<String> = template().routes().map(|(_, r)| r.key()).collect();
        keys.sort();
        keys
    };
    assert_eq!(app.route_keys, routed);
}

#[tokio::test]
async fn the_sample_health_event_runs_through_the_handler() {
    let app = TestApp::spawn().await;
    let text = std::fs::read_to_string(repo_root().join("events/health.json")).expect("event");
    let request = lambda_http::request::from_str(&text).expect("decodes");
    let response =
        shared::runtime::handle_http(&app.state, &functions::health::FUNCTION, request).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["x-request-id"],
        "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    );
}

#[tokio::test]
async fn the_migrate_job_is_idempotent() {
    let app = TestApp::spawn().await;
    let handler = match functions::find("migrate").expect("migrate").handler {
        functions::Handler::Event(handler) => handler,
        functions::Handler::Http(_) => panic!("migrate is an event function"),
    };
    let event: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("events/migrate.json")).expect("event"),
    )
    .expect("json");
    // The test database is already migrated: nothing is applied, twice.
    for _ in 0..2 {
        let result = shared::runtime::handle_event(&app.state, handler, event.clone())
            .await
            .expect("migrate runs");
        assert_eq!(result["applied"], serde_json::json!([]));
        assert_eq!(
            result["latestVersion"],
            shared::db::latest_migration_version()
        );
    }
}
