//! Strict input parsing at the edge: ids, text, JSON bodies and pagination.
//!
//! Everything a client sends is parsed here into a typed value or rejected with a 400 that
//! names the field. Ids are accepted only in canonical form: the original platform trusted
//! anything *shaped* like a UUID, and that let crafted strings through an access check.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Utc};
use http::header;
use lambda_http::{Body, Request, RequestExt};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, FieldError};

/// Largest body any route accepts; API Gateway itself stops at 10 MB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Parses a UUID written exactly as `8-4-4-4-12` lowercase hex. Uppercase, braces, URNs,
/// the 32-digit form and anything else are rejected, so one object has one spelling.
pub fn parse_uuid(field: &str, raw: &str) -> ApiResult<Uuid> {
    let invalid = || {
        ApiError::bad_request("invalid_id", format!("{field} is not a valid id")).with_details(
            serde_json::json!([FieldError::new(field, "must be a lowercase UUID")]),
        )
    };
    if raw.len() != 36 {
        return Err(invalid());
    }
    let id = Uuid::try_parse(raw).map_err(|_| invalid())?;
    if id.hyphenated().to_string() != raw {
        return Err(invalid());
    }
    Ok(id)
}

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

/// Whether text may contain line breaks and tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    One,
    Many,
}

/// Characters that reorder the text around them when displayed (U+202E and friends).
/// Names and notes never need them, and they make an order, an account or a log line
/// read differently from what it holds.
pub(crate) fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Trims `value` and checks its length in characters, that it holds no control
/// characters (line breaks and tabs allowed with [`Lines::Many`]) and no bidirectional
/// controls.
pub fn bounded_text(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
    lines: Lines,
) -> Result<String, FieldError> {
    let trimmed = value.trim();
    let chars = trimmed.chars().count();
    if chars < min {
        return Err(FieldError::new(
            field,
            if min <= 1 {
                "is required".to_owned()
            } else {
                format!("must be at least {min} characters")
            },
        ));
    }
    if chars > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    let multiline = lines == Lines::Many;
    let bad_control = trimmed
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t')));
    if bad_control {
        return Err(FieldError::new(field, "contains control characters"));
    }
    if trimmed.chars().any(is_bidi_control) {
        return Err(FieldError::new(
            field,
            "contains bidirectional control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// Makes `%`, `_` and `\` match themselves in an `ILIKE` pattern.
pub fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Collects every invalid field of a request so the client learns them all at once.
///
/// Checks are written inside [`Validator::validate`]: each records its problem and
/// yields the checked value (or `None`), and the closure builds the result from the
/// values once every check has run.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    /// Runs `checks` and returns what they built, or the 400 listing every invalid field.
    /// The closure must run every check before combining the results with `?`, so that no
    /// problem goes unreported.
    pub fn validate<T>(checks: impl FnOnce(&mut Validator) -> Option<T>) -> ApiResult<T> {
        let mut v = Validator::default();
        let value = checks(&mut v);
        if !v.errors.is_empty() {
            return Err(ApiError::validation(v.errors));
        }
        // Every check that yields `None` records why, so this is a check written wrong.
        value.ok_or_else(|| ApiError::internal("a validation check yielded no value and no error"))
    }

    /// Records `reason` for `field` unless `ok` holds.
    pub fn check(&mut self, ok: bool, field: &str, reason: &str) -> &mut Self {
        if !ok {
            self.errors.push(FieldError::new(field, reason));
        }
        self
    }

    /// Keeps the value of a field check, recording its error.
    pub fn take<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(err) => {
                self.errors.push(err);
                None
            }
        }
    }

    /// Required one-line text of 1 to `max` characters, trimmed.
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> Option<String> {
        self.take(bounded_text(field, value, 1, max, Lines::One))
    }

    /// Optional text of up to `max` characters; blank counts as absent.
    pub fn optional_text(
        &mut self,
        field: &str,
        value: Option<&str>,
        max: usize,
        lines: Lines,
    ) -> Option<String> {
        value
            .filter(|text| !text.trim().is_empty())
            .and_then(|text| self.take(bounded_text(field, text, 1, max, lines)))
    }

    /// A dollar amount as whole cents, from 0 to `max_dollars`; records the error otherwise.
    pub fn amount(&mut self, field: &str, dollars: f64, max_dollars: i64) -> Option<i64> {
        match crate::money::cents_from_dollars(dollars) {
            Some(cents) if (0..=max_dollars.saturating_mul(100)).contains(&cents) => Some(cents),
            _ => {
                self.push(FieldError::new(
                    field,
                    format!("must be an amount from 0 to {max_dollars}"),
                ));
                None
            }
        }
    }

    pub fn push(&mut self, error: FieldError) {
        self.errors.push(error);
    }

    /// Problems recorded so far, so a group of checks can tell whether it passed.
    pub fn error_count(&self) -> usize {
        self.errors.len()
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

/// Keyset pagination: `?limit=N&cursor=...` where the cursor is the opaque position of the
/// last item of the previous page (its sort time and id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<Cursor>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "t")]
    pub at: DateTime<Utc>,
    #[serde(rename = "i")]
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        // A Cursor always serializes.
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(raw: &str) -> ApiResult<Self> {
        let invalid = || ApiError::bad_request("invalid_cursor", "cursor is not valid");
        if raw.len() > 200 {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
        let cursor: Self = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        // Only positions of real rows: years the database can compare.
        if !(2000..=2200).contains(&chrono::Datelike::year(&cursor.at)) {
            return Err(invalid());
        }
        Ok(cursor)
    }
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = 20;
    pub const MAX_LIMIT: u32 = 100;

    pub fn from_request(req: &Request) -> ApiResult<Self> {
        let limit = match query_param(req, "limit") {
            None => Self::DEFAULT_LIMIT,
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if (1..=Self::MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(ApiError::validation(vec![FieldError::new(
                        "limit",
                        format!("must be a whole number from 1 to {}", Self::MAX_LIMIT),
                    )]))
                }
            },
        };
        let after = query_param(req, "cursor").map(Cursor::decode).transpose()?;
        Ok(Self { limit, after })
    }

    /// Rows to fetch: one more than the page, to learn whether another page exists.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}

/// One page of results and the cursor of the next, if any.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `fetch_limit` rows, `position` giving each row's cursor.
    pub fn from_rows(
        mut rows: Vec<T>,
        page: &PageRequest,
        position: impl Fn(&T) -> Cursor,
    ) -> Self {
        let has_more = rows.len() > page.limit as usize;
        rows.truncate(page.limit as usize);
        let next_cursor = if has_more {
            rows.last().map(|last| position(last).encode())
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http;

    #[test]
    fn uuid_accepts_only_the_canonical_form() {
        let id = "0b8f6c1e-3f0a-4a5e-9d1c-2b7e4f1a6c3d";
        assert_eq!(parse_uuid("id", id).expect("valid").to_string(), id);
        for bad in [
            "0B8F6C1E-3F0A-4A5E-9D1C-2B7E4F1A6C3D",
            "{0b8f6c1e-3f0a-4a5e-9d1c-2b7e4f1a6c3d}",
            "urn:uuid:0b8f6c1e-3f0a-4a5e-9d1c-2b7e4f1a6c3d",
            "0b8f6c1e3f0a4a5e9d1c2b7e4f1a6c3d",
            "0b8f6c1e-3f0a-4a5e-9d1c-2b7e4f1a6c3x",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "' OR 1=1 --aaaaaaaaaaaaaaaaaaaaaaaaa",
            "",
            "1",
        ] {
            let err = parse_uuid("id", bad).expect_err(bad);
            assert_eq!(err.status, http::StatusCode::BAD_REQUEST, "{bad}");
            assert_eq!(err.code, "invalid_id");
        }
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like(r"50%_off\"), r"50\%\_off\\");
    }

    #[test]
    fn bounded_text_trims_and_bounds() {
        assert_eq!(
            bounded_text("n", "  Ann ", 1, 10, Lines::One).expect("ok"),
            "Ann"
        );
        assert!(bounded_text("n", "   ", 1, 10, Lines::One).is_err());
        assert!(bounded_text("n", "abcdefghijk", 1, 10, Lines::One).is_err());
        assert!(bounded_text("n", "a\u{0}b", 1, 10, Lines::One).is_err());
        assert!(bounded_text("n", "a\nb", 1, 10, Lines::One).is_err());
        assert!(bounded_text("n", "a\nb", 1, 10, Lines::Many).is_ok());
        assert!(bounded_text("n", "Ann\u{202E}gpj.exe", 1, 20, Lines::One).is_err());
        assert!(bounded_text("n", "Zo\u{00EB} \u{1F600}", 1, 20, Lines::One).is_ok());
        // Length counts characters, not bytes.
        assert!(bounded_text("n", "ééééé", 1, 5, Lines::One).is_ok());
    }

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

    fn query_request(query: &str) -> Request {
        let req = http::Request::builder()
            .uri(format!("/x?{query}"))
            .body(Body::Empty)
            .expect("request");
        req.with_query_string_parameters(
            query
                .parse::<lambda_http::aws_lambda_events::query_map::QueryMap>()
                .expect("query"),
        )
    }

    #[test]
    fn pagination_has_a_hard_max_and_strict_cursor() {
        assert_eq!(
            PageRequest::from_request(&query_request(""))
                .expect("ok")
                .limit,
            20
        );
        assert_eq!(
            PageRequest::from_request(&query_request("limit=100"))
                .expect("ok")
                .limit,
            100
        );
        for bad in [
            "limit=101",
            "limit=0",
            "limit=-1",
            "limit=abc",
            "cursor=%%%",
            "cursor=e30",
        ] {
            assert_eq!(
                PageRequest::from_request(&query_request(bad))
                    .expect_err(bad)
                    .status,
                http::StatusCode::BAD_REQUEST,
                "{bad}"
            );
        }
        let cursor = Cursor {
            at: Utc::now(),
            id: Uuid::new_v4(),
        };
        let page =
            PageRequest::from_request(&query_request(&format!("cursor={}", cursor.encode())))
                .expect("ok");
        assert_eq!(page.after, Some(cursor));
    }

    #[test]
    fn page_reports_a_next_cursor_only_when_more_rows_exist() {
        let page = PageRequest {
            limit: 2,
            after: None,
        };
        let rows: Vec<(DateTime<Utc>, Uuid)> =
            (0..3).map(|_| (Utc::now(), Uuid::new_v4())).collect();
        let full = Page::from_rows(rows.clone(), &page, |r| Cursor { at: r.0, id: r.1 });
        assert_eq!(full.items.len(), 2);
        let next = Cursor::decode(full.next_cursor.as_deref().expect("more")).expect("decodes");
        assert_eq!(next.id, rows[1].1);
        let last = Page::from_rows(rows[..2].to_vec(), &page, |r| Cursor { at: r.0, id: r.1 });
        assert!(last.next_cursor.is_none());
    }
}
