//! The parameters an area stack may take from `template.yaml`: what each is and how the
//! parent passes it. The generator declares in each area stack exactly those its
//! resources use, and writes the same list into the parent's `AWS::Serverless::Application`.

use crate::yaml::{self, Node};

/// A parameter's type in the area stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    String,
    Number,
    SubnetIds,
    SecurityGroupIds,
}

/// How `template.yaml` passes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Passed {
    /// `!Ref <name>`: the parent's parameter or resource of the same name.
    Ref,
    /// A list parameter joined by commas (a nested stack takes strings).
    Joined,
    /// `!GetAtt <resource.attribute>`.
    GetAtt(&'static str),
}

#[derive(Clone, Copy, Debug)]
pub struct Parameter {
    pub name: &'static str,
    pub kind: Kind,
    pub description: &'static str,
    pub passed: Passed,
}

impl Parameter {
    const fn new(
        name: &'static str,
        kind: Kind,
        description: &'static str,
        passed: Passed,
    ) -> Self {
        Self {
            name,
            kind,
            description,
            passed,
        }
    }

    /// A managed policy of `template.yaml`, passed by its ARN.
    const fn policy(name: &'static str) -> Self {
        Self::new(name, Kind::String, "", Passed::Ref)
    }

    pub fn description(&self) -> String {
        if self.description.is_empty() {
            format!("ARN of {} (template.yaml)", self.name)
        } else {
            self.description.to_owned()
        }
    }

    /// Its declaration in the area stack.
    pub fn declaration(&self) -> Node {
        let kind = match self.kind {
            Kind::String => "String",
            Kind::Number => "Number",
            Kind::SubnetIds => "List<AWS::EC2::Subnet::Id>",
            Kind::SecurityGroupIds => "List<AWS::EC2::SecurityGroup::Id>",
        };
        Node::map()
            .with("Type", kind)
            .with("Description", self.description().as_str())
    }

    /// What the parent passes for it.
    pub fn passed(&self) -> Node {
        match self.passed {
            Passed::Ref => yaml::reference(self.name),
            Passed::Joined => Node::Inline(format!("!Join [\",\", !Ref {}]", self.name)),
            Passed::GetAtt(attribute) => Node::Inline(format!("!GetAtt {attribute}")),
        }
    }
}

/// Every parameter an area stack may take, by name.
pub const PARAMETERS: &[Parameter] = &[
    Parameter::new(
        "AlarmTopic",
        Kind::String,
        "ARN of the alarm topic",
        Passed::Ref,
    ),
    Parameter::policy("AlertWebhookReadPolicy"),
    Parameter::new(
        "AlertWebhookSecretName",
        Kind::String,
        "Secrets Manager name of the chat webhook URL (Slack-style) alerts are sent to.",
        Passed::Ref,
    ),
    Parameter::new(
        "AllowedOrigins",
        Kind::String,
        "Browser origins allowed by CORS, comma-separated",
        Passed::Joined,
    ),
    Parameter::new(
        "AppTable",
        Kind::String,
        "Name of the app table",
        Passed::Ref,
    ),
    Parameter::new(
        "AppTableArn",
        Kind::String,
        "ARN of the app table",
        Passed::GetAtt("AppTable.Arn"),
    ),
    Parameter::policy("AppTableItemsPolicy"),
    Parameter::new(
        "BackupKeepDailyDays",
        Kind::Number,
        "Days daily (and manual) backups are kept; backup-retention never removes the newest of a kind.",
        Passed::Ref,
    ),
    Parameter::new(
        "BackupKeepMonthlyMonths",
        Kind::Number,
        "Months monthly backups are kept.",
        Passed::Ref,
    ),
    Parameter::new(
        "BackupKeepWeeklyWeeks",
        Kind::Number,
        "Weeks weekly backups are kept.",
        Passed::Ref,
    ),
    Parameter::new(
        "BackupKeyArn",
        Kind::String,
        "ARN of the KMS key that wraps backup data keys",
        Passed::GetAtt("BackupKey.Arn"),
    ),
    Parameter::policy("BackupKeyUsePolicy"),
    Parameter::new(
        "BackupRdsClusterId",
        Kind::String,
        "An RDS cluster to snapshot beside each backup (empty - none).",
        Passed::Ref,
    ),
    Parameter::new(
        "BackupsBucket",
        Kind::String,
        "Name of the backups bucket",
        Passed::Ref,
    ),
    Parameter::new(
        "BackupsBucketArn",
        Kind::String,
        "ARN of the backups bucket",
        Passed::GetAtt("BackupsBucket.Arn"),
    ),
    Parameter::policy("BackupsBucketWritePolicy"),
    Parameter::new(
        "CustomerSms",
        Kind::String,
        "Text customers through SNS as well as email (true or false).",
        Passed::Ref,
    ),
    Parameter::policy("DatabaseConnectPolicy"),
    Parameter::new(
        "DbName",
        Kind::String,
        "DbName of template.yaml",
        Passed::Ref,
    ),
    Parameter::new(
        "DbProxyEndpoint",
        Kind::String,
        "Host name of the RDS Proxy in front of the PostgreSQL + PostGIS cluster.",
        Passed::Ref,
    ),
    Parameter::new(
        "DbUser",
        Kind::String,
        "Database user the functions log in as with an IAM auth token.",
        Passed::Ref,
    ),
    Parameter::new(
        "DeletedFileRetentionDays",
        Kind::Number,
        "Days a deleted file's object is kept before upload-cleanup removes it.",
        Passed::Ref,
    ),
    Parameter::new(
        "DeploymentType",
        Kind::String,
        "How each function's live alias moves to a new version (CodeDeploy)",
        Passed::Ref,
    ),
    Parameter::new(
        "DriverPushSecretName",
        Kind::String,
        "Secrets Manager name of the secret driver.offer pushes are signed with.",
        Passed::Ref,
    ),
    Parameter::new(
        "DriverPushUrl",
        Kind::String,
        "Where auto-dispatch driver.offer events are pushed as signed POSTs; empty, they are skipped.",
        Passed::Ref,
    ),
    Parameter::new(
        "ErrorRetentionDays",
        Kind::Number,
        "Days recorded errors are kept in the error store.",
        Passed::Ref,
    ),
    Parameter::new(
        "GeoProvider",
        Kind::String,
        "Geocoding and distances - ZIP-code centroids (offline) or Google Maps with offline fallback.",
        Passed::Ref,
    ),
    Parameter::new(
        "GoogleMapsSecretName",
        Kind::String,
        "Secrets Manager name of the Google Maps API key (GeoProvider google).",
        Passed::Ref,
    ),
    Parameter::new(
        "HttpApi",
        Kind::String,
        "The HTTP API's id (HttpApi in template.yaml)",
        Passed::Ref,
    ),
    Parameter::new(
        "JwtSigningKey",
        Kind::String,
        "ARN of the signing-key secret",
        Passed::Ref,
    ),
    Parameter::new(
        "LocationRetentionDays",
        Kind::Number,
        "Days of driver location history kept (whole days are dropped after it).",
        Passed::Ref,
    ),
    Parameter::new(
        "LogRetentionDays",
        Kind::Number,
        "LogRetentionDays of template.yaml",
        Passed::Ref,
    ),
    Parameter::policy("MapsKeyReadPolicy"),
    Parameter::policy("MonitoringReadPolicy"),
    Parameter::new(
        "NotificationSenderAddress",
        Kind::String,
        "The address customer emails come from (verified as an SES identity).",
        Passed::Ref,
    ),
    Parameter::new(
        "OfferExpiryQueue",
        Kind::String,
        "URL of the queue of auto-dispatch offer expiries",
        Passed::Ref,
    ),
    Parameter::new(
        "OfferExpiryQueueArn",
        Kind::String,
        "ARN of the queue of auto-dispatch offer expiries",
        Passed::GetAtt("OfferExpiryQueue.Arn"),
    ),
    Parameter::policy("OfferExpirySendPolicy"),
    Parameter::new(
        "OutboxRetentionDays",
        Kind::Number,
        "Days outbox delivery attempts (and settled messages) stay listed.",
        Passed::Ref,
    ),
    Parameter::policy("PartnerSecretsReadPolicy"),
    Parameter::policy("RelayWakePolicy"),
    Parameter::new(
        "RollbackErrorThreshold",
        Kind::Number,
        "Failed invocations of a live alias in a minute that roll its deployment back",
        Passed::Ref,
    ),
    Parameter::new(
        "RollbackLatencyP99Ms",
        Kind::Number,
        "p99 duration (ms) of an API function's live alias that rolls its deployment back",
        Passed::Ref,
    ),
    Parameter::new(
        "SecurityGroupIds",
        Kind::SecurityGroupIds,
        "Security groups allowed to connect to the RDS Proxy.",
        Passed::Joined,
    ),
    Parameter::new(
        "SessionAuthorizer",
        Kind::String,
        "The session authorizer's id (template.yaml)",
        Passed::Ref,
    ),
    Parameter::policy("SessionRegistryQueryPolicy"),
    Parameter::policy("SigningKeyReadPolicy"),
    Parameter::new(
        "SmsReplyTopic",
        Kind::String,
        "ARN of the topic two-way SMS publishes customers' replies to",
        Passed::Ref,
    ),
    Parameter::new(
        "Stage",
        Kind::String,
        "Deployment environment; also the APP_ENV of every function.",
        Passed::Ref,
    ),
    Parameter::new(
        "SubnetIds",
        Kind::SubnetIds,
        "Private subnets that reach the RDS Proxy (with VPC endpoints for DynamoDB and S3).",
        Passed::Joined,
    ),
    Parameter::new(
        "TrackingPageUrl",
        Kind::String,
        "The customer tracking page; a message's signed link token is appended to it.",
        Passed::Ref,
    ),
    Parameter::new(
        "UploadsBucket",
        Kind::String,
        "Name of the uploads bucket",
        Passed::Ref,
    ),
    Parameter::new(
        "UploadsBucketArn",
        Kind::String,
        "ARN of the uploads bucket",
        Passed::GetAtt("UploadsBucket.Arn"),
    ),
];

pub fn find(name: &str) -> Option<&'static Parameter> {
    PARAMETERS.iter().find(|p| p.name == name)
}
