//! The one mapping from what went wrong to problem responses.
//!
//! Each error converts into the error set of any operation that declares every status it
//! can produce, so an entry point that could answer with a status its operation does not
//! declare does not compile. Causes of 5xx answers are logged here and never sent.

use taskapi_api::{
    problem::{ApiError, Declares, ErrorSet, Errors, Fault, RateLimit, problem_type},
    security::Unauthenticated,
};

use super::body::BodyError;
use crate::{
    domain::{FieldErrors, NotAdmin},
    service::{
        Failure,
        admin::{AdminError, LastAdmin, RemoveError},
        auth::{AuthenticateError, LoginError, RegisterError},
        health::NotReady,
        limits::Limited,
        tags::{RenameError, TagError},
        tasks::{ChangeError, CreateError, TaskError},
        users::{ChangeEmailError, DeleteAccountError, PasswordDenied, SessionError, UserError},
    },
    telemetry::metrics,
};

/// Seconds a client should wait before retrying a 503.
const RETRY_AFTER_SECONDS: u32 = 2;

impl From<Failure> for Fault {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Unavailable(_) => {
                tracing::error!(error = %error_chain(&failure), "database unavailable");
                Fault::Unavailable(ApiError::unavailable(
                    problem_type::UNAVAILABLE,
                    "The database is unavailable; retry shortly.",
                    RETRY_AFTER_SECONDS,
                ))
            }
            Failure::Busy(what) => {
                tracing::warn!(what, "busy");
                Fault::Unavailable(ApiError::unavailable(
                    problem_type::BUSY,
                    "The server is busy; retry shortly.",
                    RETRY_AFTER_SECONDS,
                ))
            }
            Failure::Internal { .. } => {
                tracing::error!(error = %error_chain(&failure), "request failed");
                Fault::Internal(ApiError::internal())
            }
        }
    }
}

impl<S: ErrorSet> From<Failure> for Errors<S> {
    fn from(failure: Failure) -> Self {
        Fault::from(failure).into()
    }
}

/// The errors of operations on one thing the caller names: there is no such thing for
/// them (404, with the detail given here), or the service failed.
macro_rules! not_found {
    ($($error:ident => $detail:literal),+ $(,)?) => {$(
        impl<S: ErrorSet + Declares<404>> From<$error> for Errors<S> {
            fn from(error: $error) -> Self {
                match error {
                    $error::NotFound => ApiError::<404>::new($detail).into(),
                    $error::Failed(failure) => failure.into(),
                }
            }
        }
    )+};
}

not_found! {
    SessionError => "No such session.",
    AdminError => "No such account.",
    TaskError => "No such task.",
    TagError => "No such tag.",
}

impl<S: ErrorSet + Declares<422>> From<FieldErrors> for Errors<S> {
    fn from(errors: FieldErrors) -> Self {
        ApiError::validation(errors.into_inner()).into()
    }
}

impl<S: ErrorSet + Declares<400> + Declares<422>> From<BodyError> for Errors<S> {
    fn from(error: BodyError) -> Self {
        match error {
            BodyError::Malformed(detail) => ApiError::<400>::new(detail).into(),
            BodyError::Invalid(errors) => errors.into(),
            BodyError::Unchecked(type_name) => Failure::internal(
                "a request body type has no schema in the contract",
                type_name,
            )
            .into(),
        }
    }
}

impl From<Limited> for ApiError<429> {
    fn from(limited: Limited) -> Self {
        // Every 429 is made here.
        metrics::rate_limited(limited.policy);
        let window = limited.window.as_secs();
        ApiError::rate_limited(
            format!(
                "Over the limit of {} per {window} s ({}); retry after `Retry-After` seconds.",
                limited.quota, limited.policy
            ),
            RateLimit {
                policy: limited.policy,
                quota: u64::from(limited.quota),
                window_seconds: window,
                // Rounded up: retrying a fraction of a second early would be refused again.
                retry_after_seconds: limited
                    .retry_after
                    .as_secs()
                    .saturating_add(u64::from(limited.retry_after.subsec_nanos() > 0)),
            },
        )
    }
}

impl<S: ErrorSet + Declares<409> + Declares<429>> From<RegisterError> for Errors<S> {
    fn from(error: RegisterError) -> Self {
        match error {
            RegisterError::EmailTaken => email_taken().into(),
            RegisterError::Limited(limited) => ApiError::<429>::from(limited).into(),
            RegisterError::Failed(failure) => failure.into(),
        }
    }
}

impl<S: ErrorSet + Declares<401> + Declares<403> + Declares<429>> From<LoginError> for Errors<S> {
    fn from(error: LoginError) -> Self {
        match error {
            LoginError::InvalidCredentials => ApiError::unauthorized(
                problem_type::INVALID_CREDENTIALS,
                "Incorrect email or password.",
            )
            .into(),
            LoginError::AccountDisabled => ApiError::<403>::typed(
                problem_type::ACCOUNT_DISABLED,
                "This account is disabled; ask an administrator to enable it.",
            )
            .into(),
            LoginError::InvalidGrant => ApiError::invalid_grant(
                "The refresh token is not valid: unknown, expired, or its session has ended. \
                 Log in again.",
            )
            .into(),
            LoginError::GrantReused => ApiError::invalid_grant(
                "The refresh token was already used, so it may have been stolen: its session \
                 has been ended. Log in again.",
            )
            .into(),
            LoginError::Limited(limited) => ApiError::<429>::from(limited).into(),
            LoginError::Failed(failure) => failure.into(),
        }
    }
}

impl From<AuthenticateError> for Unauthenticated {
    fn from(error: AuthenticateError) -> Self {
        let refused = |detail: &str| Unauthenticated::Refused(ApiError::invalid_token(detail));
        match error {
            AuthenticateError::TokenExpired => {
                refused("The bearer token has expired; log in again.")
            }
            AuthenticateError::TokenInvalid => refused("The bearer token is invalid."),
            AuthenticateError::TokenRevoked => refused(
                "The bearer token has been revoked: its session has ended, or its account is \
                 disabled or deleted.",
            ),
            AuthenticateError::Limited(limited) => Unauthenticated::Throttled(limited.into()),
            AuthenticateError::Failed(failure) => Unauthenticated::Fault(failure.into()),
        }
    }
}

impl<S: ErrorSet + Declares<401>> From<UserError> for Errors<S> {
    fn from(error: UserError) -> Self {
        match error {
            UserError::Gone => {
                ApiError::invalid_token("The bearer token's account no longer exists.").into()
            }
            UserError::Failed(failure) => failure.into(),
        }
    }
}

impl<S: ErrorSet + Declares<401> + Declares<403> + Declares<429>> From<PasswordDenied>
    for Errors<S>
{
    fn from(error: PasswordDenied) -> Self {
        match error {
            PasswordDenied::Gone => {
                ApiError::invalid_token("The bearer token's account no longer exists.").into()
            }
            // The caller's token is fine: not a 401, which clients take as "log in again".
            PasswordDenied::Wrong => ApiError::<403>::typed(
                problem_type::WRONG_PASSWORD,
                "`current_password` is not this account's password.",
            )
            .into(),
            PasswordDenied::Limited(limited) => ApiError::<429>::from(limited).into(),
            PasswordDenied::Failed(failure) => failure.into(),
        }
    }
}

impl<S: ErrorSet + Declares<409>> From<LastAdmin> for Errors<S> {
    fn from(_: LastAdmin) -> Self {
        ApiError::<409>::typed(
            problem_type::LAST_ADMIN,
            "This is the last enabled administrator; make another administrator first \
             (`taskapi users set-role`).",
        )
        .into()
    }
}

fn email_taken() -> ApiError<409> {
    ApiError::typed(
        problem_type::EMAIL_TAKEN,
        "An account with this email already exists.",
    )
}

impl<S: ErrorSet + Declares<401> + Declares<403> + Declares<409> + Declares<429>>
    From<ChangeEmailError> for Errors<S>
{
    fn from(error: ChangeEmailError) -> Self {
        match error {
            ChangeEmailError::Denied(denied) => denied.into(),
            ChangeEmailError::EmailTaken => email_taken().into(),
        }
    }
}

impl<S: ErrorSet + Declares<401> + Declares<403> + Declares<409> + Declares<429>>
    From<DeleteAccountError> for Errors<S>
{
    fn from(error: DeleteAccountError) -> Self {
        match error {
            DeleteAccountError::Denied(denied) => denied.into(),
            DeleteAccountError::LastAdmin(last) => last.into(),
        }
    }
}

impl<S: ErrorSet + Declares<403>> From<NotAdmin> for Errors<S> {
    fn from(_: NotAdmin) -> Self {
        ApiError::<403>::typed(
            problem_type::FORBIDDEN,
            "Only administrators may do this. (A new role reaches a token at its next refresh.)",
        )
        .into()
    }
}

impl<S: ErrorSet + Declares<404> + Declares<409>> From<RemoveError> for Errors<S> {
    fn from(error: RemoveError) -> Self {
        match error {
            RemoveError::NotFound => AdminError::NotFound.into(),
            RemoveError::LastAdmin(last) => last.into(),
            RemoveError::Failed(failure) => failure.into(),
        }
    }
}

impl<S: ErrorSet + Declares<404> + Declares<412> + Declares<428>> From<ChangeError> for Errors<S> {
    fn from(error: ChangeError) -> Self {
        match error {
            ChangeError::Task(error) => error.into(),
            ChangeError::PreconditionFailed { current } => ApiError::precondition_failed(
                "The task has changed since that version: `ETag` names the current one.",
                &current.etag(),
            )
            .into(),
            ChangeError::PreconditionRequired => ApiError::<428>::typed(
                problem_type::PRECONDITION_REQUIRED,
                "This server requires `If-Match` on changes: send the task's `ETag`.",
            )
            .into(),
        }
    }
}

impl<S: ErrorSet + Declares<409> + Declares<422>> From<CreateError> for Errors<S> {
    fn from(error: CreateError) -> Self {
        match error {
            CreateError::KeyInUse => ApiError::<409>::typed(
                problem_type::IDEMPOTENCY_KEY_IN_USE,
                "A request with this `Idempotency-Key` is still being processed; retry shortly.",
            )
            .into(),
            CreateError::KeyReused => ApiError::<422>::typed(
                problem_type::IDEMPOTENCY_KEY_REUSED,
                "This `Idempotency-Key` was used for a different request; use a new key.",
            )
            .into(),
            CreateError::Failed(failure) => failure.into(),
        }
    }
}

impl<S: ErrorSet + Declares<404> + Declares<409>> From<RenameError> for Errors<S> {
    fn from(error: RenameError) -> Self {
        match error {
            RenameError::Tag(error) => error.into(),
            RenameError::Exists { existing } => ApiError::<409>::typed(
                problem_type::TAG_EXISTS,
                format!(
                    "You already have a tag {:?}; rename with `merge=true` to merge the two.",
                    existing.as_str()
                ),
            )
            .into(),
        }
    }
}

impl<S: ErrorSet> From<NotReady> for Errors<S> {
    /// Not ready is always a 503, so a load balancer looks elsewhere; a bug behind it is
    /// still logged as one.
    fn from(not_ready: NotReady) -> Self {
        match &not_ready {
            NotReady::Failed(Failure::Internal { .. }) => {
                tracing::error!(reason = %error_chain(&not_ready), "not ready");
            }
            _ => tracing::warn!(reason = %error_chain(&not_ready), "not ready"),
        }
        ApiError::unavailable(
            problem_type::UNAVAILABLE,
            "Not ready to serve: the database is unreachable or its schema is out of date.",
            RETRY_AFTER_SECONDS,
        )
        .into()
    }
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
