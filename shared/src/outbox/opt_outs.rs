//! The numbers that asked for no texts (`sms_opt_outs`), and the replies that put them
//! there or take them off.
//!
//! A customer who texts a stop keyword (STOP, UNSUBSCRIBE, ...) to our number reaches
//! `sms-inbound` through the SNS topic that two-way SMS publishes replies to; the number
//! goes on the list with the word and the reply's id. A start keyword (START, UNSTOP)
//! takes it off, here and on SNS's own list. Any other reply is logged, not kept: we do
//! not hold conversations. The relay ([`super::sms`]) reads the list before each text.

use serde::{Deserialize, Serialize};

use super::sms;
use crate::{
    db::{p, GenericClient},
    error::ApiResult,
    sns::SnsDelivery,
    AppState,
};

/// The words US carriers and AWS treat as "stop texting me".
const STOP_WORDS: &[&str] = &[
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "OPTOUT",
    "OPT-OUT",
    "REVOKE",
];
/// The words that ask for texts again.
const START_WORDS: &[&str] = &["START", "UNSTOP", "YES", "OPTIN", "OPT-IN"];

/// What a reply asks for, by its first word (any case, trailing punctuation ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keyword {
    Stop(String),
    Start(String),
    Other,
}

pub fn keyword(body: &str) -> Keyword {
    let word = body
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_matches(|c: char| c.is_ascii_punctuation() && c != '-')
        .to_ascii_uppercase();
    if STOP_WORDS.contains(&word.as_str()) {
        Keyword::Stop(word)
    } else if START_WORDS.contains(&word.as_str()) {
        Keyword::Start(word)
    } else {
        Keyword::Other
    }
}

/// Whether `phone` (E.164) is on the list.
pub async fn is_opted_out(client: &impl GenericClient, phone: &str) -> ApiResult<bool> {
    Ok(client
        .query_typed_opt("SELECT 1 FROM sms_opt_outs WHERE phone = $1", &[p(&phone)])
        .await?
        .is_some())
}

/// Puts a number SNS reported as opted out on the list, unless it is there already.
pub async fn record_carrier(client: &impl GenericClient, phone: &str) -> ApiResult<()> {
    client
        .execute_typed(
            "INSERT INTO sms_opt_outs (phone, source) VALUES ($1, 'CARRIER') ON CONFLICT (phone) DO NOTHING",
            &[p(&phone)],
        )
        .await?;
    tracing::info!(phone = %masked(phone), "number opted out on SNS's list; recorded");
    Ok(())
}

/// An incoming text as two-way SMS publishes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InboundText {
    origination_number: String,
    message_body: String,
    #[serde(default)]
    inbound_message_id: Option<String>,
}

/// What one delivery of replies did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Replies {
    pub opted_out: u32,
    pub opted_in: u32,
    /// Replies that ask for nothing we act on.
    pub other: u32,
    /// Records that are not an incoming text, or come from a number we cannot text.
    pub skipped: u32,
}

/// Handles every reply of one SNS delivery.
pub async fn handle(state: &AppState, delivery: &SnsDelivery) -> ApiResult<Replies> {
    let mut replies = Replies::default();
    let client = state.db.get().await?;
    for record in &delivery.records {
        let parsed = record
            .message()
            .ok_or_else(|| "no Sns.Message".to_owned())
            .and_then(|m| {
                serde_json::from_str::<InboundText>(m)
                    .map_err(|e| format!("not an incoming text: {e}"))
            });
        let text = match parsed {
            Ok(text) => text,
            Err(reason) => {
                tracing::error!(%reason, "SMS reply skipped");
                replies.skipped += 1;
                continue;
            }
        };
        let Some(phone) = sms::e164(&text.origination_number) else {
            tracing::error!("SMS reply from a number that is not E.164; skipped");
            replies.skipped += 1;
            continue;
        };
        match keyword(&text.message_body) {
            Keyword::Stop(word) => {
                client
                    .execute_typed(
                        "INSERT INTO sms_opt_outs (phone, source, keyword, inbound_message_id)
                         VALUES ($1, 'REPLY', $2, $3)
                         ON CONFLICT (phone) DO UPDATE
                            SET source = 'REPLY', keyword = EXCLUDED.keyword,
                                inbound_message_id = EXCLUDED.inbound_message_id, opted_out_at = now()",
                        &[p(&phone), p(&word), p(&text.inbound_message_id)],
                    )
                    .await?;
                tracing::info!(phone = %masked(&phone), keyword = %word, "number opted out of texts");
                replies.opted_out += 1;
            }
            Keyword::Start(word) => {
                client
                    .execute_typed("DELETE FROM sms_opt_outs WHERE phone = $1", &[p(&phone)])
                    .await?;
                // SNS keeps its own list from the same STOP; without this it would
                // still refuse the number. It allows this once in 30 days per number.
                if let Err(err) = state
                    .sns
                    .opt_in_phone_number()
                    .phone_number(&phone)
                    .send()
                    .await
                {
                    tracing::warn!(phone = %masked(&phone), error = %crate::error::chain(&err),
                        "SNS did not opt the number back in");
                }
                tracing::info!(phone = %masked(&phone), keyword = %word, "number opted back in to texts");
                replies.opted_in += 1;
            }
            Keyword::Other => {
                tracing::info!(phone = %masked(&phone), "SMS reply with no keyword; not kept");
                replies.other += 1;
            }
        }
    }
    Ok(replies)
}

/// A number as logs show it: its last four digits.
fn masked(phone: &str) -> String {
    let tail: String = phone
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_word_decides_what_a_reply_asks() {
        assert_eq!(keyword("stop"), Keyword::Stop("STOP".into()));
        assert_eq!(keyword("  Stop. please"), Keyword::Stop("STOP".into()));
        assert_eq!(keyword("opt-out"), Keyword::Stop("OPT-OUT".into()));
        assert_eq!(keyword("UNSTOP"), Keyword::Start("UNSTOP".into()));
        assert_eq!(keyword("start!"), Keyword::Start("START".into()));
        assert_eq!(keyword("where is my food? stop"), Keyword::Other);
        assert_eq!(keyword(""), Keyword::Other);
        assert_eq!(masked("+14155550123"), "…0123");
    }
}
