//! How a function is deployed, declared once beside its handler (`pub const DEPLOY`).
//!
//! `cargo xtask codegen` writes every AWS resource of a function from this declaration:
//! the function itself, its routes with their integration and invoke permission, its
//! rollback alarms and its log group into its area stack (`stacks/<area>.yaml`); its
//! route throttling and the parameters of its area stack into `template.yaml`; and a
//! sample event and an OpenAPI path skeleton when it has none. Nothing here runs in
//! Lambda: the values are plain data the generator reads.
//!
//! Values that name template resources or parameters ([`Cfn::Ref`], [`Cfn::Sub`]) are
//! written as they appear in the stack; the generator declares each parameter an area
//! stack uses and has `template.yaml` pass it.

pub use shared::routes::{Method, Route, Throttle};

/// The stack a function is deployed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Area {
    /// `template.yaml` itself: only the authorizer, which the API's authorizer resource
    /// must reference in the same stack.
    Parent,
    /// Sign-up, sign-in and sessions, profiles, staff user administration, driver
    /// applications (`stacks/identity.yaml`).
    Identity,
    /// Addresses, catering and on-demand orders, pricing, the partner API, uploads
    /// (`stacks/orders.yaml`).
    Orders,
    /// Shifts, location reports, nearest drivers, dispatch, deliveries, customer tracking
    /// (`stacks/drivers.yaml`).
    Drivers,
    /// Health, monitoring, the operations page, backups, migrations and the other ops
    /// jobs (`stacks/operations.yaml`).
    Operations,
}

impl Area {
    /// Whether the area's functions read places (PostGIS values: addresses, locations,
    /// distances), so their cold start loads PostGIS into its first database connection
    /// rather than their first request. Identity and operations do not, nor does the
    /// authorizer; a job of theirs that does (a backup reading every table) loads it
    /// when it gets there.
    pub const fn reads_places(self) -> bool {
        matches!(self, Area::Orders | Area::Drivers)
    }
}

mod iam;
mod trigger;

pub use iam::{Cfn, Policy, Statement, API_POLICIES};
pub use trigger::Trigger;

/// A count CloudWatch Logs extracts from the function's log lines (a metric filter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogMetric {
    /// The filter's resource name.
    pub logical_id: &'static str,
    /// The metric, in the stage's namespace.
    pub metric: &'static str,
    /// The log lines it counts (a CloudWatch Logs filter pattern).
    pub pattern: &'static str,
}

/// The p99 duration of the live alias that rolls a deployment back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LatencyBound {
    /// The API functions' bound (`RollbackLatencyP99Ms`).
    Api,
    /// Four fifths of the function's timeout: a job this slow is about to fail.
    NearTimeout,
}

/// One function's deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deploy {
    pub area: Area,
    /// What it does, in a line; the function's description starts with its routes.
    pub summary: &'static str,
    pub routes: &'static [Route],
    /// The policies its kind starts with ([`API_POLICIES`] for an API function).
    pub base_policies: &'static [Policy],
    /// Its own, after the base ones.
    pub policies: &'static [Policy],
    /// Seconds; the stacks' default (15) when unset.
    pub timeout: Option<u32>,
    /// MB; the stacks' default (256) when unset.
    pub memory: Option<u32>,
    /// Asynchronous invocations Lambda retries (`EventInvokeConfig`); Lambda's default
    /// (two) when unset.
    pub retries: Option<u32>,
    /// Variables beyond the stacks' common environment.
    pub environment: &'static [(&'static str, Cfn)],
    pub triggers: &'static [Trigger],
    /// A fixed function name, for functions others invoke by name.
    pub name: Option<Cfn>,
    pub reserved_concurrency: Option<u32>,
    /// The area stack outputs the live alias with this description (for the pipeline).
    pub output: Option<&'static str>,
    pub log_metrics: &'static [LogMetric],
    pub latency: LatencyBound,
}

impl Deploy {
    const fn new(area: Area, summary: &'static str, latency: LatencyBound) -> Self {
        Self {
            area,
            summary,
            routes: &[],
            base_policies: &[],
            policies: &[],
            timeout: None,
            memory: None,
            retries: None,
            environment: &[],
            triggers: &[],
            name: None,
            reserved_concurrency: None,
            output: None,
            log_metrics: &[],
            latency,
        }
    }

    /// A function behind API routes.
    pub const fn api(area: Area, summary: &'static str, routes: &'static [Route]) -> Self {
        let mut deploy = Self::new(area, summary, LatencyBound::Api);
        deploy.routes = routes;
        deploy.base_policies = API_POLICIES;
        deploy
    }

    /// An ops job: scheduled, notified or invoked by hand.
    pub const fn job(area: Area, summary: &'static str) -> Self {
        Self::new(area, summary, LatencyBound::NearTimeout)
    }

    /// The session authorizer: a job by its event, held to the API functions' latency
    /// bound because it runs before every authorized request.
    pub const fn authorizer(summary: &'static str) -> Self {
        Self::new(Area::Parent, summary, LatencyBound::Api)
    }

    /// Policies beyond the base ones of its kind.
    pub const fn policies(mut self, policies: &'static [Policy]) -> Self {
        self.policies = policies;
        self
    }

    /// Exactly these policies, without the base ones of its kind.
    pub const fn only_policies(mut self, policies: &'static [Policy]) -> Self {
        self.base_policies = &[];
        self.policies = policies;
        self
    }

    pub const fn timeout(mut self, seconds: u32) -> Self {
        self.timeout = Some(seconds);
        self
    }

    pub const fn memory(mut self, mb: u32) -> Self {
        self.memory = Some(mb);
        self
    }

    /// A failed asynchronous run is not retried (the next scheduled run is the retry, or
    /// an operator decides).
    pub const fn no_retries(mut self) -> Self {
        self.retries = Some(0);
        self
    }

    pub const fn environment(mut self, variables: &'static [(&'static str, Cfn)]) -> Self {
        self.environment = variables;
        self
    }

    pub const fn triggers(mut self, triggers: &'static [Trigger]) -> Self {
        self.triggers = triggers;
        self
    }

    pub const fn named(mut self, name: Cfn) -> Self {
        self.name = Some(name);
        self
    }

    pub const fn reserved_concurrency(mut self, limit: u32) -> Self {
        self.reserved_concurrency = Some(limit);
        self
    }

    pub const fn output(mut self, description: &'static str) -> Self {
        self.output = Some(description);
        self
    }

    pub const fn log_metrics(mut self, metrics: &'static [LogMetric]) -> Self {
        self.log_metrics = metrics;
        self
    }

    /// Every policy, the base ones first.
    pub fn all_policies(&self) -> impl Iterator<Item = &Policy> {
        self.base_policies.iter().chain(self.policies)
    }
}
