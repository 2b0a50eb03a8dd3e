//! The local DynamoDB's own throughput: the rate limiter makes one conditional
//! `UpdateItem` per request, so this bounds what any load test of the local stack can
//! measure. Measured through the Rust SDK the functions use, on one hot key (every caller
//! of one rate-limit window updates the same item), then checked for atomicity: a
//! counter raced by many writers under a limit ends exactly at the limit.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::{
    config::{BehaviorVersion, Credentials, Region},
    types::{
        AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
        ScalarAttributeType,
    },
    Client,
};

use crate::LoadError;

/// What the emulator sustained.
#[derive(Debug, Clone, PartialEq)]
pub struct EmulatorResult {
    pub writers: usize,
    pub seconds: f64,
    pub writes: u64,
    /// The counter after the timed run equals the writes that succeeded.
    pub counter_exact: bool,
    /// Writers racing a counter limited to `race_limit`: how many succeeded.
    pub race_limit: u64,
    pub race_succeeded: u64,
    pub race_attempts: u64,
}

impl EmulatorResult {
    pub fn writes_per_second(&self) -> f64 {
        self.writes as f64 / self.seconds.max(0.001)
    }

    /// Conditions were applied atomically: no write lost, none past the limit.
    pub fn atomic(&self) -> bool {
        self.counter_exact && self.race_succeeded == self.race_limit
    }

    pub fn summary(&self) -> String {
        format!(
            "{:.0} conditional writes/s with {} writers over {:.0} s ({} writes, counter {}); \
             {} writers racing to a limit of {}: {} of {} succeeded ({})",
            self.writes_per_second(),
            self.writers,
            self.seconds,
            self.writes,
            if self.counter_exact { "exact" } else { "WRONG" },
            self.writers,
            self.race_limit,
            self.race_succeeded,
            self.race_attempts,
            if self.atomic() {
                "atomic"
            } else {
                "NOT ATOMIC"
            },
        )
    }
}

fn client(endpoint: &str) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("load", "load", None, None, "load-tool"))
        .build();
    Client::from_conf(config)
}

fn setup_error(doing: &str) -> impl Fn(aws_sdk_dynamodb::Error) -> LoadError + '_ {
    move |e| LoadError::Setup(format!("{doing}: {e}"))
}

/// One rate-limit increment: the update the API's limiter makes, conditional on the
/// window being open and the budget not spent.
async fn increment(client: &Client, table: &str, key: &str, limit: u64) -> Result<bool, LoadError> {
    let result = client
        .update_item()
        .table_name(table)
        .key("pk", AttributeValue::S(key.to_owned()))
        .update_expression("SET hits = hits + :one")
        .condition_expression("windowEnd > :now AND hits < :limit")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .expression_attribute_values(":now", AttributeValue::N("1".into()))
        .expression_attribute_values(":limit", AttributeValue::N(limit.to_string()))
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(err) => {
            let err = aws_sdk_dynamodb::Error::from(err);
            match err {
                aws_sdk_dynamodb::Error::ConditionalCheckFailedException(_) => Ok(false),
                other => Err(LoadError::Setup(format!(
                    "conditional write failed: {other}"
                ))),
            }
        }
    }
}

/// A created table takes writes once it is `ACTIVE` (at once locally, seconds on AWS).
async fn wait_until_active(client: &Client, table: &str) -> Result<(), LoadError> {
    for _ in 0..100 {
        let described = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| setup_error("describing the table")(e.into()))?;
        let status = described.table().and_then(|t| t.table_status());
        if status == Some(&aws_sdk_dynamodb::types::TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(LoadError::Setup(format!(
        "table {table} did not become active in 10 s"
    )))
}

async fn reset(client: &Client, table: &str, key: &str) -> Result<(), LoadError> {
    client
        .put_item()
        .table_name(table)
        .item("pk", AttributeValue::S(key.to_owned()))
        .item("hits", AttributeValue::N("0".into()))
        .item("windowEnd", AttributeValue::N("9999999999".into()))
        .send()
        .await
        .map_err(|e| setup_error("writing the counter")(e.into()))?;
    Ok(())
}

async fn counter(client: &Client, table: &str, key: &str) -> Result<u64, LoadError> {
    let item = client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(key.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| setup_error("reading the counter")(e.into()))?;
    Ok(item
        .item()
        .and_then(|i| i.get("hits"))
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0))
}

/// Measures the DynamoDB at `endpoint` with `writers` concurrent writers for `duration`,
/// in a table of its own that it deletes afterwards.
pub async fn measure(
    endpoint: &str,
    writers: usize,
    duration: Duration,
) -> Result<EmulatorResult, LoadError> {
    let client = client(endpoint);
    let table = format!(
        "load-emulator-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let key_attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let key = KeySchemaElement::builder()
        .attribute_name("pk")
        .key_type(KeyType::Hash)
        .build();
    client
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(key_attribute("pk").map_err(|e| LoadError::Setup(e.to_string()))?)
        .key_schema(key.map_err(|e| LoadError::Setup(e.to_string()))?)
        .send()
        .await
        .map_err(|e| setup_error("creating the table")(e.into()))?;
    wait_until_active(&client, &table).await?;
    let result = measure_in(&client, &table, writers.max(1), duration).await;
    let _ = client.delete_table().table_name(&table).send().await;
    result
}

async fn measure_in(
    client: &Client,
    table: &str,
    writers: usize,
    duration: Duration,
) -> Result<EmulatorResult, LoadError> {
    reset(client, table, "timed").await?;
    let start = Instant::now();
    let stop = start + duration;
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let (client, table) = (client.clone(), table.to_owned());
            tokio::spawn(async move {
                let mut writes = 0u64;
                while Instant::now() < stop {
                    if increment(&client, &table, "timed", u64::MAX / 2).await? {
                        writes += 1;
                    }
                }
                Ok::<_, LoadError>(writes)
            })
        })
        .collect();
    let mut writes = 0;
    for task in tasks {
        writes += task
            .await
            .map_err(|e| LoadError::Setup(format!("writer failed: {e}")))??;
    }
    let seconds = start.elapsed().as_secs_f64();
    let counter_exact = counter(client, table, "timed").await? == writes;

    let race_limit: u64 = 100;
    // Twice the limit in all, whatever the number of writers.
    let attempts_each = (2 * race_limit).div_ceil(writers as u64);
    reset(client, table, "race").await?;
    let racers: Vec<_> = (0..writers)
        .map(|_| {
            let (client, table) = (client.clone(), table.to_owned());
            tokio::spawn(async move {
                let mut won = 0u64;
                for _ in 0..attempts_each {
                    if increment(&client, &table, "race", race_limit).await? {
                        won += 1;
                    }
                }
                Ok::<_, LoadError>(won)
            })
        })
        .collect();
    let mut race_succeeded = 0;
    for racer in racers {
        race_succeeded += racer
            .await
            .map_err(|e| LoadError::Setup(format!("writer failed: {e}")))??;
    }
    Ok(EmulatorResult {
        writers,
        seconds,
        writes,
        counter_exact,
        race_limit,
        race_succeeded,
        race_attempts: writers as u64 * attempts_each,
    })
}
