//! Keyset pagination: the page a request asks for, the opaque cursor of a position, and
//! a page of results with the cursor of the next.

use chrono::{DateTime, Utc};
use lambda_http::Request;
use serde::Serialize;
use uuid::Uuid;

use super::query_param;
use crate::error::{ApiError, ApiResult, FieldError};

/// Keyset pagination: `?limit=N&cursor=...` where the cursor is the opaque position of the
/// last item of the previous page (its sort time and id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<Cursor>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

/// The latest time a cursor holds: 16 digits of microseconds, in the year 2286.
const MAX_MICROS: i64 = 9_999_999_999_999_999;

impl Cursor {
    /// Every cursor matches it, and every string that matches it is a cursor (the
    /// `cursor` parameter of `infra/openapi.yaml` says so, and clients may rely on it):
    /// the position's time in microseconds since 1970 (16 digits) and its id (32 hex
    /// digits). A tampered cursor is only another position; the list's query still
    /// decides what the caller sees.
    pub const PATTERN: &'static str = "^[0-9]{16}[0-9a-f]{32}$";

    pub fn encode(&self) -> String {
        // Positions are the times rows were written, well inside the range.
        let micros = self.at.timestamp_micros().clamp(0, MAX_MICROS);
        format!("{micros:016}{}", self.id.simple())
    }

    /// The position of a row whose id is an integer (an identity column): carried in the
    /// low half of the cursor's id.
    pub fn of_serial(at: DateTime<Utc>, id: i64) -> Self {
        Self {
            at,
            id: Uuid::from_u64_pair(0, u64::try_from(id).unwrap_or(0)),
        }
    }

    /// The integer id of a position made by [`Cursor::of_serial`].
    pub fn serial(&self) -> i64 {
        i64::try_from(self.id.as_u64_pair().1).unwrap_or(i64::MAX)
    }

    pub fn decode(raw: &str) -> ApiResult<Self> {
        let invalid = || ApiError::bad_request("invalid_cursor", "cursor is not valid");
        let digits = |text: &str, hex: bool| {
            text.bytes()
                .all(|b| b.is_ascii_digit() || (hex && matches!(b, b'a'..=b'f')))
        };
        let (time, id) = raw.split_at_checked(16).ok_or_else(invalid)?;
        if id.len() != 32 || !digits(time, false) || !digits(id, true) {
            return Err(invalid());
        }
        let micros: i64 = time.parse().map_err(|_| invalid())?;
        Ok(Self {
            at: DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?,
            id: Uuid::try_parse(id).map_err(|_| invalid())?,
        })
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
    use lambda_http::{http, Body, RequestExt};

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
            "cursor=eyJ0IjoiMjAyNi0xMi0wMVQwMDowMDowMFoiLCJpIjoiMDAwMDAwMDAtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDAxIn0",
            "cursor=000000000000000000000000000000000000000000000000a",
            "cursor=0000000000000000000000000000000000000000000000A0",
            "cursor=+000000000000000000000000000000000000000000000000",
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
            at: DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).expect("now"),
            id: Uuid::new_v4(),
        };
        let page =
            PageRequest::from_request(&query_request(&format!("cursor={}", cursor.encode())))
                .expect("ok");
        assert_eq!(page.after, Some(cursor));
    }

    #[test]
    fn cursors_are_exactly_the_strings_their_pattern_matches() {
        let pattern = regex::Regex::new(Cursor::PATTERN).expect("pattern");
        let now = Cursor {
            at: Utc::now(),
            id: Uuid::new_v4(),
        };
        assert!(pattern.is_match(&now.encode()), "{}", now.encode());
        let zeros = "0".repeat(48);
        let latest = format!("{}{}", "9".repeat(16), "f".repeat(32));
        for raw in [
            zeros.as_str(),
            latest.as_str(),
            "17650000000000000123456789abcdef0123456789abcdef",
            &zeros[1..],
            "1765000000000000 123456789abcdef0123456789abcdef",
            "17650000000000000123456789ABCDEF0123456789abcdef",
        ] {
            let len = raw.len();
            let cursor = Cursor::decode(raw);
            assert_eq!(pattern.is_match(raw), cursor.is_ok(), "{raw} ({len})");
            if let Ok(cursor) = cursor {
                assert_eq!(cursor.encode(), raw);
                assert!((1970..=2286).contains(&chrono::Datelike::year(&cursor.at)));
            }
        }
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
