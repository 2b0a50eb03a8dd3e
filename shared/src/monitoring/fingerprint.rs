//! Grouping errors: occurrences of one problem share a fingerprint however their
//! messages differ in ids, numbers, emails, URLs, addresses, hex strings or timestamps
//! (Sentry's approach: parameterise the volatile parts, then hash what is left with the
//! category and route).

use std::sync::LazyLock;

use regex::Regex;
use sha2::{Digest, Sha256};

use super::{sanitize::EMAIL, Category};

/// Replacements applied in order: the most specific shapes first, so a URL is not first
/// taken apart into numbers.
#[allow(clippy::unwrap_used)] // fixed patterns, checked by the tests
static VOLATILE: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\x22<>]+", "<url>"),
        (
            r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?",
            "<timestamp>",
        ),
        (
            r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
            "<uuid>",
        ),
        (r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b", "<ip>"),
        (r"\b\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\b", "<time>"),
        (r"(?i)\b(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}\b", "<ip>"),
        (r"(?i)\b0x[0-9a-f]+\b", "<hex>"),
        // Hex runs with at least one digit and one letter (hashes, ETags, trace ids).
        (r"(?i)\b(?:[0-9a-f]*[0-9][0-9a-f]*[a-f][0-9a-f]*|[0-9a-f]*[a-f][0-9a-f]*[0-9][0-9a-f]*)\b", "<hex>"),
        (r"\b\d+(?:\.\d+)?\b", "<n>"),
    ]
    .into_iter()
    .map(|(pattern, placeholder)| (Regex::new(pattern).unwrap(), placeholder))
    .collect()
});

/// Hex runs shorter than this are ordinary words or numbers (`beef`, `a1`).
const MIN_HEX_CHARS: usize = 8;

/// `message` with its volatile parts replaced by placeholders and spaces collapsed.
pub fn normalize(message: &str) -> String {
    let mut text = EMAIL.replace_all(message, "<email>").into_owned();
    for (pattern, placeholder) in VOLATILE.iter() {
        let is_hex = *placeholder == "<hex>";
        text = pattern
            .replace_all(&text, |c: &regex::Captures| {
                if is_hex && c[0].len() < MIN_HEX_CHARS && !c[0].starts_with("0x") {
                    c[0].to_owned()
                } else {
                    (*placeholder).to_owned()
                }
            })
            .into_owned();
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The group key of an error: category, route and normalised message, hashed (32 hex
/// characters).
pub fn fingerprint(category: Category, route: &str, message: &str) -> String {
    let mut hash = Sha256::new();
    for part in [category.as_str(), route, &normalize(message)] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hex::encode(&hash.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volatile_parts_become_placeholders() {
        let cases = [
            (
                "order 6f1c1e4e-3c1a-4b8e-9d5e-0a4f1f2b3c4d not found",
                "order <uuid> not found",
            ),
            ("user 42 has 3 sessions", "user <n> has <n> sessions"),
            ("mail to ada@example.com failed", "mail to <email> failed"),
            (
                "GET https://maps.example.com/geocode?q=1+Main timed out",
                "GET <url> timed out",
            ),
            ("connect 10.0.3.17:5432 refused", "connect <ip> refused"),
            ("peer fe80::1:2 gone", "peer <ip> gone"),
            ("etag 9f86d081884c7d65 mismatch", "etag <hex> mismatch"),
            ("pointer 0xdeadbeef", "pointer <hex>"),
            (
                "at 2026-12-01T10:00:00.123Z and 2026-12-01 10:00",
                "at <timestamp> and <timestamp>",
            ),
            ("took   5.5  s", "took <n> s"),
            ("since 10:00:05 today", "since <time> today"),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize(input), expected, "{input}");
        }
        // Words that happen to be hex are words.
        assert_eq!(normalize("a bad cafe"), "a bad cafe");
    }

    #[test]
    fn occurrences_of_one_problem_share_a_fingerprint() {
        let a = fingerprint(
            Category::Database,
            "GET /api/orders/{order_number}",
            "order 6f1c1e4e-3c1a-4b8e-9d5e-0a4f1f2b3c4d: timeout after 5000 ms",
        );
        let b = fingerprint(
            Category::Database,
            "GET /api/orders/{order_number}",
            "order 0a4f1f2b-3c1a-4b8e-9d5e-6f1c1e4e3c4d: timeout after 30 ms",
        );
        assert_eq!(a, b);
        assert_eq!(a.len(), 32);
        let other_route = fingerprint(
            Category::Database,
            "GET /api/user-orders",
            "order 6f1c1e4e-3c1a-4b8e-9d5e-0a4f1f2b3c4d: timeout after 5000 ms",
        );
        let other_category = fingerprint(
            Category::Unknown,
            "GET /api/orders/{order_number}",
            "order 6f1c1e4e-3c1a-4b8e-9d5e-0a4f1f2b3c4d: timeout after 5000 ms",
        );
        let other_message = fingerprint(
            Category::Database,
            "GET /api/orders/{order_number}",
            "order 6f1c1e4e-3c1a-4b8e-9d5e-0a4f1f2b3c4d: connection refused",
        );
        assert_ne!(a, other_route);
        assert_ne!(a, other_category);
        assert_ne!(a, other_message);
    }
}
