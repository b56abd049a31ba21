//! Traces: the server's `tracing` spans exported over OTLP/HTTP (protobuf) to a collector
//! (`OTEL_EXPORTER_OTLP_ENDPOINT`), when one is configured.
//!
//! Spans are queued when they end and sent in batches by the SDK's export thread, never on
//! the request's path: a full queue drops spans, an unreachable collector costs one warning.
//! The SDK's thread has no async runtime, so each export is sent by hyper (the server's
//! own HTTP stack) on the server's runtime, and the thread waits for it.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use anyhow::Context;
use async_trait::async_trait;
use opentelemetry::{
    propagation::TextMapPropagator,
    trace::{TraceContextExt, TracerProvider as _},
};
use opentelemetry_http::{
    Bytes, HeaderExtractor, HttpClient, HttpError, Request, Response, hyper::HyperClient,
};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    propagation::TraceContextPropagator,
    trace::{BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider, SpanData},
};
use poem::http::HeaderMap;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{EnvFilter, Layer, registry::LookupSpan};

use crate::config::{TraceSampler, TraceSettings};

/// Longest one export may take, retries included.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// Spans waiting to be sent; past this, new ones are dropped (a collector that is down
/// must not grow the server's memory).
const MAX_QUEUED_SPANS: usize = 4096;

/// Whether spans are exported: set once, when the layer is made.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether this process exports traces: the request middleware does the W3C and naming
/// work only then.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// The tracer provider and the layer that hands it the server's spans (its own crate's:
/// the request and its pool waits, statements and hashes), for `settings`'s collector.
pub fn layer<S>(
    settings: &TraceSettings,
    endpoint: &str,
) -> anyhow::Result<(SdkTracerProvider, impl Layer<S> + Send + Sync + 'static)>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span> + Send + Sync,
{
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(OnRuntime {
            runtime: tokio::runtime::Handle::current(),
            client: HyperClient::with_default_connector(EXPORT_TIMEOUT, None),
        })
        .with_protocol(Protocol::HttpBinary)
        // An endpoint given in code is used as it is: the signal's path is ours to add.
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .context("the OTLP exporter")?;
    let batches = BatchConfigBuilder::default()
        .with_max_queue_size(MAX_QUEUED_SPANS)
        .with_max_export_batch_size(512)
        .with_scheduled_delay(Duration::from_secs(1))
        .build();
    let processor = BatchSpanProcessor::builder(WarnOnOutage {
        exporter,
        failing: AtomicBool::new(false),
    })
    .with_batch_config(batches)
    .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_sampler(sampler(settings))
        // Only the service name: no resource attributes read from elsewhere.
        .with_resource(
            Resource::builder_empty()
                .with_service_name(settings.service_name.clone())
                .build(),
        )
        .build();
    let layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("taskapi"))
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_tracked_inactivity(false)
        // Children find their parent through `tracing`'s current span; entering a span
        // (every poll of a request's future) then costs the layer nothing.
        .with_context_activation(false)
        .with_filter(EnvFilter::new("taskapi_server=debug"));
    EXPORTING.store(true, Ordering::Relaxed);
    Ok((provider, layer))
}

fn sampler(settings: &TraceSettings) -> Sampler {
    let ratio = || Sampler::TraceIdRatioBased(settings.traces_sampler_arg);
    match settings.traces_sampler {
        TraceSampler::AlwaysOn => Sampler::AlwaysOn,
        TraceSampler::AlwaysOff => Sampler::AlwaysOff,
        TraceSampler::Traceidratio => ratio(),
        TraceSampler::ParentbasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        TraceSampler::ParentbasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        TraceSampler::ParentbasedTraceidratio => Sampler::ParentBased(Box::new(ratio())),
    }
}

/// The trace a request's span belongs to.
pub struct Trace {
    /// Its id, in every log line of the request whether or not the trace is kept.
    pub id: String,
    /// Whether the sampler keeps it: only then is the span exported.
    pub sampled: bool,
}

/// Makes `span` (a request's, not yet entered) the child of the W3C `traceparent` in
/// `headers` (with its `tracestate`), if there is one; the trace it belongs to.
pub fn continue_trace(span: &tracing::Span, headers: &HeaderMap) -> Option<Trace> {
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    // Fails only for a span the layer does not see (none when exporting).
    let _ = span.set_parent(parent);
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context.is_valid().then(|| Trace {
        id: span_context.trace_id().to_string(),
        sampled: span_context.is_sampled(),
    })
}

/// Names a request's span once its route is known (`GET /tasks/{task_id}`), as
/// OpenTelemetry's HTTP conventions name server spans.
pub fn name_request(span: &tracing::Span, method: &str, route: &'static str) {
    span.context()
        .span()
        .update_name(format!("{method} {route}"));
    span.set_attribute("http.route", route);
}

/// Sends an export on the server's runtime: the SDK's export thread has none, and hyper
/// needs one.
#[derive(Debug)]
struct OnRuntime {
    runtime: tokio::runtime::Handle,
    client: HyperClient,
}

#[async_trait]
impl HttpClient for OnRuntime {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        self.runtime
            .spawn(async move { client.send_bytes(request).await })
            .await?
    }
}

/// Logs one warning when exports start failing and one line when they work again,
/// instead of an error a batch.
#[derive(Debug)]
struct WarnOnOutage<E> {
    exporter: E,
    failing: AtomicBool,
}

impl<E: opentelemetry_sdk::trace::SpanExporter> opentelemetry_sdk::trace::SpanExporter
    for WarnOnOutage<E>
{
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        match self.exporter.export(batch).await {
            Ok(()) if self.failing.swap(false, Ordering::Relaxed) => {
                tracing::info!("trace export works again");
            }
            Ok(()) => {}
            Err(error) if !self.failing.swap(true, Ordering::Relaxed) => {
                tracing::warn!(%error, spans, "trace export failed; spans are dropped until it works");
            }
            Err(_) => {}
        }
        Ok(())
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.exporter.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.exporter.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.exporter.set_resource(resource);
    }
}
