//! Customer emails: the relay sends a `CUSTOMER_EMAIL` message's `{to, subject, text}`
//! payload through SES from `NOTIFICATION_SENDER`. Throttling and outages are retried;
//! a rejected message or a missing sender is not.

use serde::Deserialize;

use crate::AppState;

/// What a customer email message carries.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// Why a send failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    Retry(String),
    Permanent(String),
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
    let text = |data: &str| {
        Content::builder()
            .data(data)
            .charset("UTF-8")
            .build()
            .map_err(|e| SendError::Permanent(e.to_string()))
    };
    let message = Message::builder()
        .subject(text(&email.subject)?)
        .body(Body::builder().text(text(&email.text)?).build())
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
