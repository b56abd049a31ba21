//! `/users/me/tokens`: the caller's personal access tokens. Managing tokens needs a login
//! session: a token cannot make, list or delete tokens.

use taskapi_api::tokens::{
    self as contract, AccessTokenCreated, AccessTokenDeleted, AccessTokenInput,
    AccessTokenPageResponse, AccessTokenScope, CreateAccessTokenErrors, DeleteAccessTokenErrors,
    ListAccessTokensErrors,
};

use super::{body::JsonBody, prelude::*};
use crate::domain::{
    AccessToken, AccessTokenDraft, AccessTokenId, FieldErrors, PageCursor, Scope as Granted,
    TokenName, within_four_digit_years,
};

super::same_variants!(AccessTokenScope, Granted: TasksRead, TasksWrite, ListsRead, ListsWrite, AccountRead);

/// The operations on `/users/me/tokens`.
pub enum AccessTokens {}

#[OpenApi(prefix_path = "/users/me/tokens", tag = "ApiTag::Users")]
impl Api<AccessTokens> {
    /// Create an access token
    ///
    /// Makes a personal access token for scripts, CI jobs and `taskctl`: it acts for the
    /// caller within `scopes` until `expires_at` (if given) or until it is deleted. The
    /// token is in this answer only; the server keeps its hash. An account holds at most
    /// `TASKAPI_MAX_ACCESS_TOKENS_PER_USER` tokens (409 past it).
    #[oai(path = "/", method = "post", operation_id = "create_access_token")]
    async fn create_access_token(
        &self,
        #[oai(scope = "Scope::Session")] auth: BearerAuth,
        body: JsonBody<AccessTokenInput>,
    ) -> Result<AccessTokenCreated, Errors<CreateAccessTokenErrors>> {
        let caller = self.authenticate(auth).await?;
        let draft: AccessTokenDraft = self.bodies.json(body)?.try_into()?;
        let (token, made) = self.tokens.create(caller, draft).await?;
        Ok(AccessTokenCreated::Created(Json(
            contract::NewAccessToken {
                token: token.expose().to_owned(),
                access_token: made.into(),
            },
        )))
    }

    /// List access tokens
    ///
    /// The caller's tokens, newest first, expired ones included: their names, scopes and
    /// when each was made, last used and expires. Never the tokens themselves.
    #[oai(path = "/", method = "get", operation_id = "list_access_tokens")]
    async fn list_access_tokens(
        &self,
        #[oai(scope = "Scope::Session")] auth: BearerAuth,
        /// How many tokens the page holds.
        #[oai(default)]
        limit: Query<PageLimit>,
        /// The previous page's `next_cursor` (only cursors this API issued); omit for page one.
        cursor: Query<Option<Cursor>>,
    ) -> Result<AccessTokenPageResponse, Errors<ListAccessTokensErrors>> {
        let caller = self.authenticate(auth).await?;
        let (size, after) = page_request(limit.0, cursor.0, PageCursor::decode)?;
        let page = self.tokens.list(caller, size, after).await?;
        Ok(AccessTokenPageResponse::Ok(Json(page_of(page, Into::into))))
    }

    /// Delete an access token
    ///
    /// The token stops working at once on this server, and on the others within the
    /// revocation window; an event stream it holds ends.
    #[oai(
        path = "/:token_id",
        method = "delete",
        operation_id = "delete_access_token"
    )]
    async fn delete_access_token(
        &self,
        #[oai(scope = "Scope::Session")] auth: BearerAuth,
        token_id: Path<Uuid>,
    ) -> Result<AccessTokenDeleted, Errors<DeleteAccessTokenErrors>> {
        let caller = self.authenticate(auth).await?;
        let id = AccessTokenId(token_id.0);
        self.tokens.delete(caller, id).await?;
        Ok(AccessTokenDeleted::NoContent)
    }
}

impl TryFrom<AccessTokenInput> for AccessTokenDraft {
    type Error = FieldErrors;

    fn try_from(input: AccessTokenInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = errors.check("name", TokenName::parse(input.name.as_str()));
        let expires_at = errors.check(
            "expires_at",
            match input.expires_at {
                Some(at) if at <= chrono::Utc::now() => Err("must be in the future".to_owned()),
                at => at.map(within_four_digit_years).transpose(),
            },
        );
        let (Some(name), Some(expires_at)) = (name, expires_at) else {
            return Err(errors);
        };
        Ok(Self {
            name,
            scopes: input.scopes.into_iter().map(Granted::from).collect(),
            expires_at,
        })
    }
}

impl From<AccessToken> for contract::AccessToken {
    fn from(token: AccessToken) -> Self {
        Self {
            id: token.id.0,
            name: token.name.as_str().to_owned(),
            scopes: token.scopes.iter().map(Into::into).collect(),
            created_at: token.created_at,
            last_used_at: token.last_used_at,
            expires_at: token.expires_at,
        }
    }
}
