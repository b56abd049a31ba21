//! The one security scheme, an OAuth2 password-flow bearer token, and what checks it.

use std::net::IpAddr;

use poem::{FromRequest, Request, RequestBody, http::header};
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

/// The address of the client a request came from: the TCP peer, or what a trusted proxy
/// in front of the server reports. The server puts it in every request's extensions; the
/// operations that limit per client read it from there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

/// The `User-Agent` a request was sent with, if any, cut to [`UserAgent::MAX_CHARS`]
/// characters: what a session list shows to tell sessions apart. Never trusted for
/// anything else.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserAgent(pub Option<String>);

impl UserAgent {
    /// The most characters of a `User-Agent` that are kept.
    pub const MAX_CHARS: usize = 200;
}

impl<'a> FromRequest<'a> for UserAgent {
    async fn from_request(request: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let agent = request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(|agent| {
                agent
                    .trim()
                    .chars()
                    .take(Self::MAX_CHARS)
                    .collect::<String>()
            })
            .filter(|agent| !agent.is_empty());
        Ok(Self(agent))
    }
}
