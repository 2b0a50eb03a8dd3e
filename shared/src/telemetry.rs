//! Structured logs: one JSON object per line, which CloudWatch Logs Insights can query.

use tracing_subscriber::{fmt, EnvFilter};

/// Installs the JSON log subscriber. The level comes from `RUST_LOG` (default `info`).
/// Calling it again is harmless, so tests and the local gateway may call it freely.
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _already_installed = fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init();
}
