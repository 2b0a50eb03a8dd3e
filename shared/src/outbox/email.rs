//! Customer emails: the relay sends a `CUSTOMER_EMAIL` message's `{to, subject, text,
//! trackOrderId?}` payload through SES from `NOTIFICATION_SENDER`, ending with the order's
//! tracking link when it names one. Throttling and outages are retried; a rejected
//! message or a missing sender is not.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::customer::{self, SendError};
use crate::AppState;

/// What a customer email message carries.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// The order the email invites the customer to follow, while it is under way.
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
    /// The recurring series the email is about, when no order carries it: how an account
    /// purge finds it.
    #[serde(rename = "seriesId", default, skip_serializing_if = "Option::is_none")]
    pub series_id: Option<Uuid>,
}

/// The text as sent: with how to follow the order when it names one.
pub fn body(text: &str, link: Option<&str>, follows_order: bool) -> String {
    match (link, follows_order) {
        (Some(link), true) => format!("{text}\nFollow your delivery: {link}\n"),
        (None, true) => format!("{text}\nYou can follow the delivery in the Ready Set app.\n"),
        (_, false) => text.to_owned(),
    }
}

#[tracing::instrument(name = "send_email", skip_all)]
pub async fn send(state: &AppState, payload: &serde_json::Value) -> Result<(), SendError> {
    use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
    let email: Email = serde_json::from_value(payload.clone())
        .map_err(|e| SendError::Permanent(format!("not an email message: {e}")))?;
    let Some(sender) = state.config.notifications.sender.as_deref() else {
        return Err(SendError::Permanent(
            "no NOTIFICATION_SENDER is configured".into(),
        ));
    };
    let link = customer::tracking_url(state, email.track_order_id).await?;
    let text = match customer::handoff_sentence(state, email.handoff_pin).await? {
        Some(sentence) => format!("{}{sentence}\n", email.text),
        None => email.text.clone(),
    };
    let content = |data: &str| {
        Content::builder()
            .data(data)
            .charset("UTF-8")
            .build()
            .map_err(|e| SendError::Permanent(e.to_string()))
    };
    let message = Message::builder()
        .subject(content(&email.subject)?)
        .body(
            Body::builder()
                .text(content(&body(
                    &text,
                    link.as_deref(),
                    email.track_order_id.is_some(),
                ))?)
                .build(),
        )
        .build();
    let sent = state
        .ses
        .send_email()
        .from_email_address(sender)
        .destination(Destination::builder().to_addresses(&email.to).build())
        .content(EmailContent::builder().simple(message).build())
        .send()
        .await;
    match sent {
        Ok(_) => Ok(()),
        Err(err) => {
            let detail = crate::error::chain(&err);
            let permanent = err.as_service_error().is_some_and(|e| {
                e.is_message_rejected()
                    || e.is_mail_from_domain_not_verified_exception()
                    || e.is_bad_request_exception()
                    || e.is_account_suspended_exception()
                    || e.is_not_found_exception()
            });
            Err(if permanent {
                SendError::Permanent(detail)
            } else {
                SendError::Retry(detail)
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_that_follows_an_order_ends_with_its_link_or_the_app() {
        assert!(body("Hi.\n", Some("https://t/x"), true)
            .ends_with("Follow your delivery: https://t/x\n"));
        assert!(body("Hi.\n", None, true).contains("Ready Set app"));
        assert_eq!(body("Hi.\n", Some("https://t/x"), false), "Hi.\n");
    }
}
