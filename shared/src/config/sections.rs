//! The configuration's sections, each read from its variables by its own `read`: a
//! missing or malformed variable is an error naming it.

use std::{fmt, time::Duration};

use super::{ConfigError, Environment, Vars};

/// The PostgreSQL connection: plain password or trust locally, an IAM auth token through
/// RDS Proxy in AWS.
#[derive(Clone)]
pub struct DatabaseConfig {
    pub pg: tokio_postgres::Config,
    /// Host and port as written in `DATABASE_URL`; the IAM token is signed for them.
    pub host: String,
    pub port: u16,
    /// Sign an RDS IAM auth token for every new connection instead of using a password.
    pub iam_auth: bool,
    pub pool_size: usize,
    /// Prepared statements kept per connection (`db::StatementCache`); 0 prepares none.
    pub statement_cache: usize,
    pub connect_timeout: Duration,
}

impl fmt::Debug for DatabaseConfig {
    // The password never reaches a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("dbname", &self.pg.get_dbname())
            .field("user", &self.pg.get_user())
            .field("iam_auth", &self.iam_auth)
            .field("pool_size", &self.pool_size)
            .field("statement_cache", &self.statement_cache)
            .finish()
    }
}

/// How the AWS SDK is reached. `endpoint_url` points every client at a local emulator;
/// `dynamodb_endpoint_url` and `lambda_endpoint_url` point one service elsewhere.
#[derive(Debug, Clone)]
pub struct AwsSettings {
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub dynamodb_endpoint_url: Option<String>,
    /// Where Lambda is invoked (`AWS_ENDPOINT_URL_LAMBDA`): the local gateway serves
    /// Lambda's Invoke API for the functions it runs.
    pub lambda_endpoint_url: Option<String>,
    /// Deadlines of every SDK call: opening a connection, one attempt, and the whole
    /// operation with its retries. A hung dependency costs a request at most the latter.
    pub connect_timeout: Duration,
    pub attempt_timeout: Duration,
    pub operation_timeout: Duration,
}

/// Names of the AWS resources this deployment owns.
#[derive(Debug, Clone)]
pub struct Resources {
    /// The DynamoDB table for sessions, rate limits, idempotency keys and the error store.
    pub app_table: String,
    pub uploads_bucket: String,
    pub backups_bucket: String,
}

/// Sign-in, tokens, cookies and browser access.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Secrets Manager id of the access-token signing keys (one per line, newest first,
    /// each at least 32 bytes).
    pub jwt_secret_id: String,
    /// How long a container uses the signing keys before reading them again
    /// (`SIGNING_KEYS_REFRESH_SECONDS`, 300): a rotation reaches every container in that time.
    pub signing_keys_ttl: std::time::Duration,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_ttl: chrono::Duration,
    pub refresh_ttl: chrono::Duration,
    /// Browser origins allowed by CORS and trusted by the CSRF check.
    pub allowed_origins: Vec<String>,
    /// `Secure` cookies; off only for plain-HTTP local runs.
    pub secure_cookies: bool,
    /// How long a refresh token just swapped may be presented again and get the same new
    /// token (two tabs refreshing at once); after it, reuse revokes the session.
    pub refresh_reuse_grace: chrono::Duration,
}

/// Where addresses are geocoded and distances measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GeoSettings {
    /// ZIP-code centroids from the database and straight-line distance × 1.35.
    Offline,
    /// Google Geocoding and Distance Matrix, falling back to offline answers.
    Google { base_url: String, secret_id: String },
}

/// Delivery of outbox messages (partner webhooks and status calls).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxSettings {
    /// First retry delay; each further retry doubles it, with jitter.
    pub retry_base: std::time::Duration,
    pub retry_max: std::time::Duration,
    /// How long after creation a message is retried before it is declared dead.
    pub horizon: std::time::Duration,
    /// Timeout of one delivery attempt.
    pub timeout: std::time::Duration,
    /// Allow plain http and private, loopback and link-local destinations (local runs and
    /// tests only; refused in production).
    pub allow_insecure_destinations: bool,
    /// The relay function a committed status change wakes at once (`OUTBOX_RELAY_FUNCTION`;
    /// unset: the relay's schedule alone delivers).
    pub relay_function: Option<String>,
    /// Where drivers' push events go; none: they are recorded and skipped (the driver app
    /// polls its offers).
    pub driver_push: Option<DriverPushChannel>,
    /// How long settled messages and their delivery attempts stay listed before the
    /// retention job removes them (`OUTBOX_RETENTION_DAYS`, 15).
    pub retention: chrono::Duration,
}

/// The driver push channel: a service that reaches drivers' phones (the driver app's
/// backend or a mobile push gateway) receives each `driver.offer` event as a signed POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverPushChannel {
    /// `DRIVER_PUSH_URL`.
    pub url: String,
    /// Secrets Manager id of the signing secret (`DRIVER_PUSH_SECRET_ID`).
    pub secret_id: String,
}

/// The error store and alerting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitoringSettings {
    /// How long error occurrences (and groups not seen since) are kept.
    pub error_retention: chrono::Duration,
    /// Secrets Manager id of the chat webhook URL alerts are sent to (Slack-style JSON);
    /// without one, alerts are recorded and shown but sent nowhere.
    pub alert_webhook_secret_id: Option<String>,
    /// How often a still-firing alert is sent again.
    pub alert_repeat_interval: chrono::Duration,
}

/// Uploaded files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSettings {
    /// How long a deleted file's object is kept before the cleanup job removes it.
    pub deleted_retention: chrono::Duration,
}

/// Drivers, their tracks and the planning of their routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverSettings {
    /// How long recorded locations are kept (whole days are dropped after it).
    pub location_retention: chrono::Duration,
    /// The planner job a new dispatch plan is handed to, by an asynchronous Invoke
    /// (`PLANNER_FUNCTION`; unset: plans cannot be made here).
    pub planner_function: Option<String>,
    /// The queue each auto-dispatch offer's expiry is sent to, delayed until its deadline
    /// (`OFFER_EXPIRY_QUEUE_URL`; unset: offers expire by the sweep alone, within a minute).
    pub offer_expiry_queue: Option<String>,
    /// How far past its window's end a delivery's ETA must be to record it as delayed
    /// (`DELAY_THRESHOLD_MINUTES`, default 10).
    pub delay_threshold: chrono::Duration,
}

/// Emails to customers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationSettings {
    /// The SES identity emails come from (`Ready Set <deliveries@example.com>`); without
    /// one, customer emails are recorded but cannot be sent.
    pub sender: Option<String>,
    /// Text customers as well (`CUSTOMER_SMS=true`): through Amazon SNS, to the order's
    /// customer who gave a phone number and has not opted out. Off, text messages are
    /// recorded and skipped (an account's SMS needs registering with AWS first).
    pub sms: bool,
    /// The customer tracking page a message's signed link opens (`TRACKING_PAGE_URL`,
    /// the token appended); none, messages carry no link.
    pub tracking_page: Option<String>,
}

/// The key that wraps each backup's data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupKeySource {
    /// A KMS key id, ARN or alias (`BACKUP_KMS_KEY_ID`).
    Kms(String),
    /// A Secrets Manager secret holding a 32-byte master key as base64
    /// (`BACKUP_KEY_SECRET_ID`).
    Secret(String),
}

impl fmt::Display for BackupKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Kms(id) => write!(f, "kms:{id}"),
            Self::Secret(id) => write!(f, "secret:{id}"),
        }
    }
}

/// How long backups of each kind are kept (manual ones as daily ones).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupRetention {
    pub daily_days: i64,
    pub weekly_weeks: i64,
    pub monthly_months: u32,
}

/// Backups of the database and the uploaded files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSettings {
    /// Without a key, backups refuse to run: there is no unencrypted mode.
    pub key: Option<BackupKeySource>,
    pub retention: BackupRetention,
    /// An RDS cluster to snapshot beside each backup (`BACKUP_RDS_CLUSTER_ID`).
    pub rds_cluster_id: Option<String>,
}

/// Statements kept per connection unless `DATABASE_STATEMENT_CACHE` says otherwise: the
/// application has about 150 distinct queries, and the busiest functions use a handful.
pub const DEFAULT_STATEMENT_CACHE: usize = 256;

impl DatabaseConfig {
    pub(super) fn read(env: &Vars) -> Result<Self, ConfigError> {
        let url = env.required("DATABASE_URL")?;
        let pg: tokio_postgres::Config = url.parse().map_err(|e| ConfigError::Invalid {
            var: "DATABASE_URL",
            reason: format!("not a PostgreSQL connection string ({e})"),
        })?;
        let (host, port) = host_and_port(&pg)?;
        let iam_auth = env.parsed_or("DATABASE_IAM_AUTH", false)?;
        // `prefer` may fall back to plaintext, which would send the token in the clear.
        if iam_auth && pg.get_ssl_mode() != tokio_postgres::config::SslMode::Require {
            return Err(ConfigError::Invalid {
                var: "DATABASE_URL",
                reason: "IAM authentication needs TLS: set sslmode=require".into(),
            });
        }
        let pool_size = env.parsed_or("DATABASE_POOL_SIZE", 4usize)?;
        if pool_size == 0 {
            return Err(ConfigError::Invalid {
                var: "DATABASE_POOL_SIZE",
                reason: "must be at least 1".into(),
            });
        }
        Ok(Self {
            pg,
            host,
            port,
            iam_auth,
            pool_size,
            statement_cache: env.parsed_or("DATABASE_STATEMENT_CACHE", DEFAULT_STATEMENT_CACHE)?,
            connect_timeout: env.millis("DATABASE_CONNECT_TIMEOUT_MS", 2000)?,
        })
    }
}

impl AwsSettings {
    pub(super) fn read(env: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            region: env.optional("AWS_REGION"),
            endpoint_url: env.optional("AWS_ENDPOINT_URL"),
            dynamodb_endpoint_url: env.optional("AWS_ENDPOINT_URL_DYNAMODB"),
            lambda_endpoint_url: env.optional("AWS_ENDPOINT_URL_LAMBDA"),
            connect_timeout: env.millis("AWS_CONNECT_TIMEOUT_MS", 1_000)?,
            attempt_timeout: env.millis("AWS_ATTEMPT_TIMEOUT_MS", 1_000)?,
            operation_timeout: env.millis("AWS_OPERATION_TIMEOUT_MS", 2_000)?,
        })
    }
}

impl Resources {
    pub(super) fn read(env: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            app_table: env.required("APP_TABLE")?,
            uploads_bucket: env.required("UPLOADS_BUCKET")?,
            backups_bucket: env.required("BACKUPS_BUCKET")?,
        })
    }
}

impl AuthSettings {
    pub(super) fn read(env: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            jwt_secret_id: env.required("JWT_SECRET_ID")?,
            jwt_issuer: env
                .optional("JWT_ISSUER")
                .unwrap_or_else(|| "readyset".into()),
            jwt_audience: env
                .optional("JWT_AUDIENCE")
                .unwrap_or_else(|| "readyset-api".into()),
            access_ttl: chrono::Duration::seconds(
                env.parsed_or("ACCESS_TOKEN_TTL_SECONDS", 900i64)?,
            ),
            signing_keys_ttl: Duration::from_secs(
                env.parsed_or("SIGNING_KEYS_REFRESH_SECONDS", 300u64)?,
            ),
            refresh_ttl: chrono::Duration::seconds(
                env.parsed_or("REFRESH_TOKEN_TTL_SECONDS", 30 * 24 * 3600i64)?,
            ),
            allowed_origins: origins(env.optional("CORS_ALLOWED_ORIGINS"))?,
            secure_cookies: env.parsed_or("COOKIE_SECURE", true)?,
            refresh_reuse_grace: chrono::Duration::seconds(
                env.parsed_or("REFRESH_REUSE_GRACE_SECONDS", 10i64)?,
            ),
        })
    }
}

impl GeoSettings {
    pub(super) fn read(env: &Vars) -> Result<Self, ConfigError> {
        match env.optional("GEO_PROVIDER").as_deref().unwrap_or("offline") {
            "offline" => Ok(GeoSettings::Offline),
            "google" => Ok(GeoSettings::Google {
                base_url: env
                    .optional("GOOGLE_MAPS_BASE_URL")
                    .unwrap_or_else(|| "https://maps.googleapis.com".into()),
                secret_id: env.required("GOOGLE_MAPS_SECRET_ID")?,
            }),
            other => Err(ConfigError::Invalid {
                var: "GEO_PROVIDER",
                reason: format!("expected offline or google, got {other:?}"),
            }),
        }
    }
}

impl OutboxSettings {
    pub(super) fn read(env: &Vars, environment: Environment) -> Result<Self, ConfigError> {
        let allow_insecure_destinations = env.parsed_or("WEBHOOK_ALLOW_INSECURE", false)?;
        if allow_insecure_destinations && environment == Environment::Production {
            return Err(ConfigError::Invalid {
                var: "WEBHOOK_ALLOW_INSECURE",
                reason: "production delivers to public https destinations only".into(),
            });
        }
        let driver_push = match env.optional("DRIVER_PUSH_URL") {
            Some(url) => Some(DriverPushChannel {
                url,
                secret_id: env.required("DRIVER_PUSH_SECRET_ID")?,
            }),
            None => None,
        };
        Ok(Self {
            relay_function: env.optional("OUTBOX_RELAY_FUNCTION"),
            driver_push,
            retry_base: env.millis("OUTBOX_RETRY_BASE_MS", 2_000)?,
            retry_max: env.millis("OUTBOX_RETRY_MAX_MS", 600_000)?,
            horizon: Duration::from_secs(env.parsed_or("OUTBOX_HORIZON_SECONDS", 86_400u64)?),
            timeout: env.millis("WEBHOOK_TIMEOUT_MS", 10_000)?,
            allow_insecure_destinations,
            retention: chrono::Duration::days(env.within(
                "OUTBOX_RETENTION_DAYS",
                15,
                365,
                " days",
            )?),
        })
    }
}

impl MonitoringSettings {
    pub(super) fn read(env: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            error_retention: chrono::Duration::days(env.within(
                "ERROR_RETENTION_DAYS",
                30,
                365,
                " days",
            )?),
            alert_webhook_secret_id: env.optional("ALERT_WEBHOOK_SECRET_ID"),
            alert_repeat_interval: chrono::Duration::minutes(env.within(
                "ALERT_REPEAT_MINUTES",
                240,
                10_080,
                " minutes (a week)",
            )?),
        })
    }
}

impl BackupSettings {
    pub(super) fn read(env: &Vars) -> Result<Self, ConfigError> {
        let key = match (
            env.optional("BACKUP_KMS_KEY_ID"),
            env.optional("BACKUP_KEY_SECRET_ID"),
        ) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Invalid {
                    var: "BACKUP_KEY_SECRET_ID",
                    reason: "set BACKUP_KMS_KEY_ID or BACKUP_KEY_SECRET_ID, not both".into(),
                })
            }
            (Some(kms), None) => Some(BackupKeySource::Kms(kms)),
            (None, Some(secret)) => Some(BackupKeySource::Secret(secret)),
            (None, None) => None,
        };
        Ok(Self {
            key,
            retention: BackupRetention {
                daily_days: env.within("BACKUP_KEEP_DAILY_DAYS", 30, 3650, "")?,
                weekly_weeks: env.within("BACKUP_KEEP_WEEKLY_WEEKS", 12, 520, "")?,
                monthly_months: u32::try_from(env.within(
                    "BACKUP_KEEP_MONTHLY_MONTHS",
                    12,
                    1200,
                    "",
                )?)
                .unwrap_or(12),
            },
            rds_cluster_id: env.optional("BACKUP_RDS_CLUSTER_ID"),
        })
    }
}

/// A comma-separated list of exact origins (`https://app.example.com`), no wildcards.
fn origins(raw: Option<String>) -> Result<Vec<String>, ConfigError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let valid = (origin.starts_with("https://") || origin.starts_with("http://"))
                && !origin.ends_with('/')
                && !origin.contains('*')
                && origin
                    .split("://")
                    .nth(1)
                    .is_some_and(|host| !host.is_empty() && !host.contains('/'));
            if valid {
                Ok(origin.to_owned())
            } else {
                Err(ConfigError::Invalid {
                    var: "CORS_ALLOWED_ORIGINS",
                    reason: format!(
                        "{origin:?} is not an exact origin like https://app.example.com"
                    ),
                })
            }
        })
        .collect()
}

fn host_and_port(pg: &tokio_postgres::Config) -> Result<(String, u16), ConfigError> {
    let host = match pg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => {
            return Err(ConfigError::Invalid {
                var: "DATABASE_URL",
                reason: "no host given".into(),
            })
        }
    };
    let port = pg.get_ports().first().copied().unwrap_or(5432);
    Ok((host, port))
}
