//! `load`: the load tool's command line. Run `load help` for the commands.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use load_test::{
    baseline, bench, cold_start, drivers_bench, emulator, execute, report, traffic, LoadError,
    Plan, Profile, Thresholds,
};

const USAGE: &str = "\
usage:
  load <smoke|load|stress|spike|drivers> [--target local|staging|production] [--base-url URL]
       [--rate N] [--duration SECONDS] [--identities N] [--only ROUTE] [--partner SLUG:KEY]
       [--p95 MS] [--p99 MS] [--errors PERCENT] [--remote] [--quiet]
      mixed traffic at a fixed arrival rate; prints a table per route and exits 1 when a
      threshold is missed. The target defaults to the local gateway (LOAD_BASE_URL or
      http://127.0.0.1:3000); staging and production are read from READYSET_STAGING_URL and
      READYSET_PRODUCTION_URL, and a target off this machine also needs --remote.
      ROUTE is one of: user-orders orders current-user health pricing create-order
      partner-draft login.
  load baseline-server [--port N]
      the baseline: hyper + one PostgreSQL query per request (DATABASE_URL), on 127.0.0.1.
  load emulator [--endpoint URL] [--writers N] [--duration SECONDS]
      the local DynamoDB's conditional writes a second (AWS_ENDPOINT_URL_DYNAMODB).
  load cold-start --binary PATH --hello PATH [--events DIR] [--runs N] [FUNCTION...]
      init and first invoke of each function through a Lambda Runtime API stand-in.
  load bench --api URL --baseline URL --dynamodb URL --binary PATH --hello PATH
       [--rate N] [--duration SECONDS] [--identities N] [--out FILE]
      every measurement above in one run, written as the benchmark report (Markdown).
  load drivers-bench --api URL --baseline URL [--seed-drivers N] [--seed-points N]
       [--fleet N] [--staff N] [--rate N] [--duration SECONDS] [--out FILE]
      seeds drivers and points (DATABASE_URL), times the nearest-driver statement, then
      nearest drivers, one-point and 50-point reports through the gateway beside the
      baseline, and the 30-driver production gate (the drivers report, Markdown).";

/// The command line after the command: `--name value` options, `--flag`s, and the rest.
struct Args {
    options: Vec<(String, Option<String>)>,
    rest: Vec<String>,
}

const FLAGS: &[&str] = &["--quiet", "--remote"];

impl Args {
    fn parse(args: impl Iterator<Item = String>) -> Result<Self, LoadError> {
        let mut options = Vec::new();
        let mut rest = Vec::new();
        let mut args = args.peekable();
        while let Some(arg) = args.next() {
            if FLAGS.contains(&arg.as_str()) {
                options.push((arg, None));
            } else if arg.starts_with("--") {
                let value = args
                    .next()
                    .ok_or_else(|| LoadError::Usage(format!("{arg} needs a value")))?;
                options.push((arg, Some(value)));
            } else {
                rest.push(arg);
            }
        }
        Ok(Self { options, rest })
    }

    fn flag(&self, name: &str) -> bool {
        self.options.iter().any(|(n, _)| n == name)
    }

    fn text(&self, name: &str) -> Option<String> {
        self.options
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.clone())
    }

    fn required(&self, name: &str) -> Result<String, LoadError> {
        self.text(name)
            .ok_or_else(|| LoadError::Usage(format!("{name} is required")))
    }

    fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, LoadError> {
        self.text(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| LoadError::Usage(format!("{name} {v:?} is not a number")))
            })
            .transpose()
    }

    fn seconds(&self, name: &str) -> Result<Option<Duration>, LoadError> {
        Ok(self.number::<f64>(name)?.map(Duration::from_secs_f64))
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The URL of `--base-url`, or of the named `--target`.
fn base_url(args: &Args) -> Result<String, LoadError> {
    let url = match (args.text("--base-url"), args.text("--target").as_deref()) {
        (Some(url), _) => url,
        (None, None | Some("local")) => {
            env("LOAD_BASE_URL").unwrap_or_else(|| "http://127.0.0.1:3000".into())
        }
        (None, Some(name @ ("staging" | "production"))) => {
            let var = format!("READYSET_{}_URL", name.to_uppercase());
            env(&var).ok_or_else(|| {
                LoadError::Usage(format!("--target {name} reads {var}, which is not set"))
            })?
        }
        (None, Some(other)) => {
            return Err(LoadError::Usage(format!(
                "unknown target {other:?}; expected local, staging or production"
            )))
        }
    };
    if !traffic::is_loopback(&url) && !args.flag("--remote") {
        return Err(LoadError::Usage(format!(
            "{url} is not on this machine: pass --remote to send load there"
        )));
    }
    Ok(url)
}

fn partner(args: &Args) -> Result<traffic::PartnerKey, LoadError> {
    let spec = args
        .text("--partner")
        .or_else(|| env("LOAD_PARTNER"))
        .unwrap_or_else(|| "catervalley:ready-set".into());
    let (slug, key) = spec
        .split_once(':')
        .ok_or_else(|| LoadError::Usage("--partner is SLUG:KEY".into()))?;
    Ok(traffic::PartnerKey {
        slug: slug.into(),
        key: key.into(),
    })
}

fn route(name: &str) -> Result<traffic::Route, LoadError> {
    traffic::Route::ALL
        .into_iter()
        .find(|r| r.name() == name)
        .ok_or_else(|| LoadError::Usage(format!("unknown route {name:?}")))
}

async fn profile_run(profile: Profile, args: &Args) -> Result<ExitCode, LoadError> {
    let mut plan = Plan::of(profile);
    if let Some(rate) = args.number::<f64>("--rate")? {
        let duration = args
            .seconds("--duration")?
            .unwrap_or(plan.phases[0].duration);
        plan = plan.steady(rate, duration);
    } else if let Some(duration) = args.seconds("--duration")? {
        let rate = plan.phases[0].rate;
        plan = plan.steady(rate, duration);
    }
    if let Some(identities) = args.number("--identities")? {
        plan.identities = identities;
    }
    if let Some(name) = args.text("--only") {
        plan.only = Some(route(&name)?);
    }
    let defaults = Thresholds::default();
    let thresholds = Thresholds {
        p95_ms: args.number("--p95")?.unwrap_or(defaults.p95_ms),
        p99_ms: args.number("--p99")?.unwrap_or(defaults.p99_ms),
        error_rate: args
            .number::<f64>("--errors")?
            .map_or(defaults.error_rate, |percent| percent / 100.0),
    };
    let outcome = execute(
        &base_url(args)?,
        plan,
        partner(args)?,
        thresholds,
        args.flag("--quiet"),
    )
    .await?;
    println!("{}", report::render(&outcome, &thresholds));
    Ok(if report::verdict(&outcome, &thresholds).passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn command(name: &str, args: Args) -> Result<ExitCode, LoadError> {
    match name {
        "baseline-server" => {
            let database_url = env("DATABASE_URL")
                .ok_or_else(|| LoadError::Usage("DATABASE_URL is not set".into()))?;
            let port: u16 = args.number("--port")?.unwrap_or(0);
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
            println!("baseline listening on http://{}", listener.local_addr()?);
            baseline::serve(&database_url, listener).await?;
            Ok(ExitCode::SUCCESS)
        }
        "emulator" => {
            let endpoint = args
                .text("--endpoint")
                .or_else(|| env("AWS_ENDPOINT_URL_DYNAMODB"))
                .ok_or_else(|| {
                    LoadError::Usage("--endpoint or AWS_ENDPOINT_URL_DYNAMODB is required".into())
                })?;
            let writers = args.number("--writers")?.unwrap_or(8);
            let duration = args
                .seconds("--duration")?
                .unwrap_or(Duration::from_secs(5));
            let result = emulator::measure(&endpoint, writers, duration).await?;
            println!("{}", result.summary());
            Ok(if result.atomic() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        "cold-start" => {
            let binary = PathBuf::from(args.required("--binary")?);
            let hello = PathBuf::from(args.required("--hello")?);
            let events = PathBuf::from(args.text("--events").unwrap_or_else(|| "events".into()));
            let runs = args.number("--runs")?.unwrap_or(5);
            let subjects = cold_start::subjects(&binary, &events, &args.rest)?;
            let hello = cold_start::Subject {
                label: "hello world".into(),
                binary: hello,
                handler: "hello".into(),
                event: subjects[0].event.clone(),
            };
            let base = cold_start::measure(&hello, &[], runs).await?;
            let base_ms = base.total().as_secs_f64() * 1000.0;
            println!(
                "hello world: init {:.1} ms, first invoke {:.1} ms",
                base.init.as_secs_f64() * 1000.0,
                base.first_invoke.as_secs_f64() * 1000.0
            );
            for subject in &subjects {
                let start = cold_start::measure(subject, &[], runs).await?;
                let total = start.total().as_secs_f64() * 1000.0;
                println!(
                    "{}: init {:.1} ms, first invoke {:.1} ms, {:.1}× hello world",
                    subject.label,
                    start.init.as_secs_f64() * 1000.0,
                    start.first_invoke.as_secs_f64() * 1000.0,
                    total / base_ms.max(0.001)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        "bench" => {
            let api_url = args.required("--api")?;
            let baseline_url = args.required("--baseline")?;
            if !traffic::is_loopback(&api_url) || !traffic::is_loopback(&baseline_url) {
                return Err(LoadError::Usage(
                    "the benchmark measures the local stack only".into(),
                ));
            }
            let config = bench::BenchConfig {
                api_url,
                baseline_url,
                dynamodb_endpoint: args.required("--dynamodb")?,
                database_url: env("DATABASE_URL")
                    .ok_or_else(|| LoadError::Usage("DATABASE_URL is not set".into()))?,
                partner: partner(&args)?,
                rate: args.number("--rate")?.unwrap_or(200.0),
                duration: args
                    .seconds("--duration")?
                    .unwrap_or(Duration::from_secs(60)),
                identities: args.number("--identities")?.unwrap_or(1000),
                api_ramp: bench::Ramp {
                    step: 100.0,
                    peak: 2500.0,
                    seconds: 5,
                },
                baseline_ramp: bench::Ramp {
                    step: 250.0,
                    peak: 5000.0,
                    seconds: 5,
                },
                lambda_binary: PathBuf::from(args.required("--binary")?),
                hello_binary: PathBuf::from(args.required("--hello")?),
                events: PathBuf::from(args.text("--events").unwrap_or_else(|| "events".into())),
                cold_start_runs: args.number("--runs")?.unwrap_or(5),
                command: env("BENCH_COMMAND").unwrap_or_else(|| "load bench".into()),
            };
            let markdown = bench::run(&config).await?;
            match args.text("--out") {
                Some(path) => {
                    std::fs::write(&path, &markdown)?;
                    eprintln!("wrote {path}");
                }
                None => println!("{markdown}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        "drivers-bench" => {
            let api_url = args.required("--api")?;
            let baseline_url = args.required("--baseline")?;
            if !traffic::is_loopback(&api_url) || !traffic::is_loopback(&baseline_url) {
                return Err(LoadError::Usage(
                    "the benchmark measures the local stack only".into(),
                ));
            }
            let config = drivers_bench::DriversBenchConfig {
                api_url,
                baseline_url,
                database_url: env("DATABASE_URL")
                    .ok_or_else(|| LoadError::Usage("DATABASE_URL is not set".into()))?,
                seed_drivers: args.number("--seed-drivers")?.unwrap_or(100_000),
                seed_points: args.number("--seed-points")?.unwrap_or(10_000_000),
                fleet_drivers: args.number("--fleet")?.unwrap_or(1000),
                staff: args.number("--staff")?.unwrap_or(150),
                rate: args.number("--rate")?.unwrap_or(200.0),
                duration: args
                    .seconds("--duration")?
                    .unwrap_or(Duration::from_secs(30)),
                command: env("BENCH_COMMAND").unwrap_or_else(|| "load drivers-bench".into()),
            };
            let markdown = drivers_bench::run(&config).await?;
            match args.text("--out") {
                Some(path) => {
                    std::fs::write(&path, &markdown)?;
                    eprintln!("wrote {path}");
                }
                None => println!("{markdown}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        other => {
            let profile: Profile = other.parse()?;
            profile_run(profile, &args).await
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1);
    let Some(name) = argv
        .next()
        .filter(|n| !matches!(n.as_str(), "help" | "--help" | "-h"))
    else {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    };
    let result = match Args::parse(argv) {
        Ok(args) => command(&name, args).await,
        Err(err) => Err(err),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("load: {err}");
            if matches!(err, LoadError::Usage(_)) {
                eprintln!("{USAGE}");
            }
            ExitCode::from(2)
        }
    }
}
