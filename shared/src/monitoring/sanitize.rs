//! What an error record may keep: secrets, tokens, passwords, cookies, card numbers and
//! email addresses are replaced before anything is stored, by key (a context field named
//! like a secret loses its value whatever it holds) and by pattern (a secret inside free
//! text). Sizes are bounded too, so one report cannot fill the store.

use std::sync::LazyLock;

use regex::{Captures, Regex};
use serde_json::{Map, Value};

/// What replaces a redacted value.
pub const REDACTED: &str = "[redacted]";

/// Longest text kept from one string; the rest is cut.
const MAX_TEXT_CHARS: usize = 2_000;
/// How deep, how wide and how long a context may be; past that it is summarised.
const MAX_DEPTH: usize = 6;
const MAX_ENTRIES: usize = 50;

/// Context keys whose values are always redacted, compared without case, `_` or `-`:
/// a key containing any of these (`userPassword`, `x-api-key`, `refresh_token`).
const SECRET_KEY_PARTS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "cookie",
    "apikey",
    "accesskey",
    "privatekey",
    "credential",
    "signature",
    "cardnumber",
    "creditcard",
    "email",
    "jwt",
];
/// Keys redacted only when they are exactly this (as parts they name harmless things).
const SECRET_KEYS: &[&str] = &[
    "pwd", "auth", "card", "pan", "cvv", "cvc", "ssn", "otp", "pin",
];

/// Whether a context field of this name holds a secret.
pub fn is_secret_key(key: &str) -> bool {
    let key: String = key
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_KEY_PARTS.iter().any(|part| key.contains(part)) || SECRET_KEYS.contains(&key.as_str())
}

/// Names that mark the value after them as a secret in free text.
const SECRET_NAMES: &str = r"[a-z_-]*(?:password|passwd|secret|token|key|sig|signature|code|authorization|cookie|credential)[a-z_-]*";

#[allow(clippy::unwrap_used)] // fixed patterns, checked by the tests
static QUOTED_SECRET_ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    // `"password": "correct horse battery staple"`: the whole quoted value.
    Regex::new(&format!(r#"(?i)\b({SECRET_NAMES}"?\s*[:=]\s*")([^"]*)""#)).unwrap()
});
#[allow(clippy::unwrap_used)]
static SECRET_ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    // `password=…`, `token: …`, `api_key=…` inside text.
    Regex::new(&format!(
        r#"(?i)\b({SECRET_NAMES}"?\s*[:=]\s*"?)([^\s"',;&]+)"#
    ))
    .unwrap()
});
#[allow(clippy::unwrap_used)]
static URL_CREDENTIALS: LazyLock<Regex> =
    // `scheme://user:password@host`, whatever the host.
    LazyLock::new(|| Regex::new(r"://[^/\s:@]+:[^/\s@]+@").unwrap());
#[allow(clippy::unwrap_used)]
static BEARER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+").unwrap());
#[allow(clippy::unwrap_used)]
static JWT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*").unwrap()
});
#[allow(clippy::unwrap_used)]
pub(crate) static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}").unwrap()
});
#[allow(clippy::unwrap_used)]
static CARD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b\d(?:[ -]?\d){12,18}\b").unwrap());
#[allow(clippy::unwrap_used)]
static UUID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b").unwrap()
});
#[allow(clippy::unwrap_used)]
static LONG_SECRET: LazyLock<Regex> =
    // Keys and random tokens: long runs of letters, digits and `_`, with a digit in them.
    LazyLock::new(|| Regex::new(r"\b[A-Za-z0-9_]{32,}\b").unwrap());

/// `text` with every secret, token, card number and email address replaced, cut to a
/// bounded length.
pub fn text(text: &str) -> String {
    let cut: String = text.chars().take(MAX_TEXT_CHARS).collect();
    // Bearer first: its scheme word would otherwise be taken for the secret itself.
    let out = BEARER.replace_all(&cut, |c: &Captures| format!("{} {REDACTED}", &c[1]));
    let out = JWT.replace_all(&out, REDACTED);
    let out = URL_CREDENTIALS.replace_all(&out, format!("://{REDACTED}@").as_str());
    let out =
        QUOTED_SECRET_ASSIGNMENT.replace_all(&out, |c: &Captures| format!("{}{REDACTED}\"", &c[1]));
    let out = SECRET_ASSIGNMENT.replace_all(&out, |c: &Captures| {
        if c[2].starts_with(REDACTED) {
            c[0].to_owned()
        } else {
            format!("{}{REDACTED}", &c[1])
        }
    });
    let out = EMAIL.replace_all(&out, "[email]");
    // A UUID's all-digit groups can look like a card number: ids are not cards.
    let ids: Vec<std::ops::Range<usize>> = UUID.find_iter(&out).map(|m| m.range()).collect();
    let in_id = |c: &Captures| {
        c.get(0).is_some_and(|m| {
            ids.iter()
                .any(|id| id.start <= m.start() && m.end() <= id.end)
        })
    };
    let out = CARD.replace_all(&out, |c: &Captures| {
        let digits: Vec<u32> = c[0].chars().filter_map(|d| d.to_digit(10)).collect();
        if luhn_valid(&digits) && !in_id(c) {
            "[card]".to_owned()
        } else {
            c[0].to_owned()
        }
    });
    let out = LONG_SECRET.replace_all(&out, |c: &Captures| {
        if c[0].bytes().any(|b| b.is_ascii_digit()) {
            REDACTED.to_owned()
        } else {
            c[0].to_owned()
        }
    });
    let mut out = out.into_owned();
    if text.chars().nth(MAX_TEXT_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// `value` with secret-named fields redacted and every string sanitised as [`text`]; deep
/// or wide structures are cut with a note of what was left out.
pub fn value(value: &Value) -> Value {
    sanitize_value(value, 0)
}

fn sanitize_value(value: &Value, depth: usize) -> Value {
    match value {
        Value::String(s) => Value::String(text(s)),
        Value::Array(items) if depth >= MAX_DEPTH => summary(items.len(), "items"),
        Value::Object(fields) if depth >= MAX_DEPTH => summary(fields.len(), "fields"),
        Value::Array(items) => {
            let mut kept: Vec<Value> = items
                .iter()
                .take(MAX_ENTRIES)
                .map(|item| sanitize_value(item, depth + 1))
                .collect();
            if items.len() > MAX_ENTRIES {
                kept.push(summary(items.len() - MAX_ENTRIES, "more items"));
            }
            Value::Array(kept)
        }
        Value::Object(fields) => {
            let mut kept = Map::new();
            for (key, field) in fields.iter().take(MAX_ENTRIES) {
                let key = text(key);
                let field = if is_secret_key(&key) {
                    Value::String(REDACTED.to_owned())
                } else {
                    sanitize_value(field, depth + 1)
                };
                kept.insert(key, field);
            }
            if fields.len() > MAX_ENTRIES {
                kept.insert(
                    "…".to_owned(),
                    summary(fields.len() - MAX_ENTRIES, "more fields"),
                );
            }
            Value::Object(kept)
        }
        other => other.clone(),
    }
}

fn summary(count: usize, what: &str) -> Value {
    Value::String(format!("[{count} {what}]"))
}

/// The Luhn checksum every payment card number satisfies (so order numbers and phone
/// numbers of the same length are left alone).
fn luhn_valid(digits: &[u32]) -> bool {
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_uuid_whose_digit_groups_pass_the_card_check_stays_an_id() {
        let looks_like_a_card = (0..100_000u64)
            .map(|n| format!("12345678-1234-4123-8{:03}-{:012}", n % 1000, n * 7919))
            .find(|id| {
                let digits: Vec<u32> = id[19..].chars().filter_map(|d| d.to_digit(10)).collect();
                luhn_valid(&digits)
            })
            .expect("a candidate");
        let message = format!("order {looks_like_a_card} not saved");
        assert_eq!(text(&message), message);
        assert_eq!(text("card 4111 1111 1111 1111"), "card [card]");
    }

    #[test]
    fn secrets_in_text_are_replaced() {
        let cases = [
            ("login failed password=hunter2 for user", "hunter2"),
            (r#"body {"password": "s3cret!"}"#, "s3cret!"),
            ("Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
            (
                "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl seen",
                "eyJhbGci",
            ),
            ("mail ada@example.com bounced", "ada@example.com"),
            ("card 4111 1111 1111 1111 declined", "4111 1111 1111 1111"),
            ("card 4242424242424242 declined", "4242424242424242"),
            ("api_key=rs_live_abc123 rejected", "rs_live_abc123"),
            ("cookie: session=abcdef", "abcdef"),
            (
                "key 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "9f86d0",
            ),
        ];
        for (input, secret) in cases {
            let out = text(input);
            assert!(!out.contains(secret), "{input:?} became {out:?}");
        }
    }

    #[test]
    fn ordinary_text_is_kept() {
        let input =
            "order CV-1024 for 12 guests at 2026-12-01T10:00:00Z failed: timeout after 5000 ms";
        assert_eq!(text(input), input);
        // Not a card number: fails the Luhn check.
        assert_eq!(text("ref 1234567890123"), "ref 1234567890123");
        // UUIDs stay: they name the object that failed.
        let id = "order 6f1c1e4e-3c1a-4b8e-9d5e-0a4f1f2b3c4d missing";
        assert_eq!(text(id), id);
    }

    #[test]
    fn secret_named_fields_are_redacted_at_any_depth() {
        let context = json!({
            "userPassword": "pw",
            "headers": {"Cookie": "a=b", "x-api-key": "k", "accept": "json"},
            "attempts": [{"refresh_token": "t", "note": "mail bob@example.org"}],
            "email": "eve@example.com",
            "card": "4111111111111111",
            "author": "kept",
        });
        let out = value(&context);
        assert_eq!(out["userPassword"], REDACTED);
        assert_eq!(out["headers"]["Cookie"], REDACTED);
        assert_eq!(out["headers"]["x-api-key"], REDACTED);
        assert_eq!(out["headers"]["accept"], "json");
        assert_eq!(out["attempts"][0]["refresh_token"], REDACTED);
        assert_eq!(out["attempts"][0]["note"], "mail [email]");
        assert_eq!(out["email"], REDACTED);
        assert_eq!(out["card"], REDACTED);
        assert_eq!(out["author"], "kept");
    }

    #[test]
    fn sizes_are_bounded() {
        let long = "x".repeat(MAX_TEXT_CHARS + 10);
        assert_eq!(text(&long).chars().count(), MAX_TEXT_CHARS + 1);
        let wide = Value::Array((0..200).map(Value::from).collect());
        assert_eq!(value(&wide).as_array().map(Vec::len), Some(MAX_ENTRIES + 1));
        let mut deep = json!("leaf");
        for _ in 0..20 {
            deep = json!({ "inner": deep });
        }
        assert!(value(&deep).to_string().len() < 200);
    }
}
