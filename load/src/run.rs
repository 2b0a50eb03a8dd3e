//! The open-loop runner: requests leave at a fixed arrival rate whatever the server does,
//! and each latency is measured from the moment its request was due, not from when it
//! went out. A server that stalls therefore shows its stall in every request that waited
//! behind it (no coordinated omission, as wrk2 and oha measure).

use std::{
    collections::BTreeMap,
    future::Future,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use hdrhistogram::Histogram;
use tokio::time::Instant;

use crate::traffic::Route;

/// Requests in flight at most; past it the tool itself is the bottleneck, and each
/// request that cannot start counts as an error rather than silently waiting.
const MAX_IN_FLIGHT: u64 = 4_096;

/// One stretch of a profile: `rate` requests a second for `duration`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Phase {
    pub rate: f64,
    pub duration: Duration,
}

/// Latencies and outcomes of one route in one phase.
#[derive(Debug, Clone)]
pub struct RouteStats {
    pub latency_us: Histogram<u64>,
    pub errors: BTreeMap<String, u64>,
}

impl Default for RouteStats {
    fn default() -> Self {
        Self {
            // 1 µs to 60 s at three significant figures.
            latency_us: Histogram::new_with_bounds(1, 60_000_000, 3)
                .unwrap_or_else(|e| unreachable!("valid histogram bounds: {e}")),
            errors: BTreeMap::new(),
        }
    }
}

impl RouteStats {
    pub fn requests(&self) -> u64 {
        self.latency_us.len() + self.error_count()
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    pub fn error_rate(&self) -> f64 {
        match self.requests() {
            0 => 0.0,
            n => self.error_count() as f64 / n as f64,
        }
    }

    /// Percentile `q` (0–100) of successful requests, in milliseconds.
    pub fn percentile_ms(&self, q: f64) -> f64 {
        self.latency_us.value_at_percentile(q) as f64 / 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        self.latency_us.max() as f64 / 1000.0
    }

    pub fn merge(&mut self, other: &RouteStats) {
        let _ = self.latency_us.add(&other.latency_us);
        for (kind, count) in &other.errors {
            *self.errors.entry(kind.clone()).or_default() += count;
        }
    }
}

/// What one phase measured.
#[derive(Debug, Clone)]
pub struct PhaseResult {
    pub phase: Phase,
    pub routes: BTreeMap<Route, RouteStats>,
    pub elapsed: Duration,
}

impl PhaseResult {
    pub fn total(&self) -> RouteStats {
        let mut total = RouteStats::default();
        for stats in self.routes.values() {
            total.merge(stats);
        }
        total
    }

    /// Successful requests per second actually served.
    pub fn throughput(&self) -> f64 {
        self.total().latency_us.len() as f64 / self.elapsed.as_secs_f64().max(0.001)
    }
}

/// Merges phases into one table (the whole run).
pub fn combine(phases: &[PhaseResult]) -> BTreeMap<Route, RouteStats> {
    let mut routes: BTreeMap<Route, RouteStats> = BTreeMap::new();
    for phase in phases {
        for (route, stats) in &phase.routes {
            routes.entry(*route).or_default().merge(stats);
        }
    }
    routes
}

struct Shared {
    stats: Mutex<BTreeMap<Route, RouteStats>>,
    in_flight: AtomicU64,
    sent: AtomicU64,
    failed: AtomicU64,
    recent: Mutex<Histogram<u64>>,
}

/// Where a run sends its requests: the API's mixed traffic or the baseline server.
pub trait Target: Send + Sync + 'static {
    /// Sends request number `n` of the run as `route`; the error names what came back
    /// instead of a success (a status code, "timed out").
    fn send(&self, n: u64, route: Route) -> impl Future<Output = Result<(), String>> + Send;
}

/// Runs one phase: sends `mix` in turn at the phase's rate, and waits for the last
/// answers (up to the request timeout) before measuring.
pub async fn run_phase<T: Target>(
    target: &Arc<T>,
    mix: &[Route],
    phase: Phase,
    first_request: u64,
    label: &str,
    quiet: bool,
) -> PhaseResult {
    let shared = Arc::new(Shared {
        stats: Mutex::new(BTreeMap::new()),
        in_flight: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        recent: Mutex::new(RouteStats::default().latency_us),
    });
    let count = (phase.rate * phase.duration.as_secs_f64()).round() as u64;
    let interval = Duration::from_secs_f64(1.0 / phase.rate.max(0.001));
    let start = Instant::now();
    let progress =
        (!quiet).then(|| spawn_progress(Arc::clone(&shared), label.to_owned(), phase, start));

    let mut tasks = Vec::with_capacity(count as usize);
    for i in 0..count {
        let due = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due).await;
        let n = first_request + i;
        let route = mix[(n as usize) % mix.len()];
        shared.sent.fetch_add(1, Ordering::Relaxed);
        if shared.in_flight.load(Ordering::Relaxed) >= MAX_IN_FLIGHT {
            record(&shared, route, due, Err("client overloaded".to_owned()));
            continue;
        }
        shared.in_flight.fetch_add(1, Ordering::Relaxed);
        let target = Arc::clone(target);
        let shared = Arc::clone(&shared);
        tasks.push(tokio::spawn(async move {
            let outcome = target.send(n, route).await;
            record(&shared, route, due, outcome);
            shared.in_flight.fetch_sub(1, Ordering::Relaxed);
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    if let Some(progress) = progress {
        progress.abort();
    }
    let routes = shared.stats.lock().map(|s| s.clone()).unwrap_or_default();
    PhaseResult {
        phase,
        routes,
        elapsed: phase.duration.max(
            start
                .elapsed()
                .min(phase.duration + Duration::from_secs(10)),
        ),
    }
}

fn record(shared: &Shared, route: Route, due: Instant, outcome: Result<(), String>) {
    let latency_us = u64::try_from(due.elapsed().as_micros())
        .unwrap_or(u64::MAX)
        .max(1);
    if let Ok(mut stats) = shared.stats.lock() {
        let entry = stats.entry(route).or_default();
        match &outcome {
            Ok(()) => {
                let _ = entry.latency_us.record(latency_us.min(60_000_000));
            }
            Err(kind) => *entry.errors.entry(kind.clone()).or_default() += 1,
        }
    }
    match outcome {
        Ok(()) => {
            if let Ok(mut recent) = shared.recent.lock() {
                let _ = recent.record(latency_us.min(60_000_000));
            }
        }
        Err(_) => {
            shared.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// One line a second: where the run is, what it offers, what came back.
fn spawn_progress(
    shared: Arc<Shared>,
    label: String,
    phase: Phase,
    start: Instant,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        loop {
            tick.tick().await;
            let p99 = shared
                .recent
                .lock()
                .map(|mut h| {
                    let p99 = h.value_at_percentile(99.0) as f64 / 1000.0;
                    h.reset();
                    p99
                })
                .unwrap_or(0.0);
            eprintln!(
                "[{label} {:>3}s/{}s] offered {:.0}/s  sent {}  failed {}  in flight {}  p99 last second {:.1} ms",
                start.elapsed().as_secs(),
                phase.duration.as_secs(),
                phase.rate,
                shared.sent.load(Ordering::Relaxed),
                shared.failed.load(Ordering::Relaxed),
                shared.in_flight.load(Ordering::Relaxed),
                p99,
            );
        }
    })
}
