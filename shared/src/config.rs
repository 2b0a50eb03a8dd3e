//! Typed configuration, read once per container from the environment.
//!
//! Every variable is named in one place here so a missing or malformed one fails the cold
//! start with a message naming it, instead of a confusing error on the first request.

use std::{fmt, str::FromStr, time::Duration};

/// Why the configuration could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("missing required environment variable {0}")]
    Missing(&'static str),
    #[error("invalid value for environment variable {var}: {reason}")]
    Invalid { var: &'static str, reason: String },
}

crate::text_enum::text_enum! {
    /// Where the code runs (`APP_ENV`). Production tightens rules that are relaxed for
    /// local runs.
    pub enum Environment("environment") {
        Local = "local",
        Staging = "staging",
        Production = "production",
    }
}

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

/// Drivers and their tracks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverSettings {
    /// How long recorded locations are kept (whole days are dropped after it).
    pub location_retention: chrono::Duration,
}

/// Emails to customers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationSettings {
    /// The SES identity emails come from (`Ready Set <deliveries@example.com>`); without
    /// one, customer emails are recorded but cannot be sent.
    pub sender: Option<String>,
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

#[derive(Debug, Clone)]
pub struct Config {
    pub environment: Environment,
    /// The Lambda function name, or the local process name; appears on every log line.
    pub service_name: String,
    pub database: DatabaseConfig,
    pub aws: AwsSettings,
    pub resources: Resources,
    pub auth: AuthSettings,
    pub geo: GeoSettings,
    pub outbox: OutboxSettings,
    pub monitoring: MonitoringSettings,
    pub uploads: UploadSettings,
    pub drivers: DriverSettings,
    pub notifications: NotificationSettings,
    pub backups: BackupSettings,
    /// Where metric lines go (`METRICS`: `emf`, the default, or `off`).
    pub metrics: crate::metrics::MetricsSink,
    /// The CloudWatch namespace of the metrics (`METRICS_NAMESPACE`, `ReadySet`).
    pub metrics_namespace: String,
    /// The longest a request may run before it answers 503: well inside the functions'
    /// 15-second Lambda timeout.
    pub request_timeout: Duration,
    /// How long a healthy `/api/health` result is served to later callers (0: every
    /// call checks live). A failing result is never reused.
    pub health_cache_max_age: Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any variable source (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Vars(&lookup);
        let environment = env.parsed_or("APP_ENV", Environment::Local)?;
        let service_name = env
            .optional("AWS_LAMBDA_FUNCTION_NAME")
            .or_else(|| env.optional("SERVICE_NAME"))
            .unwrap_or_else(|| "readyset-local".to_owned());

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
        let connect_timeout =
            Duration::from_millis(env.parsed_or("DATABASE_CONNECT_TIMEOUT_MS", 2000u64)?);

        Ok(Self {
            environment,
            service_name,
            database: DatabaseConfig {
                pg,
                host,
                port,
                iam_auth,
                pool_size,
                connect_timeout,
            },
            aws: AwsSettings {
                region: env.optional("AWS_REGION"),
                endpoint_url: env.optional("AWS_ENDPOINT_URL"),
                dynamodb_endpoint_url: env.optional("AWS_ENDPOINT_URL_DYNAMODB"),
                lambda_endpoint_url: env.optional("AWS_ENDPOINT_URL_LAMBDA"),
                connect_timeout: Duration::from_millis(
                    env.parsed_or("AWS_CONNECT_TIMEOUT_MS", 1_000u64)?,
                ),
                attempt_timeout: Duration::from_millis(
                    env.parsed_or("AWS_ATTEMPT_TIMEOUT_MS", 1_000u64)?,
                ),
                operation_timeout: Duration::from_millis(
                    env.parsed_or("AWS_OPERATION_TIMEOUT_MS", 2_000u64)?,
                ),
            },
            resources: Resources {
                app_table: env.required("APP_TABLE")?,
                uploads_bucket: env.required("UPLOADS_BUCKET")?,
                backups_bucket: env.required("BACKUPS_BUCKET")?,
            },
            auth: AuthSettings {
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
            },
            geo: match env.optional("GEO_PROVIDER").as_deref().unwrap_or("offline") {
                "offline" => GeoSettings::Offline,
                "google" => GeoSettings::Google {
                    base_url: env
                        .optional("GOOGLE_MAPS_BASE_URL")
                        .unwrap_or_else(|| "https://maps.googleapis.com".into()),
                    secret_id: env.required("GOOGLE_MAPS_SECRET_ID")?,
                },
                other => {
                    return Err(ConfigError::Invalid {
                        var: "GEO_PROVIDER",
                        reason: format!("expected offline or google, got {other:?}"),
                    })
                }
            },
            outbox: OutboxSettings {
                relay_function: env.optional("OUTBOX_RELAY_FUNCTION"),
                retry_base: Duration::from_millis(env.parsed_or("OUTBOX_RETRY_BASE_MS", 2_000u64)?),
                retry_max: Duration::from_millis(env.parsed_or("OUTBOX_RETRY_MAX_MS", 600_000u64)?),
                horizon: Duration::from_secs(env.parsed_or("OUTBOX_HORIZON_SECONDS", 86_400u64)?),
                timeout: Duration::from_millis(env.parsed_or("WEBHOOK_TIMEOUT_MS", 10_000u64)?),
                allow_insecure_destinations: match env.parsed_or("WEBHOOK_ALLOW_INSECURE", false)? {
                    true if environment == Environment::Production => {
                        return Err(ConfigError::Invalid {
                            var: "WEBHOOK_ALLOW_INSECURE",
                            reason: "production delivers to public https destinations only".into(),
                        })
                    }
                    allowed => allowed,
                },
            },
            monitoring: MonitoringSettings {
                error_retention: match env.parsed_or("ERROR_RETENTION_DAYS", 30i64)? {
                    days @ 1..=365 => chrono::Duration::days(days),
                    _ => {
                        return Err(ConfigError::Invalid {
                            var: "ERROR_RETENTION_DAYS",
                            reason: "must be 1 to 365 days".into(),
                        })
                    }
                },
                alert_webhook_secret_id: env.optional("ALERT_WEBHOOK_SECRET_ID"),
                alert_repeat_interval: match env.parsed_or("ALERT_REPEAT_MINUTES", 240i64)? {
                    minutes @ 1..=10_080 => chrono::Duration::minutes(minutes),
                    _ => {
                        return Err(ConfigError::Invalid {
                            var: "ALERT_REPEAT_MINUTES",
                            reason: "must be 1 to 10080 minutes (a week)".into(),
                        })
                    }
                },
            },
            uploads: UploadSettings {
                deleted_retention: match env.parsed_or("DELETED_FILE_RETENTION_DAYS", 30i64)? {
                    days @ 1..=3650 => chrono::Duration::days(days),
                    _ => {
                        return Err(ConfigError::Invalid {
                            var: "DELETED_FILE_RETENTION_DAYS",
                            reason: "must be 1 to 3650 days".into(),
                        })
                    }
                },
            },
            drivers: DriverSettings {
                location_retention: match env.parsed_or("LOCATION_RETENTION_DAYS", 30i64)? {
                    days @ 1..=365 => chrono::Duration::days(days),
                    _ => {
                        return Err(ConfigError::Invalid {
                            var: "LOCATION_RETENTION_DAYS",
                            reason: "must be 1 to 365 days".into(),
                        })
                    }
                },
            },
            notifications: NotificationSettings {
                sender: env.optional("NOTIFICATION_SENDER"),
            },
            backups: backup_settings(&env)?,
            metrics: env.parsed_or("METRICS", crate::metrics::MetricsSink::Emf)?,
            metrics_namespace: env
                .optional("METRICS_NAMESPACE")
                .unwrap_or_else(|| crate::metrics::DEFAULT_NAMESPACE.into()),
            request_timeout: Duration::from_millis(env.parsed_or("REQUEST_TIMEOUT_MS", 10_000u64)?),
            health_cache_max_age: Duration::from_secs(env.parsed_or("HEALTH_CACHE_SECONDS", 5u64)?),
        })
    }
}

fn backup_settings<F: Fn(&str) -> Option<String>>(
    env: &Vars<'_, F>,
) -> Result<BackupSettings, ConfigError> {
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
    let within = |var: &'static str, default: i64, max: i64| -> Result<i64, ConfigError> {
        match env.parsed_or(var, default)? {
            n if (1..=max).contains(&n) => Ok(n),
            _ => Err(ConfigError::Invalid {
                var,
                reason: format!("must be 1 to {max}"),
            }),
        }
    };
    Ok(BackupSettings {
        key,
        retention: BackupRetention {
            daily_days: within("BACKUP_KEEP_DAILY_DAYS", 30, 3650)?,
            weekly_weeks: within("BACKUP_KEEP_WEEKLY_WEEKS", 12, 520)?,
            monthly_months: u32::try_from(within("BACKUP_KEEP_MONTHLY_MONTHS", 12, 1200)?)
                .unwrap_or(12),
        },
        rds_cluster_id: env.optional("BACKUP_RDS_CLUSTER_ID"),
    })
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

/// Variable lookups that name the variable in every error.
struct Vars<'a, F: Fn(&str) -> Option<String>>(&'a F);

impl<F: Fn(&str) -> Option<String>> Vars<'_, F> {
    fn optional(&self, var: &'static str) -> Option<String> {
        (self.0)(var).filter(|v| !v.trim().is_empty())
    }

    fn required(&self, var: &'static str) -> Result<String, ConfigError> {
        self.optional(var).ok_or(ConfigError::Missing(var))
    }

    fn parsed_or<T>(&self, var: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match self.optional(var) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|e: T::Err| ConfigError::Invalid {
                    var,
                    reason: e.to_string(),
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const BASE: &[(&str, &str)] = &[
        ("DATABASE_URL", "postgres://app@127.0.0.1:5433/readyset"),
        ("APP_TABLE", "readyset-app"),
        ("UPLOADS_BUCKET", "uploads"),
        ("BACKUPS_BUCKET", "backups"),
        ("JWT_SECRET_ID", "readyset/jwt"),
    ];

    #[test]
    fn builds_with_defaults() {
        let config = Config::from_lookup(vars(BASE)).expect("valid config");
        assert_eq!(config.environment, Environment::Local);
        assert_eq!(config.database.host, "127.0.0.1");
        assert_eq!(config.database.port, 5433);
        assert_eq!(config.database.pool_size, 4);
        assert!(!config.database.iam_auth);
        assert_eq!(config.resources.app_table, "readyset-app");
    }

    #[test]
    fn names_the_missing_variable() {
        let without_table: Vec<_> = BASE
            .iter()
            .copied()
            .filter(|(k, _)| *k != "APP_TABLE")
            .collect();
        let err = Config::from_lookup(vars(&without_table)).expect_err("must be rejected");
        assert_eq!(err, ConfigError::Missing("APP_TABLE"));
        assert!(err.to_string().contains("APP_TABLE"));
    }

    #[test]
    fn rejects_malformed_values_by_name() {
        let mut bad = BASE.to_vec();
        bad.push(("DATABASE_POOL_SIZE", "many"));
        let err = Config::from_lookup(vars(&bad)).expect_err("must be rejected");
        assert!(matches!(
            err,
            ConfigError::Invalid {
                var: "DATABASE_POOL_SIZE",
                ..
            }
        ));

        let mut bad_env = BASE.to_vec();
        bad_env.push(("APP_ENV", "prod"));
        let err = Config::from_lookup(vars(&bad_env)).expect_err("must be rejected");
        assert!(matches!(err, ConfigError::Invalid { var: "APP_ENV", .. }));
    }

    #[test]
    fn iam_auth_requires_tls() {
        let mut iam = BASE.to_vec();
        iam.push(("DATABASE_IAM_AUTH", "true"));
        let err = Config::from_lookup(vars(&iam)).expect_err("must be rejected");
        assert!(matches!(
            err,
            ConfigError::Invalid {
                var: "DATABASE_URL",
                ..
            }
        ));

        let mut iam_tls: Vec<_> = BASE
            .iter()
            .copied()
            .filter(|(k, _)| *k != "DATABASE_URL")
            .collect();
        iam_tls.push((
            "DATABASE_URL",
            "postgres://app@proxy.example:5432/readyset?sslmode=require",
        ));
        iam_tls.push(("DATABASE_IAM_AUTH", "true"));
        assert!(
            Config::from_lookup(vars(&iam_tls))
                .expect("valid")
                .database
                .iam_auth
        );
    }

    #[test]
    fn origins_must_be_exact() {
        let mut ok = BASE.to_vec();
        ok.push((
            "CORS_ALLOWED_ORIGINS",
            "https://app.readyset.co, http://localhost:5173",
        ));
        let config = Config::from_lookup(vars(&ok)).expect("valid");
        assert_eq!(
            config.auth.allowed_origins,
            vec!["https://app.readyset.co", "http://localhost:5173"]
        );
        for bad in [
            "*",
            "https://*.readyset.co",
            "app.readyset.co",
            "https://app.readyset.co/",
        ] {
            let mut with_bad = BASE.to_vec();
            with_bad.push(("CORS_ALLOWED_ORIGINS", bad));
            assert!(Config::from_lookup(vars(&with_bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn production_refuses_insecure_webhook_destinations() {
        let mut prod = BASE.to_vec();
        prod.push(("APP_ENV", "production"));
        prod.push(("WEBHOOK_ALLOW_INSECURE", "true"));
        let err = Config::from_lookup(vars(&prod)).expect_err("refused");
        assert!(matches!(
            err,
            ConfigError::Invalid {
                var: "WEBHOOK_ALLOW_INSECURE",
                ..
            }
        ));
        let mut local = BASE.to_vec();
        local.push(("WEBHOOK_ALLOW_INSECURE", "true"));
        assert!(
            Config::from_lookup(vars(&local))
                .expect("valid")
                .outbox
                .allow_insecure_destinations
        );
    }

    #[test]
    fn debug_output_hides_the_password() {
        let mut with_password: Vec<_> = BASE
            .iter()
            .copied()
            .filter(|(k, _)| *k != "DATABASE_URL")
            .collect();
        with_password.push(("DATABASE_URL", "postgres://app:s3cret-pw@db:5432/readyset"));
        let config = Config::from_lookup(vars(&with_password)).expect("valid");
        assert!(!format!("{config:?}").contains("s3cret-pw"));
    }
}
