//! The one security scheme: an OAuth2 password-flow bearer token.

use std::sync::Arc;

use poem::Request;
use poem_openapi::{SecurityScheme, auth::Bearer};

use crate::auth::{AuthBackend, Caller};

/// A JWT from `POST /auth/login`, sent as `Authorization: Bearer <token>`. In Swagger UI,
/// *Authorize* logs in with your email as `username` and your password.
#[derive(SecurityScheme)]
#[oai(
    rename = "OAuth2PasswordBearer",
    ty = "oauth2",
    flows(password(token_url = "/auth/login")),
    checker = "authenticate"
)]
pub struct BearerAuth(pub Caller);

async fn authenticate(request: &Request, bearer: Bearer) -> poem::Result<Caller> {
    let backend = request
        .data::<Arc<dyn AuthBackend>>()
        // The server attaches its backends once, at start-up; a missing one is a wiring bug.
        .ok_or_else(|| poem::Error::from_status(poem::http::StatusCode::INTERNAL_SERVER_ERROR))?;
    Ok(backend.authenticate(&bearer.token).await?)
}
