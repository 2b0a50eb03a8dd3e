//! Starting points a person completes: a sample event for a function that has none, and
//! an OpenAPI skeleton for each route the document lacks. Neither is ever rewritten once
//! it exists; a skeleton carries [`SKELETON_MARK`], which the structure tests refuse, so
//! a skeleton cannot ship undescribed.

use std::{collections::BTreeSet, path::Path};

use functions::{deploy::Route, Function, REGISTRY};
use serde_json::json;
use shared::{http::ErrorStyle, runtime::Lambda};

use crate::{resources, CodegenError, Generated};

/// The API description.
pub const OPENAPI: &str = "infra/openapi.yaml";

/// The extension a generated operation carries until a person describes it.
pub const SKELETON_MARK: &str = "x-skeleton";

/// `events/<name>.json` for every function without one.
pub fn sample_events(root: &Path) -> Result<Vec<Generated>, CodegenError> {
    let mut stubs = Vec::new();
    for function in REGISTRY {
        let file = format!("events/{}.json", function.name());
        if root.join(&file).exists() {
            continue;
        }
        let event = match function.deploy.routes.first() {
            Some(route) => http_event(route),
            // A job's own input: what a direct invoke or its schedule sends.
            None => json!({}),
        };
        let text = serde_json::to_string_pretty(&event)
            .map_err(|e| CodegenError::Invalid(format!("{file}: {e}")))?;
        stubs.push(Generated {
            file,
            text: text + "\n",
        });
    }
    Ok(stubs)
}

/// An API Gateway (HTTP API, payload 2.0) event for the route, path parameters filled
/// with sample ids and, behind the authorizer, a staff caller's context.
fn http_event(route: &Route) -> serde_json::Value {
    let path = route
        .path
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "00000000-0000-4000-8000-000000000001"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    let mut context = json!({
        "accountId": "123456789012",
        "apiId": "abcdef1234",
        "domainName": "api.readyset.example",
        "domainPrefix": "api",
        "http": {
            "method": route.method.as_str(),
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.10",
            "userAgent": "readyset-web/1.0"
        },
        "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        "routeKey": route.key(),
        "stage": "$default",
        "time": "27/Nov/2026:12:00:00 +0000",
        "timeEpoch": 1795780800000u64
    });
    let mut headers = json!({
        "accept": "application/json",
        "host": "api.readyset.example",
        "user-agent": "readyset-web/1.0",
        "x-forwarded-for": "203.0.113.10",
        "x-forwarded-proto": "https"
    });
    if route.authorizer {
        headers["authorization"] = json!("Bearer eyJhbGciOiJIUzI1NiJ9.sample.signature");
        context["authorizer"] = json!({"lambda": {
            "userId": "00000000-0000-4000-8000-000000000005",
            "role": "ADMIN",
            "sessionId": "9b2f4c1e-0d3a-4e5f-8a7b-6c5d4e3f2a1b"
        }});
    }
    json!({
        "version": "2.0",
        "routeKey": route.key(),
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": context,
        "isBase64Encoded": false
    })
}

/// The OpenAPI document with a skeleton operation for every declared route it lacks,
/// each under its path (added before `components:` when the path is new).
pub fn openapi_skeletons(text: &str) -> Result<String, CodegenError> {
    let doc: yaml_serde::Value = yaml_serde::from_str(text)
        .map_err(|e| CodegenError::Invalid(format!("{OPENAPI} is not valid YAML: {e}")))?;
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_mapping().into_iter().flatten() {
        for (method, _) in item.as_mapping().into_iter().flatten() {
            if let (Some(path), Some(method)) = (path.as_str(), method.as_str()) {
                documented.insert((path.to_owned(), method.to_ascii_uppercase()));
            }
        }
    }
    let mut out = text.to_owned();
    for function in REGISTRY {
        for route in function.deploy.routes {
            let key = (route.path.to_owned(), route.method.as_str().to_owned());
            if documented.contains(&key) {
                continue;
            }
            let operation = skeleton(function, route);
            let path_line = format!("\n  {}:\n", route.path);
            out = if let Some(at) = out.find(&path_line) {
                let at = at + path_line.len();
                format!("{}{operation}{}", &out[..at], &out[at..])
            } else {
                let at = out.find("\ncomponents:").ok_or_else(|| {
                    CodegenError::Invalid(format!("{OPENAPI} has no top-level `components:`"))
                })?;
                format!(
                    "{}\n  {}:\n{}{}",
                    &out[..at],
                    route.path,
                    operation.trim_end_matches('\n'),
                    &out[at..]
                )
            };
            documented.insert(key);
        }
    }
    Ok(out)
}

fn skeleton(function: &Function, route: &Route) -> String {
    let operation_id = camel(&format!(
        "{}-{}",
        function.name(),
        route.method.as_str().to_ascii_lowercase()
    ));
    let security = if route.authorizer {
        ""
    } else {
        "      security: []\n"
    };
    let mut responses = String::new();
    for (status, response) in gateway_responses(function, route) {
        responses.push_str(&format!(
            "        '{status}':\n          $ref: '#/components/responses/{response}'\n"
        ));
    }
    format!(
        "    {method}:\n      {SKELETON_MARK}: true\n      operationId: {operation_id}\n      summary: {summary}\n{security}      responses:\n        '200':\n          description: Describe the answer\n{responses}",
        method = route.method.as_str().to_ascii_lowercase(),
        summary = crate::yaml::scalar(&resources::description(function.deploy)),
    )
}

/// The error responses every route of its kind has, each with the shared response that
/// describes it: 400 (the route's error body), 401 and 403 behind the session authorizer
/// (API Gateway's own `{"message"}` or the error body), 429 where a rate budget applies
/// (the budget's error body or API Gateway's throttling), and 503 everywhere: an outage of
/// the database or DynamoDB, with `Retry-After`.
pub fn gateway_responses(function: &Function, route: &Route) -> Vec<(u16, &'static str)> {
    let (partner, limited) = match function.lambda {
        Lambda::Http(http) => (
            http.error_style == ErrorStyle::Partner,
            http.rate_class.budget().is_some(),
        ),
        Lambda::Event(_) => (false, false),
    };
    let mut responses = vec![(400, if partner { "PartnerError" } else { "Error" })];
    if route.authorizer {
        responses.extend([(401, "Unauthorized"), (403, "Forbidden")]);
    }
    if limited {
        responses.push((
            429,
            if partner {
                "PartnerTooManyRequests"
            } else {
                "TooManyRequests"
            },
        ));
    }
    responses.push((503, "ServiceUnavailable"));
    responses
}

/// `order-by-number-get` → `orderByNumberGet`.
fn camel(name: &str) -> String {
    let pascal = resources::pascal(name);
    let mut chars = pascal.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_DOCUMENT: &str =
        "openapi: 3.0.3\npaths:\n  /api/health:\n    get:\n      summary: up\ncomponents:\n  schemas: {}\n";

    #[test]
    fn every_undocumented_route_gets_one_skeleton_under_its_path() {
        let text = openapi_skeletons(EMPTY_DOCUMENT).expect("skeletons");
        let doc: yaml_serde::Value = yaml_serde::from_str(&text).expect("still YAML");
        let paths = doc["paths"].as_mapping().expect("paths");
        let routes: usize = REGISTRY.iter().map(|f| f.deploy.routes.len()).sum();
        let operations: usize = paths
            .values()
            .map(|item| item.as_mapping().map_or(0, |m| m.len()))
            .sum();
        assert_eq!(operations, routes, "one operation per declared route");
        // HEAD /api/health joins the GET already there; the GET is left as it was.
        assert_eq!(doc["paths"]["/api/health"]["get"]["summary"], "up");
        assert_eq!(doc["paths"]["/api/health"]["head"][SKELETON_MARK], true);
        assert_eq!(
            openapi_skeletons(&text).expect("again"),
            text,
            "a second run adds nothing"
        );
    }

    #[test]
    fn the_committed_document_describes_every_route_itself() {
        let text = std::fs::read_to_string(crate::repo_root().join(OPENAPI)).expect("openapi");
        let skeletons: Vec<&str> = text
            .lines()
            .filter(|line| line.trim_start().starts_with(SKELETON_MARK))
            .collect();
        assert!(
            skeletons.is_empty(),
            "{OPENAPI} still has {} generated skeleton(s): describe each route and drop `{SKELETON_MARK}`",
            skeletons.len()
        );
    }

    #[test]
    fn the_committed_document_gives_every_route_its_gateway_responses() {
        let text = std::fs::read_to_string(crate::repo_root().join(OPENAPI)).expect("openapi");
        let doc: yaml_serde::Value = yaml_serde::from_str(&text).expect("YAML");
        let mut missing = Vec::new();
        for function in REGISTRY {
            for route in function.deploy.routes {
                let operation =
                    &doc["paths"][route.path][route.method.as_str().to_ascii_lowercase()];
                for (status, response) in gateway_responses(function, route) {
                    let documented = &operation["responses"][status.to_string().as_str()];
                    let reference = format!("#/components/responses/{response}");
                    let path_or_input = route.path.contains('{')
                        || !operation["parameters"].is_null()
                        || !doc["paths"][route.path]["parameters"].is_null()
                        || !operation["requestBody"].is_null();
                    let ok = match status {
                        // 400 wherever a parameter or a body can be refused, in the
                        // route's error shape.
                        400 => !path_or_input || !documented.is_null(),
                        // A route may describe its own outage (health's body says what
                        // is down), with the Retry-After every 503 carries.
                        503 => {
                            documented["$ref"].as_str() == Some(reference.as_str())
                                || !documented["headers"]["Retry-After"].is_null()
                        }
                        // Both shapes: a route may describe its own reasons inline, with
                        // the gateway's shape among them.
                        _ => {
                            documented["$ref"].as_str() == Some(reference.as_str())
                                || yaml_serde::to_string(documented)
                                    .is_ok_and(|text| text.contains("GatewayMessage"))
                        }
                    };
                    if !ok {
                        missing.push(format!("{} {status}: {reference}", route.key()));
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "{OPENAPI} lacks responses API Gateway or the runtime gives:\n{}",
            missing.join("\n")
        );
    }

    #[test]
    fn a_sample_event_stub_decodes_as_the_route_s_request() {
        let route = Route::get("/api/orders/{order_number}");
        let event = http_event(&route);
        assert_eq!(event["routeKey"], "GET /api/orders/{order_number}");
        assert_eq!(
            event["rawPath"],
            "/api/orders/00000000-0000-4000-8000-000000000001"
        );
        assert_eq!(
            event["requestContext"]["authorizer"]["lambda"]["role"],
            "ADMIN"
        );
        let public = http_event(&Route::post("/api/auth/login").without_authorizer());
        assert!(public["requestContext"]["authorizer"].is_null());
    }
}
