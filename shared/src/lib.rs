//! The common crate of every Ready Set function.
//!
//! A function's handler runs through [`runtime`]; everything else a handler relies on
//! lives here, once. Lower layers first:
//!
//! - [`error`]: [`ApiError`], the one error type, rendered as a stable JSON body.
//! - [`config`]: typed configuration from the environment, with errors naming the variable.
//! - [`money`]: cents and hundredths of a mile; [`input`]: strict parsing of ids, text,
//!   JSON bodies and pagination, and the [`input::Validator`] every check reports to.
//! - [`db`]: the PostgreSQL pool (RDS Proxy friendly), typed parameters, rows read
//!   through `#[derive(FromRow)]`, migrations; [`sql_type`]: each value's PostgreSQL
//!   type; [`dynamo`]: DynamoDB items as typed values.
//! - [`tls`]: the TLS client configuration; [`breaker`]: the circuit breaker that stops
//!   paying a hung dependency's deadline on every call; [`aws`]: SDK configuration with
//!   deadlines, the DynamoDB breaker and the local-emulator endpoint override;
//!   [`secrets`]: Secrets Manager reads.
//! - [`state`]: [`AppState`], built once per container: config, database pool, AWS clients.
//! - [`http`]: response builders and the security headers added to every response;
//!   [`export`]: CSV downloads;
//!   [`cors`]: the browser origin allow-list.
//! - [`identity`]: who a request comes from, derived once per request.
//! - [`auth`]: passwords, access tokens, sessions, RBAC, CSRF; [`sign_in`]: login,
//!   refresh and the authorizer's decision; [`provisional`]: the authorizer's approval
//!   while a store is down, completed by the runtime.
//! - [`ratelimit`]: per-identity budgets in DynamoDB; [`idempotency`]: Idempotency-Key
//!   handling for creates.
//! - [`users`]: accounts and what staff do with them; [`uploads`]: files, who may see
//!   them, proof of delivery.
//! - [`geo`]: geocoding and distances (offline ZIP centroids, or Google);
//!   [`addresses`]: address validation, geocoding, storage and address books.
//! - [`pricing`]: the delivery-fee engine over versioned configurations; [`pay`]: what a
//!   completed delivery pays its driver.
//! - [`orders`]: the order rules, the status machine and the one status-change function;
//!   [`audit`]: staff changes to orders and pricing, recorded with the change;
//!   [`dashboard`]: the staff and vendor figures, cached, with ETags.
//! - [`drivers`]: driver records, shifts, tracks, dispatch, progress and tracking links.
//! - [`routing`]: route planning, pickup-and-delivery with time windows on `vrp-core`;
//!   [`planning`]: dispatch plans of the days' orders for the drivers available.
//! - [`outbox`]: side effects of status changes, delivered after commit (webhooks).
//! - [`partners`]: partner API authentication and the partner order contract.
//! - [`health`]: the state of every dependency; [`monitoring`]: the error store, alert
//!   rules and alerts; [`metrics`]: CloudWatch Embedded Metric Format lines;
//!   [`analytics`]: the error, performance, slow-query and outbox view over all three;
//!   [`ops`]: the operations page that shows them.
//! - [`backup`]: encrypted backups of the database and the uploaded files, their
//!   retention, the restore and its monthly verification.
//! - [`runtime`]: the Lambda entry point and the in-process request path it shares with
//!   the local gateway (request span, limits, deadline, panic → 500, error rendering,
//!   headers, access log); [`telemetry`]: JSON log lines.

// Layout queries over nested futures (an address added to a book awaits the geocoder
// and the database, each inside its tracing span) pass the default depth of 128 when
// type-checking alone (`cargo check`, clippy).
#![recursion_limit = "256"]

pub mod addresses;
pub mod analytics;
pub mod audit;
pub mod auth;
pub mod autodispatch;
pub mod aws;
pub mod backup;
pub mod breaker;
pub mod config;
pub mod cors;
pub mod dashboard;
// The derives of `shared-derive` name this crate `::shared`, inside it too.
extern crate self as shared;

pub mod db;
pub mod drivers;
pub mod dynamo;
pub mod error;
pub mod export;
pub mod geo;
pub mod health;
pub mod http;
pub mod idempotency;
pub mod identity;
pub mod input;
pub mod metrics;
pub mod money;
pub mod monitoring;
pub mod on_time;
pub mod ops;
pub mod orders;
pub mod outbox;
pub mod pacific;
pub mod partners;
pub mod pay;
pub mod planning;
pub mod pricing;
pub mod provisional;
pub mod ratelimit;
pub mod routes;
pub mod routing;
pub mod runtime;
pub mod secrets;
pub mod series;
pub mod sign_in;
pub mod sns;
pub mod sql_type;
pub mod state;
pub mod telemetry;
mod text_enum;
pub mod tls;
pub mod uploads;
pub mod users;

pub use error::{ApiError, ApiResult};
pub use state::AppState;
