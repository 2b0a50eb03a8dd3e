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
    traffic::{PartnerKey, Route},
    LoadError, Plan, Profile,
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

/// Runs every measurement and returns the report's Markdown. Progress goes to stderr.
pub async fn run(config: &BenchConfig) -> Result<String, LoadError> {
    let emulator = measure::emulator(&config.dynamodb_endpoint).await?;
    let targets = Targets::prepare(config).await?;
    let mixed = targets.mixed_traffic(config).await;
    let ramps = targets.saturation_ramps(config).await;
    let yardsticks = Yardsticks::measure(&config.database_url).await?;
    let cold_starts = ColdStarts::measure(config).await?;
    let measured = Measured {
        emulator,
        mixed,
        ramps,
        yardsticks,
        cold_starts,
    };
    Ok(Report::new(config, &measured, Provenance::of_this_run()).render())
}
