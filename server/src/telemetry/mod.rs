//! What the server tells its operators: structured `tracing` events to stderr, filtered by
//! `RUST_LOG`; traces exported over OTLP when a collector is configured (`traces.rs`); and
//! metrics for Prometheus (`metrics.rs`).
//!
//! Events are formatted on the thread that makes them and written by a thread of their
//! own, in batches: a request costs no `write` system call of its own. When that thread
//! falls behind, callers wait for it rather than lose lines.

pub mod metrics;
pub mod traces;

use std::io::IsTerminal;

use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::{EnvFilter, Layer, fmt, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::{LogFormat, TraceSettings};

/// Keeps the writer thread and the trace exporter; [`Logging::close`] sends what is left.
#[must_use = "dropping the guard stops the log writer"]
pub struct Logging {
    _writer: WorkerGuard,
    traces: Option<SdkTracerProvider>,
}

impl Logging {
    /// Exports the spans still queued (the exporter sends on this runtime, so before it
    /// stops), then stops the exporter; the log writer stops when this is dropped.
    pub async fn close(mut self) {
        if let Some(provider) = self.traces.take() {
            let closed = tokio::task::spawn_blocking(move || provider.shutdown()).await;
            if let Ok(Err(error)) = closed {
                tracing::warn!(%error, "the trace exporter did not shut down cleanly");
            }
        }
    }
}

/// Installs the global subscriber, with traces exported when `traces` names a collector;
/// later calls (as in tests) leave the first in place. Runs on the runtime that will send
/// the traces.
pub fn init(format: LogFormat, traces: Option<&TraceSettings>) -> anyhow::Result<Logging> {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,poem=warn"));
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("taskapi-log")
        .finish(std::io::BufWriter::new(std::io::stderr()));
    // Colour only for a person at a terminal; files and collectors get plain text.
    let logs = match format {
        LogFormat::Pretty => fmt::layer()
            .with_writer(writer)
            .with_ansi(std::io::stderr().is_terminal())
            .boxed(),
        LogFormat::Json => fmt::layer().json().with_writer(writer).boxed(),
    };
    let (provider, exported) = match traces.and_then(|traces| Some((traces, traces.endpoint()?))) {
        Some((settings, endpoint)) => {
            let (provider, layer) = traces::layer(settings, endpoint)?;
            (Some(provider), Some(layer))
        }
        None => (None, None),
    };
    let _already_installed = tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(exported)
        .try_init();
    Ok(Logging {
        _writer: guard,
        traces: provider,
    })
}
