//! Middleware: per-request tracing with a request id, the request-head and -body limits,
//! CORS, the `Allow` header of a 405, and the `Deprecation` and `Sunset` headers of a
//! deprecated operation.

use std::{
    collections::{BTreeMap, BTreeSet},
    str::FromStr,
    sync::{Arc, OnceLock},
    time::{Duration, Instant},
};

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, TimeDelta, Utc};
use poem::{
    Body, Endpoint, IntoResponse, Request, Response, Result,
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
    middleware::Cors,
};
use serde_json::Value;
use taskapi_api::problem::{ApiError, PROBLEM_JSON};
use tokio::io::AsyncReadExt;

use crate::{
    config::CorsOrigin,
    domain::{Needs, Scope},
    service::audit,
    telemetry::{
        metrics::{self, Phase, UNMATCHED_ROUTE},
        traces,
    },
};
use tracing::Instrument;
use uuid::Uuid;

const REQUEST_ID: &str = "x-request-id";

/// Runs the request in a span carrying a request id (the client's `X-Request-Id` when it is
/// short, printable ASCII, else a fresh UUID), echoes the id back, logs the outcome and
/// records it in the metrics, by the contract's route template its path matches. When traces are
/// exported, the span continues the client's W3C trace (`traceparent`), carries its trace
/// id into every log line of the request, and a 5xx problem document says it too.
pub async fn trace_request<E: Endpoint>(
    endpoint: E,
    mut request: Request,
    routes: &'static Routes,
) -> Result<Response> {
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            let fits = id.len() <= audit::MAX_REQUEST_ID_CHARS;
            !id.is_empty() && fits && id.bytes().all(|b| b.is_ascii_graphic())
        })
        .map_or_else(|| Uuid::new_v4().to_string(), str::to_owned);
    let span = tracing::info_span!(
        "request",
        otel.kind = "server",
        http.request.method = %request.method(),
        url.path = %request.uri().path(),
        request_id = %request_id,
        trace_id = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    let trace = traces::exporting()
        .then(|| traces::continue_trace(&span, request.headers()))
        .flatten();
    if let Some(trace) = &trace {
        span.record("trace_id", trace.id.as_str());
    }
    // Probes arrive every few seconds; log them only when they fail.
    let probe = request.uri().path().starts_with("/health/");
    let method = request.method().clone();
    let route = routes.of(request.uri().path());
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));
    async move {
        let started = Instant::now();
        let active = metrics::InFlight::request();
        let answered = endpoint.call(request).await;
        drop(active);
        let mut response = answered?.into_response();
        let status = response.status();
        let elapsed = started.elapsed();
        metrics::request_finished(&method, route, status.as_u16(), elapsed);
        if let Some(trace) = trace {
            if trace.sampled {
                let span = tracing::Span::current();
                traces::name_request(&span, method.as_str(), route);
                span.record("http.response.status_code", status.as_u16());
                if status.is_server_error() {
                    span.record("otel.status_code", "error");
                }
            }
            // Kept or not, the trace id finds the request's log lines.
            if status.is_server_error() {
                response = with_trace_id(response, trace.id).await;
            }
        }
        let latency_ms = elapsed.as_secs_f64() * 1000.0;
        if probe && status.is_success() {
            tracing::debug!(status = status.as_u16(), latency_ms, "request finished");
        } else {
            tracing::info!(status = status.as_u16(), latency_ms, "request finished");
        }
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert(REQUEST_ID, value);
        }
        Ok(response)
    }
    .instrument(span)
    .await
}

/// The id [`trace_request`] gave the request, in its extensions: what the audit log
/// records it by.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// A problem document with `trace_id` added (a server error's, for its operators to find
/// the request's trace); any other body as it was.
async fn with_trace_id(mut response: Response, trace_id: String) -> Response {
    if response.content_type() != Some(PROBLEM_JSON) {
        return response;
    }
    // A problem document is a few hundred bytes, already in memory.
    let Ok(body) = response.take_body().into_bytes().await else {
        return response;
    };
    let problem = serde_json::from_slice::<Value>(&body);
    let body = match problem {
        Ok(Value::Object(mut problem)) => {
            problem.insert("trace_id".to_owned(), Value::String(trace_id));
            Bytes::from(Value::Object(problem).to_string())
        }
        _ => body,
    };
    response.set_body(body);
    response
}

/// The answer to a request whose handling panicked: the panic is logged, the client gets
/// the same 500 problem as for any other bug.
pub fn panicked(panic: Box<dyn std::any::Any + Send>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|message| (*message).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %message, "request handling panicked");
    ApiError::internal().into_response()
}

/// Limits on request heads; see [`limit_head`].
#[derive(Debug, Clone, Copy)]
pub struct HeadLimits {
    /// Request line and header fields, in bytes, counted as on the wire in HTTP/1.1.
    pub max_bytes: usize,
    pub max_fields: usize,
}

/// Refuses a request target over `max_bytes` with 414, and a head over `max_bytes` or with
/// more than `max_fields` header fields with 431, each as a problem document. (hyper's parser
/// stops heads several times larger, before the application sees them; see `transport`.)
pub async fn limit_head<E: Endpoint>(
    endpoint: E,
    request: Request,
    limits: HeadLimits,
) -> Result<Response> {
    let target = request
        .uri()
        .path_and_query()
        .map_or(1, |target| target.as_str().len());
    if target > limits.max_bytes {
        return Ok(ApiError::<414>::new(format!(
            "The request target is {target} bytes; the limit is {} bytes.",
            limits.max_bytes
        ))
        .into_response());
    }
    let headers = request.headers();
    // `METHOD target HTTP/1.1\r\n`, then `name: value\r\n` for each field.
    let head = request.method().as_str().len()
        + target
        + 11
        + headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum::<usize>();
    if head > limits.max_bytes || headers.len() > limits.max_fields {
        return Ok(ApiError::<431>::new(format!(
            "Request heads are limited to {} bytes and {} header fields; this one has {head} bytes and {} fields.",
            limits.max_bytes,
            limits.max_fields,
            headers.len()
        ))
        .into_response());
    }
    Ok(endpoint.call(request).await?.into_response())
}

/// Limits on request bodies; see [`limit_body`].
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    pub max_bytes: usize,
    /// Longest the whole body may take to arrive.
    pub read_timeout: Duration,
}

/// Refuses bodies over `max_bytes` with 413, whether or not they declare a
/// `Content-Length`: a chunked body is read up to the cap and no further. A body that does
/// not arrive within `read_timeout` (a client that stalls, or sends less than its
/// `Content-Length`) is answered 408 and the connection closed. Only methods that carry a
/// body in this API (`DELETE /users/me` among them) are read; `GET` ignores its body, as
/// the operations do.
pub async fn limit_body<E: Endpoint>(
    endpoint: E,
    mut request: Request,
    limits: BodyLimits,
) -> Result<Response> {
    if !matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) {
        return Ok(endpoint.call(request).await?.into_response());
    }
    let max_bytes = limits.max_bytes;
    let too_large =
        || ApiError::<413>::new(format!("Request bodies are limited to {max_bytes} bytes."));
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    // A body up to twice the limit is read to its end before the refusal, so that the
    // client (or a proxy still sending it) reads the 413 rather than a reset connection;
    // a larger one is refused unread, and the connection closed.
    let drain_bytes = max_bytes;
    if declared.is_some_and(|length| length > (max_bytes + drain_bytes) as u64) {
        return Ok(too_large().into_response());
    }
    let body = request.take_body();
    let read = read_bounded(body, max_bytes, drain_bytes);
    match tokio::time::timeout(limits.read_timeout, read).await {
        Ok(Ok(Some(bytes))) => request.set_body(Body::from(bytes)),
        Ok(Ok(None)) => return Ok(too_large().into_response()),
        Ok(Err(error)) => {
            return Ok(ApiError::<400>::new(format!(
                "The request body could not be read: {error}"
            ))
            .into_response());
        }
        Err(_) => {
            metrics::timed_out(Phase::Body);
            let mut response = ApiError::<408>::new(format!(
                "The request body did not arrive within {} ms.",
                limits.read_timeout.as_millis()
            ))
            .into_response();
            // What is left of the body will never be read: the connection cannot be reused.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return Ok(response);
        }
    }
    Ok(endpoint.call(request).await?.into_response())
}

/// The body if it is at most `max_bytes`; `None` if it is longer, once up to
/// `drain_bytes` more of it have been read and dropped.
async fn read_bounded(
    body: Body,
    max_bytes: usize,
    drain_bytes: usize,
) -> std::io::Result<Option<Bytes>> {
    let mut reader = body.into_async_read();
    let mut buffer = BytesMut::new();
    while buffer.len() <= max_bytes {
        buffer.reserve(8 * 1024);
        if reader.read_buf(&mut buffer).await? == 0 {
            return Ok(Some(buffer.freeze()));
        }
    }
    let mut read = buffer.len();
    let mut sink = [0; 8 * 1024];
    while read <= max_bytes + drain_bytes {
        match reader.read(&mut sink).await? {
            0 => break,
            n => read += n,
        }
    }
    Ok(None)
}

/// Browsers may call the API from `origins` (CORS): preflights are answered with the
/// methods and request headers the contract's operations use, and responses expose the
/// headers they declare. No origins, no CORS: only same-origin pages.
pub fn cors(origins: &[CorsOrigin], document: &Value) -> Option<Cors> {
    if origins.is_empty() {
        return None;
    }
    let lists = CorsLists::from_spec(document);
    let cors = Cors::new()
        .allow_methods(lists.methods.iter().map(String::as_str))
        .allow_headers(lists.request_headers.iter().map(String::as_str))
        .expose_headers(lists.exposed_headers.iter().map(String::as_str))
        .max_age(600);
    // Bearer tokens travel in a header, never in cookies: no credentials, so `*` is safe.
    let cors = cors.allow_credentials(false);
    if origins.contains(&CorsOrigin::Any) {
        // With no origin listed, poem allows them all.
        return Some(cors);
    }
    Some(origins.iter().fold(cors, |cors, origin| match origin {
        CorsOrigin::Any => cors,
        CorsOrigin::Exactly(origin) => cors.allow_origin(origin.as_str()),
    }))
}

/// A browser sends `Origin` on some same-origin requests too (a `POST` from Swagger UI at
/// `/docs`, say). Those are not cross-origin, so CORS must not judge them: the header is
/// dropped when it names the host the request was sent to.
pub async fn same_origin_is_not_cross_origin<E: Endpoint>(
    endpoint: E,
    mut request: Request,
) -> Result<Response> {
    let headers = request.headers();
    let same_origin = headers
        .get(header::ORIGIN)
        .and_then(|origin| origin.to_str().ok())
        .and_then(|origin| origin.split_once("://"))
        .zip(headers.get(header::HOST))
        .is_some_and(|((_, authority), host)| authority.as_bytes() == host.as_bytes());
    if same_origin {
        request.headers_mut().remove(header::ORIGIN);
    }
    Ok(endpoint.call(request).await?.into_response())
}

/// The fields of an OpenAPI path item that are operations.
const OPERATION_KEYS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// What a page of another origin may send and read, as the contract states it: the methods
/// of its operations (the only ones a preflight asks about: `OPTIONS` is the preflight, and
/// `HEAD` needs none), their header parameters with `Authorization` (the bearer scheme)
/// and `Content-Type` (a JSON body's is not CORS-safelisted), and the headers their responses declare with
/// the request id every response carries. Header names are lower case.
#[derive(Debug)]
struct CorsLists {
    methods: BTreeSet<String>,
    request_headers: BTreeSet<String>,
    exposed_headers: BTreeSet<String>,
}

impl CorsLists {
    fn from_spec(document: &Value) -> Self {
        let mut lists = Self {
            methods: BTreeSet::new(),
            request_headers: BTreeSet::from(["authorization".into(), "content-type".into()]),
            exposed_headers: BTreeSet::from([REQUEST_ID.into()]),
        };
        for (_, method, operation) in operations(document) {
            lists.methods.insert(method.to_uppercase());
            let parameters = operation["parameters"].as_array().into_iter().flatten();
            lists.request_headers.extend(
                parameters
                    .filter(|parameter| parameter["in"] == "header")
                    .filter_map(|parameter| parameter["name"].as_str())
                    .map(str::to_ascii_lowercase),
            );
            let responses = operation["responses"].as_object().into_iter().flatten();
            lists.exposed_headers.extend(
                responses
                    .filter_map(|(_, response)| response["headers"].as_object())
                    .flat_map(|headers| headers.keys())
                    .map(|name| name.to_ascii_lowercase()),
            );
        }
        lists
    }
}

/// Every operation of the contract, with its path template and its method as the document
/// spells them.
fn operations(document: &Value) -> impl Iterator<Item = (&str, &str, &Value)> {
    document["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(template, item)| Some((template, item.as_object()?)))
        .flat_map(|(template, item)| {
            item.iter()
                // A path item also holds `parameters`, `summary`, …: only operations count.
                .filter(|(key, _)| OPERATION_KEYS.contains(&key.as_str()))
                .map(move |(key, operation)| (template.as_str(), key.as_str(), operation))
        })
}

/// A path of the contract (`/tasks/{task_id}`), to match request paths against.
struct PathTemplate(Vec<String>);

impl PathTemplate {
    fn new(template: &str) -> Self {
        Self(template.split('/').map(str::to_owned).collect())
    }

    fn is_parameter(segment: &str) -> bool {
        segment.starts_with('{')
    }

    /// Whether `path` is an instance of the template: its literal segments, and a segment
    /// for each parameter, empty only where a `/` follows (as the router takes them).
    fn matches(&self, path: &str) -> bool {
        let mut actual = path.split('/');
        let last = self.0.len().saturating_sub(1);
        self.0.iter().enumerate().all(|(index, expected)| {
            actual.next().is_some_and(|actual| {
                expected == actual
                    || (Self::is_parameter(expected) && (index < last || !actual.is_empty()))
            })
        }) && actual.next().is_none()
    }
}

/// The contract's paths, each with what a middleware keeps for it: the one table every
/// middleware finds a request's path in. Where two templates match, the one with a
/// literal segment where the other has a parameter wins (`/users/me` over
/// `/users/{user_id}`), as in the router.
struct ContractPaths<T>(Vec<(PathTemplate, T)>);

impl<T> ContractPaths<T> {
    fn new<'a>(paths: impl IntoIterator<Item = (&'a str, T)>) -> Self {
        let mut paths: Vec<(PathTemplate, T)> = paths
            .into_iter()
            .map(|(template, value)| (PathTemplate::new(template), value))
            .collect();
        paths.sort_by_cached_key(|(template, _)| {
            template
                .0
                .iter()
                .map(|segment| PathTemplate::is_parameter(segment))
                .collect::<Vec<_>>()
        });
        Self(paths)
    }

    /// What is kept for the template `path` is an instance of.
    fn find(&self, path: &str) -> Option<&T> {
        self.0
            .iter()
            .find_map(|(template, value)| template.matches(path).then_some(value))
    }
}

/// The contract's path templates and the app's other routes, to name a request's route in
/// metrics and traces (`/tasks/{task_id}`), found from its path before it is handled, so
/// that every answer has it: a rejection, a timeout, a CORS preflight, a panic.
pub struct Routes {
    /// The contract's paths and the app's other exact paths (the documents).
    templates: ContractPaths<&'static str>,
    /// The app's nested routes (Swagger UI, ReDoc), matched by prefix.
    nested: &'static [&'static str],
}

impl Routes {
    /// Made once a process: its route names are `'static`, to be labels at no cost.
    pub fn of_contract(
        document: &Value,
        exact: &'static [&'static str],
        nested: &'static [&'static str],
    ) -> &'static Self {
        static ROUTES: OnceLock<Routes> = OnceLock::new();
        ROUTES.get_or_init(|| {
            let templates = operations(document)
                .map(|(template, _, _)| template)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .map(|template| {
                    // Leaked once a process, for as many paths as the contract has.
                    let name: &'static str = Box::leak(template.to_owned().into_boxed_str());
                    (template, name)
                })
                .chain(exact.iter().map(|path| (*path, *path)));
            Self {
                templates: ContractPaths::new(templates),
                nested,
            }
        })
    }

    /// The route `path` belongs to, or [`UNMATCHED_ROUTE`].
    fn of(&self, path: &str) -> &'static str {
        self.templates
            .find(path)
            .copied()
            .or_else(|| {
                self.nested.iter().copied().find(|nested| {
                    path.strip_prefix(nested)
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
                })
            })
            .unwrap_or(UNMATCHED_ROUTE)
    }
}

/// The methods each path of the contract accepts, for the `Allow` header RFC 9110 requires
/// on a 405. Read from the OpenAPI document, so it cannot drift from the routes.
pub struct AllowedMethods(ContractPaths<HeaderValue>);

impl AllowedMethods {
    pub fn from_spec(document: &Value) -> Self {
        let mut methods = BTreeMap::<&str, Vec<String>>::new();
        for (template, method, _) in operations(document) {
            methods
                .entry(template)
                .or_default()
                .push(method.to_uppercase());
        }
        Self(ContractPaths::new(methods.into_iter().filter_map(
            |(template, methods)| {
                Some((template, HeaderValue::from_str(&methods.join(", ")).ok()?))
            },
        )))
    }

    fn for_path(&self, path: &str) -> Option<&HeaderValue> {
        self.0.find(path)
    }
}

/// What each operation of the contract needs of the caller's credential, as its
/// `security` requirement says: the scopes an access token must hold, or (the `session`
/// scope, or none stated) a login session. Read from the OpenAPI document, so the scopes
/// the spec shows are the scopes enforced.
pub struct OperationNeeds(ContractPaths<Vec<(Method, Needs)>>);

impl OperationNeeds {
    pub fn from_spec(document: &Value) -> Self {
        let mut needs = BTreeMap::<&str, Vec<(Method, Needs)>>::new();
        for (template, method, operation) in operations(document) {
            let Ok(method) = Method::from_str(&method.to_uppercase()) else {
                continue;
            };
            needs
                .entry(template)
                .or_default()
                .push((method, stated_needs(operation)));
        }
        Self(ContractPaths::new(needs))
    }

    /// What the operation at `method` and `path` needs; a session, for a path the contract
    /// does not have (nothing there is an access token's to call).
    pub fn of(&self, method: &Method, path: &str) -> Needs {
        (self.0.find(path).into_iter().flatten())
            .find_map(|(each, needs)| (each == method).then_some(*needs))
            .unwrap_or(Needs::Session)
    }
}

/// The needs an operation's `security` states: every scope of its requirement.
fn stated_needs(operation: &Value) -> Needs {
    let scopes = (operation["security"].as_array().into_iter().flatten())
        .filter_map(Value::as_object)
        .flat_map(|requirement| requirement.values())
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_str);
    let mut needed = Vec::new();
    for scope in scopes {
        match Scope::from_str(scope) {
            Ok(scope) => needed.push(scope),
            // `session`, or a scope no token can hold.
            Err(_) => return Needs::Session,
        }
    }
    match needed.is_empty() {
        true => Needs::Session,
        false => Needs::Scopes(needed.into_iter().collect()),
    }
}

/// Adds `Allow` to 405 responses.
pub async fn allow_on_405<E: Endpoint>(
    endpoint: E,
    request: Request,
    allowed: Arc<AllowedMethods>,
) -> Result<Response> {
    let path = request.uri().path().to_owned();
    let mut response = endpoint.call(request).await?.into_response();
    if response.status() == StatusCode::METHOD_NOT_ALLOWED
        && let Some(methods) = allowed.for_path(&path)
    {
        response
            .headers_mut()
            .insert(header::ALLOW, methods.clone());
    }
    Ok(response)
}

/// When a deprecated operation was deprecated, and when it will be withdrawn: what its
/// `Deprecation` (RFC 9745) and `Sunset` (RFC 8594) response headers say.
#[derive(Debug, Clone, Copy)]
pub struct Retirement {
    pub operation_id: &'static str,
    pub deprecated_at: DateTime<Utc>,
    pub sunset_at: DateTime<Utc>,
}

/// The least time between an operation's deprecation and its sunset (README, *Deprecation*).
pub const MIN_NOTICE: TimeDelta = TimeDelta::days(180);

/// What keeps the retirement table and the contract's `deprecated` marks from agreeing.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RetirementError {
    #[error("{0} is deprecated in the contract, but the retirement table has no dates for it")]
    Undated(String),
    #[error("{0} has retirement dates, but the contract has no such deprecated operation")]
    NotDeprecated(&'static str),
    #[error("{0} would be withdrawn less than {days} days after its deprecation", days = MIN_NOTICE.num_days())]
    ShortNotice(&'static str),
}

const DEPRECATION: HeaderName = HeaderName::from_static("deprecation");
const SUNSET: HeaderName = HeaderName::from_static("sunset");

/// The operations the contract marks `deprecated: true`, each with the header values of its
/// [`Retirement`].
pub struct DeprecatedOperations {
    /// Every path of the contract (so that a literal path is not taken for a parameter's),
    /// with its deprecated operations' methods and header values.
    paths: ContractPaths<Vec<(Method, HeaderValue, HeaderValue)>>,
}

impl DeprecatedOperations {
    /// Every deprecated operation of `document` with its dates from `retirements`, which must
    /// date each of them, nothing else, and give each the [`MIN_NOTICE`].
    pub fn from_spec(
        document: &Value,
        retirements: &[Retirement],
    ) -> Result<Self, RetirementError> {
        let mut announced = BTreeMap::<&str, Vec<_>>::new();
        let mut deprecated = BTreeSet::new();
        for (template, method, operation) in operations(document) {
            let on_path = announced.entry(template).or_default();
            if operation["deprecated"] != true {
                continue;
            }
            let id = operation["operationId"].as_str().unwrap_or_default();
            deprecated.insert(id);
            let retirement = retirements
                .iter()
                .find(|retirement| retirement.operation_id == id)
                .ok_or_else(|| RetirementError::Undated(id.to_owned()))?;
            if retirement.sunset_at - retirement.deprecated_at < MIN_NOTICE {
                return Err(RetirementError::ShortNotice(retirement.operation_id));
            }
            // OPERATION_KEYS are methods, and the values below are digits, letters and
            // punctuation: each is valid.
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("a method");
            let deprecation = format!("@{}", retirement.deprecated_at.timestamp());
            let sunset = retirement
                .sunset_at
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string();
            on_path.push((
                method,
                HeaderValue::from_str(&deprecation).expect("a header value"),
                HeaderValue::from_str(&sunset).expect("a header value"),
            ));
        }
        if let Some(stray) = retirements
            .iter()
            .find(|retirement| !deprecated.contains(retirement.operation_id))
        {
            return Err(RetirementError::NotDeprecated(stray.operation_id));
        }
        Ok(Self {
            paths: ContractPaths::new(announced),
        })
    }

    /// The `Deprecation` and `Sunset` values for a request, if it calls a deprecated operation.
    fn for_request(&self, method: &Method, path: &str) -> Option<(HeaderValue, HeaderValue)> {
        self.paths
            .find(path)?
            .iter()
            .find(|(operation_method, _, _)| operation_method == method)
            .map(|(_, deprecation, sunset)| (deprecation.clone(), sunset.clone()))
    }
}

/// Adds `Deprecation` and `Sunset` to every response of a deprecated operation, errors
/// included, so that a client hears of it in the answers it already reads.
pub async fn announce_deprecation<E: Endpoint>(
    endpoint: E,
    request: Request,
    deprecated: Arc<DeprecatedOperations>,
) -> Result<Response> {
    let announcement = deprecated.for_request(request.method(), request.uri().path());
    let mut response = endpoint.call(request).await?.into_response();
    if let Some((deprecation, sunset)) = announcement {
        response.headers_mut().insert(DEPRECATION, deprecation);
        response.headers_mut().insert(SUNSET, sunset);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use poem::{EndpointExt, middleware::CatchPanic};

    use super::*;

    #[tokio::test]
    async fn a_panic_is_a_500_problem() {
        let endpoint = poem::endpoint::make_sync(|_| -> &'static str { panic!("a bug") })
            .with(CatchPanic::new().with_handler(panicked));
        let response = endpoint.get_response(Request::default()).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.content_type(),
            Some(taskapi_api::problem::PROBLEM_JSON)
        );
    }

    #[tokio::test]
    async fn a_server_error_names_its_trace_and_other_bodies_are_left_alone() {
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736".to_owned();
        let problem = with_trace_id(ApiError::internal().into_response(), trace.clone()).await;
        let body: Value =
            serde_json::from_slice(&problem.into_body().into_bytes().await.expect("a body"))
                .expect("JSON");
        assert_eq!(body["trace_id"], trace.as_str());
        assert_eq!(body["status"], 500);

        let plain = Response::builder().body("not a problem");
        let plain = with_trace_id(plain, trace).await;
        let body = plain.into_body().into_string().await.expect("a body");
        assert_eq!(body, "not a problem");
    }

    #[test]
    fn a_literal_segment_wins_over_a_parameter_whatever_the_order() {
        let paths = ContractPaths::new([
            ("/lists/{list_id}/items", "parameter first"),
            ("/lists/{list_id}", "one parameter"),
            ("/lists/shared/items", "literal"),
        ]);
        assert_eq!(paths.find("/lists/shared/items"), Some(&"literal"));
        assert_eq!(paths.find("/lists/7/items"), Some(&"parameter first"));
        assert_eq!(paths.find("/lists/shared"), Some(&"one parameter"));
        // As in the router: a parameter may be empty where a `/` follows, not at the end.
        assert_eq!(paths.find("/lists//items"), Some(&"parameter first"));
        assert_eq!(paths.find("/lists/"), None);
        assert_eq!(paths.find("/lists/7/items/8"), None);
    }

    #[test]
    fn routes_are_named_by_the_contracts_templates() {
        let document = crate::http::document(&crate::http::spec_json());
        let routes = Routes::of_contract(
            &document,
            crate::http::DOCUMENT_ROUTES,
            crate::http::NESTED_ROUTES,
        );
        let of = |path: &str| routes.of(path);
        assert_eq!(
            of("/tasks/0190c2a4-1b2c-7d3e-8f40-5a6b7c8d9e0f"),
            "/tasks/{task_id}"
        );
        assert_eq!(of("/tasks/not-an-id"), "/tasks/{task_id}");
        assert_eq!(of("/tasks"), "/tasks");
        assert_eq!(
            of("/admin/users/42/disable"),
            "/admin/users/{user_id}/disable"
        );
        assert_eq!(of("/docs/index.html"), "/docs");
        assert_eq!(of("/docs"), "/docs");
        assert_eq!(of("/openapi.json"), "/openapi.json");
        assert_eq!(of("/openapi.json/more"), UNMATCHED_ROUTE);
        // A literal segment wins over a parameter; an empty segment is no parameter.
        assert_eq!(of("/users/me"), "/users/me");
        assert_eq!(of("/tasks/"), UNMATCHED_ROUTE);
        assert_eq!(of("/tasks/1/2"), UNMATCHED_ROUTE);
        assert_eq!(of("/docsx"), UNMATCHED_ROUTE);
        assert_eq!(of(""), UNMATCHED_ROUTE);
    }

    #[test]
    fn cors_lists_come_from_the_contract() {
        let document = serde_json::from_str(&crate::http::spec_json()).expect("JSON");
        let lists = CorsLists::from_spec(&document);
        fn names(list: &BTreeSet<String>) -> Vec<&str> {
            list.iter().map(String::as_str).collect()
        }
        assert_eq!(
            names(&lists.methods),
            ["DELETE", "GET", "PATCH", "POST", "PUT"]
        );
        assert_eq!(
            names(&lists.request_headers),
            [
                "authorization",
                "content-type",
                "idempotency-key",
                "if-match",
                "if-none-match",
                "last-event-id"
            ]
        );
        assert_eq!(
            names(&lists.exposed_headers),
            [
                "etag",
                "location",
                "ratelimit",
                "ratelimit-policy",
                "retry-after",
                "www-authenticate",
                "x-request-id"
            ]
        );
    }

    #[test]
    fn allowed_methods_come_from_the_contract() {
        let document = serde_json::from_str(&crate::http::spec_json()).expect("JSON");
        let allowed = AllowedMethods::from_spec(&document);
        let methods = |path: &str| {
            allowed
                .for_path(path)
                .map(|v| v.to_str().unwrap_or_default().to_owned())
        };
        assert_eq!(methods("/tasks").as_deref(), Some("GET, POST"));
        assert_eq!(
            methods("/tasks/0194b2a4-0000-7000-8000-000000000000").as_deref(),
            Some("DELETE, GET, PATCH, PUT")
        );
        assert_eq!(methods("/users/me").as_deref(), Some("DELETE, GET, PATCH"));
        assert_eq!(
            methods("/admin/users/0194b2a4-0000-7000-8000-000000000000/sessions").as_deref(),
            Some("DELETE")
        );
        assert_eq!(methods("/tasks/a/b"), None);
        assert_eq!(methods("/nowhere"), None);
    }

    #[test]
    fn every_deprecated_operation_has_its_retirement_dates() {
        let document = serde_json::from_str(&crate::http::spec_json()).expect("JSON");
        let deprecated = DeprecatedOperations::from_spec(&document, crate::http::RETIREMENTS);
        assert!(deprecated.is_ok(), "{:?}", deprecated.err());
    }

    /// A contract with one deprecated operation, since the real one has none yet.
    struct Things;

    #[poem_openapi::OpenApi]
    impl Things {
        /// The old way to read a thing.
        #[oai(
            path = "/things/:id",
            method = "get",
            operation_id = "get_thing",
            deprecated
        )]
        async fn get_thing(
            &self,
            id: poem_openapi::param::Path<u32>,
        ) -> poem_openapi::payload::PlainText<String> {
            poem_openapi::payload::PlainText(id.0.to_string())
        }

        /// Every thing.
        #[oai(path = "/things", method = "get", operation_id = "list_things")]
        async fn list_things(&self) -> poem_openapi::payload::PlainText<&'static str> {
            poem_openapi::payload::PlainText("1")
        }

        /// The newest thing: a literal path beside the deprecated template.
        #[oai(path = "/things/latest", method = "get", operation_id = "latest_thing")]
        async fn latest_thing(&self) -> poem_openapi::payload::PlainText<&'static str> {
            poem_openapi::payload::PlainText("7")
        }
    }

    fn retirement(operation_id: &'static str, notice_days: i64) -> Retirement {
        let deprecated_at = taskapi_api::EXAMPLE_TIME;
        Retirement {
            operation_id,
            deprecated_at,
            sunset_at: deprecated_at + TimeDelta::days(notice_days),
        }
    }

    fn things_contract() -> Value {
        serde_json::from_str(&taskapi_api::spec_json::<Things>()).expect("JSON")
    }

    #[tokio::test]
    async fn a_deprecated_operation_announces_its_deprecation_and_sunset() {
        let document = things_contract();
        let operation = &document["paths"]["/things/{id}"]["get"];
        assert_eq!(operation["deprecated"], true);
        for name in ["Deprecation", "Sunset"] {
            assert_eq!(
                operation["responses"]["200"]["headers"][name]["required"], true,
                "{name}"
            );
        }
        let current = &document["paths"]["/things"]["get"];
        assert_eq!(current["responses"]["200"]["headers"], Value::Null);

        let table = [retirement("get_thing", 182)];
        let deprecated =
            Arc::new(DeprecatedOperations::from_spec(&document, &table).expect("dated"));
        let app = poem::Route::new()
            .nest("/", taskapi_api::described(Things))
            .catch_all_error(|error| async move { error.into_response() })
            .around(move |endpoint, request| {
                announce_deprecation(endpoint, request, Arc::clone(&deprecated))
            });
        let get = |uri: &'static str| {
            app.get_response(
                Request::builder()
                    .uri(poem::http::Uri::from_static(uri))
                    .finish(),
            )
        };
        let announced = |response: &Response| {
            let header = |name| response.header(name).map(str::to_owned);
            (header("deprecation"), header("sunset"))
        };
        let expected = (
            Some("@1772384400".to_owned()),
            Some("Sun, 30 Aug 2026 17:00:00 GMT".to_owned()),
        );

        let answer = get("/things/7").await;
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(announced(&answer), expected);
        // An error from the deprecated operation says it too.
        let refused = get("/things/seven").await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert_eq!(announced(&refused), expected);
        let current = get("/things").await;
        assert_eq!(current.status(), StatusCode::OK);
        assert_eq!(announced(&current), (None, None));
        // A literal path is not the deprecated template's instance.
        let latest = get("/things/latest").await;
        assert_eq!(latest.status(), StatusCode::OK);
        assert_eq!(announced(&latest), (None, None));
    }

    #[test]
    fn the_retirement_table_and_the_deprecated_marks_agree() {
        let document = things_contract();
        let refusal =
            |table: &[Retirement]| DeprecatedOperations::from_spec(&document, table).err();
        assert_eq!(refusal(&[retirement("get_thing", 180)]), None);
        assert_eq!(
            refusal(&[]),
            Some(RetirementError::Undated("get_thing".into()))
        );
        assert_eq!(
            refusal(&[retirement("get_thing", 180), retirement("list_things", 180)]),
            Some(RetirementError::NotDeprecated("list_things"))
        );
        assert_eq!(
            refusal(&[retirement("get_thing", 179)]),
            Some(RetirementError::ShortNotice("get_thing"))
        );
    }
}
