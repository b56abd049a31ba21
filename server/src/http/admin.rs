//! `/admin`: managing every account. Only administrators may call these operations; anyone
//! else gets 403.

use chrono::{DateTime, Utc};
use taskapi_api::{
    admin::{
        self as contract, Account, AccountByIdErrors, AccountChangeErrors, AccountPageResponse,
        AccountResponse, AuditEventPageResponse, EmailPrefix, ListAccountsErrors,
        ListAuditEventsErrors,
    },
    problem::{Declares, ErrorSet},
    users::{self, DoneResponse},
};

use super::prelude::*;
use crate::domain::{
    Admin, AuditEvent, AuditFilter, AuditKind, FieldErrors, PageCursor, User, UserId,
    within_four_digit_years,
};

super::same_variants!(contract::AuditKind, AuditKind: AccountCreated, LoginSucceeded, LoginFailed, PasswordChanged, PasswordReset, EmailChangeRequested, EmailChanged, EmailVerified, AccessTokenCreated, AccessTokenDeleted, SessionEnded, RoleChanged, AccountDisabled, AccountEnabled, AccountDeleted);

/// The operations on `/admin`.
pub enum Administration {}

#[OpenApi(prefix_path = "/admin", tag = "ApiTag::Admin")]
impl Api<Administration> {
    /// List accounts
    ///
    /// Every account, newest first, one bounded page at a time; `email_prefix` keeps those
    /// whose email starts with it (letter case ignored).
    #[oai(path = "/users", method = "get", operation_id = "admin_list_users")]
    async fn admin_list_users(
        &self,
        #[oai(scope = "Scope::Session")] auth: BearerAuth,
        /// How many accounts the page holds.
        #[oai(default)]
        limit: Query<PageLimit>,
        /// The previous page's `next_cursor` (only cursors this API issued); omit for page one.
        cursor: Query<Option<Cursor>>,
        /// Only accounts whose email starts with this, letter case ignored.
        email_prefix: Query<Option<EmailPrefix>>,
    ) -> Result<AccountPageResponse, Errors<ListAccountsErrors>> {
        let admin = self.administrator(auth).await?;
        let mut errors = FieldErrors::default();
        let prefix = email_prefix
            .0
            .filter(|prefix| self.bodies.parameter(&mut errors, "email_prefix", prefix))
            .map(|prefix| prefix.as_str().trim().to_owned());
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let (size, after) = page_request(limit.0, cursor.0, PageCursor::decode)?;
        let page = self.admin.list(admin, prefix, size, after).await?;
        Ok(AccountPageResponse::Ok(Json(page_of(page, Account::from))))
    }

    /// Get an account
    ///
    /// One account by id, with its role and whether it is disabled.
    #[oai(
        path = "/users/:user_id",
        method = "get",
        operation_id = "admin_get_user"
    )]
    async fn admin_get_user(
        &self,
        #[oai(scope = "Scope::Session")] auth: BearerAuth,
        user_id: Path<Uuid>,
    ) -> Result<AccountResponse, Errors<AccountByIdErrors>> {
        let admin = self.administrator(auth).await?;
        let account = self.admin.get(admin, UserId(user_id.0)).await?;
        Ok(AccountResponse::Ok(Json(account.into())))
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
    async fn admin_disable_user(
        &self,
        #[oai(scope = "Scope::Session")] auth: BearerAuth,
        user_id: Path<Uuid>,
    ) -> Result<AccountResponse, Errors<AccountChangeErrors>> {
        let admin = self.administrator(auth).await?;
        let account = self.admin.disable(admin, UserId(user_id.0)).await?;
        Ok(AccountResponse::Ok(Json(account.into())))
    }

    /// Enable an account
    ///
    /// The account may log in again. Its sessions ended when it was disabled and stay ended.
    #[oai(
        path = "/users/:user_id/enable",
        method = "post",
        operation_id = "admin_enable_user"
    )]
    async fn admin_enable_user(
        &self,
        #[oai(scope = "Scope::Session")] auth: BearerAuth,
        user_id: Path<Uuid>,
    ) -> Result<AccountResponse, Errors<AccountByIdErrors>> {
        let admin = self.administrator(auth).await?;
        let account = self.admin.enable(admin, UserId(user_id.0)).await?;
        Ok(AccountResponse::Ok(Json(account.into())))
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
    async fn admin_delete_user(
        &self,
        #[oai(scope = "Scope::Session")] auth: BearerAuth,
        user_id: Path<Uuid>,
    ) -> Result<DoneResponse, Errors<AccountChangeErrors>> {
        let admin = self.administrator(auth).await?;
        self.admin.delete(admin, UserId(user_id.0)).await?;
        Ok(DoneResponse::NoContent)
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
    async fn admin_end_user_sessions(
        &self,
        #[oai(scope = "Scope::Session")] auth: BearerAuth,
        user_id: Path<Uuid>,
    ) -> Result<DoneResponse, Errors<AccountByIdErrors>> {
        let admin = self.administrator(auth).await?;
        self.admin.end_sessions(admin, UserId(user_id.0)).await?;
        Ok(DoneResponse::NoContent)
    }

    /// List audit events
    ///
    /// The security events (logins, password and email changes, tokens, sessions, roles,
    /// disabled, enabled and deleted accounts), newest first, one bounded page at a time;
    /// each filter given must hold. Events are kept `TASKAPI_AUDIT_RETENTION_DAYS`.
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/audit-events",
        method = "get",
        operation_id = "admin_list_audit_events"
    )]
    async fn admin_list_audit_events(
        &self,
        #[oai(scope = "Scope::Session")] auth: BearerAuth,
        /// How many events the page holds.
        #[oai(default)]
        limit: Query<PageLimit>,
        /// The previous page's `next_cursor`, with the same filters; omit for page one.
        cursor: Query<Option<Cursor>>,
        /// Only events by this account.
        actor_id: Query<Option<Uuid>>,
        /// Only events on this account.
        target_id: Query<Option<Uuid>>,
        /// Only events of these kinds.
        kind: Query<Option<Vec<contract::AuditKind>>>,
        /// Only events at or after this time.
        since: Query<Option<DateTime<Utc>>>,
        /// Only events before this time.
        until: Query<Option<DateTime<Utc>>>,
    ) -> Result<AuditEventPageResponse, Errors<ListAuditEventsErrors>> {
        let admin = self.administrator(auth).await?;
        let (size, after) = page_request(limit.0, cursor.0, PageCursor::decode)?;
        let mut errors = FieldErrors::default();
        let mut year = |name, at: Option<DateTime<Utc>>| {
            at.and_then(|at| errors.check(name, within_four_digit_years(at)))
        };
        let (since, until) = (year("since", since.0), year("until", until.0));
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let filter = AuditFilter {
            actor: actor_id.0.map(UserId),
            target: target_id.0.map(UserId),
            kinds: kind
                .0
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            since,
            until,
        };
        let page = self.audit.list(admin, filter, size, after).await?;
        Ok(AuditEventPageResponse::Ok(Json(page_of(page, Into::into))))
    }
}

impl From<AuditEvent> for contract::AuditEvent {
    fn from(event: AuditEvent) -> Self {
        Self {
            id: event.id.0,
            at: event.at,
            kind: event.kind.into(),
            actor_id: event.actor.map(|id| id.0),
            target_id: event.target.map(|id| id.0),
            client_address: event.client_address,
            request_id: event.request_id,
            detail: event.detail,
        }
    }
}

impl Api<Administration> {
    /// The caller, who must be an administrator: 401, 429 or 403 otherwise.
    async fn administrator<S>(&self, auth: BearerAuth) -> Result<Admin, Errors<S>>
    where
        S: ErrorSet + Declares<401> + Declares<403> + Declares<429>,
    {
        Ok(Admin::try_from(self.authenticate(auth).await?)?)
    }
}

/// An account as an administrator sees it: as its owner does, and whether it is disabled.
impl From<User> for Account {
    fn from(user: User) -> Self {
        let disabled_at = user.disabled_at;
        let users::User {
            id,
            email,
            role,
            created_at,
            ..
        } = user.into();
        Self {
            id,
            email,
            role,
            disabled_at,
            created_at,
        }
    }
}
