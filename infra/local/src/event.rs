//! The API Gateway HTTP API (payload format 2.0) event a request becomes: what Lambda
//! hands a function in AWS, built here so the handlers see the same.

use std::collections::HashMap;

use base64::{engine::general_purpose::STANDARD, Engine};
use hyper::body::Bytes;
use serde_json::{json, Map, Value};

/// The Host clients used, when it is a plain `host[:port]`; handlers build absolute URLs
/// from it, and lambda_http refuses to parse anything else.
pub(crate) fn self_address(headers: &hyper::HeaderMap) -> String {
    headers
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '[' | ']'))
        })
        .unwrap_or("127.0.0.1")
        .to_owned()
}

pub(crate) struct ApiGatewayEventInput<'a> {
    pub(crate) parts: &'a hyper::http::request::Parts,
    pub(crate) body: &'a Bytes,
    pub(crate) route_key: &'a str,
    pub(crate) path_params: &'a [(String, String)],
    pub(crate) request_id: &'a str,
    pub(crate) source_ip: String,
    pub(crate) host: String,
}

/// The API Gateway HTTP API (payload format 2.0) event for a request.
pub(crate) fn api_gateway_event(input: ApiGatewayEventInput<'_>) -> Value {
    let parts = input.parts;
    // Payload 2.0 joins repeated headers with commas and moves cookies to their own list.
    let mut headers: Map<String, Value> = Map::new();
    let mut cookies: Vec<String> = Vec::new();
    for (name, value) in &parts.headers {
        let Ok(value) = value.to_str() else { continue };
        if name == hyper::header::COOKIE {
            cookies.extend(
                value
                    .split(';')
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty()),
            );
            continue;
        }
        let joined = match headers.get(name.as_str()).and_then(Value::as_str) {
            Some(existing) => format!("{existing},{value}"),
            None => value.to_owned(),
        };
        headers.insert(name.as_str().to_owned(), Value::String(joined));
    }
    headers.insert("host".into(), Value::String(input.host.clone()));
    headers.insert("x-forwarded-proto".into(), Value::String("http".into()));
    headers.insert(
        "x-forwarded-for".into(),
        Value::String(input.source_ip.clone()),
    );

    let path_parameters: HashMap<&str, &str> = input
        .path_params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (body, is_base64) = match std::str::from_utf8(input.body) {
        _ if input.body.is_empty() => (Value::Null, false),
        Ok(text) => (Value::String(text.to_owned()), false),
        Err(_) => (Value::String(STANDARD.encode(input.body)), true),
    };
    let now = chrono::Utc::now();
    let mut event = json!({
        "version": "2.0",
        "routeKey": input.route_key,
        "rawPath": parts.uri.path(),
        "rawQueryString": parts.uri.query().unwrap_or(""),
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": input.host,
            "domainPrefix": "local",
            "http": {
                "method": parts.method.as_str(),
                "path": parts.uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": input.source_ip,
                "userAgent": parts.headers.get(hyper::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or(""),
            },
            "requestId": input.request_id,
            "routeKey": input.route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": is_base64,
    });
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !path_parameters.is_empty() {
        event["pathParameters"] = json!(path_parameters);
    }
    if !body.is_null() {
        event["body"] = body;
    }
    event
}
