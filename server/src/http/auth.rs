//! Entry points of `/auth`, and the bearer-token check.

use async_trait::async_trait;
use taskapi_api::{
    ApiError, AuthBackend, Caller,
    auth::{LoginForm, RegisterRequest, Token},
    users::User,
};

use super::AppState;
use crate::domain::{Email, FieldErrors, Password};

#[async_trait]
impl AuthBackend for AppState {
    async fn register(&self, request: RegisterRequest) -> Result<User, ApiError> {
        let mut errors = FieldErrors::default();
        let email = errors.check("email", Email::parse(request.email.as_ref()));
        let password = errors.check("password", Password::parse(request.password.into_inner()));
        let (Some(email), Some(password)) = (email, password) else {
            return Err(errors.into());
        };
        let user = self.auth.register(email, password).await?;
        Ok(super::users::user_schema(user))
    }

    async fn login(&self, form: LoginForm) -> Result<Token, ApiError> {
        let session = self
            .auth
            .login(&form.username, &form.password, form.grant_type.as_deref())
            .await?;
        Ok(Token {
            access_token: session.access_token,
            token_type: "bearer".to_owned(),
            expires_in: session.expires_in.as_secs(),
        })
    }

    async fn authenticate(&self, token: &str) -> Result<Caller, ApiError> {
        let user_id = self.auth.authenticate(token).await?;
        Ok(Caller { user_id: user_id.0 })
    }
}
