//! The one security scheme, an OAuth2 password-flow bearer token, and what checks it.

use poem_openapi::{SecurityScheme, auth::Bearer};

use crate::problem::{ApiError, Declares, ErrorSet, Errors, Fault};

/// A JWT from `POST /auth/login`, sent as `Authorization: Bearer <token>`. In Swagger UI,
/// *Authorize* logs in with your email as `username` and your password.
#[derive(SecurityScheme)]
#[oai(
    rename = "OAuth2PasswordBearer",
    ty = "oauth2",
    flows(password(token_url = "/auth/login"))
)]
pub struct BearerAuth(pub Bearer);

impl BearerAuth {
    pub fn token(&self) -> &str {
        &self.0.token
    }
}

/// Why a request's bearer token did not let it through.
#[derive(Debug, Clone)]
pub enum Unauthenticated {
    /// The token is malformed, forged, expired, or its account is gone.
    Refused(ApiError<401>),
    /// The caller is over its request quota.
    Throttled(ApiError<429>),
    /// The token could not be checked.
    Fault(Fault),
}

impl<S: ErrorSet + Declares<401> + Declares<429>> From<Unauthenticated> for Errors<S> {
    fn from(unauthenticated: Unauthenticated) -> Self {
        match unauthenticated {
            Unauthenticated::Refused(error) => error.into(),
            Unauthenticated::Throttled(error) => error.into(),
            Unauthenticated::Fault(fault) => fault.into(),
        }
    }
}
