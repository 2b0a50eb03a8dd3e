//! The benchmark's measurements, in the order the report gives them. Each step prints
//! what it is doing to stderr, as the run takes minutes.

use std::{collections::BTreeSet, path::Path, sync::Arc, time::Duration};

use super::{BenchConfig, SATURATION_ROUTE};
use crate::{
    baseline::Baseline,
    cold_start::{self, ColdStart, Subject},
    cpu::CpuTimes,
    emulator::{self, EmulatorResult},
    run::Target,
    run_plan,
    traffic::{Population, Route},
    LoadError, Outcome, Plan, Profile, Thresholds,
};

/// Everything one benchmark run measured.
pub(super) struct Measured {
    /// What could not be measured, and why: the report says so first, and the figures
    /// those steps would have given are missing or zero.
    pub failures: Vec<String>,
    pub emulator: Vec<EmulatorResult>,
    /// The mixed traffic at the configured rate (the baseline sends only its one query).
    pub mixed: ApiAndBaseline<Outcome>,
    pub ramps: ApiAndBaseline<RampRun>,
    pub yardsticks: Yardsticks,
    pub cold_starts: ColdStarts,
}

/// A measurement of the API and the same one of the baseline server, in the same run.
pub(super) struct ApiAndBaseline<T> {
    pub api: T,
    pub baseline: T,
}

/// Traffic that was never sent (its step failed before it could).
pub(super) fn nothing_sent() -> Outcome {
    Outcome {
        plan: Plan::of(Profile::Load),
        phases: Vec::new(),
        knee: None,
    }
}

impl ApiAndBaseline<Outcome> {
    pub fn not_measured() -> Self {
        Self {
            api: nothing_sent(),
            baseline: nothing_sent(),
        }
    }
}

impl ApiAndBaseline<RampRun> {
    pub fn not_measured() -> Self {
        let none = || RampRun {
            outcome: nothing_sent(),
            cpu: Vec::new(),
        };
        Self {
            api: none(),
            baseline: none(),
        }
    }
}

/// A saturation ramp and the CPU seconds each process used during it, largest first.
pub(super) struct RampRun {
    pub outcome: Outcome,
    pub cpu: Vec<(String, f64)>,
}

/// Costs the API pays by design, measured in the same run so the figures that include
/// them can be read against them.
#[derive(Default)]
pub(super) struct Yardsticks {
    /// One password verification (argon2id with the API's parameters), in ms.
    pub argon2_ms: f64,
    /// A new PostgreSQL connection answering `SELECT 1`, in ms.
    pub connect_ms: f64,
    /// The same, answering a PostGIS call (the server preloads the library).
    pub connect_postgis_ms: f64,
}

/// The cold starts of every function and of the hello-world Lambda they are read
/// against, with the sizes of both binaries.
#[derive(Default)]
pub(super) struct ColdStarts {
    pub hello: ColdStart,
    /// By function, in the order of their sample events; a function that could not be
    /// started has why instead.
    pub functions: Vec<(String, Result<ColdStart, String>)>,
    /// The functions among them that serve API routes (the others are jobs).
    pub api_functions: BTreeSet<String>,
    pub lambda_binary_mb: f64,
    pub hello_binary_mb: f64,
}

/// The local DynamoDB's conditional writes with 1, 8 and 32 concurrent writers: it
/// bounds what any load test of the local stack can measure.
pub(super) async fn emulator(
    endpoint: &str,
    duration: Duration,
) -> Result<Vec<EmulatorResult>, LoadError> {
    let mut runs = Vec::new();
    for writers in [1, 8, 32] {
        eprintln!("local DynamoDB: {writers} concurrent writers for 5 s");
        let result = emulator::measure(endpoint, writers, duration).await?;
        eprintln!("  {}", result.summary());
        runs.push(result);
    }
    Ok(runs)
}

/// Where the traffic goes: the API, as identities signed up for this run, and the
/// baseline server.
pub(super) struct Targets {
    population: Arc<Population>,
    baseline: Arc<Baseline>,
}

impl Targets {
    /// Signs up the configured identities (the API's traffic comes from them) and opens
    /// the baseline's client.
    pub async fn prepare(config: &BenchConfig) -> Result<Self, LoadError> {
        eprintln!(
            "signing up {} identities at {}",
            config.identities, config.api_url
        );
        let population = Arc::new(
            Population::create(&config.api_url, config.identities, config.partner.clone()).await?,
        );
        let baseline = Arc::new(Baseline::new(&config.baseline_url)?);
        Ok(Self {
            population,
            baseline,
        })
    }

    /// The configured rate for the configured time, below saturation: the baseline's one
    /// query first, then the API's mix of routes.
    pub async fn mixed_traffic(&self, config: &BenchConfig) -> ApiAndBaseline<Outcome> {
        let thresholds = Thresholds::default();
        let steady = Plan::of(Profile::Load).steady(config.rate, config.duration);
        eprintln!(
            "baseline at {:.0}/s for {} s",
            config.rate,
            config.duration.as_secs()
        );
        let baseline = run_plan(
            &self.baseline,
            steady.clone().only(Route::Baseline).labelled("baseline"),
            &thresholds,
            false,
        )
        .await;
        eprintln!(
            "API mixed traffic at {:.0}/s for {} s",
            config.rate,
            config.duration.as_secs()
        );
        let api = run_plan(&self.population, steady.labelled("api"), &thresholds, false).await;
        ApiAndBaseline { api, baseline }
    }

    /// Rising rates until a threshold breaks, the baseline first, then the API's
    /// [`SATURATION_ROUTE`]: where each saturates, and which process the CPU went to.
    pub async fn saturation_ramps(&self, config: &BenchConfig) -> ApiAndBaseline<RampRun> {
        eprintln!("saturation ramp: baseline");
        let baseline = ramp(
            &self.baseline,
            config.baseline_ramp.plan(Route::Baseline, "baseline ramp"),
        )
        .await;
        eprintln!("saturation ramp: API {}", SATURATION_ROUTE.key());
        let api = ramp(
            &self.population,
            config.api_ramp.plan(SATURATION_ROUTE, "api ramp"),
        )
        .await;
        ApiAndBaseline { api, baseline }
    }
}

/// Runs a ramp's plan against `target`, reading every process' CPU time before and after.
async fn ramp<T: Target>(target: &Arc<T>, plan: Plan) -> RampRun {
    let cpu_before = CpuTimes::now();
    let outcome = run_plan(target, plan, &Thresholds::default(), false).await;
    RampRun {
        outcome,
        cpu: CpuTimes::now().since(&cpu_before),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

impl Yardsticks {
    /// The median of 15 password verifications, and of 9 new connections to
    /// `database_url` for each of the two queries.
    pub async fn measure(database_url: &str) -> Result<Self, LoadError> {
        eprintln!("yardsticks: one argon2id verification, a new PostgreSQL connection");
        Ok(Self {
            argon2_ms: password_verification_ms().await?,
            connect_ms: new_connection_ms(database_url, "SELECT 1").await?,
            connect_postgis_ms: new_connection_ms(database_url, "SELECT postgis_lib_version()")
                .await?,
        })
    }
}

/// The median time of one argon2id verification with the API's parameters, in ms.
async fn password_verification_ms() -> Result<f64, LoadError> {
    let hash = shared::auth::passwords::hash("yardstick-password-1")
        .await
        .map_err(|e| LoadError::Setup(e.to_string()))?;
    let mut times = Vec::new();
    for _ in 0..15 {
        let started = std::time::Instant::now();
        let _ = shared::auth::passwords::verify("yardstick-password-1", Some(&hash)).await;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(median(times))
}

/// The median time from connecting to PostgreSQL to the first answer to `query`, in ms:
/// what a cold start that opens its own connection pays.
async fn new_connection_ms(database_url: &str, query: &str) -> Result<f64, LoadError> {
    let mut times = Vec::new();
    for _ in 0..9 {
        let started = std::time::Instant::now();
        let (client, connection) = tokio_postgres::connect(database_url, tokio_postgres::NoTls)
            .await
            .map_err(|e| LoadError::Setup(format!("connecting to PostgreSQL: {e}")))?;
        let connection = tokio::spawn(connection);
        client
            .simple_query(query)
            .await
            .map_err(|e| LoadError::Setup(format!("{query}: {e}")))?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        drop(client);
        let _ = connection.await;
    }
    Ok(median(times))
}

impl ColdStarts {
    /// The median of the configured runs for the hello-world Lambda, then for each
    /// function with a sample event (the hello-world one is sent the first of them). A
    /// function that cannot be started is recorded with why, and the others measured.
    pub async fn measure(config: &BenchConfig) -> Result<Self, LoadError> {
        eprintln!("cold starts: {} runs each", config.cold_start_runs);
        let subjects = cold_start::subjects(&config.lambda_binary, &config.events, &[])?;
        let hello = Subject {
            label: "hello-world lambda_runtime".into(),
            binary: config.hello_binary.clone(),
            handler: "hello".into(),
            event: subjects[0].event.clone(),
        };
        let hello = cold_start::measure(&hello, &[], config.cold_start_runs).await?;
        let mut functions = Vec::new();
        for subject in &subjects {
            let start = cold_start::measure(subject, &[], config.cold_start_runs).await;
            match &start {
                Ok(start) => eprintln!(
                    "  {}: init {:.1} ms + first invoke {:.1} ms{}",
                    subject.label,
                    ms(start.init),
                    ms(start.first_invoke),
                    if start.answered_with_error {
                        " (answered its sample event with an error)"
                    } else {
                        ""
                    }
                ),
                Err(e) => eprintln!("  {}: not measured: {e}", subject.label),
            }
            functions.push((subject.label.clone(), start.map_err(|e| e.to_string())));
        }
        Ok(Self {
            hello,
            functions,
            api_functions: subjects
                .iter()
                .filter(|s| s.serves_api())
                .map(|s| s.label.clone())
                .collect(),
            lambda_binary_mb: size_mb(&config.lambda_binary),
            hello_binary_mb: size_mb(&config.hello_binary),
        })
    }
}

pub(super) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A file's size in MB (0 when it cannot be read).
fn size_mb(path: &Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / 1024.0 / 1024.0)
}
