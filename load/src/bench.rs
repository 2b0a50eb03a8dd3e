//! The benchmark report (`docs/performance.md`): every measurement of the tool in one
//! run, each beside its baseline from the same run, since the machine is shared and noisy
//! and only ratios travel.
//!
//! In order: the local DynamoDB's conditional writes; the mixed traffic at a rate below
//! saturation, on the API and on the baseline server; a saturation ramp of one read route
//! on both; cold starts of every function beside a hello-world Lambda.

use std::{fmt::Write as _, path::PathBuf, sync::Arc, time::Duration};

use crate::{
    baseline::Baseline,
    cold_start::{self, ColdStart, Subject},
    cpu::CpuTimes,
    emulator, report,
    run::{self, PhaseResult},
    run_plan,
    traffic::{PartnerKey, Population, Route},
    LoadError, Outcome, Plan, Profile, Thresholds,
};

/// What the benchmark measures and where.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    pub api_url: String,
    pub baseline_url: String,
    pub dynamodb_endpoint: String,
    /// The database the functions use, for the connection yardsticks of the cold starts.
    pub database_url: String,
    pub partner: PartnerKey,
    /// The offered rate of the mixed traffic (below saturation) and how long it lasts.
    pub rate: f64,
    pub duration: Duration,
    /// Accounts the traffic comes from; enough that the saturation ramp stays inside
    /// each one's 100 requests a minute.
    pub identities: usize,
    /// The saturation ramps. The API's steps are finer: its knee is near the goal, and a
    /// coarse step would report the last step below it instead.
    pub api_ramp: Ramp,
    pub baseline_ramp: Ramp,
    pub lambda_binary: PathBuf,
    pub hello_binary: PathBuf,
    pub events: PathBuf,
    pub cold_start_runs: usize,
    /// The command that produced the report, quoted in it.
    pub command: String,
}

/// A saturation ramp: `step` requests a second more every `seconds`, up to `peak`.
#[derive(Debug, Clone, Copy)]
pub struct Ramp {
    pub step: f64,
    pub peak: f64,
    pub seconds: u64,
}

impl Ramp {
    fn plan(self, route: Route, label: &'static str) -> Plan {
        Plan::of(Profile::Stress)
            .ramp(route, self.step, self.peak, self.seconds)
            .labelled(label)
    }
}

/// The goals of the report, on this machine kind with everything local.
const READ_P99_GOAL_MS: f64 = 10.0;
const WRITE_P99_GOAL_MS: f64 = 20.0;
const SATURATION_GOAL_RPS: f64 = 1_000.0;
const COLD_START_GOAL_MS: f64 = 20.0;
const EMULATOR_GOAL_OPS: f64 = 1_000.0;
const SATURATION_ROUTE: Route = Route::UserOrders;
/// Functions whose first request verifies or hashes a password: argon2id spends tens of
/// milliseconds on purpose, so their cold start is read against that yardstick.
const HASHES_PASSWORDS: &[&str] = &["auth-login", "auth-signup"];

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

/// Runs every measurement and returns the report's Markdown. Progress goes to stderr.
pub async fn run(config: &BenchConfig) -> Result<String, LoadError> {
    let thresholds = Thresholds::default();
    let mut emulator_runs = Vec::new();
    for writers in [1, 8, 32] {
        eprintln!("local DynamoDB: {writers} concurrent writers for 5 s");
        let result =
            emulator::measure(&config.dynamodb_endpoint, writers, Duration::from_secs(5)).await?;
        eprintln!("  {}", result.summary());
        emulator_runs.push(result);
    }

    eprintln!(
        "signing up {} identities at {}",
        config.identities, config.api_url
    );
    let population = Arc::new(
        Population::create(&config.api_url, config.identities, config.partner.clone()).await?,
    );
    let baseline = Arc::new(Baseline::new(&config.baseline_url)?);
    let steady = Plan::of(Profile::Load).steady(config.rate, config.duration);

    eprintln!(
        "baseline at {:.0}/s for {} s",
        config.rate,
        config.duration.as_secs()
    );
    let baseline_steady = run_plan(
        &baseline,
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
    let api_steady = run_plan(&population, steady.labelled("api"), &thresholds, false).await;

    eprintln!("saturation ramp: baseline");
    let cpu_before = CpuTimes::now();
    let baseline_ramp = run_plan(
        &baseline,
        config.baseline_ramp.plan(Route::Baseline, "baseline ramp"),
        &thresholds,
        false,
    )
    .await;
    let baseline_ramp_cpu = CpuTimes::now().since(&cpu_before);
    eprintln!("saturation ramp: API {}", SATURATION_ROUTE.key());
    let cpu_before = CpuTimes::now();
    let api_ramp = run_plan(
        &population,
        config.api_ramp.plan(SATURATION_ROUTE, "api ramp"),
        &thresholds,
        false,
    )
    .await;
    let api_ramp_cpu = CpuTimes::now().since(&cpu_before);
    eprintln!("yardsticks: one argon2id verification, a new PostgreSQL connection");
    let yardsticks = Yardsticks::measure(&config.database_url).await?;
    eprintln!("cold starts: {} runs each", config.cold_start_runs);
    let subjects = cold_start::subjects(&config.lambda_binary, &config.events, &[])?;
    let hello = Subject {
        label: "hello-world lambda_runtime".into(),
        binary: config.hello_binary.clone(),
        handler: "hello".into(),
        event: subjects[0].event.clone(),
    };
    let hello_start = cold_start::measure(&hello, &[], config.cold_start_runs).await?;
    let mut starts = Vec::new();
    for subject in &subjects {
        let start = cold_start::measure(subject, &[], config.cold_start_runs).await?;
        eprintln!(
            "  {}: init {:.1} ms + first invoke {:.1} ms",
            subject.label,
            ms(start.init),
            ms(start.first_invoke)
        );
        starts.push((subject.label.clone(), start));
    }

    Ok(write_report(
        config,
        &Measured {
            emulator: emulator_runs,
            baseline_steady,
            api_steady,
            baseline_ramp,
            api_ramp,
            baseline_ramp_cpu,
            api_ramp_cpu,
            hello_start,
            starts,
            yardsticks,
        },
    ))
}

struct Measured {
    emulator: Vec<emulator::EmulatorResult>,
    baseline_steady: Outcome,
    api_steady: Outcome,
    baseline_ramp: Outcome,
    api_ramp: Outcome,
    /// CPU seconds by process during each ramp.
    baseline_ramp_cpu: Vec<(String, f64)>,
    api_ramp_cpu: Vec<(String, f64)>,
    hello_start: ColdStart,
    starts: Vec<(String, ColdStart)>,
    yardsticks: Yardsticks,
}

/// Costs the API pays by design, measured in the same run so the figures that include
/// them can be read against them.
struct Yardsticks {
    /// One password verification (argon2id with the API's parameters), in ms.
    argon2_ms: f64,
    /// A new PostgreSQL connection answering `SELECT 1`, in ms.
    connect_ms: f64,
    /// The same, answering a PostGIS call (the library loads into the new backend).
    connect_postgis_ms: f64,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

impl Yardsticks {
    async fn measure(database_url: &str) -> Result<Self, LoadError> {
        let hash = shared::auth::passwords::hash("yardstick-password-1")
            .await
            .map_err(|e| LoadError::Setup(e.to_string()))?;
        let mut argon2 = Vec::new();
        for _ in 0..15 {
            let started = std::time::Instant::now();
            let _ = shared::auth::passwords::verify("yardstick-password-1", Some(&hash)).await;
            argon2.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        let connect = |query: &'static str| async move {
            let mut times = Vec::new();
            for _ in 0..9 {
                let started = std::time::Instant::now();
                let (client, connection) =
                    tokio_postgres::connect(database_url, tokio_postgres::NoTls)
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
            Ok::<_, LoadError>(median(times))
        };
        Ok(Self {
            argon2_ms: median(argon2),
            connect_ms: connect("SELECT 1").await?,
            connect_postgis_ms: connect("SELECT postgis_lib_version()").await?,
        })
    }
}

/// The highest throughput a ramp served while meeting the thresholds.
fn saturation(ramp: &Outcome) -> f64 {
    let thresholds = Thresholds::default();
    ramp.phases
        .iter()
        .filter(|p| thresholds.breaches(&p.total()).is_empty())
        .map(PhaseResult::throughput)
        .fold(0.0, f64::max)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory_gb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cores} cores ({cpu}), {memory_gb:.1} GB memory, Linux {}",
        kernel.trim()
    )
}

fn commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}

fn ramp_table(ramp: &Outcome) -> String {
    let mut out = String::from(
        "| offered/s | served ok/s | p50 ms | p99 ms | errors |\n|---:|---:|---:|---:|---:|\n",
    );
    for phase in &ramp.phases {
        let total = phase.total();
        let _ = writeln!(
            out,
            "| {:.0} | {:.0} | {:.2} | {:.2} | {} |",
            phase.phase.rate,
            phase.throughput(),
            total.percentile_ms(50.0),
            total.percentile_ms(99.0),
            total.error_count()
        );
    }
    out
}

/// CPU per request served during a ramp, by process: what the ramp's figure measures.
fn cpu_table(ramp: &Outcome, used: &[(String, f64)]) -> String {
    let served: u64 = ramp.phases.iter().map(|p| p.total().latency_us.len()).sum();
    let mut out =
        String::from("| process | CPU s | CPU ms per request served |\n|---|---:|---:|\n");
    for (name, seconds) in used.iter().take(6) {
        let _ = writeln!(
            out,
            "| {name} | {seconds:.1} | {:.3} |",
            seconds * 1000.0 / served.max(1) as f64
        );
    }
    let total: f64 = used.iter().map(|(_, s)| s).sum();
    let _ = writeln!(
        out,
        "| all | {total:.1} | {:.3} |",
        total * 1000.0 / served.max(1) as f64
    );
    out
}

fn write_report(config: &BenchConfig, m: &Measured) -> String {
    let seconds = config.duration.as_secs_f64();
    let api_routes = run::combine(&m.api_steady.phases);
    let baseline_total = run::combine(&m.baseline_steady.phases)
        .remove(&Route::Baseline)
        .unwrap_or_default();
    let baseline_p50 = baseline_total.percentile_ms(50.0);
    let baseline_p99 = baseline_total.percentile_ms(99.0).max(0.001);
    // Sign-in is its own row: its latency is the password hash's, by design.
    let worst = |writes: bool| {
        api_routes
            .iter()
            .filter(|(route, _)| route.writes() == writes && **route != Route::Login)
            .map(|(route, stats)| (stats.percentile_ms(99.0), route.key()))
            .fold((0.0, ""), |a, b| if b.0 > a.0 { b } else { a })
    };
    let (read_p99, read_route) = worst(false);
    let (write_p99, write_route) = worst(true);
    let api_saturation = saturation(&m.api_ramp);
    let baseline_saturation = saturation(&m.baseline_ramp).max(0.001);
    let hello_total = ms(m.hello_start.total()).max(0.001);
    let login_p99 = api_routes
        .get(&Route::Login)
        .map_or(0.0, |stats| stats.percentile_ms(99.0));
    let argon2_ms = m.yardsticks.argon2_ms.max(0.001);
    let (slowest_start, slowest_function) = m
        .starts
        .iter()
        .filter(|(name, _)| !HASHES_PASSWORDS.contains(&name.as_str()))
        .map(|(name, start)| (ms(start.total()), name.as_str()))
        .fold((0.0, ""), |a, b| if b.0 > a.0 { b } else { a });
    let emulator_best = m
        .emulator
        .iter()
        .map(emulator::EmulatorResult::writes_per_second)
        .fold(0.0, f64::max);
    let emulator_atomic = m.emulator.iter().all(emulator::EmulatorResult::atomic);

    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Performance\n\n\
         Measured {} on {}, commit `{}`, by `{}`.\n\n\
         Everything is local and on loopback: the release-built local gateway (every route's \
         handler in-process, the authorizer and rate limits included), PostgreSQL + PostGIS, \
         DynamoDB on dynalite, S3 and Secrets Manager on moto, and the load tool itself, all \
         on the same cores. Latency is open-loop: requests leave at a fixed rate and each is \
         timed from the moment it was due. The baseline is a minimal hyper server doing one \
         PostgreSQL primary-key lookup per request, measured in the same run; the machine is \
         shared, so read the ratios rather than the absolute figures.\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine(),
        commit(),
        config.command
    );
    out.push_str("## Goals\n\n| goal | measured | baseline (same run) | ratio | |\n|---|---:|---:|---:|---|\n");
    let _ = writeln!(
        out,
        "| reads p99 ≤ {READ_P99_GOAL_MS:.0} ms at {:.0}/s offered | {read_p99:.2} ms (`{read_route}`, the slowest read) | {baseline_p99:.2} ms | {:.1}× | {} |",
        config.rate,
        read_p99 / baseline_p99,
        met(read_p99 <= READ_P99_GOAL_MS)
    );
    let _ = writeln!(
        out,
        "| writes p99 ≤ {WRITE_P99_GOAL_MS:.0} ms at {:.0}/s offered | {write_p99:.2} ms (`{write_route}`, the slowest write) | {baseline_p99:.2} ms | {:.1}× | {} |",
        config.rate,
        write_p99 / baseline_p99,
        met(write_p99 <= WRITE_P99_GOAL_MS)
    );
    let _ = writeln!(
        out,
        "| sign-in p99 at {:.0}/s offered (no goal: one argon2id verification by design) | {login_p99:.2} ms | {argon2_ms:.2} ms (one verification) | {:.1}× | |",
        config.rate,
        login_p99 / argon2_ms
    );
    let _ = writeln!(
        out,
        "| a read route saturates at ≥ {SATURATION_GOAL_RPS:.0} rps | {api_saturation:.0} rps (`{}`) | {baseline_saturation:.0} rps | {:.2}× | {} |",
        SATURATION_ROUTE.key(),
        api_saturation / baseline_saturation,
        met(api_saturation >= SATURATION_GOAL_RPS)
    );
    let _ = writeln!(
        out,
        "| cold request (init + first invoke) ≤ {COLD_START_GOAL_MS:.0} ms | {slowest_start:.1} ms (`{slowest_function}`, the slowest but sign-in and sign-up) | {hello_total:.1} ms (hello world) | {:.1}× | {} |",
        slowest_start / hello_total,
        met(slowest_start <= COLD_START_GOAL_MS)
    );
    let _ = writeln!(
        out,
        "| local DynamoDB ≥ {EMULATOR_GOAL_OPS:.0} atomic conditional writes/s | {emulator_best:.0} writes/s, {} | | | {} |\n",
        if emulator_atomic { "conditions atomic" } else { "**conditions not atomic**" },
        met(emulator_best >= EMULATOR_GOAL_OPS && emulator_atomic)
    );

    out.push_str("## Local DynamoDB\n\nConditional `UpdateItem` on one hot key (the rate limiter's write), through the Rust SDK; then the same writers race a counter limited to 100.\n\n| writers | writes/s | counter after the run | race to 100 |\n|---:|---:|---|---|\n");
    for run in &m.emulator {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {} | {} of {} succeeded |",
            run.writers,
            run.writes_per_second(),
            if run.counter_exact {
                "exact"
            } else {
                "**wrong**"
            },
            run.race_succeeded,
            run.race_attempts
        );
    }

    let _ = writeln!(
        out,
        "\n## Mixed traffic at {:.0} requests/s for {} s\n\n{} identities, each within its 100 requests a minute. Reads are the `GET` routes; writes are sign-in, pricing, order creation and partner drafts.\n",
        config.rate,
        config.duration.as_secs(),
        config.identities
    );
    let mut rows = report::rows(&api_routes, seconds);
    rows.push(report::Row::of(
        Route::Baseline.key(),
        &baseline_total,
        seconds,
    ));
    out.push_str(&report::table(&rows));
    let _ = writeln!(
        out,
        "\nBaseline p50 {baseline_p50:.2} ms, p99 {baseline_p99:.2} ms at the same rate.\n"
    );

    let _ = writeln!(
        out,
        "## Saturation\n\nOpen-loop steps of {:.0} more requests/s ({:.0} for the baseline), {} s each, until p95 ≥ 500 ms, p99 ≥ 1000 ms or errors ≥ 1 %. Saturation is the highest throughput served by a step that met them.\n\n### API `{}`: {api_saturation:.0} rps\n\n{}\nCPU during the API ramp (`node` is the local DynamoDB, `python3` moto, `load` this tool):\n\n{}\n### Baseline: {baseline_saturation:.0} rps\n\n{}\nCPU during the baseline ramp:\n\n{}",
        config.api_ramp.step,
        config.baseline_ramp.step,
        config.api_ramp.seconds,
        SATURATION_ROUTE.key(),
        ramp_table(&m.api_ramp),
        cpu_table(&m.api_ramp, &m.api_ramp_cpu),
        ramp_table(&m.baseline_ramp),
        cpu_table(&m.baseline_ramp, &m.baseline_ramp_cpu)
    );

    let size =
        |path: &PathBuf| std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / 1024.0 / 1024.0);
    let _ = writeln!(
        out,
        "## Cold start\n\nProcess start to first response through a Lambda Runtime API stand-in on loopback (median of {} runs; each function's sample event from `events/`). Binaries: `readyset-lambda` {:.1} MB, hello world {:.1} MB (release, stripped).\n",
        config.cold_start_runs,
        size(&config.lambda_binary),
        size(&config.hello_binary)
    );
    let _ = writeln!(
        out,
        "Yardsticks from the same run: a new PostgreSQL connection answering `SELECT 1` {:.1} ms, or a PostGIS call {:.1} ms (the library loads into each new backend; behind RDS Proxy the proxy's backends stay open, so a Lambda cold start seldom pays it); one argon2id verification {:.1} ms (inside sign-in's first invoke, and sign-up's hash).\n\n| function | init ms | first invoke ms | total ms | × hello world |\n|---|---:|---:|---:|---:|",
        m.yardsticks.connect_ms, m.yardsticks.connect_postgis_ms, m.yardsticks.argon2_ms
    );
    let _ = writeln!(
        out,
        "| hello world | {:.1} | {:.1} | {hello_total:.1} | 1.0 |",
        ms(m.hello_start.init),
        ms(m.hello_start.first_invoke)
    );
    for (name, start) in &m.starts {
        let _ = writeln!(
            out,
            "| {name} | {:.1} | {:.1} | {:.1} | {:.1} |",
            ms(start.init),
            ms(start.first_invoke),
            ms(start.total()),
            ms(start.total()) / hello_total
        );
    }
    out
}
