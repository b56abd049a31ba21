//! Hand-written around the generated client: the credentials a [`Client`] sends, and a
//! session that refreshes itself.
//!
//! A client made by [`log_in`] (or [`resume`]) holds its session's access and refresh
//! tokens. Before a request it refreshes an access token that has expired; when the server
//! still answers 401 (the token was revoked, or clocks disagree), it refreshes once and
//! sends the request once more. Refreshes are single-flight: concurrent requests wait for
//! one refresh rather than each spending the refresh token, which works only once.

use std::{
    fmt,
    sync::Arc,
    time::{Duration, Instant},
};

use reqwest::{
    StatusCode,
    header::{AUTHORIZATION, HeaderValue},
};
use tokio::sync::Mutex;

use crate::{
    Client, Error,
    transport::{self, Retry},
    types,
};

/// The token endpoint's operation: never sent with credentials, never retried.
const TOKEN_OPERATION: &str = "login";

/// Longest a refresh may take; every request of the session waits for it.
const REFRESH_TIMEOUT: Duration = Duration::from_secs(30);

/// How long before its stated expiry an access token is refreshed, for clock skew and the
/// request's own travel time.
const EXPIRY_MARGIN: Duration = Duration::from_secs(10);

/// What a client authenticates with, and how it retries (see [`crate::transport`]).
#[derive(Clone, Default)]
pub struct Auth {
    credentials: Credentials,
    pub(crate) retry: Retry,
}

#[derive(Clone, Default)]
enum Credentials {
    /// Nothing: public operations only.
    #[default]
    Anonymous,
    /// One bearer token, sent as it is until it stops working.
    Token(HeaderValue),
    /// A session's tokens, refreshed as needed.
    Session(Arc<Session>),
}

struct Session {
    base_url: String,
    /// Sends refreshes, outside the generated client and its hooks.
    http: reqwest::Client,
    tokens: Mutex<Tokens>,
}

struct Tokens {
    token: types::Token,
    header: HeaderValue,
    /// When the access token should be treated as expired.
    stale_at: Instant,
}

/// Why a session could not be used.
#[derive(Debug)]
pub enum SessionError {
    /// A token cannot be sent in an HTTP header.
    InvalidToken,
    /// The HTTP client could not be built, or a refresh could not be sent.
    Http(reqwest::Error),
    /// The server refused the refresh token (the session has ended): log in again.
    Refused(StatusCode),
    /// The refresh stopped before it finished (its task panicked or was cancelled).
    Interrupted,
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidToken => f.write_str("the token is not a valid header value"),
            Self::Http(error) => write!(f, "cannot reach the server: {error}"),
            Self::Refused(status) => {
                write!(f, "the session has ended ({status}); log in again")
            }
            Self::Interrupted => f.write_str("the refresh was interrupted"),
        }
    }
}

impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Http(error) => Some(error),
            Self::InvalidToken | Self::Refused(_) | Self::Interrupted => None,
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never shows a token.
        let kind = match &self.credentials {
            Credentials::Anonymous => "anonymous",
            Credentials::Token(_) => "token",
            Credentials::Session(_) => "session",
        };
        f.debug_struct("Auth")
            .field("credentials", &kind)
            .field("retry", &self.retry)
            .finish()
    }
}

impl Auth {
    /// The session's current tokens (after any refresh), or `None` for a client without a
    /// session.
    pub async fn tokens(&self) -> Option<types::Token> {
        match &self.credentials {
            Credentials::Session(session) => Some(session.tokens.lock().await.token.clone()),
            Credentials::Anonymous | Credentials::Token(_) => None,
        }
    }
}

impl Tokens {
    fn new(token: types::Token) -> Result<Self, SessionError> {
        let header = bearer(&token.access_token)?;
        let lifetime = Duration::from_secs(token.expires_in);
        Ok(Self {
            stale_at: Instant::now() + lifetime.saturating_sub(EXPIRY_MARGIN),
            header,
            token,
        })
    }
}

fn bearer(token: &str) -> Result<HeaderValue, SessionError> {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| SessionError::InvalidToken)?;
    value.set_sensitive(true);
    Ok(value)
}

impl Session {
    /// The access token to send: the current one, refreshed first if it has expired.
    async fn header(self: &Arc<Self>) -> Result<HeaderValue, SessionError> {
        {
            let tokens = self.tokens.lock().await;
            if Instant::now() < tokens.stale_at {
                return Ok(tokens.header.clone());
            }
        }
        self.refreshed(None).await
    }

    /// A fresh access token after `refused` was refused, unless another request already
    /// got one since (then that one).
    async fn header_after_refusal(
        self: &Arc<Self>,
        refused: &HeaderValue,
    ) -> Result<HeaderValue, SessionError> {
        self.refreshed(Some(refused.clone())).await
    }

    /// Refreshes in a task of its own, so that the new tokens are kept even if the request
    /// that needed them is dropped midway: a refresh token works once, and losing its
    /// successor would end the session at the next refresh.
    async fn refreshed(
        self: &Arc<Self>,
        refused: Option<HeaderValue>,
    ) -> Result<HeaderValue, SessionError> {
        let session = Arc::clone(self);
        tokio::spawn(async move { session.refresh_if_needed(refused).await })
            .await
            .unwrap_or(Err(SessionError::Interrupted))
    }

    /// One refresh at a time: whoever waited for the lock finds the tokens already
    /// refreshed and uses them.
    async fn refresh_if_needed(
        &self,
        refused: Option<HeaderValue>,
    ) -> Result<HeaderValue, SessionError> {
        let mut tokens = self.tokens.lock().await;
        let needed = match &refused {
            Some(refused) => tokens.header == *refused,
            None => Instant::now() >= tokens.stale_at,
        };
        if needed {
            *tokens = self.refresh(&tokens.token.refresh_token).await?;
        }
        Ok(tokens.header.clone())
    }

    /// The refresh-token grant (RFC 6749 §6): new tokens for the session.
    async fn refresh(&self, refresh_token: &str) -> Result<Tokens, SessionError> {
        let response = self
            .http
            .post(format!("{}/auth/login", self.base_url))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ])
            .send()
            .await
            .map_err(SessionError::Http)?;
        if !response.status().is_success() {
            return Err(SessionError::Refused(response.status()));
        }
        let token: types::Token = response.json().await.map_err(SessionError::Http)?;
        Tokens::new(token)
    }
}

impl Auth {
    fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            retry: Retry::default(),
        }
    }

    /// Puts the credentials on a request of `operation`, after refreshing an access token
    /// that has expired.
    pub(crate) async fn authorize(
        &self,
        request: &mut reqwest::Request,
        operation: &str,
    ) -> Result<(), SessionError> {
        if operation == TOKEN_OPERATION {
            return Ok(());
        }
        let header = match &self.credentials {
            Credentials::Anonymous => return Ok(()),
            Credentials::Token(header) => header.clone(),
            Credentials::Session(session) => session.header().await?,
        };
        request.headers_mut().insert(AUTHORIZATION, header);
        Ok(())
    }

    /// Sends an authorized request with `http`; when a session's access token is refused,
    /// refreshes it once and sends the request once more.
    pub(crate) async fn execute(
        &self,
        http: &reqwest::Client,
        request: reqwest::Request,
        operation: &str,
    ) -> reqwest::Result<reqwest::Response> {
        let Credentials::Session(session) = &self.credentials else {
            return http.execute(request).await;
        };
        let retry = request.try_clone();
        let sent = request.headers().get(AUTHORIZATION).cloned();
        let response = http.execute(request).await?;
        if response.status() != StatusCode::UNAUTHORIZED || operation == TOKEN_OPERATION {
            return Ok(response);
        }
        // One refresh and one retry; if either is impossible, the 401 stands.
        let (Some(mut retry), Some(sent)) = (retry, sent) else {
            return Ok(response);
        };
        let Ok(header) = session.header_after_refusal(&sent).await else {
            return Ok(response);
        };
        retry.headers_mut().insert(AUTHORIZATION, header);
        http.execute(retry).await
    }
}

/// A client without credentials, for the public operations.
pub fn anonymous(base_url: &str) -> Client {
    transport::client(base_url, Auth::default())
}

/// Logs in with an email and password and returns a client that sends the session's
/// access token on every request and refreshes it as needed, together with the tokens the
/// login returned.
pub async fn log_in(
    base_url: &str,
    email: &str,
    password: &str,
) -> Result<(Client, types::Token), Error<types::Problem>> {
    let token = anonymous(base_url)
        .login()
        .body(types::LoginForm {
            username: Some(email.to_owned()),
            password: Some(password.to_owned()),
            grant_type: Some("password".to_owned()),
            refresh_token: None,
            scope: None,
        })
        .send()
        .await?
        .into_inner();
    let client = resume(base_url, token.clone())
        .map_err(|error| Error::InvalidRequest(error.to_string()))?;
    Ok((client, token))
}

/// A client for a session whose tokens were saved (from [`log_in`], or [`Auth::tokens`]),
/// refreshing them as needed. The refresh token must be the session's latest.
pub fn resume(base_url: &str, token: types::Token) -> Result<Client, SessionError> {
    let http = transport::http_builder()
        .timeout(REFRESH_TIMEOUT)
        .build()
        .map_err(SessionError::Http)?;
    let session = Session {
        base_url: base_url.trim_end_matches('/').to_owned(),
        http,
        tokens: Mutex::new(Tokens::new(token)?),
    };
    Ok(transport::client(
        base_url,
        Auth::new(Credentials::Session(Arc::new(session))),
    ))
}

/// A client that sends `Authorization: Bearer <token>` on every request, and never
/// refreshes it.
pub fn with_token(base_url: &str, token: &str) -> Result<Client, SessionError> {
    Ok(transport::client(
        base_url,
        Auth::new(Credentials::Token(bearer(token)?)),
    ))
}
