//! The load tool of the Ready Set API.
//!
//! - [`traffic`]: the identities a run signs up for itself and the mixed traffic they send
//!   (sign-in, order lists and creates, partner drafts, pricing, health).
//! - [`run`]: the open-loop runner (fixed arrival rate, latency from the intended send
//!   time) and its per-route histograms.
//! - [`Profile`]: `smoke`, `load`, `stress` (ramps until a threshold breaks and reports
//!   the knee), `spike`, `drivers`.
//! - [`report`]: the table per route and the verdict against [`Thresholds`].
//! - [`baseline`]: a minimal hyper server doing one PostgreSQL query per request, to
//!   measure beside the API in the same run.
//! - [`emulator`]: the local DynamoDB's own conditional-write throughput.
//! - [`cold_start`]: a Lambda Runtime API stand-in that times a function binary's start.
//! - [`cpu`]: CPU time by process, to say what a saturation figure measures.
//! - [`durability`]: whether the measured PostgreSQL commits durably, as the reports say.
//! - [`bench`]: all of the above in one run, written up as the benchmark report.
//! - [`dashboard_bench`]: the operations dashboard's analytics while requests add up.
//! - [`fleet`]: drivers on shift reporting locations and staff asking for the nearest;
//!   [`drivers_bench`]: the drivers benchmark over a seeded database of 100 000 drivers.
//!
//! The binary (`load`) sends only where it is told, the local gateway by default.

pub mod baseline;
pub mod bench;
pub mod cold_start;
pub mod cpu;
pub mod dashboard_bench;
pub mod drivers_bench;
pub mod durability;
pub mod emulator;
pub mod fleet;
pub mod report;
pub mod routing_bench;
pub mod run;
pub mod traffic;

use std::{sync::Arc, time::Duration};

use run::{Phase, PhaseResult, Target};
use traffic::{PartnerKey, Population, Route};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("setting up the run failed: {0}")]
    Setup(String),
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("{0}")]
    Usage(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// What a run must stay within to pass: the seed's promises by default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub error_rate: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            p95_ms: 500.0,
            p99_ms: 1000.0,
            error_rate: 0.01,
        }
    }
}

impl Thresholds {
    /// Why `stats` misses the thresholds, if it does.
    pub fn breaches(&self, stats: &run::RouteStats) -> Vec<String> {
        let mut breaches = Vec::new();
        if stats.error_rate() > self.error_rate {
            breaches.push(format!(
                "errors {:.2}% > {:.2}%",
                stats.error_rate() * 100.0,
                self.error_rate * 100.0
            ));
        }
        if stats.percentile_ms(95.0) > self.p95_ms {
            breaches.push(format!(
                "p95 {:.1} ms > {:.0} ms",
                stats.percentile_ms(95.0),
                self.p95_ms
            ));
        }
        if stats.percentile_ms(99.0) > self.p99_ms {
            breaches.push(format!(
                "p99 {:.1} ms > {:.0} ms",
                stats.percentile_ms(99.0),
                self.p99_ms
            ));
        }
        breaches
    }
}

/// The shapes of traffic the tool knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// A short, light run: every route answers within the thresholds (CI).
    Smoke,
    /// The steady rate the benchmark report quotes.
    Load,
    /// Rising rates until a threshold breaks: the knee is the last rate that held.
    Stress,
    /// A steady rate, a burst ten times higher, and the steady rate again.
    Spike,
    /// The original's production gate: 30 drivers posting locations for 120 s.
    Drivers,
}

/// How a run is shaped; [`Plan::of`] gives each profile's defaults.
#[derive(Debug, Clone)]
pub struct Plan {
    pub profile: Profile,
    pub identities: usize,
    pub phases: Vec<Phase>,
    /// Stop at the first phase that breaks a threshold (stress).
    pub stop_at_breach: bool,
    /// Send only this route instead of the mix.
    pub only: Option<Route>,
    /// What the progress lines call the run (the profile's name by default).
    pub label: Option<&'static str>,
}

fn phase(rate: f64, seconds: u64) -> Phase {
    Phase {
        rate,
        duration: Duration::from_secs(seconds),
    }
}

impl Plan {
    pub fn of(profile: Profile) -> Self {
        let (identities, phases, stop_at_breach) = match profile {
            Profile::Smoke => (10, vec![phase(20.0, 10)], false),
            Profile::Load => (300, vec![phase(200.0, 60)], false),
            Profile::Stress => (
                1000,
                (1..=40)
                    .map(|step| phase(100.0 * f64::from(step), 5))
                    .collect(),
                true,
            ),
            Profile::Spike => (
                300,
                vec![phase(50.0, 20), phase(500.0, 10), phase(50.0, 20)],
                false,
            ),
            Profile::Drivers => (30, vec![phase(10.0, 120)], false),
        };
        Self {
            profile,
            identities,
            phases,
            stop_at_breach,
            only: None,
            label: None,
        }
    }

    /// Names the run in its progress lines.
    pub fn labelled(mut self, label: &'static str) -> Self {
        self.label = Some(label);
        self
    }

    /// One steady phase at `rate` for `duration` instead of the profile's phases.
    pub fn steady(mut self, rate: f64, duration: Duration) -> Self {
        self.phases = vec![Phase { rate, duration }];
        self
    }

    /// Sends only `route` instead of the mix.
    pub fn only(mut self, route: Route) -> Self {
        self.only = Some(route);
        self
    }

    /// A saturation ramp of one route: `step`, `2 × step`, … up to `peak` requests a
    /// second, `seconds` each, stopping at the first rate that breaks a threshold.
    pub fn ramp(mut self, only: Route, step: f64, peak: f64, seconds: u64) -> Self {
        let steps = (peak / step).floor().max(1.0) as u32;
        self.phases = (1..=steps)
            .map(|k| phase(step * f64::from(k), seconds))
            .collect();
        self.stop_at_breach = true;
        self.only = Some(only);
        self
    }

    /// Requests one identity sends in the plan's busiest minute, on average: the API
    /// allows 100 per user and minute.
    pub fn per_identity_per_minute(&self) -> f64 {
        let starts = self.phases.iter().scan(0.0, |t, p| {
            let start = *t;
            *t += p.duration.as_secs_f64();
            Some(start)
        });
        let busiest = starts
            .map(|from| self.requests_between(from, from + 60.0))
            .fold(0.0, f64::max);
        busiest / self.identities.max(1) as f64
    }

    /// Requests the plan sends between `from` and `to` seconds after its start.
    fn requests_between(&self, from: f64, to: f64) -> f64 {
        let mut start = 0.0;
        let mut requests = 0.0;
        for phase in &self.phases {
            let end = start + phase.duration.as_secs_f64();
            let overlap = (end.min(to) - start.max(from)).max(0.0);
            requests += overlap * phase.rate;
            start = end;
        }
        requests
    }
}

/// Everything a finished run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub plan: Plan,
    pub phases: Vec<PhaseResult>,
    /// Stress: the highest rate whose phase met the thresholds.
    pub knee: Option<f64>,
}

/// Signs up the plan's identities, then runs its phases against `base_url`.
pub async fn execute(
    base_url: &str,
    plan: Plan,
    partner: PartnerKey,
    thresholds: Thresholds,
    quiet: bool,
) -> Result<Outcome, LoadError> {
    if plan.profile == Profile::Drivers {
        // The original's gate: its identities are drivers on shift, reporting points; they
        // are approved in the stack's database.
        let database_url = std::env::var("DATABASE_URL").map_err(|_| {
            LoadError::Usage("the drivers profile needs the stack's DATABASE_URL".into())
        })?;
        let fleet =
            Arc::new(fleet::Fleet::create(base_url, &database_url, plan.identities, 0).await?);
        let plan = Plan {
            only: Some(Route::LocationPoint),
            ..plan
        };
        return Ok(run_plan(&fleet, plan, &thresholds, quiet).await);
    }
    if !quiet {
        eprintln!(
            "signing up {} identities at {base_url} ({:.0} requests each a minute at the peak rate)",
            plan.identities,
            plan.per_identity_per_minute()
        );
    }
    let population = Arc::new(Population::create(base_url, plan.identities, partner).await?);
    Ok(run_plan(&population, plan, &thresholds, quiet).await)
}

/// Runs the plan's phases against `target`, stopping at the first breach when the plan
/// says so (the last rate that held is the knee).
pub async fn run_plan<T: Target>(
    target: &Arc<T>,
    plan: Plan,
    thresholds: &Thresholds,
    quiet: bool,
) -> Outcome {
    let mix = traffic::mix(plan.only);
    let mut phases = Vec::new();
    let mut knee = None;
    let mut sent = 0u64;
    for (i, phase) in plan.phases.iter().enumerate() {
        let name = plan.label.map_or_else(
            || format!("{:?}", plan.profile).to_lowercase(),
            str::to_owned,
        );
        let label = format!("{name} {}/{}", i + 1, plan.phases.len());
        let result = run::run_phase(target, &mix, *phase, sent, &label, quiet).await;
        sent += (phase.rate * phase.duration.as_secs_f64()).round() as u64;
        let breaches = thresholds.breaches(&result.total());
        phases.push(result);
        if plan.stop_at_breach {
            if breaches.is_empty() {
                knee = Some(phase.rate);
            } else {
                if !quiet {
                    eprintln!(
                        "{label}: {} at {:.0}/s: stopping",
                        breaches.join(", "),
                        phase.rate
                    );
                }
                break;
            }
        }
    }
    Outcome { plan, phases, knee }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_name_what_broke() {
        let mut stats = run::RouteStats::default();
        for ms in 1..=100u64 {
            stats.latency_us.record(ms * 1000).expect("record");
        }
        assert!(Thresholds::default().breaches(&stats).is_empty());
        let tight = Thresholds {
            p95_ms: 50.0,
            p99_ms: 90.0,
            error_rate: 0.0,
        };
        stats.errors.insert("503".into(), 1);
        let breaches = tight.breaches(&stats);
        assert_eq!(breaches.len(), 3, "{breaches:?}");
    }

    #[test]
    fn profiles_stay_inside_the_per_user_budget() {
        for profile in [Profile::Smoke, Profile::Load, Profile::Spike] {
            let plan = Plan::of(profile);
            assert!(
                // Well under 100: identities are picked by hash, so some send more.
                plan.per_identity_per_minute() < 60.0,
                "{profile:?}: {}",
                plan.per_identity_per_minute()
            );
        }
    }
}
