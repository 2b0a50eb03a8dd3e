//! `load`: the load tool's command line. Run `load help` for the commands.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use load_test::{
    baseline, bench, cold_start, dashboard_bench, drivers_bench, emulator, execute, report,
    routing_bench, traffic, LoadError, Plan, Profile, Thresholds,
};

/// The load tool: open-loop traffic at a fixed arrival rate against the API, and the
/// measurements of the benchmark reports.
///
/// Exits 1 when a run misses a threshold, 2 when the command line or a run's setup is
/// wrong.
#[derive(Parser)]
#[command(name = "load", args_override_self = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// A short, light run: 10 s at 20 requests/s (CI's gate).
    Smoke(ProfileArgs),
    /// The steady rate the benchmark report quotes: 60 s at 200 requests/s.
    Load(ProfileArgs),
    /// Rising rates until a threshold breaks: the knee is the last rate that held.
    Stress(ProfileArgs),
    /// A steady rate, a burst ten times higher, and the steady rate again.
    Spike(ProfileArgs),
    /// The original's production gate: 30 drivers posting locations for 120 s.
    Drivers(ProfileArgs),
    /// The baseline: hyper + one PostgreSQL query per request (DATABASE_URL), on 127.0.0.1.
    BaselineServer {
        /// 0 for any free port.
        #[arg(long, value_name = "N", default_value_t = 0)]
        port: u16,
    },
    /// The local DynamoDB's conditional writes a second.
    Emulator {
        /// AWS_ENDPOINT_URL_DYNAMODB when not given.
        #[arg(long, value_name = "URL")]
        endpoint: Option<String>,
        /// Concurrent writers.
        #[arg(long, value_name = "N", default_value_t = 8)]
        writers: usize,
        #[arg(long, value_name = "SECONDS", value_parser = seconds, default_value = "5")]
        duration: Duration,
    },
    /// Init and first invoke of each function through a Lambda Runtime API stand-in.
    ColdStart {
        #[command(flatten)]
        cold_start: ColdStartArgs,
        /// Only these functions (every one with a sample event when none is named).
        #[arg(value_name = "FUNCTION")]
        functions: Vec<String>,
    },
    /// Every measurement in one run, written as the benchmark report (Markdown).
    Bench(BenchArgs),
    /// Seeds drivers and points (DATABASE_URL), times the nearest-driver statement, then
    /// nearest drivers, one-point and 50-point reports through the gateway beside the
    /// baseline, and the 30-driver production gate (the drivers report, Markdown).
    DriversBench(DriversBenchArgs),
    /// Times the operations dashboard's analytics before, during and after traffic whose
    /// metrics the gateway extracts into the emulator (the dashboard report, Markdown).
    DashboardBench(DashboardBenchArgs),
    /// Solves Li & Lim instances with the routing core and VROOM, then plans a synthetic
    /// day (the routing report, Markdown).
    RoutingBench(RoutingBenchArgs),
    /// Plans the synthetic day and prints what it came to as JSON (the routing benchmark
    /// runs it in its own process, for its peak memory).
    RoutingDay(RoutingDayArgs),
}

/// The deployments a run can target by name.
#[derive(Clone, Copy, ValueEnum)]
enum Target {
    /// The local gateway: LOAD_BASE_URL, else http://127.0.0.1:3000.
    Local,
    /// READYSET_STAGING_URL.
    Staging,
    /// READYSET_PRODUCTION_URL.
    Production,
}

/// Mixed traffic at a fixed arrival rate; prints a table per route and exits 1 when a
/// threshold is missed.
#[derive(Args)]
struct ProfileArgs {
    /// Where the traffic goes; a target off this machine also needs --remote.
    #[arg(long, value_enum, default_value = "local")]
    target: Target,
    /// The API's URL, instead of the target's.
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// A steady rate in requests a second, instead of the profile's phases.
    #[arg(long, value_name = "N")]
    rate: Option<f64>,
    /// The length of the steady rate (the profile's first phase's by default).
    #[arg(long, value_name = "SECONDS", value_parser = seconds)]
    duration: Option<Duration>,
    /// Accounts the traffic comes from (the profile's by default).
    #[arg(long, value_name = "N")]
    identities: Option<usize>,
    /// Send only this route instead of the mix: user-orders, orders, current-user, health,
    /// pricing, create-order, partner-draft or login.
    #[arg(long, value_name = "ROUTE", value_parser = route)]
    only: Option<traffic::Route>,
    #[command(flatten)]
    partner: PartnerArg,
    /// Fails when a route's p95 latency in milliseconds is above this.
    #[arg(long, value_name = "MS", default_value_t = Thresholds::default().p95_ms)]
    p95: f64,
    /// Fails when a route's p99 latency in milliseconds is above this.
    #[arg(long, value_name = "MS", default_value_t = Thresholds::default().p99_ms)]
    p99: f64,
    /// Fails when more than this percentage of a route's requests fail.
    #[arg(long, value_name = "PERCENT", default_value_t = Thresholds::default().error_rate * 100.0)]
    errors: f64,
    /// Allow a target off this machine.
    #[arg(long)]
    remote: bool,
    /// No progress lines.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
struct PartnerArg {
    /// The partner whose key drafts are sent with (LOAD_PARTNER, else
    /// catervalley:ready-set).
    #[arg(long = "partner", value_name = "SLUG:KEY", value_parser = partner_key)]
    key: Option<traffic::PartnerKey>,
}

#[derive(Args)]
struct ColdStartArgs {
    /// The Lambda binary that serves every function.
    #[arg(long, value_name = "PATH")]
    binary: PathBuf,
    /// The hello-world Lambda the cold starts are compared with.
    #[arg(long, value_name = "PATH")]
    hello: PathBuf,
    /// The sample events, one per function.
    #[arg(long, value_name = "DIR", default_value = "events")]
    events: PathBuf,
    /// Cold starts per function; the median is reported.
    #[arg(long, value_name = "N", default_value_t = 5)]
    runs: usize,
}

#[derive(Args)]
struct BenchArgs {
    /// The gateway (on this machine).
    #[arg(long, value_name = "URL")]
    api: String,
    /// The baseline server (on this machine).
    #[arg(long, value_name = "URL")]
    baseline: String,
    /// The local DynamoDB whose conditional writes are measured.
    #[arg(long, value_name = "URL")]
    dynamodb: String,
    #[command(flatten)]
    cold_start: ColdStartArgs,
    #[command(flatten)]
    partner: PartnerArg,
    /// The offered rate of the mixed traffic, in requests a second.
    #[arg(long, value_name = "N", default_value_t = 200.0)]
    rate: f64,
    /// The length of the mixed traffic.
    #[arg(long, value_name = "SECONDS", value_parser = seconds, default_value = "60")]
    duration: Duration,
    /// Accounts the traffic comes from.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    identities: usize,
    /// The top of the API's saturation ramp, in requests a second (steps of 100).
    #[arg(long, value_name = "N", default_value_t = 2500.0)]
    api_peak: f64,
    /// The top of the baseline's saturation ramp, in requests a second (steps of 250).
    #[arg(long, value_name = "N", default_value_t = 5000.0)]
    baseline_peak: f64,
    /// How long each step of the saturation ramps lasts.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    ramp_step_seconds: u64,
    /// How long each of the local DynamoDB's write measurements lasts.
    #[arg(long, value_name = "SECONDS", value_parser = seconds, default_value = "5")]
    emulator_duration: Duration,
    /// Write the report there instead of printing it.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct DriversBenchArgs {
    /// The gateway (on this machine).
    #[arg(long, value_name = "URL")]
    api: String,
    /// The baseline server (on this machine).
    #[arg(long, value_name = "URL")]
    baseline: String,
    /// Drivers seeded into the database.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    seed_drivers: u64,
    /// Recorded location points seeded into the database.
    #[arg(long, value_name = "N", default_value_t = 10_000_000)]
    seed_points: u64,
    /// Drivers reporting in the fleet phase.
    #[arg(long = "fleet", value_name = "N", default_value_t = 1000)]
    fleet_drivers: usize,
    /// Staff accounts asking for the nearest drivers.
    #[arg(long, value_name = "N", default_value_t = 150)]
    staff: usize,
    /// The offered rate of each measured route, in requests a second.
    #[arg(long, value_name = "N", default_value_t = 200.0)]
    rate: f64,
    /// The length of each measured route's traffic.
    #[arg(long, value_name = "SECONDS", value_parser = seconds, default_value = "30")]
    duration: Duration,
    /// How long each phase runs unmeasured first.
    #[arg(long, value_name = "SECONDS", value_parser = seconds, default_value = "5")]
    warm_up: Duration,
    /// The length of the production gate (the original's is 120 s).
    #[arg(long, value_name = "SECONDS", value_parser = seconds, default_value = "120")]
    gate_duration: Duration,
    /// Write the report there instead of printing it.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct RoutingBenchArgs {
    /// The instance files (Li & Lim format).
    #[arg(value_name = "INSTANCE", required = true)]
    instances: Vec<PathBuf>,
    /// The best-known solutions (`{"lc101": {"vehicles": 10, "distance": 828.94}, ...}`).
    #[arg(long, value_name = "FILE")]
    best_known: PathBuf,
    /// Each instance's time budget, for both solvers.
    #[arg(long, value_name = "SECONDS", value_parser = seconds, default_value = "9.5")]
    budget: Duration,
    /// A Python with pyvroom; VROOM is left out without it.
    #[arg(long, value_name = "PYTHON", requires = "vroom_script")]
    vroom_python: Option<PathBuf>,
    /// The script that solves the instances with VROOM (load/routing/vroom_lilim.py).
    #[arg(long, value_name = "FILE")]
    vroom_script: Option<PathBuf>,
    #[command(flatten)]
    day: RoutingDayArgs,
    /// Write the report there instead of printing it.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Args, Clone)]
struct RoutingDayArgs {
    /// Orders in the synthetic day.
    #[arg(long = "orders", value_name = "N", default_value_t = 500)]
    orders: usize,
    /// Drivers in the synthetic day.
    #[arg(long = "drivers", value_name = "N", default_value_t = 60)]
    drivers: usize,
    /// The day's planning budget.
    #[arg(long = "day-budget", value_name = "SECONDS", value_parser = seconds, default_value = "30")]
    day_budget: Duration,
}

#[derive(Args)]
struct DashboardBenchArgs {
    /// The gateway (on this machine), extracting metrics into the emulator.
    #[arg(long, value_name = "URL")]
    api: String,
    /// The staff account that reads the analytics.
    #[arg(long, value_name = "EMAIL", default_value = "admin@readyset.local")]
    staff_email: String,
    #[arg(long, value_name = "PASSWORD", default_value = "readyset-demo-1")]
    staff_password: String,
    #[command(flatten)]
    partner: PartnerArg,
    /// Requests the traffic sends in all.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    requests: u64,
    /// Their offered rate, in requests a second.
    #[arg(long, value_name = "N", default_value_t = 500.0)]
    rate: f64,
    /// Accounts they come from; by default enough that each sends 50 a minute, half its
    /// budget of 100, so that a random burst of one account's requests stays inside it.
    #[arg(long, value_name = "N")]
    identities: Option<usize>,
    /// The emulator's metric store, as the report names it.
    #[arg(
        long,
        value_name = "TEXT",
        default_value = "its metrics kept per series and minute"
    )]
    store: String,
    /// Write the report there instead of printing it.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// A length in seconds, fractions allowed.
fn seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    Duration::try_from_secs_f64(seconds).map_err(|err| err.to_string())
}

fn route(name: &str) -> Result<traffic::Route, String> {
    traffic::Route::ALL
        .into_iter()
        .find(|r| r.name() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = traffic::Route::ALL.iter().map(|r| r.name()).collect();
            format!(
                "unknown route {name:?}; expected one of {}",
                names.join(", ")
            )
        })
}

fn partner_key(spec: &str) -> Result<traffic::PartnerKey, String> {
    let (slug, key) = spec
        .split_once(':')
        .ok_or_else(|| "the partner is SLUG:KEY".to_owned())?;
    Ok(traffic::PartnerKey {
        slug: slug.into(),
        key: key.into(),
    })
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn database_url() -> Result<String, LoadError> {
    env("DATABASE_URL").ok_or_else(|| LoadError::Usage("DATABASE_URL is not set".into()))
}

impl PartnerArg {
    /// `--partner`, else LOAD_PARTNER, else the demo partner.
    fn resolve(self) -> Result<traffic::PartnerKey, LoadError> {
        match self.key {
            Some(key) => Ok(key),
            None => {
                partner_key(&env("LOAD_PARTNER").unwrap_or_else(|| "catervalley:ready-set".into()))
                    .map_err(|_| LoadError::Usage("--partner is SLUG:KEY".into()))
            }
        }
    }
}

impl ProfileArgs {
    /// The URL of `--base-url`, or of the named `--target`.
    fn base_url(&self) -> Result<String, LoadError> {
        let url = match (&self.base_url, self.target) {
            (Some(url), _) => url.clone(),
            (None, Target::Local) => {
                env("LOAD_BASE_URL").unwrap_or_else(|| "http://127.0.0.1:3000".into())
            }
            (None, Target::Staging) => target_url("staging", "READYSET_STAGING_URL")?,
            (None, Target::Production) => target_url("production", "READYSET_PRODUCTION_URL")?,
        };
        if !traffic::is_loopback(&url) && !self.remote {
            return Err(LoadError::Usage(format!(
                "{url} is not on this machine: pass --remote to send load there"
            )));
        }
        Ok(url)
    }

    fn plan(&self, profile: Profile) -> Plan {
        let mut plan = Plan::of(profile);
        if let Some(rate) = self.rate {
            let duration = self.duration.unwrap_or(plan.phases[0].duration);
            plan = plan.steady(rate, duration);
        } else if let Some(duration) = self.duration {
            let rate = plan.phases[0].rate;
            plan = plan.steady(rate, duration);
        }
        if let Some(identities) = self.identities {
            plan.identities = identities;
        }
        if let Some(route) = self.only {
            plan.only = Some(route);
        }
        plan
    }

    async fn run(self, profile: Profile) -> Result<ExitCode, LoadError> {
        let plan = self.plan(profile);
        let thresholds = Thresholds {
            p95_ms: self.p95,
            p99_ms: self.p99,
            error_rate: self.errors / 100.0,
        };
        let base_url = self.base_url()?;
        let outcome = execute(
            &base_url,
            plan,
            self.partner.resolve()?,
            thresholds,
            self.quiet,
        )
        .await?;
        println!("{}", report::render(&outcome, &thresholds));
        Ok(if report::verdict(&outcome, &thresholds).passed() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    }
}

fn target_url(name: &str, var: &str) -> Result<String, LoadError> {
    env(var)
        .ok_or_else(|| LoadError::Usage(format!("--target {name} reads {var}, which is not set")))
}

/// The benchmarks measure the local stack only.
fn check_local(api_url: &str, baseline_url: &str) -> Result<(), LoadError> {
    if traffic::is_loopback(api_url) && traffic::is_loopback(baseline_url) {
        Ok(())
    } else {
        Err(LoadError::Usage(
            "the benchmark measures the local stack only".into(),
        ))
    }
}

/// Writes a report to `out`, or prints it.
fn deliver(markdown: &str, out: Option<PathBuf>) -> Result<(), LoadError> {
    match out {
        Some(path) => {
            std::fs::write(&path, markdown)?;
            eprintln!("wrote {}", path.display());
        }
        None => println!("{markdown}"),
    }
    Ok(())
}

async fn baseline_server(port: u16) -> Result<ExitCode, LoadError> {
    let database_url = database_url()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("baseline listening on http://{}", listener.local_addr()?);
    baseline::serve(&database_url, listener).await?;
    Ok(ExitCode::SUCCESS)
}

async fn emulator(
    endpoint: Option<String>,
    writers: usize,
    duration: Duration,
) -> Result<ExitCode, LoadError> {
    let endpoint = endpoint
        .or_else(|| env("AWS_ENDPOINT_URL_DYNAMODB"))
        .ok_or_else(|| {
            LoadError::Usage("--endpoint or AWS_ENDPOINT_URL_DYNAMODB is required".into())
        })?;
    let result = emulator::measure(&endpoint, writers, duration).await?;
    println!("{}", result.summary());
    Ok(if result.atomic() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn cold_starts(args: ColdStartArgs, functions: &[String]) -> Result<ExitCode, LoadError> {
    let subjects = cold_start::subjects(&args.binary, &args.events, functions)?;
    let hello = cold_start::Subject {
        label: "hello world".into(),
        binary: args.hello,
        handler: "hello".into(),
        event: subjects[0].event.clone(),
    };
    let base = cold_start::measure(&hello, &[], args.runs).await?;
    let base_ms = base.total().as_secs_f64() * 1000.0;
    println!(
        "hello world: init {:.1} ms, first invoke {:.1} ms",
        base.init.as_secs_f64() * 1000.0,
        base.first_invoke.as_secs_f64() * 1000.0
    );
    let mut failed = 0;
    for subject in &subjects {
        // One function that cannot start is reported, and the others still measured.
        let start = match cold_start::measure(subject, &[], args.runs).await {
            Ok(start) => start,
            Err(e) => {
                failed += 1;
                println!("{}: not measured: {e}", subject.label);
                continue;
            }
        };
        let total = start.total().as_secs_f64() * 1000.0;
        println!(
            "{}: init {:.1} ms, first invoke {:.1} ms, {:.1}× hello world{}",
            subject.label,
            start.init.as_secs_f64() * 1000.0,
            start.first_invoke.as_secs_f64() * 1000.0,
            total / base_ms.max(0.001),
            if start.answered_with_error {
                " (answered its sample event with an error)"
            } else {
                ""
            }
        );
        if let Some(warm_up) = start.warm_up {
            println!("    warm-up: {warm_up}");
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn benchmark(args: BenchArgs) -> Result<ExitCode, LoadError> {
    check_local(&args.api, &args.baseline)?;
    let config = bench::BenchConfig {
        api_url: args.api,
        baseline_url: args.baseline,
        dynamodb_endpoint: args.dynamodb,
        database_url: database_url()?,
        partner: args.partner.resolve()?,
        rate: args.rate,
        duration: args.duration,
        identities: args.identities,
        api_ramp: bench::Ramp {
            step: 100.0,
            peak: args.api_peak,
            seconds: args.ramp_step_seconds,
        },
        baseline_ramp: bench::Ramp {
            step: 250.0,
            peak: args.baseline_peak,
            seconds: args.ramp_step_seconds,
        },
        emulator_duration: args.emulator_duration,
        lambda_binary: args.cold_start.binary,
        hello_binary: args.cold_start.hello,
        events: args.cold_start.events,
        cold_start_runs: args.cold_start.runs,
        command: env("BENCH_COMMAND").unwrap_or_else(|| "load bench".into()),
    };
    let report = bench::run(&config).await;
    let markdown = match &args.out {
        Some(path) => bench::with_package_section(&report.markdown, path),
        None => report.markdown,
    };
    deliver(&markdown, args.out)?;
    Ok(finished(report.complete))
}

async fn drivers_benchmark(args: DriversBenchArgs) -> Result<ExitCode, LoadError> {
    check_local(&args.api, &args.baseline)?;
    let config = drivers_bench::DriversBenchConfig {
        api_url: args.api,
        baseline_url: args.baseline,
        database_url: database_url()?,
        seed_drivers: args.seed_drivers,
        seed_points: args.seed_points,
        fleet_drivers: args.fleet_drivers,
        staff: args.staff,
        rate: args.rate,
        duration: args.duration,
        warm_up: args.warm_up,
        gate_duration: args.gate_duration,
        command: env("BENCH_COMMAND").unwrap_or_else(|| "load drivers-bench".into()),
    };
    let report = drivers_bench::run(&config).await?;
    deliver(&report.markdown, args.out)?;
    Ok(finished(report.complete))
}

async fn dashboard_benchmark(args: DashboardBenchArgs) -> Result<ExitCode, LoadError> {
    check_local(&args.api, &args.api)?;
    let config = dashboard_bench::DashboardBenchConfig {
        api_url: args.api,
        staff_email: args.staff_email,
        staff_password: args.staff_password,
        partner: args.partner.resolve()?,
        requests: args.requests,
        rate: args.rate,
        identities: args
            .identities
            .unwrap_or((args.rate * 60.0 / 50.0).ceil() as usize),
        store: args.store,
        command: env("BENCH_COMMAND").unwrap_or_else(|| "load dashboard-bench".into()),
    };
    let report = dashboard_bench::run(&config).await?;
    deliver(&report.markdown, args.out)?;
    Ok(finished(report.complete))
}

async fn routing_benchmark(args: RoutingBenchArgs) -> Result<ExitCode, LoadError> {
    let config = routing_bench::RoutingBenchConfig {
        instances: args.instances,
        best_known: args.best_known,
        budget: args.budget,
        vroom: args.vroom_python.zip(args.vroom_script),
        day_orders: args.day.orders,
        day_drivers: args.day.drivers,
        day_budget: args.day.day_budget,
        command: env("BENCH_COMMAND").unwrap_or_else(|| "load routing-bench".into()),
    };
    // The solvers are CPU-bound and blocking.
    let report = tokio::task::spawn_blocking(move || routing_bench::run(&config))
        .await
        .map_err(|e| LoadError::Setup(format!("the benchmark stopped: {e}")))?;
    deliver(&report.markdown, args.out)?;
    Ok(finished(report.complete))
}

async fn routing_day(args: RoutingDayArgs) -> Result<ExitCode, LoadError> {
    let result = tokio::task::spawn_blocking(move || {
        routing_bench::day::plan(args.orders, args.drivers, args.day_budget)
    })
    .await
    .map_err(|e| LoadError::Setup(format!("the plan stopped: {e}")))??;
    println!(
        "{}",
        serde_json::to_string(&result).map_err(|e| LoadError::Setup(e.to_string()))?
    );
    Ok(ExitCode::SUCCESS)
}

/// A benchmark's exit: its report is written either way, and an incomplete run still
/// fails, so a script notices.
fn finished(complete: bool) -> ExitCode {
    if complete {
        ExitCode::SUCCESS
    } else {
        eprintln!("the run was incomplete: the report says which steps failed");
        ExitCode::from(1)
    }
}

impl Command {
    async fn run(self) -> Result<ExitCode, LoadError> {
        match self {
            Command::Smoke(args) => args.run(Profile::Smoke).await,
            Command::Load(args) => args.run(Profile::Load).await,
            Command::Stress(args) => args.run(Profile::Stress).await,
            Command::Spike(args) => args.run(Profile::Spike).await,
            Command::Drivers(args) => args.run(Profile::Drivers).await,
            Command::BaselineServer { port } => baseline_server(port).await,
            Command::Emulator {
                endpoint,
                writers,
                duration,
            } => emulator(endpoint, writers, duration).await,
            Command::ColdStart {
                cold_start,
                functions,
            } => cold_starts(cold_start, &functions).await,
            Command::Bench(args) => benchmark(args).await,
            Command::DriversBench(args) => drivers_benchmark(args).await,
            Command::DashboardBench(args) => dashboard_benchmark(args).await,
            Command::RoutingBench(args) => routing_benchmark(args).await,
            Command::RoutingDay(args) => routing_day(args).await,
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    // A bad command line exits 2 with clap's message; help exits 0.
    let cli = Cli::try_parse().unwrap_or_else(|err| err.exit());
    let Some(command) = cli.command else {
        // `load` alone lists the commands, as `load help` does.
        let _ = Cli::command().print_long_help();
        return ExitCode::SUCCESS;
    };
    match command.run().await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("load: {err}");
            if matches!(err, LoadError::Usage(_)) {
                eprintln!("\nFor more information, try 'load help'.");
            }
            ExitCode::from(2)
        }
    }
}
