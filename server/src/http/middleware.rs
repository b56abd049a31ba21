//! Middleware: per-request tracing with a request id, the request-head and -body limits,
//! CORS, and the `Allow` header of a 405.

use std::{
    collections::BTreeSet,
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::{Bytes, BytesMut};
use poem::{
    Body, Endpoint, IntoResponse, Request, Response, Result,
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Cors,
};
use serde_json::Value;
use taskapi_api::problem::ApiError;
use tokio::io::AsyncReadExt;

use crate::config::CorsOrigin;
use tracing::Instrument;
use uuid::Uuid;

const REQUEST_ID: &str = "x-request-id";

/// Runs the request in a span carrying a request id (the client's `X-Request-Id` when it is
/// short, printable ASCII, else a fresh UUID), echoes the id back, and logs the outcome.
pub async fn trace_request<E: Endpoint>(endpoint: E, request: Request) -> Result<Response> {
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| Uuid::new_v4().to_string(), str::to_owned);
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
    );
    // Probes arrive every few seconds; log them only when they fail.
    let probe = request.uri().path().starts_with("/health/");
    async move {
        let started = Instant::now();
        let mut response = endpoint.call(request).await?.into_response();
        let status = response.status().as_u16();
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        if probe && response.status().is_success() {
            tracing::debug!(status, latency_ms, "request finished");
        } else {
            tracing::info!(status, latency_ms, "request finished");
        }
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert(REQUEST_ID, value);
        }
        Ok(response)
    }
    .instrument(span)
    .await
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
        for (method, operation) in operations(document) {
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

/// Every operation of the contract, with its method as the document spells it.
fn operations(document: &Value) -> impl Iterator<Item = (&str, &Value)> {
    document["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, item)| item.as_object())
        .flatten()
        // A path item also holds `parameters`, `summary`, …: only operations count.
        .filter(|(key, _)| OPERATION_KEYS.contains(&key.as_str()))
        .map(|(key, operation)| (key.as_str(), operation))
}

/// The methods each path of the contract accepts, for the `Allow` header RFC 9110 requires
/// on a 405. Read from the OpenAPI document, so it cannot drift from the routes.
pub struct AllowedMethods {
    paths: Vec<(Vec<String>, HeaderValue)>,
}

impl AllowedMethods {
    pub fn from_spec(document: &Value) -> Self {
        let paths = document["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(template, item)| {
                // A path item also holds `parameters`, `summary`, …: only operations count.
                let methods: Vec<String> = item
                    .as_object()?
                    .keys()
                    .filter(|key| OPERATION_KEYS.contains(&key.as_str()))
                    .map(|key| key.to_uppercase())
                    .collect();
                let value = HeaderValue::from_str(&methods.join(", ")).ok()?;
                Some((template.split('/').map(str::to_owned).collect(), value))
            })
            .collect();
        Self { paths }
    }

    fn for_path(&self, path: &str) -> Option<&HeaderValue> {
        let segments: Vec<&str> = path.split('/').collect();
        self.paths.iter().find_map(|(template, methods)| {
            let matches = template.len() == segments.len()
                && template.iter().zip(&segments).all(|(expected, actual)| {
                    expected == actual || (expected.starts_with('{') && !actual.is_empty())
                });
            matches.then_some(methods)
        })
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
                "if-none-match"
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
}
