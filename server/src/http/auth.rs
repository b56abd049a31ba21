//! `/auth`: creating an account and exchanging credentials for a bearer token; and the
//! bearer-token check every authenticated operation starts with.

use poem::web::Data;
use taskapi_api::{
    auth::{
        EmailVerification, EmailVerificationErrors, EmailVerified, LoginErrors, LoginForm,
        LoginResponse, LogoutErrors, LogoutResponse, PasswordResetConfirmation,
        PasswordResetConfirmationErrors, PasswordResetConfirmed, PasswordResetRequest,
        PasswordResetRequestErrors, PasswordResetRequested, RegisterErrors, RegisterRequest,
        RegisterResponse, Token,
    },
    problem::ApiError,
    security::Unauthenticated,
};

use super::{
    AppState,
    body::{Bodies, BodyError, FormBody, JsonBody},
    client::{ClientAddress, UserAgent},
    prelude::*,
};
use crate::{
    domain::{
        AccountToken, Caller, Credentials, Email, FieldErrors, Grant, Password, PasswordReset,
        RefreshToken, Registration, Scopes,
    },
    service::auth::Tokens,
};

/// The operations on `/auth`.
pub enum Auth {}

#[OpenApi(prefix_path = "/auth", tag = "ApiTag::Auth")]
impl Api<Auth> {
    /// Create an account
    ///
    /// Registers an email address and password. The email is unique regardless of letter
    /// case and look-alike spellings, and kept as typed; the password is stored only as an
    /// argon2id hash. Registrations from one client address are limited per hour.
    #[oai(path = "/register", method = "post", operation_id = "register")]
    async fn register(
        &self,
        client: Data<&ClientAddress>,
        body: JsonBody<RegisterRequest>,
    ) -> Result<RegisterResponse, Errors<RegisterErrors>> {
        let registration: Registration = self.bodies.json(body)?.try_into()?;
        let user = self.auth.register(client.0.0, registration).await?;
        Ok(RegisterResponse::Created(Json(user.into())))
    }

    /// Log in, or refresh a session
    ///
    /// The OAuth2 token endpoint, with the form encoding of RFC 6749.
    ///
    /// With `grant_type=password` (or no `grant_type`), an email (`username`) and password
    /// start a new session. A wrong password and an unknown email get the same answer; a
    /// disabled account gets 403 once its password is right. Failed logins are limited per
    /// account and client address, and per client address; past a limit, attempts are
    /// refused with 429 until its window ends (a successful login clears the account's count
    /// for that address).
    ///
    /// With `grant_type=refresh_token`, the session's latest refresh token gets a new access
    /// token and a new refresh token, and stops working itself (rotation). Presenting a
    /// refresh token that was already used is taken as theft: the whole session ends, and
    /// the answer is 401 (`invalid_grant`). Refresh one session from one place at a time.
    #[oai(path = "/login", method = "post", operation_id = "login")]
    async fn login(
        &self,
        client: Data<&ClientAddress>,
        user_agent: UserAgent,
        form: FormBody<LoginForm>,
    ) -> Result<LoginResponse, Errors<LoginErrors>> {
        let grant: Grant = self.bodies.form(form)?.try_into()?;
        let tokens = self.auth.grant(client.0.0, user_agent.0, grant).await?;
        Ok(LoginResponse::Ok(Json(tokens.into())))
    }

    /// Log out
    ///
    /// Ends the caller's session: its refresh token stops working, and so does every access
    /// token it issued, on every server at once.
    #[oai(path = "/logout", method = "post", operation_id = "logout")]
    async fn logout(
        &self,
        #[oai(scope = "Scope::Session")] auth: BearerAuth,
    ) -> Result<LogoutResponse, Errors<LogoutErrors>> {
        let caller = self.authenticate(auth).await?;
        self.auth.logout(caller).await?;
        Ok(LogoutResponse::NoContent)
    }

    /// Ask for a password-reset mail
    ///
    /// If an account has this email address, a mail with a single-use token (as a link to
    /// `TASKAPI_PUBLIC_URL/reset-password?token=…` and bare) is sent to it; the token works
    /// for 30 minutes (`TASKAPI_PASSWORD_RESET_TTL_SECONDS`), and a newer request voids it.
    /// The answer is 202 either way, with the same body, headers and timing, so it tells
    /// nothing about which addresses have accounts. Requests are limited per client address
    /// and per email address.
    #[oai(
        path = "/password-reset",
        method = "post",
        operation_id = "request_password_reset"
    )]
    async fn request_password_reset(
        &self,
        client: Data<&ClientAddress>,
        body: JsonBody<PasswordResetRequest>,
    ) -> Result<PasswordResetRequested, Errors<PasswordResetRequestErrors>> {
        let request = self.bodies.json(body)?;
        let email = Email::parse(request.email.as_str())
            .map_err(|error| FieldErrors::single("email", error))?;
        self.recovery
            .request_password_reset(client.0.0, email)
            .await?;
        Ok(PasswordResetRequested::Accepted)
    }

    /// Set a new password with a reset token
    ///
    /// The token from a password-reset mail and the new password (the registration rules
    /// apply). The token works once; every session of the account ends, on every server.
    /// Since the token came by mail, the account's address counts as verified. An unknown,
    /// used, expired or replaced token is a 422 on `token`.
    #[oai(
        path = "/password-reset/confirm",
        method = "post",
        operation_id = "confirm_password_reset"
    )]
    async fn confirm_password_reset(
        &self,
        body: JsonBody<PasswordResetConfirmation>,
    ) -> Result<PasswordResetConfirmed, Errors<PasswordResetConfirmationErrors>> {
        let reset: PasswordReset = self.bodies.json(body)?.try_into()?;
        self.recovery.reset_password(reset).await?;
        Ok(PasswordResetConfirmed::NoContent)
    }

    /// Verify an email address
    ///
    /// The token from a verification mail, sent at registration and to the new address of
    /// an email change. The address it was sent to becomes verified; for an email change,
    /// it becomes the account's address. An unknown, used or expired token is a 422 on
    /// `token`; 409 when another account has taken the address meanwhile.
    #[oai(path = "/verify-email", method = "post", operation_id = "verify_email")]
    async fn verify_email(
        &self,
        body: JsonBody<EmailVerification>,
    ) -> Result<EmailVerified, Errors<EmailVerificationErrors>> {
        let request = self.bodies.json(body)?;
        let token = AccountToken::presented(request.token.into_inner());
        let user = self.recovery.verify_email(token).await?;
        Ok(EmailVerified::Ok(Json(user.into())))
    }
}

impl TryFrom<PasswordResetConfirmation> for PasswordReset {
    type Error = FieldErrors;

    fn try_from(request: PasswordResetConfirmation) -> Result<Self, FieldErrors> {
        let new_password = Password::parse(request.new_password.into_inner())
            .map_err(|error| FieldErrors::single("new_password", error))?;
        Ok(Self {
            token: AccountToken::presented(request.token.into_inner()),
            new_password,
        })
    }
}

impl AppState {
    /// The caller a bearer token proves, if its credential may call the operation it was
    /// presented to: the first step of every authenticated operation.
    pub(super) async fn authenticate(&self, auth: BearerAuth) -> Result<Caller, Unauthenticated> {
        Ok(self.authenticate_until(auth).await?.0)
    }

    /// The same, and when the token expires.
    pub(super) async fn authenticate_until(
        &self,
        auth: BearerAuth,
    ) -> Result<(Caller, std::time::SystemTime), Unauthenticated> {
        let (caller, until) = self.auth.authenticate_until(auth.token()).await?;
        let (method, path) = auth.operation();
        match caller.credential.allows(self.needs.of(method, path)) {
            Ok(()) => Ok((caller, until)),
            Err(missing) => Err(out_of_scope(missing)),
        }
    }
}

/// An access token refused by an operation that needs `needed` (none: a session).
fn out_of_scope(needed: Scopes) -> Unauthenticated {
    let error = match needed.is_empty() {
        true => ApiError::insufficient_scope(
            "session",
            "This operation needs a login session: an access token cannot change the \
             password or email, manage tokens or sessions, or administer accounts.",
        ),
        false => ApiError::insufficient_scope(
            &needed.names(),
            format!(
                "This access token lacks a scope this operation needs: {}.",
                needed.names()
            ),
        ),
    };
    Unauthenticated::OutOfScope(error)
}

impl From<Tokens> for Token {
    fn from(tokens: Tokens) -> Self {
        Self {
            access_token: tokens.access.token,
            token_type: "bearer".to_owned(),
            expires_in: tokens.access.expires_in.as_secs(),
            refresh_token: tokens.refresh.expose().to_owned(),
            refresh_expires_in: tokens.refresh_expires_in.as_secs(),
        }
    }
}

/// A registration from elsewhere than a request (the command that makes an administrator):
/// checked as a registration request's body is, by the same rules in the same words.
pub fn registration(email: &str, password: &str) -> Result<Registration, FieldErrors> {
    let request: RegisterRequest = Bodies::from_spec(&super::document(&super::spec_json()))
        .value(serde_json::json!({ "email": email, "password": password }))
        .map_err(|error| match error {
            BodyError::Invalid(errors) => errors,
            // A JSON value is never malformed, and the contract has the schema.
            other => unreachable!("a registration is JSON with a schema: {other:?}"),
        })?;
    request.try_into()
}

impl TryFrom<RegisterRequest> for Registration {
    type Error = FieldErrors;

    fn try_from(request: RegisterRequest) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let email = errors.check("email", Email::parse(request.email.as_str()));
        let password = errors.check("password", Password::parse(request.password.into_inner()));
        let (Some(email), Some(password)) = (email, password) else {
            return Err(errors);
        };
        Ok(Self { email, password })
    }
}

impl TryFrom<LoginForm> for Grant {
    type Error = FieldErrors;

    /// RFC 6749: `grant_type` is `password` (the default) with `username` and `password`,
    /// or `refresh_token` with `refresh_token`.
    fn try_from(form: LoginForm) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let required = |errors: &mut FieldErrors, field: &str, value: Option<String>| {
            let value = value.filter(|value| !value.is_empty());
            if value.is_none() {
                errors.add(field, "is required for this grant_type");
            }
            value
        };
        match form.grant_type.as_deref().unwrap_or("password") {
            "password" => {
                let username = required(&mut errors, "username", form.username);
                let password = required(&mut errors, "password", form.password);
                match (username, password) {
                    (Some(username), Some(password)) => {
                        Ok(Self::Password(Credentials { username, password }))
                    }
                    _ => Err(errors),
                }
            }
            "refresh_token" => match required(&mut errors, "refresh_token", form.refresh_token) {
                Some(token) => Ok(Self::RefreshToken(RefreshToken::presented(token))),
                None => Err(errors),
            },
            _ => Err(FieldErrors::single(
                "grant_type",
                "must be `password` or `refresh_token` when given",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registration_from_the_command_line_is_told_what_a_request_is_told() {
        let errors = registration("nul\0@example.com", "short")
            .expect_err("refused")
            .into_inner();
        assert_eq!(
            errors["email"],
            ["must not contain control characters (found U+0000)"]
        );
        assert_eq!(errors["password"], ["must be at least 8 characters"]);
        let common = registration("root@example.com", "password").expect_err("refused");
        assert!(
            common.into_inner()["password"][0].contains("commonly used"),
            "the domain's rule runs too"
        );
        let made = registration(" root@example.com ", "correct horse battery").expect("valid");
        assert_eq!(made.email.as_str(), "root@example.com");
    }
}
