use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Email;

/// The id of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserId(pub Uuid);

/// An account as stored, without its password hash.
#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub created_at: DateTime<Utc>,
}
