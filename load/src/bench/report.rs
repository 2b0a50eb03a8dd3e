//! The benchmark report's Markdown, one section at a time, in the order
//! `docs/performance.md` gives them: the goals, the local DynamoDB, the mixed traffic,
//! saturation and cold starts. Each section is built from the measurements it shows and
//! renders itself; the figures the goals quote are worked out once, in [`Headline`].

use std::{collections::BTreeMap, fmt::Write as _};

use super::{
    measure::{ms, ColdStarts, Measured, RampRun, Yardsticks},
    provenance::Provenance,
    BenchConfig, SATURATION_ROUTE,
};
use crate::{
    durability::Durability,
    emulator::EmulatorResult,
    report::{self, Goal, GoalsTable},
    run::{self, PhaseResult, RouteStats},
    traffic::Route,
    Outcome, Thresholds,
};

/// The goals of the report, on this machine kind with everything local.
/// The goals, each against the same run's baseline: the machine is shared and noisy, so a
/// ratio holds where an absolute figure does not.
const READ_P99_GOAL_RATIO: f64 = 4.0;
const WRITE_P99_GOAL_RATIO: f64 = 8.0;
const SATURATION_GOAL_RPS: f64 = 1_000.0;
const SATURATION_GOAL_RATIO: f64 = 0.25;
const INIT_GOAL_MS: f64 = 20.0;
const INIT_GOAL_RATIO: f64 = 1.5;
const EMULATOR_GOAL_OPS: f64 = 1_000.0;
/// Functions whose first request verifies or hashes a password: argon2id spends tens of
/// milliseconds on purpose, so their cold start is read against that yardstick.
const HASHES_PASSWORDS: &[&str] = &["auth-login", "auth-signup"];

/// The whole report: what was measured, how it was configured, and where.
pub(super) struct Report<'a> {
    config: &'a BenchConfig,
    measured: &'a Measured,
    provenance: Provenance,
}

impl<'a> Report<'a> {
    pub fn new(config: &'a BenchConfig, measured: &'a Measured, provenance: Provenance) -> Self {
        Self {
            config,
            measured,
            provenance,
        }
    }

    /// The report's Markdown, section after section.
    pub fn render(&self) -> String {
        let (config, m) = (self.config, self.measured);
        let headline = Headline::of(m);
        [
            self.heading(),
            self.incomplete(),
            GoalsTable {
                rows: headline.goals(config),
            }
            .render(),
            EmulatorSection { runs: &m.emulator }.render(),
            MixedTrafficSection::of(config, &headline).render(),
            SaturationSection::of(config, m, &headline).render(),
            ColdStartSection {
                runs: config.cold_start_runs,
                starts: &m.cold_starts,
                yardsticks: &m.yardsticks,
            }
            .render(),
        ]
        .concat()
    }

    /// What the run could not measure, first, when anything: the figures of those steps
    /// below are missing or zero.
    fn incomplete(&self) -> String {
        let failures = &self.measured.failures;
        if failures.is_empty() {
            return String::new();
        }
        let mut out = String::from(
            "## Incomplete run\n\nThese steps failed; the figures they would have given are missing or zero below.\n\n",
        );
        for failure in failures {
            let _ = writeln!(out, "- {failure}");
        }
        out.push('\n');
        out
    }

    /// The title, where and how the figures were measured, and how to read them.
    fn heading(&self) -> String {
        let Provenance {
            measured_at,
            machine,
            commit,
            durability,
        } = &self.provenance;
        let durability = durability.as_ref().map_or_else(
            || "The database's commit settings could not be read.".to_owned(),
            Durability::sentence,
        );
        format!(
            "# Performance\n\nMeasured {measured_at} on {machine}, commit `{commit}`, by `{}`.\n\n{SETTING} {durability}\n\n",
            self.config.command
        )
    }
}

/// What the figures measure and how to read them.
const SETTING: &str =
    "Everything is local and on loopback: the local gateway, built as the command says \
    (every route's handler in-process, the authorizer and rate limits included), PostgreSQL \
    + PostGIS, DynamoDB on dynalite, S3 and Secrets Manager on moto, and the load tool \
    itself, all on the same cores. Latency is open-loop: requests leave at a fixed rate and \
    each is timed from the moment it was due. The baseline is a minimal hyper server doing \
    one PostgreSQL primary-key lookup per request, measured in the same run; the machine is \
    shared, so read the ratios rather than the absolute figures.";

/// The figures the goals quote, worked out once: several sections repeat them. Those a
/// ratio divides by (the baseline's p99 and saturation, the argon2id yardstick, the
/// hello-world cold start) are at least 0.001, so no ratio is infinite.
struct Headline<'a> {
    api_routes: BTreeMap<Route, RouteStats>,
    baseline: RouteStats,
    baseline_p50_ms: f64,
    baseline_p99_ms: f64,
    slowest_read: Slowest<'a>,
    slowest_write: Slowest<'a>,
    login_p99_ms: f64,
    argon2_ms: f64,
    api_saturation: f64,
    baseline_saturation: f64,
    hello_init_ms: f64,
    /// The slowest init of an API function that does not hash passwords.
    slowest_init: Slowest<'a>,
    emulator_best: f64,
    emulator_atomic: bool,
}

/// The largest of some figures and what it belongs to.
#[derive(Clone, Copy)]
struct Slowest<'a> {
    figure: f64,
    of: &'a str,
}

impl<'a> Slowest<'a> {
    /// The first largest figure of `figures` (0 and no name when there is none).
    fn of(figures: impl Iterator<Item = (f64, &'a str)>) -> Self {
        let (figure, of) = figures.fold((0.0, ""), |a, b| if b.0 > a.0 { b } else { a });
        Self { figure, of }
    }
}

impl<'a> Headline<'a> {
    fn of(m: &'a Measured) -> Self {
        let api_routes = run::combine(&m.mixed.api.phases);
        let baseline = run::combine(&m.mixed.baseline.phases)
            .remove(&Route::Baseline)
            .unwrap_or_default();
        // Sign-in is its own row: its latency is the password hash's, by design.
        let slowest = |writes: bool| {
            Slowest::of(
                api_routes
                    .iter()
                    .filter(|(route, _)| route.writes() == writes && **route != Route::Login)
                    .map(|(route, stats)| (stats.percentile_ms(99.0), route.key())),
            )
        };
        let (slowest_read, slowest_write) = (slowest(false), slowest(true));
        let login_p99_ms = api_routes
            .get(&Route::Login)
            .map_or(0.0, |stats| stats.percentile_ms(99.0));
        Self {
            baseline_p50_ms: baseline.percentile_ms(50.0),
            baseline_p99_ms: baseline.percentile_ms(99.0).max(0.001),
            slowest_read,
            slowest_write,
            login_p99_ms,
            argon2_ms: m.yardsticks.argon2_ms.max(0.001),
            api_saturation: saturation(&m.ramps.api.outcome),
            baseline_saturation: saturation(&m.ramps.baseline.outcome).max(0.001),
            hello_init_ms: ms(m.cold_starts.hello.init).max(0.001),
            slowest_init: Slowest::of(
                m.cold_starts
                    .functions
                    .iter()
                    .filter(|(name, _)| m.cold_starts.api_functions.contains(name))
                    .filter(|(name, _)| !HASHES_PASSWORDS.contains(&name.as_str()))
                    .filter_map(|(name, start)| {
                        start.as_ref().ok().map(|s| (ms(s.init), name.as_str()))
                    }),
            ),
            emulator_best: m
                .emulator
                .iter()
                .map(EmulatorResult::writes_per_second)
                .fold(0.0, f64::max),
            emulator_atomic: m.emulator.iter().all(EmulatorResult::atomic),
            api_routes,
            baseline,
        }
    }

    /// The rows of the goals table, each against its baseline from the same run.
    fn goals(&self, config: &BenchConfig) -> Vec<Goal> {
        let rate = config.rate;
        vec![
            self.slowest_route_goal("read", READ_P99_GOAL_RATIO, self.slowest_read, rate),
            self.slowest_route_goal("write", WRITE_P99_GOAL_RATIO, self.slowest_write, rate),
            Goal {
                goal: format!("sign-in p99 at {rate:.0}/s offered (no goal: one argon2id verification by design)"),
                measured: format!("{:.2} ms", self.login_p99_ms),
                baseline: format!("{:.2} ms (one verification)", self.argon2_ms),
                ratio: format!("{:.1}×", self.login_p99_ms / self.argon2_ms),
                met: None,
            },
            Goal {
                goal: format!("a read route saturates at ≥ {SATURATION_GOAL_RPS:.0} rps and ≥ {SATURATION_GOAL_RATIO}× the baseline"),
                measured: format!("{:.0} rps (`{}`)", self.api_saturation, SATURATION_ROUTE.key()),
                baseline: format!("{:.0} rps", self.baseline_saturation),
                ratio: format!("{:.2}×", self.api_saturation / self.baseline_saturation),
                met: Some(
                    self.api_saturation >= SATURATION_GOAL_RPS
                        && self.api_saturation / self.baseline_saturation >= SATURATION_GOAL_RATIO,
                ),
            },
            Goal {
                goal: format!("API functions' init ≤ {INIT_GOAL_MS:.0} ms and ≤ {INIT_GOAL_RATIO}× a hello world built the same way"),
                measured: format!(
                    "{:.1} ms (`{}`, the slowest but sign-in and sign-up)",
                    self.slowest_init.figure, self.slowest_init.of
                ),
                baseline: format!("{:.1} ms (hello world)", self.hello_init_ms),
                ratio: format!("{:.1}×", self.slowest_init.figure / self.hello_init_ms),
                met: Some(
                    self.slowest_init.figure <= INIT_GOAL_MS
                        && self.slowest_init.figure / self.hello_init_ms <= INIT_GOAL_RATIO,
                ),
            },
            Goal {
                goal: format!("local DynamoDB ≥ {EMULATOR_GOAL_OPS:.0} atomic conditional writes/s"),
                measured: format!(
                    "{:.0} writes/s, {}",
                    self.emulator_best,
                    if self.emulator_atomic {
                        "conditions atomic"
                    } else {
                        "**conditions not atomic**"
                    }
                ),
                baseline: String::new(),
                ratio: String::new(),
                met: Some(self.emulator_best >= EMULATOR_GOAL_OPS && self.emulator_atomic),
            },
        ]
    }

    /// The p99 goal of the reads or the writes (`kind`), met by the slowest of them: at
    /// most `goal_ratio` times the baseline's p99.
    fn slowest_route_goal(&self, kind: &str, goal_ratio: f64, slowest: Slowest, rate: f64) -> Goal {
        Goal {
            goal: format!("{kind}s p99 ≤ {goal_ratio:.0}× the baseline's at {rate:.0}/s offered"),
            measured: format!(
                "{:.2} ms (`{}`, the slowest {kind})",
                slowest.figure, slowest.of
            ),
            baseline: format!("{:.2} ms", self.baseline_p99_ms),
            ratio: format!("{:.1}×", slowest.figure / self.baseline_p99_ms),
            met: Some(slowest.figure / self.baseline_p99_ms <= goal_ratio),
        }
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

/// `## Local DynamoDB`: the conditional writes a second with each number of writers,
/// and whether the conditions held.
struct EmulatorSection<'a> {
    runs: &'a [EmulatorResult],
}

impl EmulatorSection<'_> {
    fn render(&self) -> String {
        let mut out = String::from(
            "## Local DynamoDB\n\nConditional `UpdateItem` on one hot key (the rate limiter's write), through the Rust SDK; then the same writers race a counter limited to 100.\n\n| writers | writes/s | counter after the run | race to 100 |\n|---:|---:|---|---|\n",
        );
        for run in self.runs {
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
        out.push('\n');
        out
    }
}

/// `## Mixed traffic`: the table per route of the API's mix at the configured rate, with
/// the baseline's row below it.
struct MixedTrafficSection {
    rate: f64,
    seconds: u64,
    identities: usize,
    rows: Vec<report::Row>,
    baseline_p50_ms: f64,
    baseline_p99_ms: f64,
}

impl MixedTrafficSection {
    fn of(config: &BenchConfig, headline: &Headline) -> Self {
        let seconds = config.duration.as_secs_f64();
        let mut rows = report::rows(&headline.api_routes, seconds);
        rows.push(report::Row::of(
            Route::Baseline.key(),
            &headline.baseline,
            seconds,
        ));
        Self {
            rate: config.rate,
            seconds: config.duration.as_secs(),
            identities: config.identities,
            rows,
            baseline_p50_ms: headline.baseline_p50_ms,
            baseline_p99_ms: headline.baseline_p99_ms,
        }
    }

    fn render(&self) -> String {
        format!(
            "## Mixed traffic at {:.0} requests/s for {} s\n\n{} identities, each within its 100 requests a minute. Reads are the `GET` routes; writes are sign-in, pricing, order creation and partner drafts.\n\n{}\nBaseline p50 {:.2} ms, p99 {:.2} ms at the same rate.\n\n",
            self.rate,
            self.seconds,
            self.identities,
            report::table(&self.rows),
            self.baseline_p50_ms,
            self.baseline_p99_ms
        )
    }
}

/// `## Saturation`: each ramp's steps, where it saturated, and where the CPU went.
struct SaturationSection<'a> {
    api_step: f64,
    baseline_step: f64,
    step_seconds: u64,
    api: &'a RampRun,
    api_saturation: f64,
    baseline: &'a RampRun,
    baseline_saturation: f64,
}

impl<'a> SaturationSection<'a> {
    fn of(config: &BenchConfig, m: &'a Measured, headline: &Headline) -> Self {
        Self {
            api_step: config.api_ramp.step,
            baseline_step: config.baseline_ramp.step,
            step_seconds: config.api_ramp.seconds,
            api: &m.ramps.api,
            api_saturation: headline.api_saturation,
            baseline: &m.ramps.baseline,
            baseline_saturation: headline.baseline_saturation,
        }
    }

    fn render(&self) -> String {
        format!(
            "## Saturation\n\nOpen-loop steps of {:.0} more requests/s ({:.0} for the baseline), {} s each, until p95 ≥ 500 ms, p99 ≥ 1000 ms or errors ≥ 1 %. Saturation is the highest throughput served by a step that met them.\n\n### API `{}`: {:.0} rps\n\n{}\nCPU during the API ramp (`node` is the local DynamoDB, `python3` moto, `load` this tool):\n\n{}\n### Baseline: {:.0} rps\n\n{}\nCPU during the baseline ramp:\n\n{}\n",
            self.api_step,
            self.baseline_step,
            self.step_seconds,
            SATURATION_ROUTE.key(),
            self.api_saturation,
            RampTable(&self.api.outcome).render(),
            CpuTable(self.api).render(),
            self.baseline_saturation,
            RampTable(&self.baseline.outcome).render(),
            CpuTable(self.baseline).render()
        )
    }
}

/// A ramp's steps: what each offered and served, its latency and errors.
struct RampTable<'a>(&'a Outcome);

impl RampTable<'_> {
    fn render(&self) -> String {
        let mut out = String::from(
            "| offered/s | served ok/s | p50 ms | p99 ms | errors |\n|---:|---:|---:|---:|---:|\n",
        );
        for phase in &self.0.phases {
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
}

/// CPU per request served during a ramp, by process (the six busiest, then all of
/// them): what the ramp's figure measures.
struct CpuTable<'a>(&'a RampRun);

impl CpuTable<'_> {
    fn render(&self) -> String {
        let RampRun { outcome, cpu } = self.0;
        let served: u64 = outcome
            .phases
            .iter()
            .map(|p| p.total().latency_us.len())
            .sum();
        let per_request_ms = |seconds: f64| seconds * 1000.0 / served.max(1) as f64;
        let mut out =
            String::from("| process | CPU s | CPU ms per request served |\n|---|---:|---:|\n");
        for (name, seconds) in cpu.iter().take(6) {
            let _ = writeln!(
                out,
                "| {name} | {seconds:.1} | {:.3} |",
                per_request_ms(*seconds)
            );
        }
        let total: f64 = cpu.iter().map(|(_, s)| s).sum();
        let _ = writeln!(out, "| all | {total:.1} | {:.3} |", per_request_ms(total));
        out
    }
}

/// `## Cold start`: each function's init and first invoke beside the hello-world
/// Lambda's, after the yardsticks that some of them pay by design.
struct ColdStartSection<'a> {
    runs: usize,
    starts: &'a ColdStarts,
    yardsticks: &'a Yardsticks,
}

impl ColdStartSection<'_> {
    fn render(&self) -> String {
        let (starts, yardsticks) = (self.starts, self.yardsticks);
        let hello_total_ms = ms(starts.hello.total()).max(0.001);
        let mut out = format!(
            "## Cold start\n\nProcess start to first response through a Lambda Runtime API stand-in on loopback (median of {} runs; each function's sample event from `events/`). Binaries: `readyset-lambda` {:.1} MB, hello world {:.1} MB (release, stripped).\n\n\
             Yardsticks from the same run: a new PostgreSQL connection answering `SELECT 1` {:.1} ms, or a PostGIS call {:.1} ms (the local server preloads PostGIS, as the long-lived backends behind RDS Proxy have it loaded; loading it into a new backend would cost 13-15 ms); one argon2id verification {:.1} ms (inside sign-in's first invoke, and sign-up's hash).\n\n\
             Init splits into the process' own start (the loader, the runtime, the configuration: what a smaller binary could shorten) and the warm-up of the connections its first request needs, whose steps the function logs (each step's end from the warm-up's start; the database connection opens beside the AWS side, PostGIS loaded into it where the function reads places).\n\n\
             | function | init ms | process start ms | warm-up ms | SDK config / clients / DynamoDB / signing key / database ms | first invoke ms | total ms | × hello world |\n|---|---:|---:|---:|---|---:|---:|---:|\n",
            self.runs,
            starts.lambda_binary_mb,
            starts.hello_binary_mb,
            yardsticks.connect_ms,
            yardsticks.connect_postgis_ms,
            yardsticks.argon2_ms
        );
        let _ = writeln!(
            out,
            "| hello world | {:.1} | {0:.1} | – | – | {:.1} | {:.1} | 1.0 |",
            ms(starts.hello.init),
            ms(starts.hello.first_invoke),
            hello_total_ms
        );
        for (name, start) in &starts.functions {
            let _ = match start {
                Ok(start) => writeln!(
                    out,
                    "| {name}{} | {:.1} | {} | {} | {} | {:.1} | {:.1} | {:.1} |",
                    if start.answered_with_error {
                        " (answered its sample event with an error)"
                    } else {
                        ""
                    },
                    ms(start.init),
                    start.warm_up.map_or("–".into(), |w| format!(
                        "{:.1}",
                        (ms(start.init) - w.total_ms).max(0.0)
                    )),
                    start
                        .warm_up
                        .map_or("–".into(), |w| format!("{:.1}", w.total_ms)),
                    start.warm_up.map_or("–".into(), |w| w.steps()),
                    ms(start.first_invoke),
                    ms(start.total()),
                    ms(start.total()) / hello_total_ms
                ),
                Err(why) => writeln!(
                    out,
                    "| {name} (not measured: {why}) | – | – | – | – | – | – | – |"
                ),
            };
        }
        out
    }
}
