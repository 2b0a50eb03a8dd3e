//! The local stack: everything needed to run the API on one machine.
//!
//! - [`template`] reads `template.yaml` and its area stacks (`stacks/`), the route table of
//!   the deployed API.
//! - [`router`] selects routes the way API Gateway does.
//! - [`event`] builds the API Gateway v2 event of a request.
//! - [`gateway`] serves the routes on 127.0.0.1, calling the function handlers in-process
//!   with the same API Gateway v2 events Lambda would receive.
//! - [`lambda_invoke`] serves Lambda's Invoke API for the jobs functions invoke (the
//!   outbox relay, woken after a committed status change).
//! - [`metrics`] does what CloudWatch Logs does with the functions' metric lines.
//! - [`provision`] creates the template's DynamoDB table and buckets in the AWS emulator.
//! - [`seed`] loads demo data for local runs.
//! - [`schedule`] runs the scheduled ops jobs in the background (the outbox relay, the
//!   alert evaluator), as EventBridge does in AWS.
//!
//! The PostgreSQL and emulator processes themselves are started by `infra/local/stack.sh`.

// The gateway awaits whole request paths (authorizer, rate limit, handler, each inside
// its tracing span): a release build's layout queries over those nested futures pass
// the default depth of 128.
#![recursion_limit = "256"]

pub mod event;
pub mod gateway;
pub mod lambda_invoke;
pub mod metrics;
pub mod provision;
pub mod queue;
pub mod router;
pub mod schedule;
pub mod seed;
pub mod template;

pub use gateway::Gateway;
