//! What runs a job besides a direct invoke: schedules, SNS topics and SQS queues.

/// What runs a job besides a direct invoke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// An EventBridge schedule (`rate(...)` or `cron(...)`), optionally with a fixed event.
    Schedule {
        /// The event's name in the function (`Daily`).
        name: &'static str,
        expression: &'static str,
        description: &'static str,
        input: Option<&'static str>,
    },
    /// Notifications of an SNS topic, a parameter of the area stack.
    Sns {
        name: &'static str,
        topic: &'static str,
    },
    /// Messages of an SQS queue (its ARN a parameter of the area stack), in batches; the
    /// function answers which records failed, and only those are delivered again.
    Sqs {
        name: &'static str,
        queue_arn: &'static str,
    },
}

impl Trigger {
    pub const fn schedule(
        name: &'static str,
        expression: &'static str,
        description: &'static str,
    ) -> Self {
        Trigger::Schedule {
            name,
            expression,
            description,
            input: None,
        }
    }

    /// The schedule sends this event (JSON) instead of EventBridge's own.
    pub const fn with_input(self, json: &'static str) -> Self {
        match self {
            Trigger::Schedule {
                name,
                expression,
                description,
                ..
            } => Trigger::Schedule {
                name,
                expression,
                description,
                input: Some(json),
            },
            other => other,
        }
    }

    pub const fn sns(name: &'static str, topic: &'static str) -> Self {
        Trigger::Sns { name, topic }
    }

    pub const fn sqs(name: &'static str, queue_arn: &'static str) -> Self {
        Trigger::Sqs { name, queue_arn }
    }
}
