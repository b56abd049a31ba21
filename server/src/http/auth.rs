//! Entry points of `/auth`, and the bearer-token check.

use taskapi_api::{
    auth::{
        AuthBackend, LoginErrors, LoginForm, LogoutErrors, RegisterErrors, RegisterRequest, Token,
    },
    body::{FormBody, JsonBody},
    problem::Errors,
    security::{Authenticate, BearerAuth, ClientAddress, Unauthenticated, UserAgent},
    users::User,
};

use super::AppState;
use crate::{
    domain::{Caller, Grant, Registration},
    service::auth::Tokens,
};

impl AuthBackend for AppState {
    async fn register(
        &self,
        client: ClientAddress,
        body: JsonBody<RegisterRequest>,
    ) -> Result<User, Errors<RegisterErrors>> {
        let registration: Registration = self.bodies.json(body)?.try_into()?;
        Ok(self.auth.register(client.0, registration).await?.into())
    }

    async fn login(
        &self,
        client: ClientAddress,
        user_agent: UserAgent,
        form: FormBody<LoginForm>,
    ) -> Result<Token, Errors<LoginErrors>> {
        let grant: Grant = self.bodies.form(form)?.try_into()?;
        Ok(self.auth.grant(client.0, user_agent.0, grant).await?.into())
    }

    async fn logout(&self, caller: Caller) -> Result<(), Errors<LogoutErrors>> {
        Ok(self.auth.logout(caller).await?)
    }
}

impl Authenticate for AppState {
    type Caller = Caller;

    async fn authenticate(&self, auth: BearerAuth) -> Result<Caller, Unauthenticated> {
        Ok(self.auth.authenticate(auth.token()).await?)
    }
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
