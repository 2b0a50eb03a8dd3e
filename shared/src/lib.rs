//! The common crate of every Ready Set function.
//!
//! A function's `main` is one call to [`runtime::run_http`] or [`runtime::run_event`] with
//! its handler; everything else a handler relies on lives here, once:
//!
//! - [`config`]: typed configuration from the environment, with errors naming the variable.
//! - [`state`]: [`AppState`], built once per container: config, database pool, AWS clients.
//! - [`runtime`]: the Lambda entry points and the in-process request path they share with
//!   the local gateway (request id, panic → 500, error rendering, headers, access log).
//! - [`error`]: [`ApiError`], the one error type, rendered as a stable JSON body.
//! - [`http`]: response builders and the security headers added to every response.
//! - [`input`]: strict parsing of ids, text, JSON bodies and pagination.
//! - [`db`]: the PostgreSQL pool (RDS Proxy friendly), typed parameters, migrations.
//! - [`aws`]: SDK configuration with the local-emulator endpoint override.
//! - [`secrets`]: Secrets Manager reads.
//! - [`auth`]: passwords, access tokens, sessions, RBAC, CSRF.
//! - [`ratelimit`]: per-identity budgets in DynamoDB, applied by the runtime per function.
//! - [`cors`]: the browser origin allow-list.
//! - [`users`]: account rows and the lookups several functions share.
//! - [`orders`]: the order model, the status machine and the one status-change function.
//! - [`pricing`]: the delivery-fee engine over versioned configurations.
//! - [`geo`]: geocoding and distances (offline ZIP centroids, or Google).
//! - [`addresses`]: address validation, geocoding and storage.
//! - [`partners`]: partner API authentication.
//! - [`idempotency`]: Idempotency-Key handling for creates.
//! - [`outbox`]: side effects of status changes, delivered after commit (webhooks).
//! - [`telemetry`]: JSON log lines.

pub mod addresses;
pub mod auth;
pub mod aws;
pub mod config;
pub mod cors;
pub mod db;
pub mod error;
pub mod geo;
pub mod http;
pub mod idempotency;
pub mod input;
pub mod orders;
pub mod outbox;
pub mod partners;
pub mod pricing;
pub mod ratelimit;
pub mod runtime;
pub mod secrets;
pub mod state;
pub mod telemetry;
pub mod users;

pub use error::{ApiError, ApiResult};
pub use state::AppState;
