use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Page, UserId};

/// The id of a session; access tokens carry it as `sid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId(pub Uuid);

super::secret_tokens! {
    /// A refresh token as a client holds it: an opaque string. Its `Debug` never shows it,
    /// and the server stores only its hash.
    RefreshToken;
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
