use chrono::{DateTime, Utc};
use taskapi_api::{
    auth::{LoginForm, RegisterRequest},
    users as contract,
};
use uuid::Uuid;

use super::{Email, FieldErrors, Password};

/// The id of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserId(pub Uuid);

/// An account as stored, without its password hash.
#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub created_at: DateTime<Utc>,
}

impl From<User> for contract::User {
    fn from(user: User) -> Self {
        Self {
            id: user.id.0,
            email: user.email.as_str().to_owned(),
            created_at: user.created_at,
        }
    }
}

/// What a new account is made of, validated.
#[derive(Debug)]
pub struct Registration {
    pub email: Email,
    pub password: Password,
}

/// What a login presents: the email as typed and the password, not yet checked.
#[derive(Debug)]
pub struct Credentials {
    pub username: String,
    pub password: String,
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

impl TryFrom<LoginForm> for Credentials {
    type Error = FieldErrors;

    /// The OAuth2 password grant: `grant_type`, when given, must be `password`.
    fn try_from(form: LoginForm) -> Result<Self, FieldErrors> {
        if form
            .grant_type
            .as_deref()
            .is_some_and(|grant| grant != "password")
        {
            return Err(FieldErrors::single(
                "grant_type",
                "must be `password` when given",
            ));
        }
        Ok(Self {
            username: form.username,
            password: form.password,
        })
    }
}
