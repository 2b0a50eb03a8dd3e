//! Whole-API tests, one module per area. One test binary, so the suite links once.

mod auth;
mod gateway;
mod health;
mod orders;
mod ratelimit;
mod rbac;
mod security;
mod structure;
