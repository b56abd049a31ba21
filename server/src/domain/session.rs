use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Page, UserId};

/// The id of a session; access tokens carry it as `sid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId(pub Uuid);

/// A refresh token as a client holds it: an opaque string. Its `Debug` never shows it, and
/// the server stores only its hash.
#[derive(Clone)]
pub struct RefreshToken(secrecy::SecretString);

impl RefreshToken {
    /// A token a client presented, not yet checked.
    pub fn presented(token: String) -> Self {
        Self(token.into())
    }

    pub fn expose(&self) -> &str {
        secrecy::ExposeSecret::expose_secret(&self.0)
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(<redacted>)")
    }
}

/// Where and how a session began, as its list shows it.
#[derive(Debug, Clone)]
pub struct SessionOrigin {
    pub user_agent: Option<String>,
    pub client_address: String,
}

/// A session as stored.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: SessionId,
    pub user: UserId,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub max_expires_at: DateTime<Utc>,
    pub origin: SessionOrigin,
}

/// One page of a user's sessions.
pub type SessionPage = Page<Session>;
