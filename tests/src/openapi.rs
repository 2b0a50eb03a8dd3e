//! Checks responses against `infra/openapi.yaml`, so the document cannot drift from what
//! clients receive.
//!
//! A response's status must be documented for its route, except errors, which must at
//! least have the route's error shape; a JSON body must match the documented schema. The
//! document is OpenAPI 3.0: its schemas are turned into JSON Schema (`nullable: true`
//! becomes a `null` alternative) and checked with `jsonschema`.

use std::{
    collections::HashMap,
    sync::{Mutex, OnceLock},
};

use serde_json::{json, Value};

use crate::repo_root;

pub struct OpenApi {
    doc: Value,
    validators: Mutex<HashMap<String, std::sync::Arc<jsonschema::Validator>>>,
}

impl OpenApi {
    /// The document, read and converted once per test process.
    pub fn get() -> &'static OpenApi {
        static DOC: OnceLock<OpenApi> = OnceLock::new();
        DOC.get_or_init(|| {
            let text = std::fs::read_to_string(repo_root().join("infra/openapi.yaml"))
                .expect("read infra/openapi.yaml");
            let yaml: yaml_serde::Value = yaml_serde::from_str(&text).expect("openapi parses");
            let mut doc = serde_json::to_value(yaml).expect("openapi as JSON");
            to_json_schema(&mut doc);
            OpenApi {
                doc,
                validators: Mutex::new(HashMap::new()),
            }
        })
    }

    /// Why a response does not match the document, if it does not.
    pub fn violation(
        &self,
        route_key: &str,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Option<String> {
        let (method, path) = route_key.split_once(' ')?;
        let operation = &self.doc["paths"][path][method.to_ascii_lowercase()];
        if operation.is_null() {
            return Some(format!("{route_key} is not documented"));
        }
        let responses = &operation["responses"];
        let documented = self.resolve(&responses[status.to_string()]);
        let response = if documented.is_null() {
            if status < 400 {
                return Some(format!("{route_key}: status {status} is not documented"));
            }
            // Errors of any status share the route's error shape.
            self.resolve(&json!({ "$ref": self.error_shape(responses) }))
        } else {
            documented
        };
        // A documented non-JSON body (the ops page's HTML, CSV downloads) is taken as is.
        let base = content_type
            .and_then(|t| t.split(';').next())
            .map(str::trim)
            .unwrap_or_default();
        if !base.is_empty() && base != "application/json" && !response["content"][base].is_null() {
            return None;
        }
        let schema = &response["content"]["application/json"]["schema"];
        if schema.is_null() {
            return (!body.is_empty() && status != 204).then(|| {
                format!(
                    "{route_key} {status}: documented without a body, got {} bytes",
                    body.len()
                )
            });
        }
        if !content_type.is_some_and(|c| c.starts_with("application/json")) {
            return Some(format!(
                "{route_key} {status}: content type {content_type:?}, documented JSON"
            ));
        }
        let value: Value = match serde_json::from_slice(body) {
            Ok(value) => value,
            Err(e) => return Some(format!("{route_key} {status}: body is not JSON ({e})")),
        };
        let validator = self.validator(schema);
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .take(5)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        (!errors.is_empty()).then(|| {
            format!(
                "{route_key} {status}: body does not match infra/openapi.yaml: {}",
                errors.join("; ")
            )
        })
    }

    /// The shared response a route's documented errors use (partner routes have their own).
    fn error_shape(&self, responses: &Value) -> &'static str {
        let partner = responses.as_object().is_some_and(|all| {
            all.values()
                .any(|r| r["$ref"] == "#/components/responses/PartnerError")
        });
        if partner {
            "#/components/responses/PartnerError"
        } else {
            "#/components/responses/Error"
        }
    }

    /// Follows a `$ref` to a shared response.
    fn resolve(&self, response: &Value) -> Value {
        match response["$ref"].as_str() {
            Some(reference) => {
                let pointer = reference.trim_start_matches('#');
                self.doc.pointer(pointer).cloned().unwrap_or(Value::Null)
            }
            None => response.clone(),
        }
    }

    fn validator(&self, schema: &Value) -> std::sync::Arc<jsonschema::Validator> {
        let key = schema.to_string();
        let mut cache = self.validators.lock().expect("validators");
        cache
            .entry(key)
            .or_insert_with(|| {
                // The schema sits inside the document, so `#/components/...` resolves.
                let mut root = schema.clone();
                if let Some(object) = root.as_object_mut() {
                    object.insert("components".into(), self.doc["components"].clone());
                } else {
                    root = json!({ "allOf": [schema], "components": self.doc["components"] });
                }
                std::sync::Arc::new(
                    jsonschema::validator_for(&root)
                        .unwrap_or_else(|e| panic!("schema in infra/openapi.yaml is invalid: {e}")),
                )
            })
            .clone()
    }
}

/// OpenAPI 3.0 schema keywords → JSON Schema: `nullable: true` allows `null`.
fn to_json_schema(value: &mut Value) {
    match value {
        Value::Object(object) => {
            for child in object.values_mut() {
                to_json_schema(child);
            }
            if object.remove("nullable") == Some(Value::Bool(true)) {
                match object.get("type").cloned() {
                    Some(Value::String(kind)) => {
                        object.insert("type".into(), json!([kind, "null"]));
                        if let Some(Value::Array(allowed)) = object.get_mut("enum") {
                            allowed.push(Value::Null);
                        }
                    }
                    _ => {
                        let inner = Value::Object(std::mem::take(object));
                        object.insert("anyOf".into(), json!([inner, { "type": "null" }]));
                    }
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(to_json_schema),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_from_the_document_is_caught() {
        let doc = OpenApi::get();
        let json = Some("application/json");
        assert_eq!(
            doc.violation(
                "GET /api/health",
                200,
                json,
                br#"{"status":"healthy","timestamp":"2026-12-01T00:00:00Z"}"#
            ),
            None
        );
        for (route, status, body) in [
            ("GET /api/health", 200, &br#"{"status":"healthy"}"#[..]),
            (
                "GET /api/health",
                200,
                br#"{"status":"up","timestamp":"x"}"#,
            ),
            ("GET /api/health", 201, br#"{}"#),
            ("GET /api/nowhere", 200, br#"{}"#),
            ("GET /api/orders", 404, br#"{"message":"not found"}"#),
            (
                "GET /api/partners/orders/{id}",
                404,
                br#"{"error":{"code":"not_found","message":"x","requestId":"r"}}"#,
            ),
        ] {
            assert!(
                doc.violation(route, status, json, body).is_some(),
                "{route} {status} {}",
                String::from_utf8_lossy(body)
            );
        }
        assert!(doc
            .violation("GET /api/orders", 200, Some("text/html"), b"{}")
            .is_some());
    }

    #[test]
    fn routes_behind_the_authorizer_have_both_refusal_shapes() {
        let doc = OpenApi::get();
        let json = Some("application/json");
        let function = br#"{"error":{"code":"forbidden","message":"x","requestId":"r"}}"#;
        for (route, status, body) in [
            (
                "GET /api/orders",
                401,
                &br#"{"message":"Unauthorized"}"#[..],
            ),
            ("GET /api/orders", 403, br#"{"message":"Forbidden"}"#),
            ("GET /api/orders", 403, function),
            (
                "GET /api/orders",
                429,
                br#"{"message":"Too Many Requests"}"#,
            ),
            ("POST /api/addresses", 403, br#"{"message":"Forbidden"}"#),
        ] {
            assert_eq!(
                doc.violation(route, status, json, body),
                None,
                "{route} {status}"
            );
        }
        for (route, status, body) in [
            // API Gateway's body has the message alone.
            (
                "GET /api/orders",
                403,
                &br#"{"message":"Forbidden","code":"x"}"#[..],
            ),
            // No authorizer runs before the sign-in: only the function refuses it.
            (
                "POST /api/auth/login",
                401,
                br#"{"message":"Unauthorized"}"#,
            ),
        ] {
            assert!(
                doc.violation(route, status, json, body).is_some(),
                "{route} {status} {}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
