//! The caller's personal access tokens: making one (shown once, stored as a hash), listing
//! them, and deleting one, which ends its access on every server. Using one is
//! authentication's concern ([`super::auth::AuthService::authenticate`]).

use sqlx::PgConnection;

use super::{Failure, audit, now, revocations::Revoker};
use crate::{
    domain::{
        ACCESS_TOKEN_PREFIX, AccessToken, AccessTokenDraft, AccessTokenId, AccessTokenPage,
        AuditKind, Caller, PageCursor, PageSize, PersonalToken,
    },
    security::opaque,
    store::{Database, access_tokens, users},
};

/// Why no token was made.
#[derive(Debug, thiserror::Error)]
pub enum CreateTokenError {
    /// The account holds as many tokens as one may.
    #[error("the account holds {max} access tokens already")]
    TooMany { max: u32 },
    /// The account was deleted after its token was checked.
    #[error("the account no longer exists")]
    Gone,
    #[error(transparent)]
    Failed(#[from] Failure),
}

super::not_found_error!(
    /// No such token, or it belongs to someone else.
    TokenNotFound: "access token not found"
);

#[derive(Clone)]
pub struct TokenService {
    db: Database,
    revoker: Revoker,
    /// Tokens one account may hold (0: no cap).
    max_per_user: u32,
}

impl TokenService {
    pub fn new(db: Database, revoker: Revoker, max_per_user: u32) -> Self {
        Self {
            db,
            revoker,
            max_per_user,
        }
    }

    /// Makes a token for the caller: the token itself, to show this once, and what it is.
    pub async fn create(
        &self,
        caller: Caller,
        draft: AccessTokenDraft,
    ) -> Result<(PersonalToken, AccessToken), CreateTokenError> {
        let mut transaction = self.db.begin().await?;
        // The account's row, locked: two creations at once count one after the other.
        users::find_for_update(&mut *transaction, caller.user)
            .await?
            .ok_or(CreateTokenError::Gone)?;
        let held = access_tokens::count(&mut *transaction, caller.user).await?;
        let max = self.max_per_user;
        if max > 0 && held >= i64::from(max) {
            return Err(CreateTokenError::TooMany { max });
        }
        let (token, hash) = opaque::generate_prefixed::<PersonalToken>(ACCESS_TOKEN_PREFIX);
        let stored =
            access_tokens::insert(&mut *transaction, caller.user, draft, &hash, now()).await?;
        let event = audit::own(AuditKind::AccessTokenCreated, caller.user);
        let detail = format!(
            "{} {:?} ({})",
            stored.id.0,
            stored.name.as_str(),
            stored.scopes.names()
        );
        event.detail(detail).record(&mut *transaction).await?;
        transaction.commit().await.map_err(Failure::from)?;
        Ok((token, stored))
    }

    /// One page of the caller's tokens, newest first.
    pub async fn list(
        &self,
        caller: Caller,
        size: PageSize,
        after: Option<PageCursor>,
    ) -> Result<AccessTokenPage, Failure> {
        let read = async |db: &mut PgConnection, limit| {
            access_tokens::list(db, caller.user, after, limit).await
        };
        super::page(&self.db, size, read).await
    }

    /// Deletes one of the caller's tokens: it stops working at once here, and on the other
    /// servers as soon as they hear of it (the revocation feed); an event stream it holds
    /// open ends.
    pub async fn delete(&self, caller: Caller, id: AccessTokenId) -> Result<(), TokenNotFound> {
        let mut transaction = self.db.begin().await?;
        if !access_tokens::delete(&mut *transaction, caller.user, id).await? {
            return Err(TokenNotFound::NotFound);
        }
        let event = audit::own(AuditKind::AccessTokenDeleted, caller.user);
        event
            .detail(id.0.to_string())
            .record(&mut *transaction)
            .await?;
        let pending = self.revoker.access_tokens(&mut transaction, &[id]).await?;
        Ok(self.revoker.commit(transaction, pending).await?)
    }
}
