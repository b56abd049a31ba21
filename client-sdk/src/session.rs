//! Hand-written convenience around the generated client.

use std::fmt;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};

use crate::{Client, Error, types};

/// Why an authenticated client could not be built.
#[derive(Debug)]
pub enum SessionError {
    /// The token cannot be sent in an HTTP header.
    InvalidToken,
    /// The HTTP client could not be built.
    Http(reqwest::Error),
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidToken => f.write_str("the token is not a valid header value"),
            Self::Http(error) => write!(f, "cannot build the HTTP client: {error}"),
        }
    }
}

impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidToken => None,
            Self::Http(error) => Some(error),
        }
    }
}

/// Logs in with an email and password and returns a client that sends the token on every
/// request, together with the token itself.
pub async fn log_in(
    base_url: &str,
    email: &str,
    password: &str,
) -> Result<(Client, types::Token), Error<types::Problem>> {
    let token = Client::new(base_url)
        .login()
        .body(types::LoginForm {
            username: email.to_owned(),
            password: password.to_owned(),
            grant_type: Some("password".to_owned()),
            scope: None,
        })
        .send()
        .await?
        .into_inner();
    let client = with_token(base_url, &token.access_token)
        .map_err(|error| Error::InvalidRequest(error.to_string()))?;
    Ok((client, token))
}

/// A client that sends `Authorization: Bearer <token>` on every request.
pub fn with_token(base_url: &str, token: &str) -> Result<Client, SessionError> {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| SessionError::InvalidToken)?;
    value.set_sensitive(true);
    let headers = HeaderMap::from_iter([(AUTHORIZATION, value)]);
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .map_err(SessionError::Http)?;
    Ok(Client::new_with_client(base_url, http))
}
