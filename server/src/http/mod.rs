//! Where requests enter: the route, its middleware, and the entry points that serve the
//! contract in `taskapi-api`. An entry point decodes its inputs into domain values, calls
//! one service function and converts the result; nothing else.

mod admin;
mod auth;
mod body;
mod client;
mod docs;
mod errors;
mod health;
mod middleware;
mod rejections;
mod tags;
mod tasks;
mod users;

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use poem::{Endpoint, EndpointExt, Route, middleware::CatchPanic};
use serde_json::Value;

use ipnet::IpNet;
use taskapi_api::paging::{Cursor, PageLimit};

use crate::{
    config::{CorsOrigin, ForwardedHeader},
    domain::{FieldErrors, PageCursor, PageSize},
    service::{
        Services, admin::AdminService, auth::AuthService, health::HealthService, tags::TagService,
        tasks::TaskService, users::UserService,
    },
};

/// What every entry point reaches: the services, and the decoder for request bodies.
pub struct AppState {
    admin: AdminService,
    auth: AuthService,
    health: HealthService,
    users: UserService,
    tasks: TaskService,
    tags: TagService,
    bodies: body::Bodies,
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
    let spec_json = taskapi_api::spec_json();
    // The contract renders valid JSON; its own tests parse it.
    let document: Value = serde_json::from_str(&spec_json).expect("the contract is JSON");
    let Services {
        admin,
        auth,
        health,
        users,
        tasks,
        tags,
    } = services;
    let state = AppState {
        admin,
        auth,
        health,
        users,
        tasks,
        tags,
        bodies: body::Bodies::from_spec(&document),
    };
    let api = taskapi_api::openapi_service(Arc::new(state));
    let allowed = Arc::new(middleware::AllowedMethods::from_spec(&document));
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
            spec_endpoint(taskapi_api::spec_yaml(), "application/yaml"),
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
        // A bug that panics answers 500 like any other failure, not a dropped connection.
        .with(CatchPanic::new().with_handler(middleware::panicked))
        .around(middleware::trace_request)
}

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
/// cursor); each invalid parameter is named.
fn page_request(
    limit: PageLimit,
    cursor: Option<Cursor>,
) -> Result<(PageSize, Option<PageCursor>), FieldErrors> {
    let mut errors = FieldErrors::default();
    let size = errors.check("limit", PageSize::try_from(limit));
    let after = errors.check_optional("cursor", cursor, |cursor| {
        PageCursor::decode(cursor.as_str())
    });
    match (size, after) {
        (Some(size), Some(after)) => Ok((size, after)),
        _ => Err(errors),
    }
}
