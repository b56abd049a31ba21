//! Entry points of `/admin`.

use taskapi_api::{
    admin::{
        Account, AccountByIdErrors, AccountChangeErrors, AccountPage, AdminBackend, EmailPrefix,
        ListAccountsErrors,
    },
    paging::{Cursor, PageLimit},
    problem::Errors,
};
use uuid::Uuid;

use super::{AppState, page_request};
use crate::domain::{Admin, Caller, PageCursor, UserId};

impl AdminBackend for AppState {
    async fn list_accounts(
        &self,
        caller: Caller,
        limit: PageLimit,
        cursor: Option<Cursor>,
        email_prefix: Option<EmailPrefix>,
    ) -> Result<AccountPage, Errors<ListAccountsErrors>> {
        let (size, after) = page_request(limit, cursor)?;
        let prefix = email_prefix.map(|prefix| prefix.as_str().trim().to_owned());
        let page = self
            .admin
            .list(Admin::try_from(caller)?, prefix, size, after)
            .await?;
        Ok(AccountPage {
            next_cursor: page.next.as_ref().map(PageCursor::encode),
            items: page.items.into_iter().map(Account::from).collect(),
        })
    }

    async fn get_account(
        &self,
        caller: Caller,
        user_id: Uuid,
    ) -> Result<Account, Errors<AccountByIdErrors>> {
        Ok(self
            .admin
            .get(Admin::try_from(caller)?, UserId(user_id))
            .await?
            .into())
    }

    async fn disable_account(
        &self,
        caller: Caller,
        user_id: Uuid,
    ) -> Result<Account, Errors<AccountChangeErrors>> {
        Ok(self
            .admin
            .disable(Admin::try_from(caller)?, UserId(user_id))
            .await?
            .into())
    }

    async fn enable_account(
        &self,
        caller: Caller,
        user_id: Uuid,
    ) -> Result<Account, Errors<AccountByIdErrors>> {
        Ok(self
            .admin
            .enable(Admin::try_from(caller)?, UserId(user_id))
            .await?
            .into())
    }

    async fn delete_account(
        &self,
        caller: Caller,
        user_id: Uuid,
    ) -> Result<(), Errors<AccountChangeErrors>> {
        Ok(self
            .admin
            .delete(Admin::try_from(caller)?, UserId(user_id))
            .await?)
    }

    async fn end_account_sessions(
        &self,
        caller: Caller,
        user_id: Uuid,
    ) -> Result<(), Errors<AccountByIdErrors>> {
        Ok(self
            .admin
            .end_sessions(Admin::try_from(caller)?, UserId(user_id))
            .await?)
    }
}
