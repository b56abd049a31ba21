//! `/users`: the account behind the bearer token, its sessions and its password.

use poem::web::Data;
use taskapi_api::{
    json::Serialized,
    users::{
        self as contract, AccountDeletion, ChangeEmailErrors, ChangePasswordErrors,
        CurrentUserErrors, DeleteAccountErrors, DoneResponse, EmailChange, EndSessionErrors,
        ListSessionsErrors, PasswordChange, Role, SessionPageResponse, UserResponse,
    },
};

use super::{body::JsonBody, client::ClientAddress, prelude::*};
use crate::domain::{
    self, DeletionConfirmation, Email, FieldErrors, NewEmail, NewPassword, PageCursor, Password,
    Session, SessionId, User,
};

/// The operations on `/users`.
pub enum Users {}

super::same_variants!(Role, domain::Role: User, Admin);

#[OpenApi(prefix_path = "/users", tag = "ApiTag::Users")]
impl Api<Users> {
    /// The current user
    ///
    /// Returns the account the bearer token belongs to.
    #[oai(path = "/me", method = "get", operation_id = "get_current_user")]
    async fn get_current_user(
        &self,
        #[oai(scope = "Scope::AccountRead")] auth: BearerAuth,
    ) -> Result<UserResponse, Errors<CurrentUserErrors>> {
        let caller = self.authenticate(auth).await?;
        let user = self.users.get(caller.user).await?;
        Ok(UserResponse::Ok(Serialized(user.into())))
    }

    /// Change the email address
    ///
    /// Asks to change the caller's email, which must be unique as at registration. A
    /// verification mail goes to the new address, which shows as `pending_email`; the
    /// account keeps its address until the mail's token is given to `verify_email`. (A new
    /// spelling of the same address, letter case or look-alikes, takes effect at once.)
    /// Needs the current password; a wrong one is refused with 403 and counts as a failed
    /// login.
    #[oai(path = "/me", method = "patch", operation_id = "update_current_user")]
    async fn update_current_user(
        &self,
        #[oai(scope = "Scope::Session")] auth: BearerAuth,
        client: Data<&ClientAddress>,
        body: JsonBody<EmailChange>,
    ) -> Result<UserResponse, Errors<ChangeEmailErrors>> {
        let caller = self.authenticate(auth).await?;
        let change: NewEmail = self.bodies.json(body)?.try_into()?;
        let user = self.users.change_email(client.0.0, caller, change).await?;
        Ok(UserResponse::Ok(Serialized(user.into())))
    }

    /// Delete the account
    ///
    /// Deletes the caller's account with all of its tasks and sessions; its tokens stop
    /// working at once, on every server. Needs the current password (a wrong one is 403
    /// and counts as a failed login). The last enabled administrator cannot delete their
    /// account (409).
    #[oai(path = "/me", method = "delete", operation_id = "delete_current_user")]
    async fn delete_current_user(
        &self,
        #[oai(scope = "Scope::Session")] auth: BearerAuth,
        client: Data<&ClientAddress>,
        body: JsonBody<AccountDeletion>,
    ) -> Result<DoneResponse, Errors<DeleteAccountErrors>> {
        let caller = self.authenticate(auth).await?;
        let confirmation = DeletionConfirmation::from(self.bodies.json(body)?);
        self.users.delete(client.0.0, caller, confirmation).await?;
        Ok(DoneResponse::NoContent)
    }

    /// Change the password
    ///
    /// Replaces the caller's password and ends every other session of the account; the
    /// session making the request stays. The new password follows the registration rules;
    /// a wrong current password is 403 and counts as a failed login.
    #[oai(
        path = "/me/password",
        method = "post",
        operation_id = "change_password"
    )]
    async fn change_password(
        &self,
        #[oai(scope = "Scope::Session")] auth: BearerAuth,
        client: Data<&ClientAddress>,
        body: JsonBody<PasswordChange>,
    ) -> Result<DoneResponse, Errors<ChangePasswordErrors>> {
        let caller = self.authenticate(auth).await?;
        let change: NewPassword = self.bodies.json(body)?.try_into()?;
        self.users
            .change_password(client.0.0, caller, change)
            .await?;
        Ok(DoneResponse::NoContent)
    }

    /// List sessions
    ///
    /// The caller's live sessions, newest first, one bounded page at a time; the one making
    /// the request has `current: true`.
    #[oai(path = "/me/sessions", method = "get", operation_id = "list_sessions")]
    async fn list_sessions(
        &self,
        #[oai(scope = "Scope::Session")] auth: BearerAuth,
        /// How many sessions the page holds.
        #[oai(default)]
        limit: Query<PageLimit>,
        /// The previous page's `next_cursor` (only cursors this API issued); omit for page one.
        cursor: Query<Option<Cursor>>,
    ) -> Result<SessionPageResponse, Errors<ListSessionsErrors>> {
        let caller = self.authenticate(auth).await?;
        let (size, after) = page_request(limit.0, cursor.0, PageCursor::decode)?;
        let page = self.users.sessions(caller, size, after).await?;
        let page = page_of(page, |each| session(each, caller.session()));
        Ok(SessionPageResponse::Ok(Json(page)))
    }

    /// End a session
    ///
    /// Ends one of the caller's sessions (the current one too): its refresh token and
    /// access tokens stop working on every server at once. Another user's session is
    /// reported exactly like a missing one (404).
    #[oai(
        path = "/me/sessions/:session_id",
        method = "delete",
        operation_id = "end_session"
    )]
    async fn end_session(
        &self,
        #[oai(scope = "Scope::Session")] auth: BearerAuth,
        session_id: Path<Uuid>,
    ) -> Result<DoneResponse, Errors<EndSessionErrors>> {
        let caller = self.authenticate(auth).await?;
        self.users
            .end_session(caller, SessionId(session_id.0))
            .await?;
        Ok(DoneResponse::NoContent)
    }
}

impl From<User> for contract::User {
    fn from(user: User) -> Self {
        Self {
            id: user.id.0,
            email: user.email.as_str().to_owned(),
            email_verified: user.email_verified,
            pending_email: user.pending_email.map(|email| email.as_str().to_owned()),
            role: user.role.into(),
            created_at: user.created_at,
        }
    }
}

/// A session as its owner sees it; `current` is the session of the request.
fn session(session: Session, current: Option<SessionId>) -> contract::Session {
    contract::Session {
        id: session.id.0,
        current: Some(session.id) == current,
        created_at: session.created_at,
        last_used_at: session.last_used_at,
        expires_at: session.expires_at,
        user_agent: session.origin.user_agent,
        client_address: session.origin.client_address,
    }
}

impl TryFrom<PasswordChange> for NewPassword {
    type Error = FieldErrors;

    fn try_from(change: PasswordChange) -> Result<Self, FieldErrors> {
        let new = Password::parse(change.new_password.into_inner());
        Ok(Self {
            new: new.map_err(|message| FieldErrors::single("new_password", message))?,
            current: change.current_password.into_inner(),
        })
    }
}

/// An email change: the new address, and the password that authorises it.
impl TryFrom<EmailChange> for NewEmail {
    type Error = FieldErrors;

    fn try_from(change: EmailChange) -> Result<Self, FieldErrors> {
        match Email::parse(change.email.as_str()) {
            Ok(email) => Ok(Self {
                email,
                current_password: change.current_password.into_inner(),
            }),
            Err(message) => Err(FieldErrors::single("email", message)),
        }
    }
}

impl From<AccountDeletion> for DeletionConfirmation {
    fn from(deletion: AccountDeletion) -> Self {
        Self(deletion.current_password.into_inner())
    }
}
