//! Metrics: what the server counts and times, in the Prometheus text format on a listener
//! of their own (`TASKAPI_METRICS_BIND`), never on the API's port.
//!
//! Names and labels follow OpenTelemetry's semantic conventions as Prometheus renders them
//! (`http.server.request.duration` → `http_server_request_duration_seconds`). Every metric
//! is named here, once, and recorded through the functions below. A label's value is one
//! of a few known words (a route template, a status code, an outcome), never an id, an
//! email, a token or a raw path. With no listener configured no recorder is installed,
//! and recording is a call that does nothing.

use std::{
    sync::{Arc, LazyLock, OnceLock},
    time::Duration,
};

use ::metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use anyhow::Context;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use poem::{
    EndpointExt, Route, Server, get, handler, http::Method, listener::TcpAcceptor, web::Data,
};
use strum::IntoEnumIterator;
use tokio::net::TcpListener;

const REQUEST_DURATION: &str = "http_server_request_duration_seconds";
const ACTIVE_REQUESTS: &str = "http_server_active_requests";
const CONNECTIONS_OPEN: &str = "taskapi_http_connections_open";
const CONNECTIONS_REFUSED: &str = "taskapi_http_connections_refused_total";
const CONNECTIONS_EVICTED: &str = "taskapi_http_connections_evicted_total";
const TIMEOUTS: &str = "taskapi_http_timeouts_total";
const HTTP2_STREAMS_REFUSED: &str = "taskapi_http2_streams_refused_total";
const POOL_CONNECTIONS: &str = "db_client_connections_usage";
const POOL_MAX: &str = "db_client_connections_max";
const POOL_WAIT: &str = "db_client_connections_wait_time_seconds";
const POOL_TIMEOUTS: &str = "db_client_connections_timeouts_total";
const OPERATION_DURATION: &str = "db_client_operation_duration_seconds";
const ROLLBACKS: &str = "taskapi_db_rollbacks_total";
const LISTENER_CONNECTED: &str = "taskapi_revocation_listener_connected";
const LISTENER_RECONNECTS: &str = "taskapi_revocation_listener_reconnects_total";
const NOTIFICATION_LAG: &str = "taskapi_revocation_notification_lag_seconds";
const EVENT_STREAMS: &str = "taskapi_event_streams";
const LOGINS: &str = "taskapi_logins_total";
const RATE_LIMITED: &str = "taskapi_rate_limited_total";
const TOKENS_REFUSED: &str = "taskapi_tokens_refused_total";
const REFRESH_TOKEN_REUSE: &str = "taskapi_refresh_token_reuse_total";
const HASH_WAIT: &str = "taskapi_password_hash_wait_seconds";
const HASHES_IN_FLIGHT: &str = "taskapi_password_hashes_in_flight";
const TASKS_CREATED: &str = "taskapi_tasks_created_total";
const TASKS_CHANGED: &str = "taskapi_tasks_changed_total";
const TASKS_DELETED: &str = "taskapi_tasks_deleted_total";
const IDEMPOTENT_REPLAYS: &str = "taskapi_idempotent_replays_total";
const BUILD_INFO: &str = "taskapi_build_info";

/// Buckets of the request and statement durations, in seconds: from a cached read (a
/// millisecond) to the longest a statement may run by default (5 s) and beyond.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Buckets of the waits (a pool connection, a hashing slot, a revocation's notification),
/// in seconds: near zero when all is well, up to the acquire timeout (5 s by default).
const WAIT_BUCKETS: &[f64] = &[
    0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The recorder every metric of the process goes to; installed once, by the first server
/// that serves metrics (tests run several servers in one process).
static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the recorder (once a process): from now on, what the server records is kept.
/// Every series whose labels are known in advance starts at zero, so that an alert's
/// `rate()` sees its first increase and a dashboard shows 0, not "no data".
pub fn install() -> anyhow::Result<PrometheusHandle> {
    if let Some(handle) = RECORDER.get() {
        return Ok(handle.clone());
    }
    let mut builder = PrometheusBuilder::new();
    for (name, buckets) in [
        (REQUEST_DURATION, DURATION_BUCKETS),
        (OPERATION_DURATION, DURATION_BUCKETS),
        (POOL_WAIT, WAIT_BUCKETS),
        (HASH_WAIT, WAIT_BUCKETS),
        (NOTIFICATION_LAG, WAIT_BUCKETS),
    ] {
        builder = builder.set_buckets_for_metric(Matcher::Full(name.to_owned()), buckets)?;
    }
    let handle = RECORDER.get_or_init(|| {
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Only this function installs a recorder, and only once (the lock above).
        if ::metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder was installed first");
        }
        describe();
        start_at_zero();
        metrics_process::Collector::default().describe();
        gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION"), "commit" => env!("TASKAPI_COMMIT"))
            .set(1.0);
        handle
    });
    Ok(handle.clone())
}

/// Every series whose label values are all known, at zero.
fn start_at_zero() {
    for cap in Cap::iter() {
        counter!(CONNECTIONS_REFUSED, "cap" => <&str>::from(cap)).absolute(0);
        counter!(CONNECTIONS_EVICTED, "cap" => <&str>::from(cap)).absolute(0);
    }
    for phase in Phase::iter() {
        counter!(TIMEOUTS, "phase" => <&str>::from(phase)).absolute(0);
    }
    for grant in GRANTS {
        for outcome in LoginOutcome::iter() {
            counter!(LOGINS, "grant" => grant, "outcome" => <&str>::from(outcome)).absolute(0);
        }
    }
    for reason in TokenRefusal::iter() {
        counter!(TOKENS_REFUSED, "reason" => <&str>::from(reason)).absolute(0);
    }
    for name in [
        HTTP2_STREAMS_REFUSED,
        POOL_TIMEOUTS,
        ROLLBACKS,
        LISTENER_RECONNECTS,
        REFRESH_TOKEN_REUSE,
        TASKS_CREATED,
        TASKS_CHANGED,
        TASKS_DELETED,
        IDEMPOTENT_REPLAYS,
    ] {
        counter!(name).absolute(0);
    }
    for name in [ACTIVE_REQUESTS, CONNECTIONS_OPEN, HASHES_IN_FLIGHT] {
        gauge!(name).increment(0.0);
    }
}

/// How a metric is kept: histograms are of seconds, the others of counts.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Every metric of the server, with its help text (its `# HELP` line).
const METRICS: &[(&str, Kind, &str)] = &[
    (
        REQUEST_DURATION,
        Kind::Histogram,
        "Duration of HTTP requests, by method, route template and status code.",
    ),
    (ACTIVE_REQUESTS, Kind::Gauge, "HTTP requests being handled."),
    (CONNECTIONS_OPEN, Kind::Gauge, "Client connections open."),
    (
        CONNECTIONS_REFUSED,
        Kind::Counter,
        "Connections refused at a cap (total or per address) with no idle connection to close.",
    ),
    (
        CONNECTIONS_EVICTED,
        Kind::Counter,
        "Idle connections closed to admit a new one at a cap.",
    ),
    (
        TIMEOUTS,
        Kind::Counter,
        "Requests whose head or body did not arrive in time.",
    ),
    (
        HTTP2_STREAMS_REFUSED,
        Kind::Counter,
        "HTTP/2 streams refused over the concurrent-stream cap.",
    ),
    (
        POOL_CONNECTIONS,
        Kind::Gauge,
        "Database connections of the request pool, idle or used.",
    ),
    (
        POOL_MAX,
        Kind::Gauge,
        "Most database connections the request pool opens.",
    ),
    (
        POOL_WAIT,
        Kind::Histogram,
        "Time to obtain a database connection (and begin its transaction).",
    ),
    (
        POOL_TIMEOUTS,
        Kind::Counter,
        "Requests that waited the acquire timeout for a connection in vain.",
    ),
    (
        OPERATION_DURATION,
        Kind::Histogram,
        "Duration of store operations (their statements), by operation.",
    ),
    (
        ROLLBACKS,
        Kind::Counter,
        "Transactions rolled back: a failed or conflicting write, a timeout, or a request refused after its transaction began.",
    ),
    (
        LISTENER_CONNECTED,
        Kind::Gauge,
        "1 while the revocation listener is connected, else 0.",
    ),
    (
        EVENT_STREAMS,
        Kind::Gauge,
        "Event streams (GET /events) open on this server.",
    ),
    (
        LISTENER_RECONNECTS,
        Kind::Counter,
        "Times the revocation listener reconnected after losing its connection.",
    ),
    (
        NOTIFICATION_LAG,
        Kind::Histogram,
        "From a revocation's commit to this instance hearing of it.",
    ),
    (
        LOGINS,
        Kind::Counter,
        "Token requests, by grant and outcome.",
    ),
    (
        RATE_LIMITED,
        Kind::Counter,
        "Requests refused with 429, by limit.",
    ),
    (
        TOKENS_REFUSED,
        Kind::Counter,
        "Access tokens refused, by reason.",
    ),
    (
        REFRESH_TOKEN_REUSE,
        Kind::Counter,
        "Refresh tokens presented a second time (their session is ended).",
    ),
    (
        HASH_WAIT,
        Kind::Histogram,
        "Time a password hash waited for a hashing slot.",
    ),
    (
        HASHES_IN_FLIGHT,
        Kind::Gauge,
        "Password hashes being computed.",
    ),
    (TASKS_CREATED, Kind::Counter, "Tasks created."),
    (TASKS_CHANGED, Kind::Counter, "Tasks replaced or patched."),
    (TASKS_DELETED, Kind::Counter, "Tasks deleted."),
    (
        IDEMPOTENT_REPLAYS,
        Kind::Counter,
        "Creations answered from an idempotency key's stored response.",
    ),
    (
        BUILD_INFO,
        Kind::Gauge,
        "Always 1; the labels name the build.",
    ),
];

/// Describes every metric of [`METRICS`].
fn describe() {
    for &(name, kind, help) in METRICS {
        match kind {
            Kind::Counter => describe_counter!(name, Unit::Count, help),
            Kind::Gauge => describe_gauge!(name, Unit::Count, help),
            Kind::Histogram => describe_histogram!(name, Unit::Seconds, help),
        }
    }
}

/// Serves `/metrics` on `listener` until `shutdown` completes; every other path is 404.
/// `at_scrape` sets the gauges read on demand (the request pool's) before each scrape.
pub async fn serve(
    listener: TcpListener,
    handle: PrometheusHandle,
    at_scrape: impl Fn() + Send + Sync + 'static,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let _upkeep = AbortOnDrop(tokio::spawn(keep_up(handle.clone())));
    let acceptor = TcpAcceptor::from_tokio(listener).context("the metrics listener")?;
    let app = Route::new().at("/metrics", get(scrape)).data(Scraped {
        handle,
        process: Arc::new(metrics_process::Collector::default()),
        at_scrape: Arc::new(at_scrape),
    });
    Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(app, shutdown, Some(Duration::from_secs(1)))
        .await?;
    Ok(())
}

/// Ends a task when dropped: the upkeep stops with the listener, however that ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Clone)]
struct Scraped {
    handle: PrometheusHandle,
    process: Arc<metrics_process::Collector>,
    at_scrape: Arc<dyn Fn() + Send + Sync>,
}

#[handler]
fn scrape(scraped: Data<&Scraped>) -> poem::Response {
    scraped.process.collect();
    (scraped.at_scrape)();
    poem::Response::builder()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(scraped.handle.render())
}

/// Histogram samples wait in a queue until drained; a scrape drains them, and so does
/// this, so that memory stays bounded when nothing scrapes.
async fn keep_up(handle: PrometheusHandle) {
    let mut ticks = tokio::time::interval(Duration::from_secs(5));
    loop {
        ticks.tick().await;
        handle.run_upkeep();
    }
}

/// A request's method as OpenTelemetry names it: one of the standard methods, else
/// `_OTHER` (a client may send any token as a method).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "_OTHER",
    }
}

/// Every status code's text, made once: a label is a `'static` string, not one formatted
/// per request.
static STATUS_LABELS: LazyLock<Vec<String>> =
    LazyLock::new(|| (0..1000).map(|code| code.to_string()).collect());

fn status_label(status: u16) -> &'static str {
    STATUS_LABELS
        .get(usize::from(status))
        .map_or("_OTHER", String::as_str)
}

/// The route label of requests no route matched: every unknown path shares it.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// A request was answered: `route` is its template (`/tasks/{task_id}`) or
/// [`UNMATCHED_ROUTE`].
pub fn request_finished(method: &Method, route: &'static str, status: u16, elapsed: Duration) {
    histogram!(
        REQUEST_DURATION,
        "http_request_method" => method_label(method),
        "http_route" => route,
        "http_response_status_code" => status_label(status),
    )
    .record(elapsed);
}

/// One in a gauge of things in flight (requests being handled, hashes being computed)
/// while it lives: the gauge goes down when it is dropped, however its work ended (an
/// answer, a panic, a client that went away and dropped the request's future).
#[must_use = "the gauge goes down when this is dropped"]
pub struct InFlight(&'static str);

impl InFlight {
    fn begin(gauge: &'static str) -> Self {
        gauge!(gauge).increment(1.0);
        Self(gauge)
    }

    /// A request being handled.
    pub fn request() -> Self {
        Self::begin(ACTIVE_REQUESTS)
    }

    /// A password hash being computed.
    pub fn hash() -> Self {
        Self::begin(HASHES_IN_FLIGHT)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        gauge!(self.0).decrement(1.0);
    }
}

/// A client connection opened (`1.0`) or closed (`-1.0`).
pub fn connections_open(change: f64) {
    gauge!(CONNECTIONS_OPEN).increment(change);
}

/// Which connection cap a connection met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum Cap {
    Total,
    PerAddress,
}

pub fn connection_refused(cap: Cap) {
    counter!(CONNECTIONS_REFUSED, "cap" => <&str>::from(cap)).increment(1);
}

pub fn connection_evicted(cap: Cap) {
    counter!(CONNECTIONS_EVICTED, "cap" => <&str>::from(cap)).increment(1);
}

/// Which part of a request did not arrive in time.
#[derive(Debug, Clone, Copy, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum Phase {
    Header,
    Body,
}

pub fn timed_out(phase: Phase) {
    counter!(TIMEOUTS, "phase" => <&str>::from(phase)).increment(1);
}

pub fn http2_streams_refused(streams: u64) {
    counter!(HTTP2_STREAMS_REFUSED).increment(streams);
}

/// The request pool as it stands: connections open, of them idle, and its maximum.
pub fn pool(open: u32, idle: usize, max: u32) {
    let idle = u32::try_from(idle).unwrap_or(u32::MAX).min(open);
    gauge!(POOL_CONNECTIONS, "state" => "idle").set(f64::from(idle));
    gauge!(POOL_CONNECTIONS, "state" => "used").set(f64::from(open - idle));
    gauge!(POOL_MAX).set(f64::from(max));
}

pub fn pool_waited(elapsed: Duration) {
    histogram!(POOL_WAIT).record(elapsed);
}

pub fn pool_timed_out() {
    counter!(POOL_TIMEOUTS).increment(1);
}

/// A store operation (`tasks.insert`) ran its statements in `elapsed`.
pub fn store_operation(operation: &'static str, elapsed: Duration) {
    histogram!(
        OPERATION_DURATION,
        "db_system_name" => "postgresql",
        "db_operation_name" => operation,
    )
    .record(elapsed);
}

pub fn rolled_back() {
    counter!(ROLLBACKS).increment(1);
}

pub fn revocation_listener(connected: bool) {
    gauge!(LISTENER_CONNECTED).set(if connected { 1.0 } else { 0.0 });
}

pub fn event_streams(open: usize) {
    // Counts of streams are far below 2^52: exact as an f64.
    #[allow(clippy::cast_precision_loss)]
    gauge!(EVENT_STREAMS).set(open as f64);
}

pub fn revocation_listener_reconnected() {
    counter!(LISTENER_RECONNECTS).increment(1);
}

pub fn revocation_heard_after(lag: Duration) {
    histogram!(NOTIFICATION_LAG).record(lag);
}

/// How a token request went.
#[derive(Debug, Clone, Copy, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum LoginOutcome {
    Success,
    InvalidCredentials,
    AccountDisabled,
    EmailNotVerified,
    InvalidGrant,
    GrantReused,
    RateLimited,
    Error,
}

/// The grants of the token endpoint, as the OAuth2 form names them.
const GRANTS: [&str; 2] = ["password", "refresh_token"];

/// A token request of `grant` (one of [`GRANTS`]) ended so.
pub fn login(grant: &'static str, outcome: LoginOutcome) {
    counter!(LOGINS, "grant" => grant, "outcome" => <&str>::from(outcome)).increment(1);
}

/// A request was refused with 429 by the limit `policy` (its `RateLimit-Policy` name).
pub fn rate_limited(policy: &'static str) {
    counter!(RATE_LIMITED, "limit" => policy).increment(1);
}

/// The limit `policy` is in force: its 429s start at zero.
pub fn rate_limit_in_force(policy: &'static str) {
    counter!(RATE_LIMITED, "limit" => policy).absolute(0);
}

/// Why an access token was refused.
#[derive(Debug, Clone, Copy, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum TokenRefusal {
    Expired,
    Invalid,
    Revoked,
}

pub fn token_refused(reason: TokenRefusal) {
    counter!(TOKENS_REFUSED, "reason" => <&str>::from(reason)).increment(1);
}

pub fn refresh_token_reused() {
    counter!(REFRESH_TOKEN_REUSE).increment(1);
}

pub fn hash_waited(elapsed: Duration) {
    histogram!(HASH_WAIT).record(elapsed);
}

pub fn task_created() {
    counter!(TASKS_CREATED).increment(1);
}

pub fn task_changed() {
    counter!(TASKS_CHANGED).increment(1);
}

pub fn task_deleted() {
    counter!(TASKS_DELETED).increment(1);
}

pub fn idempotent_replay() {
    counter!(IDEMPOTENT_REPLAYS).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_labels_are_the_codes() {
        assert_eq!(status_label(200), "200");
        assert_eq!(status_label(599), "599");
        assert_eq!(status_label(1000), "_OTHER");
    }

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        let made_up = Method::from_bytes(b"BREW").expect("a method token");
        assert_eq!(method_label(&made_up), "_OTHER");
    }
}
