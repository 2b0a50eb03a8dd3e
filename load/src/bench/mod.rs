//! The benchmark report (`docs/performance.md`): every measurement of the tool in one
//! run, each beside its baseline from the same run, since the machine is shared and noisy
//! and only ratios travel.
//!
//! In order: the local DynamoDB's conditional writes; the mixed traffic at a rate below
//! saturation, on the API and on the baseline server; a saturation ramp of one read route
//! on both; cold starts of every function beside a hello-world Lambda.
//!
//! `measure` takes the measurements, `report` writes them up.

mod measure;
mod provenance;
mod report;
#[cfg(test)]
mod tests;

use std::{path::PathBuf, time::Duration};

use crate::{
    durability::Durability,
    traffic::{PartnerKey, Route},
    LoadError, Outcome, Plan, Profile,
};
use measure::{ColdStarts, Measured, Targets, Yardsticks};
use provenance::Provenance;
use report::Report;

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
    /// How long each of the local DynamoDB's write measurements lasts.
    pub emulator_duration: Duration,
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

/// The API's read route the saturation ramp sends.
const SATURATION_ROUTE: Route = Route::UserOrders;

/// `markdown` with the deployable artifact's section of the report already at `path`
/// (`scripts/package` writes it between `<!-- package -->` markers), so a benchmark run
/// does not erase the packaging figures.
pub fn with_package_section(markdown: &str, path: &std::path::Path) -> String {
    const START: &str = "<!-- package -->";
    const END: &str = "<!-- /package -->";
    let Ok(existing) = std::fs::read_to_string(path) else {
        return markdown.to_owned();
    };
    let section = existing
        .find(START)
        .and_then(|start| Some(&existing[start..start + existing[start..].find(END)? + END.len()]));
    match section {
        Some(section) => format!("{}\n\n{section}\n", markdown.trim_end()),
        None => markdown.to_owned(),
    }
}

/// A finished run's report, and whether every step measured.
pub struct BenchReport {
    pub markdown: String,
    pub complete: bool,
}

/// Runs every measurement and returns the report's Markdown. Progress goes to stderr.
/// A step that fails is recorded and the run goes on: the report always says what was
/// measured, and first what was not.
pub async fn run(config: &BenchConfig) -> BenchReport {
    let mut failures = Vec::new();
    let emulator = kept(
        &mut failures,
        "the local DynamoDB's conditional writes",
        measure::emulator(&config.dynamodb_endpoint, config.emulator_duration).await,
    )
    .unwrap_or_default();
    let prepared = Targets::prepare(config).await;
    let (mixed, ramps) = match kept(
        &mut failures,
        "signing up the traffic's identities",
        prepared,
    ) {
        Some(targets) => (
            targets.mixed_traffic(config).await,
            targets.saturation_ramps(config).await,
        ),
        None => (
            measure::ApiAndBaseline::<Outcome>::not_measured(),
            measure::ApiAndBaseline::<measure::RampRun>::not_measured(),
        ),
    };
    let yardsticks = kept(
        &mut failures,
        "the yardsticks",
        Yardsticks::measure(&config.database_url).await,
    )
    .unwrap_or_default();
    let cold_starts = ColdStarts::measure(config).await;
    let cold_starts = kept(&mut failures, "the cold starts", cold_starts).unwrap_or_default();
    failures.extend(cold_starts.functions.iter().filter_map(|(name, start)| {
        start
            .as_ref()
            .err()
            .map(|e| format!("the cold start of {name}: {e}"))
    }));
    let durability = kept(
        &mut failures,
        "the database's durability settings",
        Durability::of(&config.database_url).await,
    );
    let complete = failures.is_empty();
    let measured = Measured {
        failures,
        emulator,
        mixed,
        ramps,
        yardsticks,
        cold_starts,
    };
    BenchReport {
        markdown: Report::new(config, &measured, Provenance::of_this_run(durability)).render(),
        complete,
    }
}

/// A step's measurement, or none with its failure noted (and said on stderr).
fn kept<T>(failures: &mut Vec<String>, step: &str, result: Result<T, LoadError>) -> Option<T> {
    result
        .inspect_err(|e| {
            eprintln!("{step} failed: {e}");
            failures.push(format!("{step}: {e}"));
        })
        .ok()
}
