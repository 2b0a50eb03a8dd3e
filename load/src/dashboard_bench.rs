//! The operations dashboard under traffic (`docs/dashboard-performance.md`): how long
//! `GET /api/admin/logs?analytics=24h` takes on the local stack before, while and after
//! the gateway serves a number of requests whose metrics it extracts into the emulator's
//! CloudWatch, and whether the analytics count every one of them.
//!
//! The first figure, on a store that holds almost nothing, is the baseline of the same
//! run: a store that slows down with the requests it holds shows as a growing ratio.
//! The report also counts the metrics one refresh reads, which is what GetMetricData
//! bills in AWS.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::{json, Value};

use crate::{
    bench::BenchReport,
    report::{Goal, GoalsTable},
    run::{self, Phase},
    traffic::{PartnerKey, Population, Route},
    LoadError,
};

/// The goal of the issue: the dashboard answers within this, whatever the traffic so far.
const ANALYTICS_GOAL_MS: f64 = 1000.0;
/// GetMetricData's price in AWS: US$ per 1,000 metrics requested.
const PRICE_PER_1000_METRICS: f64 = 0.01;
/// Analytics calls timed before and after the traffic.
const SAMPLES: usize = 5;
/// Checkpoints during the traffic, each timing one call.
const CHECKPOINTS: u64 = 10;
/// The reads the traffic is made of: each request reports its metrics like any other.
const MIX: [Route; 2] = [Route::CurrentUser, Route::UserOrders];

#[derive(Debug, Clone)]
pub struct DashboardBenchConfig {
    pub api_url: String,
    /// The staff account that reads the analytics.
    pub staff_email: String,
    pub staff_password: String,
    pub partner: PartnerKey,
    /// Requests sent in all, at `rate` a second, from `identities` accounts.
    pub requests: u64,
    pub rate: f64,
    pub identities: usize,
    /// Which metric store the emulator ran, as the report names it.
    pub store: String,
    pub command: String,
}

/// One timed analytics call.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyticsCall {
    pub ms: f64,
    pub status: u16,
    /// The requests the analytics counted in the window.
    pub requests_counted: u64,
    /// The routes they came from: each reads 15 metrics.
    pub routes: usize,
}

/// A checkpoint during the traffic: requests answered so far, and one analytics call.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    pub answered: u64,
    pub call: AnalyticsCall,
}

/// What the run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub before: Vec<AnalyticsCall>,
    pub during: Vec<Checkpoint>,
    pub after: Vec<AnalyticsCall>,
    /// Requests of the traffic the gateway answered with a success.
    pub answered: u64,
    /// Requests of the traffic that failed, by what went wrong.
    pub failed: std::collections::BTreeMap<String, u64>,
    pub traffic_seconds: f64,
}

/// Signs in the staff account, times the analytics, sends the traffic in checkpoints
/// and times them again. Progress goes to stderr.
pub async fn run(config: &DashboardBenchConfig) -> Result<BenchReport, LoadError> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let token = sign_in(&client, config).await?;
    let analytics = Analytics {
        client,
        url: format!("{}/api/admin/logs?analytics=24h", config.api_url),
        token,
    };
    eprintln!("timing the analytics on an almost empty store");
    let before = analytics.time(SAMPLES).await?;
    eprintln!("signing up {} identities", config.identities);
    let population = Arc::new(
        Population::create(&config.api_url, config.identities, config.partner.clone()).await?,
    );
    let checkpoint_requests = config.requests.div_ceil(CHECKPOINTS).max(1);
    let seconds = checkpoint_requests as f64 / config.rate;
    let started = Instant::now();
    let (mut answered, mut during) = (0, Vec::new());
    let mut failed = std::collections::BTreeMap::<String, u64>::new();
    for checkpoint in 0..CHECKPOINTS {
        let result = run::run_phase(
            &population,
            &MIX,
            Phase {
                rate: config.rate,
                duration: Duration::from_secs_f64(seconds),
            },
            checkpoint * checkpoint_requests,
            &format!("traffic {}/{CHECKPOINTS}", checkpoint + 1),
            true,
        )
        .await;
        let total = result.total();
        answered += total.latency_us.len();
        for (kind, count) in &total.errors {
            *failed.entry(kind.clone()).or_default() += count;
        }
        let call = analytics.call().await?;
        eprintln!(
            "  {answered} requests answered: analytics {:.0} ms ({}), {} counted",
            call.ms, call.status, call.requests_counted
        );
        during.push(Checkpoint { answered, call });
    }
    let traffic_seconds = started.elapsed().as_secs_f64();
    // The extractor flushes every 200 ms: the last requests' metrics are in after that.
    tokio::time::sleep(Duration::from_secs(1)).await;
    eprintln!("timing the analytics after the traffic");
    let after = analytics.time(SAMPLES).await?;
    let measured = Measured {
        before,
        during,
        after,
        answered,
        failed,
        traffic_seconds,
    };
    let report = Report { config, measured };
    Ok(BenchReport {
        complete: true,
        markdown: report.render(),
    })
}

async fn sign_in(
    client: &reqwest::Client,
    config: &DashboardBenchConfig,
) -> Result<String, LoadError> {
    let url = format!("{}/api/auth/login", config.api_url);
    let response = client
        .post(&url)
        .json(&json!({ "email": config.staff_email, "password": config.staff_password }))
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    body["accessToken"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| {
            LoadError::Setup(format!(
                "signing in {}: {status} {body}",
                config.staff_email
            ))
        })
}

/// The dashboard's analytics call, as the ops page makes it.
struct Analytics {
    client: reqwest::Client,
    url: String,
    token: String,
}

impl Analytics {
    async fn call(&self) -> Result<AnalyticsCall, LoadError> {
        let started = Instant::now();
        let response = self
            .client
            .get(&self.url)
            .bearer_auth(&self.token)
            .send()
            .await?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let performance = &body["performance"];
        Ok(AnalyticsCall {
            ms,
            status,
            requests_counted: performance["requests"].as_u64().unwrap_or(0),
            routes: performance["routes"].as_array().map_or(0, Vec::len),
        })
    }

    async fn time(&self, calls: usize) -> Result<Vec<AnalyticsCall>, LoadError> {
        let mut timed = Vec::with_capacity(calls);
        for _ in 0..calls {
            timed.push(self.call().await?);
        }
        Ok(timed)
    }
}

/// The median and the slowest of some calls, in milliseconds.
fn median_and_max(calls: &[&AnalyticsCall]) -> (f64, f64) {
    let mut ms: Vec<f64> = calls.iter().map(|c| c.ms).collect();
    ms.sort_by(f64::total_cmp);
    let median = ms.get(ms.len() / 2).copied().unwrap_or(0.0);
    (median, ms.last().copied().unwrap_or(0.0))
}

/// The report on what was measured.
pub struct Report<'a> {
    pub config: &'a DashboardBenchConfig,
    pub measured: Measured,
}

/// Metrics one analytics refresh requests per route: requests, 5xx and cold starts, and
/// the twelve latency buckets.
pub const METRICS_PER_ROUTE: usize = 15;

impl Report<'_> {
    pub fn render(&self) -> String {
        [
            self.heading(),
            GoalsTable { rows: self.goals() }.render(),
            self.curve(),
            self.cost(),
        ]
        .concat()
    }

    fn heading(&self) -> String {
        format!(
            "# The operations dashboard under traffic\n\n\
             Measured by `{}`, everything on 127.0.0.1: the local gateway extracting every request's metric lines into the emulator's CloudWatch ({}), as CloudWatch Logs does in AWS. \
             `GET /api/admin/logs?analytics=24h` is timed {SAMPLES} times on an almost empty store (the baseline, same run), once after each tenth of the traffic, and {SAMPLES} times after it. \
             The traffic is open loop: {} requests at {:.0} a second of `GET /api/auth/current-user` and `GET /api/user-orders`, from {} accounts. \
             The machine is shared and noisy: read the ratios to the baseline.\n\n",
            self.config.command,
            self.config.store,
            self.config.requests,
            self.config.rate,
            self.config.identities
        )
    }

    fn goals(&self) -> Vec<Goal> {
        let m = &self.measured;
        let before: Vec<&AnalyticsCall> = m.before.iter().collect();
        let after: Vec<&AnalyticsCall> = m.after.iter().collect();
        let all: Vec<&AnalyticsCall> = m
            .during
            .iter()
            .map(|c| &c.call)
            .chain(m.after.iter())
            .collect();
        let (base_median, _) = median_and_max(&before);
        let (after_median, _) = median_and_max(&after);
        let (_, slowest) = median_and_max(&all);
        let answered_ok = all.iter().all(|c| c.status == 200);
        let counted = m.after.last().map_or(0, |c| c.requests_counted);
        vec![
            Goal {
                goal: format!(
                    "analytics answer in < {ANALYTICS_GOAL_MS:.0} ms after {} requests",
                    m.answered
                ),
                measured: format!(
                    "{after_median:.0} ms median, {slowest:.0} ms at most during and after"
                ),
                baseline: format!("{base_median:.0} ms (almost empty store)"),
                ratio: format!("{:.1}×", after_median / base_median.max(0.001)),
                met: Some(answered_ok && slowest < ANALYTICS_GOAL_MS),
            },
            Goal {
                goal: "every request of the traffic is counted".into(),
                measured: format!(
                    "{counted} counted, {} answered{}",
                    m.answered,
                    failures(&m.failed)
                ),
                baseline: String::new(),
                ratio: String::new(),
                met: Some(counted >= m.answered),
            },
        ]
    }

    /// `## While the requests add up`: one row per checkpoint.
    fn curve(&self) -> String {
        let m = &self.measured;
        let mut out = format!(
            "## While the requests add up\n\n\
             The traffic took {:.0} s. Each row is one analytics call after a tenth of it.\n\n\
             | requests answered | analytics ms | status | requests counted |\n|---:|---:|---:|---:|\n",
            m.traffic_seconds
        );
        for checkpoint in &m.during {
            out.push_str(&format!(
                "| {} | {:.0} | {} | {} |\n",
                checkpoint.answered,
                checkpoint.call.ms,
                checkpoint.call.status,
                checkpoint.call.requests_counted
            ));
        }
        out.push('\n');
        out
    }

    /// `## What one refresh reads`: the metrics GetMetricData is billed for in AWS.
    fn cost(&self) -> String {
        let routes = self.measured.after.last().map_or(0, |c| c.routes);
        let metrics = routes * METRICS_PER_ROUTE;
        format!(
            "## What one refresh reads\n\n\
             One analytics call lists the routes that served requests (ListMetrics) and requests {METRICS_PER_ROUTE} metrics per route with GetMetricData: requests, 5xx answers, cold starts and the twelve latency buckets. \
             Here {routes} routes served requests, so one refresh requested {metrics} metrics, which in AWS costs US${:.4} at US${PRICE_PER_1000_METRICS} per 1,000 metrics requested.\n",
            metrics as f64 / 1000.0 * PRICE_PER_1000_METRICS
        )
    }
}

/// ` (3 failed: 2 timeout, 1 answered 429)`, or nothing when none failed.
fn failures(failed: &std::collections::BTreeMap<String, u64>) -> String {
    let total: u64 = failed.values().sum();
    if total == 0 {
        return String::new();
    }
    let kinds: Vec<String> = failed
        .iter()
        .map(|(kind, count)| match kind.parse::<u16>() {
            Ok(status) => format!("{count} answered {status}"),
            Err(_) => format!("{count} {kind}"),
        })
        .collect();
    format!(" ({total} failed: {})", kinds.join(", "))
}

#[cfg(test)]
mod tests {
    use super::{AnalyticsCall, Checkpoint, DashboardBenchConfig, Measured, Report};
    use crate::traffic::PartnerKey;

    fn config() -> DashboardBenchConfig {
        DashboardBenchConfig {
            api_url: "http://127.0.0.1:3000".into(),
            staff_email: "admin@readyset.local".into(),
            staff_password: "readyset-demo-1".into(),
            partner: PartnerKey {
                slug: "catervalley".into(),
                key: "ready-set".into(),
            },
            requests: 1000,
            rate: 100.0,
            identities: 80,
            store: "its metrics kept per series and minute".into(),
            command: "scripts/bench-dashboard".into(),
        }
    }

    fn call(ms: f64, status: u16, counted: u64) -> AnalyticsCall {
        AnalyticsCall {
            ms,
            status,
            requests_counted: counted,
            routes: 4,
        }
    }

    /// A run whose last analytics call took `last_ms` and counted `counted` requests.
    fn rendered(last_ms: f64, status: u16, counted: u64) -> String {
        let measured = Measured {
            before: vec![call(20.0, 200, 0); 5],
            during: vec![
                Checkpoint {
                    answered: 500,
                    call: call(40.0, 200, 520),
                },
                Checkpoint {
                    answered: 1000,
                    call: call(last_ms, status, counted),
                },
            ],
            after: vec![call(45.0, 200, counted); 5],
            answered: 1000,
            failed: [("timeout".to_owned(), 2), ("429".to_owned(), 1)].into(),
            traffic_seconds: 10.0,
        };
        Report {
            config: &config(),
            measured,
        }
        .render()
    }

    fn goal_rows(text: &str) -> Vec<&str> {
        text.lines()
            .filter(|l| l.starts_with("| analytics") || l.starts_with("| every"))
            .collect()
    }

    #[test]
    fn a_fast_dashboard_that_counts_everything_meets_both_goals() {
        let text = rendered(50.0, 200, 1030);
        let rows = goal_rows(&text);
        assert_eq!(rows.len(), 2, "{text}");
        assert!(rows.iter().all(|r| r.ends_with("| met |")), "{rows:#?}");
        assert!(text.contains("| 45 ms median, 50 ms at most during and after | 20 ms (almost empty store) | 2.2× |"), "{text}");
        assert!(
            text.contains("| 1030 counted, 1000 answered (3 failed: 1 answered 429, 2 timeout) |"),
            "what failed is named: {text}"
        );
        // Four routes served requests: 60 metrics a refresh.
        assert!(
            text.contains("requested 60 metrics, which in AWS costs US$0.0006"),
            "{text}"
        );
    }

    #[test]
    fn one_slow_or_failed_call_or_a_lost_request_misses_a_goal() {
        for (text, missed) in [
            (rendered(1500.0, 200, 1030), "| analytics"),
            (rendered(50.0, 503, 1030), "| analytics"),
            (rendered(50.0, 200, 999), "| every request"),
        ] {
            let rows = goal_rows(&text);
            let row = rows
                .iter()
                .find(|r| r.starts_with(missed))
                .expect("the goal row");
            assert!(row.ends_with("| **missed** |"), "{row}");
        }
    }
}
