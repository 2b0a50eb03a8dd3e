//! Checking what clients send: ids in their one spelling, bounded text, and the
//! [`Validator`] every check of a request reports to.

use uuid::Uuid;

use crate::error::{ApiError, ApiResult, FieldError};

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

/// A calendar date written `YYYY-MM-DD`, as query parameters give days.
pub fn parse_date(field: &str, raw: &str) -> Result<chrono::NaiveDate, FieldError> {
    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| FieldError::new(field, "must be a date like 2026-11-27"))
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
}
