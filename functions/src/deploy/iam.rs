//! The IAM vocabulary of a function's declaration: values as CloudFormation reads them,
//! the function role's own statements, and the shared policies it starts from.

/// A value as CloudFormation reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cfn {
    /// `!Ref <name>`: a parameter or a resource of the stack.
    Ref(&'static str),
    /// `!Sub "<text>"`: `${Name}` stands for a parameter, a resource or a pseudo parameter.
    Sub(&'static str),
    /// A literal string.
    Text(&'static str),
}

/// An IAM statement of the function's own role, beyond the shared policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Statement {
    pub actions: &'static [&'static str],
    pub resources: &'static [Cfn],
    /// Why the role needs it, when that is not plain from the function's work.
    pub why: Option<&'static str>,
}

impl Statement {
    pub const fn allow(actions: &'static [&'static str], resources: &'static [Cfn]) -> Self {
        Self {
            actions,
            resources,
            why: None,
        }
    }

    pub const fn because(mut self, why: &'static str) -> Self {
        self.why = Some(why);
        self
    }
}

/// What the function's role may do: the managed policies of `template.yaml`, each named
/// for what it grants, or statements of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// `rds-db:connect` through the RDS Proxy.
    DatabaseConnect,
    /// Invoking the outbox relay after a commit that enqueued messages.
    RelayWake,
    /// Items of the app table (rate limits, sessions, idempotency, the error store).
    AppTableItems,
    SigningKeyRead,
    MapsKeyRead,
    SessionRegistryQuery,
    MonitoringRead,
    AlertWebhookRead,
    BackupKeyUse,
    BackupsBucketWrite,
    PartnerSecretsRead,
    /// Sending offer expiries to their queue (whoever makes an auto-dispatch offer).
    OfferExpirySend,
    /// Statements of this function's role alone.
    Allow(&'static [Statement]),
}

impl Policy {
    /// The managed policy's logical id in `template.yaml` (`DatabaseConnectPolicy`).
    pub const fn managed(self) -> Option<&'static str> {
        Some(match self {
            Policy::DatabaseConnect => "DatabaseConnectPolicy",
            Policy::RelayWake => "RelayWakePolicy",
            Policy::AppTableItems => "AppTableItemsPolicy",
            Policy::SigningKeyRead => "SigningKeyReadPolicy",
            Policy::MapsKeyRead => "MapsKeyReadPolicy",
            Policy::SessionRegistryQuery => "SessionRegistryQueryPolicy",
            Policy::MonitoringRead => "MonitoringReadPolicy",
            Policy::AlertWebhookRead => "AlertWebhookReadPolicy",
            Policy::BackupKeyUse => "BackupKeyUsePolicy",
            Policy::BackupsBucketWrite => "BackupsBucketWritePolicy",
            Policy::PartnerSecretsRead => "PartnerSecretsReadPolicy",
            Policy::OfferExpirySend => "OfferExpirySendPolicy",
            Policy::Allow(_) => return None,
        })
    }
}

/// Every API function's policies unless it says otherwise: each request may read the
/// database, draws its rate budget from the app table, and wakes the outbox relay when
/// it enqueued messages.
pub const API_POLICIES: &[Policy] = &[
    Policy::DatabaseConnect,
    Policy::RelayWake,
    Policy::AppTableItems,
];
