use chrono::{DateTime, Utc};
use strum::{EnumString, IntoStaticStr, VariantArray};
use uuid::Uuid;

use super::{Credential, Email, Password, RefreshToken, SessionId};

/// What an account may do: a `user` manages its own tasks and account, an `admin` also
/// every account.
// The snake_case names are how the database and access tokens state a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoStaticStr, EnumString, VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    User,
    Admin,
}

/// The id of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserId(pub Uuid);

/// An account as stored, without its password hash.
#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    /// Whether a mail sent to `email` was answered (its verification token used).
    pub email_verified: bool,
    /// The address an email change asked for, until a mail sent to it is answered.
    pub pending_email: Option<Email>,
    pub role: Role,
    /// When an administrator disabled the account, if they did.
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl User {
    pub fn is_enabled_admin(&self) -> bool {
        self.role == Role::Admin && self.disabled_at.is_none()
    }
}

/// Who an accepted bearer token speaks for: the account, the credential (the session that
/// issued the token, or a personal access token), and the account's role (when the
/// session's token was issued; now, for an access token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub user: UserId,
    pub credential: Credential,
    pub role: Role,
}

impl Caller {
    /// The caller's session, unless it called with an access token.
    pub fn session(&self) -> Option<SessionId> {
        match self.credential {
            Credential::Session(session) => Some(session),
            Credential::AccessToken(..) => None,
        }
    }
}

/// A caller whose token states the administrator role: what every `/admin` operation
/// needs, so that none can run for anyone else.
#[derive(Debug, Clone, Copy)]
pub struct Admin(Caller);

/// The caller is not an administrator.
#[derive(Debug, thiserror::Error)]
#[error("administrators only")]
pub struct NotAdmin;

impl TryFrom<Caller> for Admin {
    type Error = NotAdmin;

    fn try_from(caller: Caller) -> Result<Self, NotAdmin> {
        match caller.role {
            Role::Admin => Ok(Self(caller)),
            Role::User => Err(NotAdmin),
        }
    }
}

impl Admin {
    pub fn caller(&self) -> Caller {
        self.0
    }
}

/// What a new account is made of, validated.
#[derive(Debug)]
pub struct Registration {
    pub email: Email,
    pub password: Password,
}

/// What a login presents: the email as typed and the password, not yet checked.
#[derive(Debug)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// A request to the token endpoint, by grant type.
#[derive(Debug)]
pub enum Grant {
    /// The OAuth2 password grant: a new session.
    Password(Credentials),
    /// The OAuth2 refresh-token grant: the next tokens of a session.
    RefreshToken(RefreshToken),
}

/// A password change: the password as typed now, and the new one, validated.
#[derive(Debug)]
pub struct NewPassword {
    pub current: String,
    pub new: Password,
}

/// An email change, validated, and the password that authorises it.
#[derive(Debug)]
pub struct NewEmail {
    pub email: Email,
    pub current_password: String,
}

/// The password that confirms an account's deletion, as typed.
pub struct DeletionConfirmation(pub String);
