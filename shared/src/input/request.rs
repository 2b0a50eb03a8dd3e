//! The parts of a request: path and query parameters, the body, and JSON bodies parsed
//! into typed values with errors that name the field.

use http::header;
use lambda_http::{Body, Request, RequestExt};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::parse_uuid;
use crate::error::{ApiError, ApiResult, FieldError};

/// Largest body any route accepts; API Gateway itself stops at 10 MB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A path parameter as API Gateway decoded it.
pub fn path_param<'a>(req: &'a Request, name: &str) -> ApiResult<&'a str> {
    req.path_parameters_ref()
        .and_then(|params| params.first(name))
        .ok_or_else(|| ApiError::bad_request("missing_parameter", format!("{name} is required")))
}

/// A path parameter that must be an id.
pub fn path_uuid(req: &Request, name: &str) -> ApiResult<Uuid> {
    parse_uuid(name, path_param(req, name)?)
}

/// A query parameter, if given and non-empty.
pub fn query_param<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    Query::of(req).get(name)
}

/// A request's query string, as the list filters of the domain modules read it: the
/// handler hands it over (`Query::of(&req)`), so those modules never see a request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<'a>(Option<&'a lambda_http::aws_lambda_events::query_map::QueryMap>);

impl<'a> Query<'a> {
    pub fn of(req: &'a Request) -> Self {
        Self(req.query_string_parameters_ref())
    }

    /// The first value of `name`, unless it is empty.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.0
            .and_then(|params| params.first(name))
            .filter(|v| !v.is_empty())
    }
}

/// The body's raw bytes, refusing bodies over `limit`.
pub fn body_bytes(req: &Request, limit: usize) -> ApiResult<&[u8]> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    };
    if bytes.len() > limit {
        return Err(ApiError::payload_too_large(limit));
    }
    Ok(bytes)
}

/// Parses a JSON body into `T`. A non-JSON content type is 415, an empty or malformed body
/// or a field of the wrong type is 400 naming the field (`pickupLocation.zip`).
pub fn parse_json<T: DeserializeOwned>(req: &Request) -> ApiResult<T> {
    if let Some(content_type) = req.headers().get(header::CONTENT_TYPE) {
        let is_json = content_type
            .to_str()
            .map(|v| {
                let media = v
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                media == "application/json" || media.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::new(
                http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the request body must be application/json",
            ));
        }
    }
    let bytes = body_bytes(req, MAX_BODY_BYTES)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "invalid_json",
            "a JSON request body is required",
        ));
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::bad_request(
                "invalid_json",
                format!(
                    "the request body is not valid JSON (line {}, column {})",
                    inner.line(),
                    inner.column()
                ),
            )
        } else {
            let field = if path == "." { "body".to_owned() } else { path };
            // serde's message names the type problem ("invalid type: string, expected u32");
            // the trailing position is noise for clients.
            let reason = inner.to_string();
            let reason = reason
                .split(" at line ")
                .next()
                .unwrap_or(&reason)
                .to_owned();
            ApiError::validation(vec![FieldError::new(field, reason)])
        }
    })
}

/// A required query parameter holding a date (`YYYY-MM-DD`); missing or malformed is a
/// 400 naming it.
pub fn required_date(req: &Request, name: &str) -> ApiResult<chrono::NaiveDate> {
    query_param(req, name)
        .ok_or_else(|| FieldError::new(name, "is required"))
        .and_then(|raw| super::parse_date(name, raw))
        .map_err(|e| ApiError::validation(vec![e]))
}

/// An optional `true`/`false` query parameter; anything else is a 400 naming it.
pub fn parse_bool(name: &str, raw: Option<&str>) -> ApiResult<Option<bool>> {
    match raw {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(ApiError::validation(vec![FieldError::new(
            name,
            "must be true or false",
        )])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http;
    use serde::Deserialize;

    fn json_request(body: &str, content_type: Option<&str>) -> Request {
        let mut builder = http::Request::builder().method("POST").uri("/x");
        if let Some(ct) = content_type {
            builder = builder.header("content-type", ct);
        }
        builder.body(Body::Text(body.to_owned())).expect("request")
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Sample {
        head_count: u32,
        #[allow(dead_code)]
        nested: Nested,
    }
    #[derive(Debug, Deserialize)]
    struct Nested {
        #[allow(dead_code)]
        zip: String,
    }

    #[test]
    fn json_errors_name_the_field() {
        let ok: Sample = parse_json(&json_request(
            r#"{"headCount":3,"nested":{"zip":"1"}}"#,
            Some("application/json"),
        ))
        .expect("parses");
        assert_eq!(ok.head_count, 3);

        let err = parse_json::<Sample>(&json_request(
            r#"{"headCount":-1,"nested":{"zip":"1"}}"#,
            Some("application/json; charset=utf-8"),
        ))
        .expect_err("negative");
        assert_eq!(err.code, "validation_failed");
        assert_eq!(
            err.details.as_ref().expect("details")[0]["field"],
            "headCount"
        );

        let err =
            parse_json::<Sample>(&json_request(r#"{"headCount":1,"nested":{"zip":5}}"#, None))
                .expect_err("wrong type");
        assert_eq!(
            err.details.as_ref().expect("details")[0]["field"],
            "nested.zip"
        );

        let err = parse_json::<Sample>(&json_request("{not json", None)).expect_err("syntax");
        assert_eq!(err.code, "invalid_json");

        let err = parse_json::<Sample>(&json_request("", None)).expect_err("empty");
        assert_eq!(err.code, "invalid_json");

        let err = parse_json::<Sample>(&json_request("{}", Some("text/plain"))).expect_err("type");
        assert_eq!(err.status, http::StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }

    #[test]
    fn oversized_bodies_are_413() {
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_BODY_BYTES));
        let err = parse_json::<serde_json::Value>(&json_request(&big, None)).expect_err("too big");
        assert_eq!(err.status, http::StatusCode::PAYLOAD_TOO_LARGE);
    }
}
