//! Typed configuration, read once per container from the environment.
//!
//! Every variable is named in one place here so a missing or malformed one fails the cold
//! start with a message naming it, instead of a confusing error on the first request.

mod sections;

use std::{fmt, str::FromStr, time::Duration};

pub use sections::{
    AuthSettings, AwsSettings, BackupKeySource, BackupRetention, BackupSettings, DatabaseConfig,
    DriverSettings, GeoSettings, MonitoringSettings, NotificationSettings, OutboxSettings,
    Resources, UploadSettings, DEFAULT_STATEMENT_CACHE,
};

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
        Ok(Self {
            environment,
            service_name: env
                .optional("AWS_LAMBDA_FUNCTION_NAME")
                .or_else(|| env.optional("SERVICE_NAME"))
                .unwrap_or_else(|| "readyset-local".to_owned()),
            database: DatabaseConfig::read(&env)?,
            aws: AwsSettings::read(&env)?,
            resources: Resources::read(&env)?,
            auth: AuthSettings::read(&env)?,
            geo: GeoSettings::read(&env)?,
            outbox: OutboxSettings::read(&env, environment)?,
            monitoring: MonitoringSettings::read(&env)?,
            uploads: UploadSettings {
                deleted_retention: chrono::Duration::days(env.within(
                    "DELETED_FILE_RETENTION_DAYS",
                    30,
                    3650,
                    " days",
                )?),
            },
            drivers: DriverSettings {
                location_retention: chrono::Duration::days(env.within(
                    "LOCATION_RETENTION_DAYS",
                    30,
                    365,
                    " days",
                )?),
                planner_function: env.optional("PLANNER_FUNCTION"),
                offer_expiry_queue: env.optional("OFFER_EXPIRY_QUEUE_URL"),
                delay_threshold: chrono::Duration::minutes(env.within(
                    "DELAY_THRESHOLD_MINUTES",
                    10,
                    240,
                    " minutes",
                )?),
            },
            notifications: NotificationSettings {
                sender: env.optional("NOTIFICATION_SENDER"),
                sms: env.parsed_or("CUSTOMER_SMS", false)?,
                tracking_page: env.optional("TRACKING_PAGE_URL"),
            },
            backups: BackupSettings::read(&env)?,
            metrics: env.parsed_or("METRICS", crate::metrics::MetricsSink::Emf)?,
            metrics_namespace: env
                .optional("METRICS_NAMESPACE")
                .unwrap_or_else(|| crate::metrics::DEFAULT_NAMESPACE.into()),
            request_timeout: env.millis("REQUEST_TIMEOUT_MS", 10_000)?,
            health_cache_max_age: Duration::from_secs(env.parsed_or("HEALTH_CACHE_SECONDS", 5u64)?),
        })
    }
}

/// Variable lookups that name the variable in every error.
struct Vars<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Vars<'_> {
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

    /// A duration given in milliseconds.
    fn millis(&self, var: &'static str, default: u64) -> Result<Duration, ConfigError> {
        Ok(Duration::from_millis(self.parsed_or(var, default)?))
    }

    /// A count from 1 to `max` (of `unit`, which the error names).
    fn within(
        &self,
        var: &'static str,
        default: i64,
        max: i64,
        unit: &str,
    ) -> Result<i64, ConfigError> {
        match self.parsed_or(var, default)? {
            n if (1..=max).contains(&n) => Ok(n),
            _ => Err(ConfigError::Invalid {
                var,
                reason: format!("must be 1 to {max}{unit}"),
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
