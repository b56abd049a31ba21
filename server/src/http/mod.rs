//! Where requests enter: the route, its middleware, and the entry points that connect the
//! contract in `taskapi-api` to the services. An entry point parses the request into domain
//! values, calls one service function and maps the result; nothing else.

mod auth;
mod errors;
mod middleware;
mod tasks;
mod users;

use std::sync::Arc;

use poem::{Endpoint, EndpointExt, Route};
use taskapi_api::{AuthBackend, TaskBackend, UserBackend, problem_response};

use crate::service::{auth::AuthService, tasks::TaskService, users::UserService};

/// The services every entry point reaches.
pub struct AppState {
    pub auth: AuthService,
    pub users: UserService,
    pub tasks: TaskService,
}

/// The whole HTTP application: API, documents, Swagger UI and the middleware around them.
pub fn app(state: AppState, max_body_bytes: usize) -> impl Endpoint + 'static {
    let state = Arc::new(state);
    let api = taskapi_api::openapi_service();
    let route = Route::new()
        .nest("/docs", api.swagger_ui())
        .at(
            "/openapi.json",
            spec_endpoint(taskapi_api::spec_json(), "application/json"),
        )
        .at(
            "/openapi.yaml",
            spec_endpoint(taskapi_api::spec_yaml(), "application/yaml"),
        )
        .nest("/", api)
        .data(Arc::clone(&state) as Arc<dyn AuthBackend>)
        .data(Arc::clone(&state) as Arc<dyn UserBackend>)
        .data(state as Arc<dyn TaskBackend>);
    let allowed = Arc::new(middleware::AllowedMethods::from_spec(
        &taskapi_api::spec_json(),
    ));
    route
        .around(move |endpoint, request| middleware::limit_body(endpoint, request, max_body_bytes))
        .catch_all_error(problem_response)
        .around(move |endpoint, request| {
            middleware::allow_on_405(endpoint, request, Arc::clone(&allowed))
        })
        .around(middleware::trace_request)
}

/// Serves a rendered OpenAPI document (rendered once, at start-up).
fn spec_endpoint(document: String, content_type: &'static str) -> impl Endpoint + 'static {
    poem::endpoint::make_sync(move |_| {
        poem::Response::builder()
            .content_type(content_type)
            .body(document.clone())
    })
}
