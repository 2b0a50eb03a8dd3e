//! Whole-API tests, one module per area. One test binary, so the suite links once.

mod addresses;
mod alerts;
mod analytics;
mod auth;
mod backups;
mod dispatch;
mod files;
mod gateway;
mod geocoding;
mod health;
mod indexes;
mod load;
mod monitoring;
mod ops_page;
mod orders;
mod partners;
mod pricing;
mod ratelimit;
mod rbac;
mod review_fixes;
mod security;
mod structure;
mod tracking;
mod uploads;
mod wave1_review;
mod webhooks;
