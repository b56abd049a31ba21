//! Personal access tokens and the scopes that bound them; and the credential a caller
//! presents, a session's or a token's.

use chrono::{DateTime, Utc};
use strum::{EnumString, IntoStaticStr, VariantArray};
use uuid::Uuid;

use super::{SessionId, UserId};

/// The fixed start of every access token, so that secret scanners can find a leaked one
/// (and the server tells a token from a JWT without trying to decode it).
pub const ACCESS_TOKEN_PREFIX: &str = "tka_";

/// The id of an access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccessTokenId(pub Uuid);

super::secret_tokens! {
    /// A personal access token as a client holds it (`tka_` and 43 base64url characters).
    /// Its `Debug` never shows it.
    PersonalToken;
}

/// What an access token may do. A login session may do all of it, and what no scope
/// grants (the `session` scope in the spec).
// The names are the wire names and what the database stores.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, IntoStaticStr, EnumString, VariantArray,
)]
pub enum Scope {
    #[strum(serialize = "tasks:read")]
    TasksRead,
    #[strum(serialize = "tasks:write")]
    TasksWrite,
    #[strum(serialize = "lists:read")]
    ListsRead,
    #[strum(serialize = "lists:write")]
    ListsWrite,
    #[strum(serialize = "account:read")]
    AccountRead,
}

/// A set of scopes.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes(u8);

impl Scopes {
    fn bit(scope: Scope) -> u8 {
        1 << scope as u8
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & Self::bit(scope) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every scope of `other` is in this set.
    pub fn covers(self, other: Self) -> bool {
        other.0 & !self.0 == 0
    }

    /// The scopes, in their declared order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::VARIANTS
            .iter()
            .copied()
            .filter(move |scope| self.contains(*scope))
    }

    /// The names, space-separated as OAuth writes a scope list.
    pub fn names(self) -> String {
        self.iter()
            .map(<&'static str>::from)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(scopes: I) -> Self {
        Self(
            scopes
                .into_iter()
                .fold(0, |set, scope| set | Self::bit(scope)),
        )
    }
}

impl std::fmt::Debug for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// What an operation needs of the caller's credential: the scopes a token must hold, or
/// a login session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Scopes(Scopes),
    Session,
}

/// The credential behind a request: a login session (its access tokens hold every scope),
/// or a personal access token and the scopes it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Session(SessionId),
    AccessToken(AccessTokenId, Scopes),
}

impl Credential {
    /// The id that ends this credential's access when it is revoked: its session's, or
    /// the token's.
    pub fn id(self) -> Uuid {
        match self {
            Self::Session(session) => session.0,
            Self::AccessToken(token, _) => token.0,
        }
    }

    /// Whether this credential may call an operation that `needs` this; `Err` names the
    /// scopes the operation needs (none when it needs a session).
    pub fn allows(self, needs: Needs) -> Result<(), Scopes> {
        match (self, needs) {
            (Self::Session(_), _) => Ok(()),
            (Self::AccessToken(..), Needs::Session) => Err(Scopes::default()),
            (Self::AccessToken(_, held), Needs::Scopes(needed)) if held.covers(needed) => Ok(()),
            (Self::AccessToken(..), Needs::Scopes(needed)) => Err(needed),
        }
    }
}

/// The name its owner gave a token: trimmed, not empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenName(String);

impl TokenName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        super::trimmed(raw).map(|name| Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A token to make, validated.
#[derive(Debug, Clone)]
pub struct AccessTokenDraft {
    pub name: TokenName,
    pub scopes: Scopes,
    pub expires_at: Option<DateTime<Utc>>,
}

/// An access token as stored (its hash aside).
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub id: AccessTokenId,
    pub user: UserId,
    pub name: TokenName,
    pub scopes: Scopes,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// One page of access tokens.
pub type AccessTokenPage = super::Page<AccessToken>;

#[cfg(test)]
mod tests {
    use super::*;

    fn token(scopes: &[Scope]) -> Credential {
        Credential::AccessToken(AccessTokenId(Uuid::nil()), scopes.iter().copied().collect())
    }

    #[test]
    fn a_token_may_do_what_its_scopes_cover_and_a_session_everything() {
        let reads: Scopes = [Scope::TasksRead, Scope::ListsRead].into_iter().collect();
        let reader = token(&[Scope::TasksRead, Scope::ListsRead, Scope::AccountRead]);
        assert_eq!(reader.allows(Needs::Scopes(reads)), Ok(()));
        let write = [Scope::TasksWrite].into_iter().collect();
        assert_eq!(reader.allows(Needs::Scopes(write)), Err(write));
        assert_eq!(reader.allows(Needs::Session), Err(Scopes::default()));
        let session = Credential::Session(SessionId(Uuid::nil()));
        assert_eq!(session.allows(Needs::Session), Ok(()));
        assert_eq!(session.allows(Needs::Scopes(write)), Ok(()));
    }

    #[test]
    fn scope_sets_name_their_scopes_in_order() {
        let scopes: Scopes = [Scope::AccountRead, Scope::TasksRead].into_iter().collect();
        assert_eq!(scopes.names(), "tasks:read account:read");
        assert_eq!(format!("{scopes:?}"), "{TasksRead, AccountRead}");
    }
}
