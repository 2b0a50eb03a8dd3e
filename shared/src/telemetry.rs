//! Structured logs: one JSON object per line, which CloudWatch Logs Insights can query.
//!
//! Every line written while a request or job runs carries its span (`"span":
//! {"request_id", "route", "user_id" | "job"}`), which the runtime opens around it.
//!
//! The slow operations (queries, AWS calls, pricing, the status change) run in spans of
//! their own (`#[tracing::instrument]`). One that takes longer than
//! `SLOW_OPERATION_MS` (default 100) writes a `slow operation` line naming it, its fields
//! and its time, under the request's span: a slow request's log shows where the time
//! went, and a fast one writes nothing more than before.

use std::time::{Duration, Instant};

use tracing::{span, Subscriber};
use tracing_subscriber::{
    fmt::{format::JsonFields, FormattedFields, MakeWriter},
    layer::{Context, SubscriberExt},
    registry::LookupSpan,
    EnvFilter, Layer,
};

/// Operations at least this slow are logged, unless `SLOW_OPERATION_MS` says otherwise.
const DEFAULT_SLOW_OPERATION: Duration = Duration::from_millis(100);

/// Installs the JSON log subscriber writing to standard output. The level comes from
/// `RUST_LOG` (default `info`). Calling it again is harmless, so tests and the local
/// gateway may call it freely.
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let slow = std::env::var("SLOW_OPERATION_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(DEFAULT_SLOW_OPERATION, Duration::from_millis);
    let _already_installed =
        tracing::subscriber::set_global_default(json_subscriber(std::io::stdout, filter, slow));
}

/// The subscriber every function logs through, writing lines to `writer` (tests read
/// them back), and a line for each operation slower than `slow`.
pub fn json_subscriber<W>(
    writer: W,
    filter: EnvFilter,
    slow: Duration,
) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let lines = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_writer(writer);
    tracing_subscriber::registry()
        .with(filter)
        .with(lines)
        .with(SlowOperations { threshold: slow })
}

/// The innermost span around the code running now that carries a request id: the
/// request's or job's own, which the runtime opens (in Lambda, inside the runtime's own
/// invocation span). The JSON lines show only the innermost span, so a line written deep
/// inside others (an SDK hook under a rate-limit check) names this one as its parent
/// (`tracing::warn!(parent: request_span(), ...)`) to carry the request id. `None`
/// outside any request or job, or under another subscriber.
pub fn request_span() -> Option<span::Id> {
    let current = tracing::Span::current().id()?;
    tracing::dispatcher::get_default(|dispatch| {
        let registry = dispatch.downcast_ref::<tracing_subscriber::Registry>()?;
        let found = registry
            .span(&current)?
            .scope()
            .find(|span| span.metadata().fields().field("request_id").is_some())?
            .id();
        Some(found)
    })
}

/// When a span began.
struct Started(Instant);

/// Logs each span (below the request's or job's own) that lasted `threshold` or more.
struct SlowOperations {
    threshold: Duration,
}

impl<S> Layer<S> for SlowOperations
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, _attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Started(Instant::now()));
        }
    }

    fn on_close(&self, id: span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        // The request's and job's own spans: their time is in the access log line.
        if span.parent().is_none() {
            return;
        }
        let extensions = span.extensions();
        let Some(Started(started)) = extensions.get::<Started>() else {
            return;
        };
        let elapsed = started.elapsed();
        if elapsed < self.threshold {
            return;
        }
        let fields = extensions
            .get::<FormattedFields<JsonFields>>()
            .map(|f| f.fields.clone())
            .unwrap_or_default();
        tracing::info!(
            operation = span.metadata().name(),
            fields = %fields,
            elapsed_ms = elapsed.as_secs_f64() * 1000.0,
            "slow operation"
        );
    }
}

/// Log lines kept in memory, for reading back what was logged (tests of log lines, here
/// and in the API tests): a writer for [`json_subscriber`].
#[derive(Clone, Default)]
pub struct LineBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl LineBuffer {
    /// Everything written so far.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::io::Write for LineBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut lines) = self.0.lock() {
            lines.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LineBuffer {
    type Writer = LineBuffer;
    fn make_writer(&'a self) -> LineBuffer {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_operations_past_the_threshold_write_a_line_under_their_request() {
        let lines = LineBuffer::default();
        let subscriber = json_subscriber(
            lines.clone(),
            EnvFilter::new("info"),
            Duration::from_millis(20),
        );
        tracing::subscriber::with_default(subscriber, || {
            let request = tracing::info_span!("request", request_id = "r-1");
            let _entered = request.enter();
            tracing::info_span!("quick_query").in_scope(|| {});
            tracing::info_span!("slow_query", table = "orders")
                .in_scope(|| std::thread::sleep(Duration::from_millis(30)));
        });
        let text = lines.text();
        let slow: Vec<serde_json::Value> = text
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .filter(|line: &serde_json::Value| line["message"] == "slow operation")
            .collect();
        assert_eq!(slow.len(), 1, "{text}");
        assert_eq!(slow[0]["operation"], "slow_query");
        assert!(slow[0]["fields"]
            .as_str()
            .expect("fields")
            .contains("orders"));
        assert!(slow[0]["elapsed_ms"].as_f64().expect("elapsed") >= 30.0);
        assert_eq!(slow[0]["span"]["request_id"], "r-1");
    }
}
