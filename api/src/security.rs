//! The one security scheme, an OAuth2 password-flow bearer token, the scopes its operations
//! need, and what checks it.

use poem::{Request, http::Method};
use poem_openapi::{OAuthScopes, SecurityScheme, auth::Bearer};

use crate::problem::{ApiError, Declares, ErrorSet, Errors, Fault};

/// A JWT from `POST /auth/login` (a session), or a personal access token from
/// `create_access_token` (`tka_…`), sent as `Authorization: Bearer <token>`. In Swagger UI,
/// *Authorize* logs in with your email as `username` and your password.
///
/// Each operation lists the scopes it needs. A session holds every scope; an access token
/// holds those it was made with, and a call outside them is 403 with
/// `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"`. The `session` scope is
/// never granted to a token: changing the password or email, managing tokens and sessions,
/// and administration need a login.
#[derive(SecurityScheme)]
#[oai(
    rename = "OAuth2PasswordBearer",
    ty = "oauth2",
    flows(password(token_url = "/auth/login", scopes = "Scope")),
    checker = "presented"
)]
pub struct BearerAuth(pub Presented);

/// What an operation may need of the caller's token. The names are the wire names of
/// `AccessTokenScope`, and `session`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, OAuthScopes)]
pub enum Scope {
    /// Read tasks and tags.
    #[oai(rename = "tasks:read")]
    TasksRead,
    /// Create, change, move and delete tasks; rename and delete tags.
    #[oai(rename = "tasks:write")]
    TasksWrite,
    /// Read lists, their members and your invitations.
    #[oai(rename = "lists:read")]
    ListsRead,
    /// Create, change, share and delete lists; answer invitations.
    #[oai(rename = "lists:write")]
    ListsWrite,
    /// Read your account.
    #[oai(rename = "account:read")]
    AccountRead,
    /// A login session: never granted to an access token.
    #[oai(rename = "session")]
    Session,
}

/// A bearer token as presented, with the operation it was presented to (its method and
/// path), so that the server can check the scopes the contract says that operation needs.
/// Its `Debug` never shows the token.
#[derive(Clone)]
pub struct Presented {
    token: String,
    method: Method,
    path: String,
}

impl std::fmt::Debug for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presented")
            .field("method", &self.method)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Keeps the token with the operation it is for.
async fn presented(request: &Request, bearer: Bearer) -> Option<Presented> {
    Some(Presented {
        token: bearer.token,
        method: request.method().clone(),
        path: request.uri().path().to_owned(),
    })
}

impl BearerAuth {
    pub fn token(&self) -> &str {
        &self.0.token
    }

    /// The operation the token was presented to: its method and path.
    pub fn operation(&self) -> (&Method, &str) {
        (&self.0.method, &self.0.path)
    }
}

/// Why a request's bearer token did not let it through.
#[derive(Debug, Clone)]
pub enum Unauthenticated {
    /// The token is malformed, forged, expired, or its account is gone.
    Refused(ApiError<401>),
    /// The token is an access token without a scope the operation needs.
    OutOfScope(ApiError<403>),
    /// The caller is over its request quota.
    Throttled(ApiError<429>),
    /// The token could not be checked.
    Fault(Fault),
}

impl<S: ErrorSet + Declares<401> + Declares<403> + Declares<429>> From<Unauthenticated>
    for Errors<S>
{
    fn from(unauthenticated: Unauthenticated) -> Self {
        match unauthenticated {
            Unauthenticated::Refused(error) => error.into(),
            Unauthenticated::OutOfScope(error) => error.into(),
            Unauthenticated::Throttled(error) => error.into(),
            Unauthenticated::Fault(fault) => fault.into(),
        }
    }
}
