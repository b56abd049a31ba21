//! The one mapping from domain errors to problem responses. Causes of 5xx answers are
//! logged here and never sent to the client.

use poem::http::StatusCode;
use taskapi_api::ApiError;

use crate::{
    domain::FieldErrors,
    security::{HashError, TokenError},
    service::{
        auth::{AuthenticateError, LoginError, RegisterError},
        tasks::TaskError,
        users::UserError,
    },
    store::StoreError,
};

/// Seconds a client should wait before retrying a 503.
const RETRY_AFTER_SECONDS: u32 = 2;

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        ApiError::validation(errors.into_inner())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => {
                tracing::error!(error = %error_chain(&error), "database unavailable");
                ApiError::unavailable(
                    "The database is unavailable; retry shortly.",
                    RETRY_AFTER_SECONDS,
                )
            }
            StoreError::Query(_) | StoreError::Corrupt(_) => internal(&error),
        }
    }
}

impl From<HashError> for ApiError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy => {
                tracing::warn!("password hashing saturated");
                ApiError::unavailable(
                    "Too many logins and sign-ups at once; retry shortly.",
                    RETRY_AFTER_SECONDS,
                )
            }
            HashError::Failed(_) | HashError::TaskDied(_) => internal(&error),
        }
    }
}

impl From<RegisterError> for ApiError {
    fn from(error: RegisterError) -> Self {
        match error {
            RegisterError::EmailTaken => ApiError::typed(
                StatusCode::CONFLICT,
                "urn:taskapi:problem:email-taken",
                "An account with this email already exists.",
            ),
            RegisterError::Hash(error) => error.into(),
            RegisterError::Store(error) => error.into(),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(error: LoginError) -> Self {
        match error {
            LoginError::InvalidCredentials => ApiError::unauthorized(
                "urn:taskapi:problem:invalid-credentials",
                "Incorrect email or password.",
            ),
            LoginError::UnsupportedGrantType(_) => ApiError::validation(
                FieldErrors::single("grant_type", "must be `password` when given").into_inner(),
            ),
            LoginError::Hash(error) => error.into(),
            LoginError::Token(error) => internal(&error),
            LoginError::Store(error) => error.into(),
        }
    }
}

impl From<AuthenticateError> for ApiError {
    fn from(error: AuthenticateError) -> Self {
        match error {
            AuthenticateError::Token(TokenError::Expired) => {
                ApiError::invalid_token("The bearer token has expired; log in again.")
            }
            AuthenticateError::Token(_) => ApiError::invalid_token("The bearer token is invalid."),
            AuthenticateError::AccountGone => {
                ApiError::invalid_token("The bearer token's account no longer exists.")
            }
            AuthenticateError::Store(error) => error.into(),
        }
    }
}

impl From<UserError> for ApiError {
    fn from(error: UserError) -> Self {
        match error {
            UserError::Gone => {
                ApiError::invalid_token("The bearer token's account no longer exists.")
            }
            UserError::Store(error) => error.into(),
        }
    }
}

impl From<TaskError> for ApiError {
    fn from(error: TaskError) -> Self {
        match error {
            TaskError::NotFound => ApiError::new(StatusCode::NOT_FOUND, "No such task."),
            TaskError::Store(error) => error.into(),
        }
    }
}

fn internal(error: &dyn std::error::Error) -> ApiError {
    tracing::error!(error = %error_chain(error), "request failed");
    ApiError::internal()
}

/// `error: cause: cause…`, for one log field.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}
