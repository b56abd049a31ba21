//! Entry points of `/auth`, and the bearer-token check.

use taskapi_api::{
    auth::{AuthBackend, LoginErrors, LoginForm, RegisterErrors, RegisterRequest, Token},
    body::{FormBody, JsonBody},
    problem::Errors,
    security::{Authenticate, BearerAuth, ClientAddress, Unauthenticated},
    users::User,
};

use super::AppState;
use crate::{
    domain::{Credentials, Registration, UserId},
    security::IssuedToken,
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
        form: FormBody<LoginForm>,
    ) -> Result<Token, Errors<LoginErrors>> {
        let credentials: Credentials = self.bodies.form(form)?.try_into()?;
        Ok(self.auth.login(client.0, credentials).await?.into())
    }
}

impl Authenticate for AppState {
    type Caller = UserId;

    async fn authenticate(&self, auth: BearerAuth) -> Result<UserId, Unauthenticated> {
        Ok(self.auth.authenticate(auth.token()).await?)
    }
}

impl From<IssuedToken> for Token {
    fn from(issued: IssuedToken) -> Self {
        Self {
            access_token: issued.token,
            token_type: "bearer".to_owned(),
            expires_in: issued.expires_in.as_secs(),
        }
    }
}
