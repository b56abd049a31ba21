//! The taskapi HTTP contract's vocabulary: schemas, typed responses with the error
//! statuses each operation declares, the limits a request must keep, the security scheme,
//! and the completions that turn poem-openapi's rendering into the published document.
//!
//! The operations themselves are declared once, where they are served: the `#[OpenApi]`
//! impls in the server's `http` module. [`spec_yaml`] renders the document from their
//! types alone, with no server state and no database.

/// Declares the value the spec shows for each type: `Type => value;`.
macro_rules! examples {
    ($($ty:ty => $value:expr;)*) => {$(
        impl poem_openapi::types::Example for $ty {
            fn example() -> Self {
                $value
            }
        }
    )*};
}

/// Declares responses with one outcome: its description, then `Name: status Variant(payload);`.
macro_rules! responses {
    ($($(#[$doc:meta])* $name:ident: $status:tt $variant:ident $(($payload:ty))?;)*) => {$(
        #[derive(poem_openapi::ApiResponse)]
        pub enum $name {
            $(#[$doc])*
            #[oai(status = $status)]
            $variant $(($payload))?,
        }
    )*};
}

/// Declares the page schema of each listing: its description, then `Name(Item)`, the
/// derives it needs besides, and optionally its example's `next_cursor`. Each holds
/// `items` and `next_cursor`, and its example is one page of its item's example.
macro_rules! pages {
    ($($(#[$doc:meta])* $name:ident($item:ty) $(+ $derive:path)* $(= $cursor:literal)?;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, poem_openapi::Object $(, $derive)*)]
        #[oai(example)]
        pub struct $name {
            pub items: Vec<$item>,
            /// Pass as `cursor` to get the next page; `null` on the last page.
            #[oai(nullable)]
            pub next_cursor: Option<String>,
        }

        impl $crate::paging::Paged for $name {
            type Item = $item;

            fn new(items: Vec<$item>, next_cursor: Option<String>) -> Self {
                Self { items, next_cursor }
            }
        }

        impl poem_openapi::types::Example for $name {
            fn example() -> Self {
                let cursor: Option<&str> = None $(.or(Some($cursor)))?;
                Self {
                    items: vec![<$item as poem_openapi::types::Example>::example()],
                    next_cursor: cursor.map(str::to_owned),
                }
            }
        }
    )*};
}

/// Declares the responses of a conditional read of something versioned: its description,
/// then `Name(Payload);`. 200 with it and its `ETag`, or 304 with the `ETag` alone when
/// `If-None-Match` names the current version.
macro_rules! conditional_reads {
    ($($doc:literal $name:ident($payload:ty);)*) => {$(
        #[derive(poem_openapi::ApiResponse)]
        pub enum $name {
            #[doc = $doc]
            #[oai(status = 200)]
            Ok($payload, #[oai(header = "ETag")] String),
            /// `If-None-Match` names the current version: the client's copy is current.
            #[oai(status = 304)]
            NotModified(#[oai(header = "ETag")] String),
        }
    )*};
}

pub mod admin;
pub mod auth;
pub mod health;
pub mod json;
pub mod jwks;
pub mod lists;
pub mod paging;
pub mod problem;
pub mod security;
mod spec;
pub mod sync;
pub mod tags;
pub mod tasks;
pub mod text;
pub mod tokens;
pub mod users;

use chrono::{DateTime, Utc};
use poem_openapi::{ContactObject, LicenseObject, OpenApi, OpenApiService, Tags};
use strum::VariantArray;

pub use spec::{bundled_ui_pages, spec_json, spec_yaml};

/// Operation groups, in the order Swagger UI shows them.
#[derive(Tags, VariantArray)]
pub enum ApiTag {
    /// Accounts and bearer tokens.
    Auth,
    /// The account behind the token.
    Users,
    /// Tasks, in the lists the caller can see.
    Tasks,
    /// Lists, their members, and invitations to share them.
    Lists,
    /// Tag names, across the caller's lists.
    Tags,
    /// The change feed: everything the caller can see, then what changed since.
    Sync,
    /// Probes for load balancers and orchestrators.
    Health,
    /// Managing every account; administrators only.
    Admin,
}

/// The moment the examples in the spec are set at (2026-03-01T17:00:00Z).
pub const EXAMPLE_TIME: DateTime<Utc> = DateTime::from_timestamp_nanos(1_772_384_400_000_000_000);

/// The service's title, version, description, licence and contact, for any endpoints.
pub fn described<T: OpenApi>(endpoints: T) -> OpenApiService<T, ()> {
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
