//! `/admin`: managing every account. Only administrators may call these operations; anyone
//! else gets 403.

use std::{future::Future, sync::Arc};

use chrono::{DateTime, Utc};
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::Example,
};
use uuid::Uuid;

use crate::{
    ApiTag,
    paging::{Cursor, PageLimit},
    problem::{Errors, error_set},
    security::{Authenticate, BearerAuth},
    text::{EmailChars, Text},
    users::{EMAIL_MAX_CHARS, Role},
};

/// An account as administrators see it.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Account {
    pub id: Uuid,
    /// The email address as registered (trimmed).
    pub email: String,
    pub role: Role,
    /// When an administrator disabled the account; `null` while it is enabled. A disabled
    /// account cannot log in or refresh, and its tokens do not work.
    #[oai(nullable)]
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// One page of accounts, newest first.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct AccountPage {
    pub items: Vec<Account>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

impl Example for Account {
    fn example() -> Self {
        Self {
            id: Uuid::from_u128(0x0194_b2a4_0000_7000_8000_0000_0000_0001),
            email: "alice@example.com".to_owned(),
            role: Role::User,
            disabled_at: None,
            created_at: crate::EXAMPLE_TIME,
        }
    }
}

impl Example for AccountPage {
    fn example() -> Self {
        Self {
            items: vec![Account::example()],
            next_cursor: None,
        }
    }
}

/// The start of an email address to filter accounts by.
pub type EmailPrefix = Text<1, EMAIL_MAX_CHARS, EmailChars>;

/// What the server behind `/admin` does, on behalf of a caller who must be an administrator.
pub trait AdminBackend: Authenticate {
    fn list_accounts(
        &self,
        caller: Self::Caller,
        limit: PageLimit,
        cursor: Option<Cursor>,
        email_prefix: Option<EmailPrefix>,
    ) -> impl Future<Output = Result<AccountPage, Errors<ListAccountsErrors>>> + Send;

    fn get_account(
        &self,
        caller: Self::Caller,
        user_id: Uuid,
    ) -> impl Future<Output = Result<Account, Errors<AccountByIdErrors>>> + Send;

    fn disable_account(
        &self,
        caller: Self::Caller,
        user_id: Uuid,
    ) -> impl Future<Output = Result<Account, Errors<AccountChangeErrors>>> + Send;

    fn enable_account(
        &self,
        caller: Self::Caller,
        user_id: Uuid,
    ) -> impl Future<Output = Result<Account, Errors<AccountByIdErrors>>> + Send;

    fn delete_account(
        &self,
        caller: Self::Caller,
        user_id: Uuid,
    ) -> impl Future<Output = Result<(), Errors<AccountChangeErrors>>> + Send;

    fn end_account_sessions(
        &self,
        caller: Self::Caller,
        user_id: Uuid,
    ) -> impl Future<Output = Result<(), Errors<AccountByIdErrors>>> + Send;
}

#[derive(ApiResponse)]
pub enum AccountPageResponse {
    /// A page of accounts.
    #[oai(status = 200)]
    Ok(Json<AccountPage>),
}

#[derive(ApiResponse)]
pub enum AccountResponse {
    /// The account.
    #[oai(status = 200)]
    Ok(Json<Account>),
}

#[derive(ApiResponse)]
pub enum AdminDoneResponse {
    /// Done.
    #[oai(status = 204)]
    NoContent,
}

error_set!(
    /// Errors of `admin_list_users`.
    ListAccountsErrors: 400, 401, 403, 422, 429
);
error_set!(
    /// Errors of the admin operations on one account that cannot break the last-admin rule.
    AccountByIdErrors: 400, 401, 403, 404, 429
);
error_set!(
    /// Errors of disabling and deleting an account, which must leave an enabled admin.
    AccountChangeErrors: 400, 401, 403, 404, 409, 429
);

pub struct AdminApi<B> {
    pub backend: Arc<B>,
}

#[OpenApi(prefix_path = "/admin", tag = "ApiTag::Admin")]
impl<B: AdminBackend> AdminApi<B> {
    /// List accounts
    ///
    /// Every account, newest first, one bounded page at a time; `email_prefix` keeps those
    /// whose email starts with it (letter case ignored).
    #[oai(path = "/users", method = "get", operation_id = "admin_list_users")]
    async fn list(
        &self,
        auth: BearerAuth,
        /// How many accounts the page holds.
        #[oai(default)]
        limit: Query<PageLimit>,
        /// The previous page's `next_cursor` (only cursors this API issued); omit for page one.
        cursor: Query<Option<Cursor>>,
        /// Only accounts whose email starts with this, letter case ignored.
        email_prefix: Query<Option<EmailPrefix>>,
    ) -> Result<AccountPageResponse, Errors<ListAccountsErrors>> {
        let caller = self.backend.authenticate(auth).await?;
        let page = self
            .backend
            .list_accounts(caller, limit.0, cursor.0, email_prefix.0)
            .await?;
        Ok(AccountPageResponse::Ok(Json(page)))
    }

    /// Get an account
    ///
    /// One account by id, with its role and whether it is disabled.
    #[oai(
        path = "/users/:user_id",
        method = "get",
        operation_id = "admin_get_user"
    )]
    async fn get(
        &self,
        auth: BearerAuth,
        user_id: Path<Uuid>,
    ) -> Result<AccountResponse, Errors<AccountByIdErrors>> {
        let caller = self.backend.authenticate(auth).await?;
        let account = self.backend.get_account(caller, user_id.0).await?;
        Ok(AccountResponse::Ok(Json(account)))
    }

    /// Disable an account
    ///
    /// The account can no longer log in or refresh, its sessions end, and its tokens stop
    /// working at once on every server. Disabling a disabled account changes nothing. The
    /// last enabled administrator cannot be disabled (409).
    #[oai(
        path = "/users/:user_id/disable",
        method = "post",
        operation_id = "admin_disable_user"
    )]
    async fn disable(
        &self,
        auth: BearerAuth,
        user_id: Path<Uuid>,
    ) -> Result<AccountResponse, Errors<AccountChangeErrors>> {
        let caller = self.backend.authenticate(auth).await?;
        let account = self.backend.disable_account(caller, user_id.0).await?;
        Ok(AccountResponse::Ok(Json(account)))
    }

    /// Enable an account
    ///
    /// The account may log in again. Its sessions ended when it was disabled and stay ended.
    #[oai(
        path = "/users/:user_id/enable",
        method = "post",
        operation_id = "admin_enable_user"
    )]
    async fn enable(
        &self,
        auth: BearerAuth,
        user_id: Path<Uuid>,
    ) -> Result<AccountResponse, Errors<AccountByIdErrors>> {
        let caller = self.backend.authenticate(auth).await?;
        let account = self.backend.enable_account(caller, user_id.0).await?;
        Ok(AccountResponse::Ok(Json(account)))
    }

    /// Delete an account
    ///
    /// Deletes the account with its tasks and sessions; its tokens stop working at once on
    /// every server. The last enabled administrator cannot be deleted (409).
    #[oai(
        path = "/users/:user_id",
        method = "delete",
        operation_id = "admin_delete_user"
    )]
    async fn delete(
        &self,
        auth: BearerAuth,
        user_id: Path<Uuid>,
    ) -> Result<AdminDoneResponse, Errors<AccountChangeErrors>> {
        let caller = self.backend.authenticate(auth).await?;
        self.backend.delete_account(caller, user_id.0).await?;
        Ok(AdminDoneResponse::NoContent)
    }

    /// End an account's sessions
    ///
    /// Ends every session of the account: their refresh tokens and access tokens stop
    /// working at once on every server. The account itself stays enabled.
    #[oai(
        path = "/users/:user_id/sessions",
        method = "delete",
        operation_id = "admin_end_user_sessions"
    )]
    async fn end_sessions(
        &self,
        auth: BearerAuth,
        user_id: Path<Uuid>,
    ) -> Result<AdminDoneResponse, Errors<AccountByIdErrors>> {
        let caller = self.backend.authenticate(auth).await?;
        self.backend.end_account_sessions(caller, user_id.0).await?;
        Ok(AdminDoneResponse::NoContent)
    }
}
