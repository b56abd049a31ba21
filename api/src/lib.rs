//! The taskapi HTTP contract: operations, schemas, typed responses, the security scheme,
//! and the backend traits the server implements.
//!
//! An operation here only authenticates the caller, hands its inputs to one backend method
//! and shapes the response; the statuses it may answer with are part of its type. Nothing
//! here decodes a body or touches a database, so [`spec_yaml`] renders the OpenAPI
//! document anywhere.

pub mod admin;
pub mod auth;
pub mod body;
pub mod health;
pub mod json;
pub mod paging;
pub mod problem;
pub mod security;
mod spec;
pub mod tags;
pub mod tasks;
pub mod text;
pub mod users;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem_openapi::{ContactObject, LicenseObject, OpenApi, OpenApiService, Tags};

pub use spec::{bundled_ui_pages, spec_json, spec_yaml};

/// Operation groups, in the order Swagger UI shows them.
#[derive(Tags)]
pub enum ApiTag {
    /// Accounts and bearer tokens.
    Auth,
    /// The account behind the token.
    Users,
    /// The caller's tasks.
    Tasks,
    /// The caller's tag names, across their tasks.
    Tags,
    /// Probes for load balancers and orchestrators.
    Health,
    /// Managing every account; administrators only.
    Admin,
}

/// Everything a server implements to serve the contract.
pub trait Backend:
    auth::AuthBackend
    + users::UserBackend
    + tasks::TaskBackend
    + tags::TagBackend
    + health::HealthBackend
    + admin::AdminBackend
{
}

impl<B> Backend for B where
    B: auth::AuthBackend
        + users::UserBackend
        + tasks::TaskBackend
        + tags::TagBackend
        + health::HealthBackend
        + admin::AdminBackend
{
}

/// Every endpoint of the API, served by one backend.
pub type Endpoints<B> = (
    auth::AuthApi<B>,
    users::UsersApi<B>,
    tasks::TasksApi<B>,
    tags::TagsApi<B>,
    health::HealthApi<B>,
    admin::AdminApi<B>,
);

/// The OpenAPI service that serves every endpoint with `backend`.
pub fn openapi_service<B: Backend>(backend: Arc<B>) -> OpenApiService<Endpoints<B>, ()> {
    let endpoints = (
        auth::AuthApi {
            backend: Arc::clone(&backend),
        },
        users::UsersApi {
            backend: Arc::clone(&backend),
        },
        tasks::TasksApi {
            backend: Arc::clone(&backend),
        },
        tags::TagsApi {
            backend: Arc::clone(&backend),
        },
        health::HealthApi {
            backend: Arc::clone(&backend),
        },
        admin::AdminApi { backend },
    );
    described(endpoints)
}

/// The moment the examples in the spec are set at (2026-03-01T17:00:00Z).
const EXAMPLE_TIME: DateTime<Utc> = DateTime::from_timestamp_nanos(1_772_384_400_000_000_000);

/// The service's title, version, description, licence and contact, for any endpoints.
fn described<T: OpenApi>(endpoints: T) -> OpenApiService<T, ()> {
    OpenApiService::new(endpoints, "taskapi", env!("CARGO_PKG_VERSION"))
        .description(
            "Task management: register, log in for a short-lived bearer token and a rotating \
             refresh token, and manage your own tasks, account and sessions. Errors are \
             RFC 9457 problem documents (`application/problem+json`).",
        )
        .license(LicenseObject::new("MIT OR Apache-2.0").url("https://spdx.org/licenses/MIT.html"))
        .contact(
            ContactObject::new()
                .name("taskapi maintainers")
                .email("taskapi@example.com"),
        )
        .server("/")
}
