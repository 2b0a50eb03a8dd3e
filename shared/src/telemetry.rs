//! Structured logs: one JSON object per line, which CloudWatch Logs Insights can query.
//!
//! Every line written while a request or job runs carries its span (`"span":
//! {"request_id", "route", "user_id" | "job"}`), which the runtime opens around it.

use tracing_subscriber::{fmt::MakeWriter, EnvFilter};

/// Installs the JSON log subscriber writing to standard output. The level comes from
/// `RUST_LOG` (default `info`). Calling it again is harmless, so tests and the local
/// gateway may call it freely.
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _already_installed =
        tracing::subscriber::set_global_default(json_subscriber(std::io::stdout, filter));
}

/// The subscriber every function logs through, writing lines to `writer` (tests read
/// them back).
pub fn json_subscriber<W>(writer: W, filter: EnvFilter) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_env_filter(filter)
        .with_writer(writer)
        .finish()
}
