//! Whole-API tests, one module per area. One test binary, so the suite links once.

mod gateway;
mod health;
mod structure;
