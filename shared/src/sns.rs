//! An SNS delivery as a subscribed Lambda function receives it (`alarm-notifier`,
//! `sms-inbound`): its records, each carrying one message. A record without a message
//! is kept (and skipped by whoever handles it), not refused whole: SNS would retry a
//! failed delivery, and a malformed message never gets better.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SnsDelivery {
    #[serde(default)]
    pub records: Vec<SnsRecord>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SnsRecord {
    #[serde(default)]
    sns: Option<SnsBody>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnsBody {
    #[serde(default)]
    message: Option<String>,
}

impl SnsRecord {
    /// The record's `Sns.Message`, if it has one.
    pub fn message(&self) -> Option<&str> {
        self.sns.as_ref().and_then(|body| body.message.as_deref())
    }
}
