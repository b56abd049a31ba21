//! Where requests enter: the route, its middleware, and the operations of the contract,
//! each declared once as the entry point that serves it (one `#[OpenApi]` impl a resource:
//! `auth.rs`, `users.rs`, `tasks.rs`, `lists.rs`, `tags.rs`, `sync.rs`, `events.rs`,
//! `health.rs`, `admin.rs`). An entry point
//! decodes its inputs into domain values, calls one service function and converts the
//! result; nothing else. Schemas, responses and error sets come from `taskapi-api`.

mod admin;
mod auth;
mod body;
pub mod client;
mod docs;
mod errors;
mod events;
mod health;
mod jwks;
mod listing;
mod lists;
mod middleware;
mod prelude;
mod rejections;
mod sync;
mod tags;
mod tasks;
mod tokens;
mod users;

use std::{marker::PhantomData, ops::Deref, sync::Arc, time::Duration};

use bytes::Bytes;
use poem::{Endpoint, EndpointExt, Request, Route, middleware::CatchPanic};
use poem_openapi::{OpenApiService, param::Header};
use serde_json::Value;

use ipnet::IpNet;
use taskapi_api::paging::{Cursor, MAX_CURSOR_CHARS, MAX_PAGE_SIZE, PageLimit, Paged};

pub use auth::registration;
pub use listing::TaskQuery;

use crate::{
    config::{CorsOrigin, ForwardedHeader},
    domain::{
        Condition, CursorText, FOREIGN_CURSOR, FieldErrors, Page, PageSize, TaskListing, Version,
    },
    service::{Read, Services},
};

/// `From` both ways between an enum of the contract and the domain's enum of the same
/// variants: the compiler checks that neither has a variant the other lacks.
macro_rules! same_variants {
    ($contract:ty, $domain:ty: $($variant:ident),+ $(,)?) => {
        impl From<$contract> for $domain {
            fn from(value: $contract) -> Self {
                type Contract = $contract;
                match value {
                    $(Contract::$variant => Self::$variant),+
                }
            }
        }

        impl From<$domain> for $contract {
            fn from(value: $domain) -> Self {
                type Domain = $domain;
                match value {
                    $(Domain::$variant => Self::$variant),+
                }
            }
        }
    };
}
use same_variants;

/// Every operation of the API: one `#[OpenApi]` impl a resource, each listed once here.
macro_rules! endpoints {
    ($($resource:path),+ $(,)?) => {
        /// Every operation of the API, one `#[OpenApi]` impl a resource.
        pub type Endpoints = ($(Api<$resource>,)+);

        /// The endpoints, each serving from `state`.
        fn endpoints(state: &Arc<AppState>) -> Endpoints {
            ($(Api::<$resource>::new(state),)+)
        }
    };
}

endpoints![
    auth::Auth,
    users::Users,
    tasks::Tasks,
    lists::Lists,
    lists::Invitations,
    tags::Tags,
    sync::Sync,
    events::Events,
    health::Health,
    admin::Administration,
    tokens::AccessTokens,
    jwks::WellKnown,
];

/// When each operation marked `#[oai(deprecated)]` was deprecated and when it will be
/// withdrawn, by `operationId`: its responses carry `Deprecation` and `Sunset` (README,
/// *Deprecation*). None is deprecated today; a test holds this table and the marks together.
const RETIREMENTS: &[middleware::Retirement] = &[];

/// The OpenAPI document as YAML: exactly what `openapi.yaml` at the repository root holds.
/// Rendered from the endpoints' types alone: no state, no database.
pub fn spec_yaml() -> String {
    taskapi_api::spec_yaml::<Endpoints>()
}

/// The same document as JSON.
pub fn spec_json() -> String {
    taskapi_api::spec_json::<Endpoints>()
}

/// The OpenAPI document as a JSON value.
fn document(spec_json: &str) -> Value {
    // The contract renders valid JSON; its own tests parse it.
    serde_json::from_str(spec_json).expect("the contract is JSON")
}

/// The listing `query` asks for, read as `GET /tasks` reads its parameters: for what
/// plans listings outside a request (the benchmark explains their queries).
pub fn task_listing(query: TaskQuery) -> Result<TaskListing, FieldErrors> {
    let bodies = body::Bodies::from_spec(&document(&spec_json()));
    listing::task_listing(&bodies, query)
}

/// The operations of one resource `R` (a marker type of its module), served from the
/// app's state.
pub struct Api<R> {
    app: Arc<AppState>,
    resource: PhantomData<R>,
}

impl<R> Api<R> {
    fn new(app: &Arc<AppState>) -> Self {
        Self {
            app: Arc::clone(app),
            resource: PhantomData,
        }
    }
}

impl<R> Deref for Api<R> {
    type Target = AppState;

    fn deref(&self) -> &AppState {
        &self.app
    }
}

/// What every entry point reaches: the services, and the decoder for request bodies.
pub struct AppState {
    services: Services,
    bodies: body::Bodies,
    /// What each operation needs of a caller's credential (its scopes in the contract).
    needs: middleware::OperationNeeds,
}

/// An entry point reaches a service as `self.tasks`, through its `Api` and this.
impl Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}

/// What the HTTP application is configured with.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub max_body_bytes: usize,
    /// Longest a request body may take to arrive; then 408.
    pub body_read_timeout: Duration,
    /// Largest request head (request line and header fields), in bytes; then 431, or 414
    /// when the request target alone is over.
    pub max_header_bytes: usize,
    /// Most header fields in one request; then 431.
    pub max_headers: usize,
    pub cors_origins: Vec<CorsOrigin>,
    /// Proxies whose forwarding header names the client.
    pub trusted_proxies: Vec<IpNet>,
    pub forwarded_header: ForwardedHeader,
}

/// The whole HTTP application: API, documents, Swagger UI, ReDoc and the middleware around
/// them.
pub fn app(services: Services, settings: &HttpSettings) -> impl Endpoint + 'static {
    let spec_json = spec_json();
    let document = document(&spec_json);
    let state = Arc::new(AppState {
        services,
        bodies: body::Bodies::from_spec(&document),
        needs: middleware::OperationNeeds::from_spec(&document),
    });
    let endpoints = endpoints(&state);
    let api: OpenApiService<Endpoints, ()> = taskapi_api::described(endpoints);
    let allowed = Arc::new(middleware::AllowedMethods::from_spec(&document));
    // `every_deprecated_operation_has_its_retirement_dates` tests this table and the contract.
    let deprecated = Arc::new(
        middleware::DeprecatedOperations::from_spec(&document, RETIREMENTS)
            .expect("the retirement table dates the contract's deprecated operations"),
    );
    let routes = middleware::Routes::of_contract(&document, DOCUMENT_ROUTES, NESTED_ROUTES);
    let (swagger_ui, redoc) = docs::routes();
    let cors = middleware::cors(&settings.cors_origins, &document);
    let body_limits = middleware::BodyLimits {
        max_bytes: settings.max_body_bytes,
        read_timeout: settings.body_read_timeout,
    };
    let proxies = Arc::new(client::TrustedProxies::new(
        settings.trusted_proxies.clone(),
        settings.forwarded_header,
    ));
    let head_limits = middleware::HeadLimits {
        max_bytes: settings.max_header_bytes,
        max_fields: settings.max_headers,
    };
    Route::new()
        .nest("/docs", swagger_ui)
        .nest("/redoc", redoc)
        .at(
            "/openapi.json",
            spec_endpoint(spec_json, "application/json"),
        )
        .at(
            "/openapi.yaml",
            spec_endpoint(spec_yaml(), "application/yaml"),
        )
        .nest("/", api)
        .around(move |endpoint, request| middleware::limit_body(endpoint, request, body_limits))
        // Inside the problem mapping, so that a refused origin gets a problem document too.
        .with_if(cors.is_some(), cors.unwrap_or_default())
        .around(middleware::same_origin_is_not_cross_origin)
        .around(move |endpoint, request| middleware::limit_head(endpoint, request, head_limits))
        .around(move |endpoint, request| {
            let proxies = Arc::clone(&proxies);
            async move { client::identify(endpoint, request, &proxies).await }
        })
        .catch_all_error(rejections::problem_response)
        // Boxed halfway: the whole chain as one type is deeper than the compiler's limit.
        .boxed()
        .around(move |endpoint, request| {
            middleware::allow_on_405(endpoint, request, Arc::clone(&allowed))
        })
        .around(move |endpoint, request| {
            middleware::announce_deprecation(endpoint, request, Arc::clone(&deprecated))
        })
        // A bug that panics answers 500 like any other failure, not a dropped connection.
        .with(CatchPanic::new().with_handler(middleware::panicked))
        .around(move |endpoint, request| middleware::trace_request(endpoint, request, routes))
}

/// The app's routes outside the contract, as metrics name them: the documents (exact
/// paths) and the documentation pages (everything under them).
const DOCUMENT_ROUTES: &[&str] = &["/openapi.json", "/openapi.yaml"];
const NESTED_ROUTES: &[&str] = &["/docs", "/redoc"];

/// Serves a rendered OpenAPI document (rendered once, at start-up).
fn spec_endpoint(document: String, content_type: &'static str) -> impl Endpoint + 'static {
    let document = Bytes::from(document);
    poem::endpoint::make_sync(move |_| {
        poem::Response::builder()
            .content_type(content_type)
            .body(document.clone())
    })
}

/// The page a listing asks for: its size, and where it starts (after the previous page's
/// cursor, which `decode` reads); each invalid parameter is named.
fn page_request<C>(
    limit: PageLimit,
    cursor: Option<Cursor>,
    decode: impl FnOnce(&str) -> Result<C, String>,
) -> Result<(PageSize, Option<C>), FieldErrors> {
    positioned_request(limit, ("cursor", cursor), decode)
}

/// A position passed alone as the parameter `name`, decoded by `decode`.
fn position<C>(
    (name, cursor): (&str, Option<Cursor>),
    decode: impl FnOnce(&str) -> Result<C, String>,
) -> Result<Option<C>, FieldErrors> {
    let mut errors = FieldErrors::default();
    let position = errors.check_optional(name, cursor, |cursor| decode(cursor_text(&cursor)?));
    position.ok_or(errors)
}

/// The same, for a position passed as the parameter `name` (the change feed's `token`).
fn positioned_request<C>(
    limit: PageLimit,
    (name, cursor): (&str, Option<Cursor>),
    decode: impl FnOnce(&str) -> Result<C, String>,
) -> Result<(PageSize, Option<C>), FieldErrors> {
    let mut errors = FieldErrors::default();
    let size = errors.check("limit", page_size(limit));
    let after = errors.check_optional(name, cursor, |cursor| decode(cursor_text(&cursor)?));
    match (size, after) {
        (Some(size), Some(after)) => Ok((size, after)),
        _ => Err(errors),
    }
}

/// The contract's page of a listing's page: each item converted by `item`, and the next
/// page's cursor encoded.
fn page_of<P: Paged, T, C: CursorText>(page: Page<T, C>, item: impl FnMut(T) -> P::Item) -> P {
    let next = page.next.as_ref().map(CursorText::encode);
    P::new(page.items.into_iter().map(item).collect(), next)
}

/// The response to a conditional read: what was read (`current`, with its `ETag`), or 304
/// with the `ETag` of the client's current copy.
fn conditional<T, R>(
    read: Read<T>,
    version: fn(&T) -> Version,
    current: impl FnOnce(T, String) -> R,
    not_modified: fn(String) -> R,
) -> R {
    match read {
        Read::Current(item) => {
            let etag = version(&item).etag();
            current(item, etag)
        }
        Read::NotModified(version) => not_modified(version.etag()),
    }
}

/// The page size a client asked for, within the bounds the contract states: the
/// parameter takes any whole number, so that one out of bounds is an invalid field.
fn page_size(limit: PageLimit) -> Result<PageSize, String> {
    u16::try_from(limit.0)
        .ok()
        .filter(|size| *size <= MAX_PAGE_SIZE)
        .and_then(PageSize::new)
        .ok_or_else(|| format!("must be between 1 and {MAX_PAGE_SIZE}"))
}

/// A cursor's text, if it is short enough to be one the API issued (its longest is the
/// contract's); what else it must be, its decoder says.
fn cursor_text(cursor: &Cursor) -> Result<&str, String> {
    let text = cursor.as_str();
    match text.len() <= MAX_CURSOR_CHARS {
        true => Ok(text),
        false => Err(FOREIGN_CURSOR.to_owned()),
    }
}

/// A header's value as the client sent it. poem-openapi passes over a value that is not
/// visible ASCII as if the header were absent; a condition or an idempotency key must not
/// be ignored, so such a value is kept (decoded lossily) for the server to refuse, or to
/// match no version.
fn as_sent(request: &Request, name: &str, parsed: Header<Option<String>>) -> Option<String> {
    parsed.0.or_else(|| {
        request
            .headers()
            .get(name)
            .map(|raw| String::from_utf8_lossy(raw.as_bytes()).into_owned())
    })
}

/// The condition of an `If-Match` or `If-None-Match` header, as sent.
fn condition(request: &Request, name: &str, parsed: Header<Option<String>>) -> Option<Condition> {
    as_sent(request, name, parsed)
        .as_deref()
        .map(Condition::parse)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_are_between_one_and_the_maximum() {
        let size = |limit: i64| page_size(PageLimit(limit)).map(PageSize::get);
        assert_eq!(size(1), Ok(1));
        assert_eq!(size(i64::from(MAX_PAGE_SIZE)), Ok(MAX_PAGE_SIZE));
        for refused in [0, -1, i64::from(MAX_PAGE_SIZE) + 1, i64::MAX, i64::MIN] {
            assert!(size(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn a_cursor_longer_than_any_issued_is_refused_before_decoding() {
        let longest = Cursor::new("A".repeat(MAX_CURSOR_CHARS));
        assert!(cursor_text(&longest).is_ok());
        let longer = Cursor::new("A".repeat(MAX_CURSOR_CHARS + 1));
        assert_eq!(cursor_text(&longer), Err(FOREIGN_CURSOR.to_owned()));
    }
}
