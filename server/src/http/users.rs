//! Entry points of `/users`.

use taskapi_api::{
    body::JsonBody,
    paging::{Cursor, PageLimit},
    problem::Errors,
    security::ClientAddress,
    users::{
        AccountDeletion, ChangeEmailErrors, ChangePasswordErrors, CurrentUserErrors,
        DeleteAccountErrors, EmailChange, EndSessionErrors, ListSessionsErrors, PasswordChange,
        SessionPage, User, UserBackend,
    },
};
use uuid::Uuid;

use super::{AppState, page_request};
use crate::domain::{Caller, DeletionConfirmation, NewEmail, NewPassword, SessionId};

impl UserBackend for AppState {
    async fn current_user(&self, caller: Caller) -> Result<User, Errors<CurrentUserErrors>> {
        Ok(self.users.get(caller.user).await?.into())
    }

    async fn change_email(
        &self,
        client: ClientAddress,
        caller: Caller,
        body: JsonBody<EmailChange>,
    ) -> Result<User, Errors<ChangeEmailErrors>> {
        let change: NewEmail = self.bodies.json(body)?.try_into()?;
        Ok(self
            .users
            .change_email(client.0, caller, change)
            .await?
            .into())
    }

    async fn delete_account(
        &self,
        client: ClientAddress,
        caller: Caller,
        body: JsonBody<AccountDeletion>,
    ) -> Result<(), Errors<DeleteAccountErrors>> {
        let confirmation = DeletionConfirmation::from(self.bodies.json(body)?);
        Ok(self.users.delete(client.0, caller, confirmation).await?)
    }

    async fn change_password(
        &self,
        client: ClientAddress,
        caller: Caller,
        body: JsonBody<PasswordChange>,
    ) -> Result<(), Errors<ChangePasswordErrors>> {
        let change: NewPassword = self.bodies.json(body)?.try_into()?;
        Ok(self.users.change_password(client.0, caller, change).await?)
    }

    async fn list_sessions(
        &self,
        caller: Caller,
        limit: PageLimit,
        cursor: Option<Cursor>,
    ) -> Result<SessionPage, Errors<ListSessionsErrors>> {
        let (size, after) = page_request(limit, cursor)?;
        let page = self.users.sessions(caller, size, after).await?;
        Ok(page.into_contract(caller.session))
    }

    async fn end_session(
        &self,
        caller: Caller,
        session_id: Uuid,
    ) -> Result<(), Errors<EndSessionErrors>> {
        Ok(self
            .users
            .end_session(caller, SessionId(session_id))
            .await?)
    }
}
