//! The template, the functions registry, the sample events, the OpenAPI document and the
//! local gateway must describe the same set of functions and routes; every sample event
//! runs through its handler; `shared` has no module cycles.

use std::collections::{BTreeMap, BTreeSet};

use api_tests::{
    repo_root,
    samples::{run_sample_events, SAMPLE_OUTCOMES},
    TestApp,
};
use local_stack::template::{FunctionResource, Template};
use serde_json::Value;
use shared::runtime::{handle_event, EventFunction, JobLog, Lambda};

fn template() -> Template {
    Template::load(&repo_root().join("template.yaml")).expect("template.yaml parses")
}

/// The one binary every function is built from (`functions/src/main.rs`).
const LAMBDA_BINARY: &str = "readyset-lambda";

#[test]
fn every_template_function_is_registered_and_every_registered_function_is_deployed() {
    let in_template: BTreeSet<String> = template()
        .functions
        .iter()
        .map(|f| f.handler.clone())
        .collect();
    let registered: BTreeSet<String> = functions::REGISTRY.iter().map(|f| f.name()).collect();
    assert_eq!(in_template, registered);
}

#[test]
fn every_function_runs_the_one_binary_and_has_a_module_and_a_sample_event() {
    let manifest =
        std::fs::read_to_string(repo_root().join("functions/Cargo.toml")).expect("manifest");
    assert!(
        manifest.contains(&format!(
            "name = \"{LAMBDA_BINARY}\"\npath = \"src/main.rs\"\ntest = false"
        )),
        "functions/Cargo.toml builds the one Lambda binary"
    );
    for function in template().functions {
        let name = &function.handler;
        assert_eq!(
            function.binary, LAMBDA_BINARY,
            "{}: every function is the one binary, chosen by its Handler",
            function.logical_id
        );
        let module = repo_root().join(format!("functions/src/{}.rs", name.replace('-', "_")));
        assert!(
            module.is_file(),
            "{} should live in {}",
            function.logical_id,
            module.display()
        );
        let event = repo_root().join(format!("events/{name}.json"));
        let text = std::fs::read_to_string(&event).unwrap_or_else(|_| {
            panic!(
                "{} has no sample event {}",
                function.logical_id,
                event.display()
            )
        });
        let json: Value = serde_json::from_str(&text).expect("sample event is JSON");
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
fn every_function_logs_to_its_own_group_with_the_retention_setting() {
    let template = template();
    for function in &template.functions {
        let group = match &function.log_group {
            Some(yaml_serde::Value::Tagged(tagged)) if tagged.tag == "Ref" => {
                tagged.value.as_str().unwrap_or("").to_owned()
            }
            other => panic!(
                "{}: LoggingConfig.LogGroup must be !Ref to its log group, not {other:?}",
                function.logical_id
            ),
        };
        let resource = template.beside(function, &group).unwrap_or_else(|| {
            panic!(
                "{}: no resource {group} in {}",
                function.logical_id, function.file
            )
        });
        assert_eq!(
            resource["Type"].as_str(),
            Some("AWS::Logs::LogGroup"),
            "{group}"
        );
        match &resource["Properties"]["RetentionInDays"] {
            yaml_serde::Value::Tagged(tagged) => {
                assert_eq!(
                    (tagged.tag.to_string().as_str(), tagged.value.as_str()),
                    ("!Ref", Some("LogRetentionDays")),
                    "{group}"
                )
            }
            other => {
                panic!("{group}: RetentionInDays must be !Ref LogRetentionDays, not {other:?}")
            }
        }
    }
}

#[test]
fn every_function_has_a_matching_lambda_kind() {
    let template = template();
    for function in &template.functions {
        let registered = functions::find(&function.handler).expect("registered");
        let is_http = matches!(registered.lambda, Lambda::Http(_));
        let is_authorizer = template
            .authorizer
            .as_ref()
            .is_some_and(|a| a.function_logical_id == function.logical_id);
        if is_authorizer {
            assert!(!is_http, "the authorizer is invoked with authorizer events");
            continue;
        }
        assert_eq!(
            is_http,
            !function.routes.is_empty(),
            "{}: HTTP handlers must have routes and event handlers none",
            function.handler
        );
    }
}

#[test]
fn openapi_documents_exactly_the_template_routes() {
    let text =
        std::fs::read_to_string(repo_root().join("infra/openapi.yaml")).expect("openapi.yaml");
    let doc: yaml_serde::Value = yaml_serde::from_str(&text).expect("openapi parses");
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

/// The managed policies a function's `Policies` names by `!Ref`.
fn policies(function: &FunctionResource) -> BTreeSet<String> {
    function.resource["Properties"]["Policies"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|policy| match policy {
            yaml_serde::Value::Tagged(tagged) if tagged.tag == "Ref" => {
                tagged.value.as_str().map(str::to_owned)
            }
            _ => None,
        })
        .collect()
}

#[test]
fn cold_starts_warm_only_what_the_function_may_use() {
    let template = template();
    for function in &template.functions {
        let registered = functions::find(&function.handler).expect("registered");
        let warm = registered.lambda.warm();
        let granted = policies(function);
        // Reading the key at cold start without the permission would fail every time;
        // having the permission and not reading it leaves the first request to wait.
        assert_eq!(
            warm.signing_key,
            granted.contains("SigningKeyReadPolicy"),
            "{}: warm_signing_key and SigningKeyReadPolicy go together",
            function.handler
        );
        if warm.dynamodb {
            assert!(
                granted.contains("AppTableItemsPolicy"),
                "{}: warms DynamoDB without AppTableItemsPolicy",
                function.handler
            );
        }
    }
}

#[tokio::test]
async fn every_sample_event_runs_through_its_handler() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let in_events: BTreeSet<String> = std::fs::read_dir(repo_root().join("events"))
        .expect("events")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".json")
                .map(str::to_owned)
        })
        .collect();
    let listed: BTreeSet<String> = SAMPLE_OUTCOMES
        .iter()
        .map(|(n, _)| (*n).to_owned())
        .collect();
    assert_eq!(
        in_events, listed,
        "every sample event has an expected outcome"
    );
    let outcomes = run_sample_events(&app).await;
    // An HTTP status for every route's event (jobs answer 0 in the table).
    let routes = SAMPLE_OUTCOMES.iter().filter(|(_, status)| *status != 0);
    assert_eq!(outcomes.len(), routes.count());
}

#[tokio::test]
async fn the_migrate_job_is_idempotent() {
    let app = TestApp::spawn().await;
    let Lambda::Event(EventFunction { handler, .. }) =
        functions::find("migrate").expect("migrate").lambda
    else {
        panic!("migrate is an event function");
    };
    // The test database is already migrated: nothing is applied, twice.
    for _ in 0..2 {
        let result = handle_event(
            &app.state,
            "migrate",
            "test",
            *handler,
            serde_json::json!({}),
            JobLog::Every,
        )
        .await
        .expect("migrate runs");
        assert_eq!(result["applied"], serde_json::json!([]));
    }
}

/// The top-level modules of `shared` each file of `dir` refers to with `crate::…`.
fn module_references(
    dir: &std::path::Path,
    top: Option<&str>,
    edges: &mut BTreeMap<String, BTreeSet<String>>,
) {
    for entry in std::fs::read_dir(dir).expect("read shared/src") {
        let path = entry.expect("entry").path();
        let name = path
            .file_stem()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if path.is_dir() {
            module_references(&path, Some(top.unwrap_or(&name)), edges);
            continue;
        }
        let module = top.map(str::to_owned).unwrap_or(name);
        if module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("source");
        // Test modules may reach anywhere.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        let targets = edges.entry(module.clone()).or_default();
        for reference in crate_paths(code) {
            let target = match reference.as_str() {
                "AppState" => "state".to_owned(),
                "ApiError" | "ApiResult" => "error".to_owned(),
                other => other.to_owned(),
            };
            if target != module {
                targets.insert(target);
            }
        }
    }
}

/// The first segment of every `crate::x` and `crate::{x, y::z}` path in `code`.
fn crate_paths(code: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.trim()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let (mut depth, mut item, mut end) = (1, String::new(), group.len());
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 1 => {
                        end = i;
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 1 => {
                        found.push(ident(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 1 {
                    item.push(c);
                }
            }
            found.push(ident(&item));
            rest = &group[end..];
        } else {
            found.push(ident(rest));
        }
    }
    found.retain(|s| !s.is_empty());
    found
}

/// `state` builds every component a request needs (the per-container composition root),
/// and any module may take the built state: those edges are left out. Every other
/// dependency between the top-level modules of `shared` points one way.
#[test]
fn shared_has_no_module_cycles() {
    let mut edges = BTreeMap::new();
    module_references(&repo_root().join("shared/src"), None, &mut edges);
    edges.remove("state");
    for targets in edges.values_mut() {
        targets.remove("state");
    }
    assert!(edges.contains_key("orders") && edges["orders"].contains("outbox"));
    // Depth-first search for a path back to where it started.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        if let Some(cycle) = visit(node, &edges, &mut Vec::new(), &mut done) {
            panic!("module cycle in shared: {}", cycle.join(" → "));
        }
    }
}

/// Handlers parse, authenticate, check and call `shared`: under 150 lines, no SQL, no
/// role comparisons (permissions come from the RBAC table).
#[test]
fn handlers_are_thin_and_hold_no_rules() {
    let dir = repo_root().join("functions/src");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("functions/src") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        // The registry, the binary and the deployment vocabulary are not handlers.
        if !name.ends_with(".rs") || ["lib.rs", "main.rs", "deploy.rs"].contains(&name) {
            continue;
        }
        let code = std::fs::read_to_string(&path).expect("handler");
        let lines = code.lines().count();
        assert!(lines <= 150, "{name} has {lines} lines");
        for forbidden in [
            "query_typed",
            "execute_typed",
            "batch_execute",
            "SELECT ",
            "INSERT INTO",
            "UPDATE ",
            "DELETE FROM",
            "is_staff()",
            "role ==",
            "Role::",
        ] {
            assert!(
                !code.contains(forbidden),
                "{name} holds `{forbidden}`: rules and SQL belong in shared"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, functions::REGISTRY.len());
}

/// Crates their maintainers have deprecated stay out of the build.
#[test]
fn no_deprecated_crates_are_built() {
    let lock = std::fs::read_to_string(repo_root().join("Cargo.lock")).expect("Cargo.lock");
    for deprecated in ["serde_yaml", "serde_yml"] {
        assert!(
            !lock.contains(&format!("name = \"{deprecated}\"\n")),
            "{deprecated} is deprecated upstream"
        );
    }
}
