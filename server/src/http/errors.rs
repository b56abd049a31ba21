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
    domain::{FOREIGN_TOKEN, FieldErrors, NotAdmin, RoleNeeded},
    service::{
        Failure, Precondition,
        admin::{AdminError, LastAdmin, RemoveError},
        auth::{AuthenticateError, LoginError, RegisterError},
        events::StreamError,
        health::NotReady,
        limits::{LimitError, Limited},
        lists::{
            DeleteListError, InvitationNotFound, InviteError, Kept, ListChangeError, ListError,
            ListNotFound, MemberError, NoSuchMember,
        },
        passwords::CheckError,
        recovery::{TokenRefused, VerifyError},
        sync::SyncError,
        tags::{RenameError, TagChangeError, TagError, TagExists},
        tasks::{ChangeError, CreateError, PlacementError, ReplaceError, TaskError},
        tokens::{CreateTokenError, TokenNotFound},
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
    TokenNotFound => "No such access token.",
    AdminError => "No such account.",
    TaskError => "No such task.",
    TagError => "No such tag.",
    ListNotFound => "No such list.",
    InvitationNotFound => "No such invitation (or it has expired).",
}

impl<S: ErrorSet + Declares<401> + Declares<409>> From<CreateTokenError> for Errors<S> {
    fn from(error: CreateTokenError) -> Self {
        match error {
            CreateTokenError::TooMany { max } => ApiError::<409>::typed(
                problem_type::TOO_MANY_ACCESS_TOKENS,
                format!(
                    "This account holds {max} access tokens, as many as one may; delete one first."
                ),
            )
            .into(),
            CreateTokenError::Gone => {
                ApiError::invalid_token("The bearer token's account no longer exists.").into()
            }
            CreateTokenError::Failed(failure) => failure.into(),
        }
    }
}

impl<S: ErrorSet + Declares<403>> From<RoleNeeded> for Errors<S> {
    fn from(needed: RoleNeeded) -> Self {
        let name = |role| <&str>::from(role);
        ApiError::<403>::typed(
            problem_type::FORBIDDEN,
            format!(
                "This needs the {} role on the list; you are a {} there.",
                name(needed.needed),
                name(needed.held)
            ),
        )
        .into()
    }
}

impl<S: ErrorSet + Declares<412> + Declares<428>> From<Precondition> for Errors<S> {
    fn from(error: Precondition) -> Self {
        match error {
            Precondition::Failed { current } => ApiError::precondition_failed(
                "It has changed since that version: `ETag` names the current one.",
                &current.etag(),
            )
            .into(),
            Precondition::Required => ApiError::<428>::typed(
                problem_type::PRECONDITION_REQUIRED,
                "This server requires `If-Match` on changes: send the current `ETag`.",
            )
            .into(),
        }
    }
}

impl<S: ErrorSet + Declares<409>> From<Kept> for Errors<S> {
    fn from(kept: Kept) -> Self {
        match kept {
            Kept::Inbox => ApiError::<409>::typed(
                problem_type::INBOX,
                "An Inbox is its account's for good: it cannot be deleted or given away.",
            ),
            Kept::Owner => ApiError::<409>::typed(
                problem_type::OWNER_REQUIRED,
                "A list keeps its owner: pass it on first (`update_member` with role `owner`), \
                 or delete it.",
            ),
        }
        .into()
    }
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
            LoginError::EmailNotVerified => ApiError::<403>::typed(
                problem_type::EMAIL_NOT_VERIFIED,
                "This server requires a verified email address, and this account's is not: \
                 answer the verification mail, or reset the password (which also verifies it).",
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

impl<S: ErrorSet + Declares<429>> From<LimitError> for Errors<S> {
    fn from(error: LimitError) -> Self {
        match error {
            LimitError::Limited(limited) => ApiError::<429>::from(limited).into(),
            LimitError::Failed(failure) => failure.into(),
        }
    }
}

impl<S: ErrorSet + Declares<422>> From<TokenRefused> for Errors<S> {
    fn from(error: TokenRefused) -> Self {
        match error {
            TokenRefused::Invalid => FieldErrors::single(
                "token",
                "is not a valid token: unknown, already used, expired, or replaced by a newer \
                 one; ask for a new mail",
            )
            .into(),
            TokenRefused::Failed(failure) => failure.into(),
        }
    }
}

impl<S: ErrorSet + Declares<409> + Declares<422>> From<VerifyError> for Errors<S> {
    fn from(error: VerifyError) -> Self {
        match error {
            VerifyError::Refused(refused) => refused.into(),
            VerifyError::EmailTaken => email_taken().into(),
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
            PasswordDenied::Check(CheckError::Wrong { .. }) => ApiError::<403>::typed(
                problem_type::WRONG_PASSWORD,
                "`current_password` is not this account's password.",
            )
            .into(),
            PasswordDenied::Check(CheckError::Limited(limited)) => {
                ApiError::<429>::from(limited).into()
            }
            PasswordDenied::Check(CheckError::Failed(failure)) => failure.into(),
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

impl<S: ErrorSet + Declares<403> + Declares<409> + Declares<422>> From<CreateError> for Errors<S> {
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
            CreateError::Placement(error) => error.into(),
        }
    }
}

impl<S: ErrorSet + Declares<410> + Declares<422> + Declares<429>> From<StreamError> for Errors<S> {
    fn from(error: StreamError) -> Self {
        match error {
            StreamError::TooMany { open } => ApiError::<429>::limited(
                problem_type::TOO_MANY_STREAMS,
                format!(
                    "{open} event streams are open for this account, the most it may hold: \
                     close one first."
                ),
                // A cap on streams held at once: a place may be free in a second.
                RateLimit {
                    policy: "streams",
                    quota: u64::from(open),
                    window_seconds: 1,
                    retry_after_seconds: 1,
                },
            )
            .into(),
            StreamError::Sync(error) => error.into(),
        }
    }
}

impl<S: ErrorSet + Declares<410> + Declares<422>> From<SyncError> for Errors<S> {
    fn from(error: SyncError) -> Self {
        match error {
            SyncError::Expired => ApiError::<410>::typed(
                problem_type::SYNC_TOKEN_EXPIRED,
                "The sync token is older than the changes kept: sync again without a token, \
                 and replace the replica with what that returns.",
            )
            .into(),
            SyncError::Forged => {
                let mut errors = FieldErrors::default();
                errors.add("token", FOREIGN_TOKEN.to_owned());
                errors.into()
            }
            SyncError::Failed(failure) => failure.into(),
        }
    }
}

impl<S: ErrorSet + Declares<409>> From<TagExists> for Errors<S> {
    fn from(TagExists { existing }: TagExists) -> Self {
        ApiError::<409>::typed(
            problem_type::TAG_EXISTS,
            format!(
                "A list you edit already has a tag {:?}; rename with `merge=true` to merge the \
                 two.",
                existing.as_str()
            ),
        )
        .into()
    }
}

impl<S: ErrorSet + Declares<404>> From<NoSuchMember> for Errors<S> {
    fn from(_: NoSuchMember) -> Self {
        ApiError::<404>::new("No such member of the list.").into()
    }
}

impl<S: ErrorSet + Declares<429>> From<Limited> for Errors<S> {
    fn from(limited: Limited) -> Self {
        ApiError::<429>::from(limited).into()
    }
}

/// Errors that are one of others (the service's `one_of!`): each maps as the error it holds
/// does. `Error: the statuses they give { Variant, … }`.
macro_rules! one_of {
    ($($error:ident: $($status:literal),+ { $($variant:ident),+ })*) => {$(
        impl<S: ErrorSet $(+ Declares<$status>)+> From<$error> for Errors<S> {
            fn from(error: $error) -> Self {
                match error {
                    $($error::$variant(inner) => inner.into(),)+
                }
            }
        }
    )*};
}

one_of! {
    ListError: 403, 404 { Missing, RoleNeeded }
    ListChangeError: 403, 404, 412, 428 { List, Precondition }
    DeleteListError: 403, 404, 409, 412, 428 { Change, Kept }
    MemberError: 403, 404, 409 { List, NoSuchMember, Kept }
    InviteError: 403, 404, 429 { List, Limited }
    ChangeError: 403, 404, 412, 428 { Task, RoleNeeded, Precondition }
    ReplaceError: 403, 404, 412, 422, 428 { Change, Invalid }
    PlacementError: 403, 422 { RoleNeeded, Invalid, Failed }
    TagChangeError: 403, 404 { Tag, RoleNeeded }
    RenameError: 403, 404, 409 { Change, Exists }
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
