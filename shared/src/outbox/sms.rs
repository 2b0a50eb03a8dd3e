//! Customer texts: the relay sends a `CUSTOMER_SMS` message's `{to, text, trackOrderId?}`
//! payload through Amazon SNS as a transactional SMS, ending with the order's tracking
//! link when it names one.
//!
//! A text is skipped, on record and never retried, while texts are switched off
//! (`CUSTOMER_SMS`), and when the number has opted out: on our list (a STOP reply,
//! [`super::opt_outs`]) or, asked just before sending, on SNS's (which the carriers
//! feed); an opt-out SNS knows of is copied to our list. Throttling and outages are
//! retried; a number SNS refuses is not.

use aws_sdk_sns::types::MessageAttributeValue;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    customer::{self, SendError},
    opt_outs,
};
use crate::AppState;

/// What a customer text message carries.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct Sms {
    /// The number in E.164 form (`+14155550123`), see [`e164`].
    pub to: String,
    pub text: String,
    /// The order the text invites the customer to follow, while it is under way.
    #[serde(
        rename = "trackOrderId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub track_order_id: Option<Uuid>,
    /// The delivery whose hand-off code the message gives (derived as it is sent).
    #[serde(
        rename = "handoffPinDelivery",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub handoff_pin: Option<Uuid>,
}

/// What every text ends with: carriers expect the way out in the message itself.
pub const OPT_OUT_HINT: &str = "Reply STOP to opt out.";

/// A phone number as given on an account, in E.164 form, if it can be texted: a number
/// with its country code (`+44 20 7946 0018`), or a North American one of 10 digits (an
/// area code not starting with 0 or 1), with a leading 1 or not. Anything else is not
/// texted rather than guessed at: our customers are in the United States, and a full
/// numbering-plan library would be a large dependency for that one rule.
pub fn e164(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    if !trimmed
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        || trimmed.chars().skip(1).any(|c| c == '+')
    {
        return None;
    }
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    let north_american = |ten: &str| (!ten.starts_with(['0', '1'])).then(|| format!("+1{ten}"));
    if trimmed.starts_with('+') {
        return ((8..=15).contains(&digits.len()) && !digits.starts_with('0'))
            .then(|| format!("+{digits}"));
    }
    match digits.len() {
        10 => north_american(&digits),
        11 if digits.starts_with('1') => north_american(&digits[1..]),
        _ => None,
    }
}

/// The text as sent: with the order's link when it has one, then the way to opt out.
pub fn body(text: &str, link: Option<&str>) -> String {
    match link {
        Some(link) => format!("{text} Track it: {link} {OPT_OUT_HINT}"),
        None => format!("{text} {OPT_OUT_HINT}"),
    }
}

#[tracing::instrument(name = "send_sms", skip_all)]
pub async fn send(state: &AppState, payload: &serde_json::Value) -> Result<(), SendError> {
    let sms: Sms = serde_json::from_value(payload.clone())
        .map_err(|e| SendError::Permanent(format!("not a text message: {e}")))?;
    if !state.config.notifications.sms {
        return Err(SendError::Skipped(
            "customer texts are switched off (CUSTOMER_SMS)".into(),
        ));
    }
    let retry = |e: crate::error::ApiError| SendError::Retry(e.message.to_string());
    let client = state.db.get().await.map_err(retry)?;
    if opt_outs::is_opted_out(&*client, &sms.to)
        .await
        .map_err(retry)?
    {
        return Err(SendError::Skipped(
            "the number opted out of texts (a STOP reply)".into(),
        ));
    }
    let checked = state
        .sns
        .check_if_phone_number_is_opted_out()
        .phone_number(&sms.to)
        .send()
        .await
        .map_err(|e| {
            sns_error(
                &e,
                e.as_service_error()
                    .is_some_and(|s| s.is_invalid_parameter_exception()),
            )
        })?;
    if checked.is_opted_out() {
        opt_outs::record_carrier(&*client, &sms.to)
            .await
            .map_err(retry)?;
        return Err(SendError::Skipped(
            "the number opted out of texts (SNS's opted-out list)".into(),
        ));
    }
    drop(client);
    let link = customer::tracking_url(state, sms.track_order_id).await?;
    let text = match customer::handoff_sentence(state, sms.handoff_pin).await? {
        Some(sentence) => format!("{} {sentence}", sms.text),
        None => sms.text.clone(),
    };
    let transactional = MessageAttributeValue::builder()
        .data_type("String")
        .string_value("Transactional")
        .build()
        .map_err(|e| SendError::Permanent(e.to_string()))?;
    state
        .sns
        .publish()
        .phone_number(&sms.to)
        .message(body(&text, link.as_deref()))
        .message_attributes("AWS.SNS.SMS.SMSType", transactional)
        .send()
        .await
        .map_err(|e| {
            let refused = e.as_service_error().is_some_and(|s| {
                s.is_invalid_parameter_exception()
                    || s.is_invalid_parameter_value_exception()
                    || s.is_endpoint_disabled_exception()
            });
            sns_error(&e, refused)
        })?;
    Ok(())
}

/// An SNS call's failure: permanent when SNS refused the number or the message itself.
fn sns_error(err: &dyn std::error::Error, refused: bool) -> SendError {
    let detail = crate::error::chain(err);
    if refused {
        SendError::Permanent(detail)
    } else {
        SendError::Retry(detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_become_e164_or_are_not_texted() {
        for (raw, want) in [
            ("(415) 555-0123", Some("+14155550123")),
            ("415.555.0123", Some("+14155550123")),
            ("1-415-555-0123", Some("+14155550123")),
            ("+1 415 555 0123", Some("+14155550123")),
            ("+44 20 7946 0018", Some("+442079460018")),
            ("555-0123", None),
            ("(015) 555-0123", None),
            ("+0 415 555 0123", None),
            ("415555012345678", None),
            ("415-555-0123 ext 9", None),
            ("1+415 555 0123", None),
            ("", None),
        ] {
            assert_eq!(e164(raw).as_deref(), want, "{raw:?}");
        }
    }

    #[test]
    fn every_text_ends_with_the_way_out() {
        assert_eq!(
            body("Ready Set: on its way.", Some("https://t/x")),
            "Ready Set: on its way. Track it: https://t/x Reply STOP to opt out."
        );
        assert!(body("Ready Set: delivered.", None).ends_with(OPT_OUT_HINT));
    }
}
