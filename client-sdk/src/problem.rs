//! Hand-written around the generated client: what went wrong with a call, typed.
//!
//! Every error the server sends is an RFC 9457 problem document
//! (`application/problem+json`). The generated client decodes it as [`types::Problem`], whose
//! `type_` is a plain string; [`Problem`] names it as a [`ProblemType`], so a caller matches
//! on a variant instead of comparing URIs. [`ApiError`] is any failed call: a problem the
//! server sent, or a failure with no problem (the server was unreachable, or answered
//! something the contract does not declare).
//!
//! A `304 Not Modified` answering `If-None-Match` is not a failure: [`ConditionalExt`] turns
//! it into [`Conditional::NotModified`].
//!
//! ```no_run
//! # async fn example(client: taskapi_client::Client, id: uuid::Uuid) {
//! use taskapi_client::problem::{ApiError, ProblemType};
//!
//! match client.get_task().task_id(id).send().await.map_err(ApiError::from) {
//!     Ok(task) => println!("{}", task.title),
//!     Err(ApiError::Problem(problem)) if problem.problem_type == ProblemType::AboutBlank => {
//!         println!("{}: {}", problem.title, problem.detail.unwrap_or_default())
//!     }
//!     Err(error) => eprintln!("{error}"),
//! }
//! # }
//! ```

use std::{collections::BTreeMap, fmt};

use reqwest::{
    StatusCode,
    header::{ETAG, HeaderMap},
};

use crate::{Error, ResponseValue, types};

/// The kind of a problem: its `type` URI. The server's list of types (`api/src/problem.rs`
/// in the repository) is held equal to this one by a test; a type this version of the SDK
/// does not know arrives as [`ProblemType::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProblemType {
    /// `about:blank`: the status code says it all (404, 405, 401 without a token, …).
    AboutBlank,
    /// Fields of the request failed validation; [`Problem::errors`] says which and why.
    Validation,
    /// A bearer token was presented and is not acceptable.
    InvalidToken,
    /// The email and password do not match an account.
    InvalidCredentials,
    /// An account with this email already exists.
    EmailTaken,
    /// The server is too busy right now: retry after `Retry-After` seconds.
    Busy,
    /// The server cannot reach its database: retry after `Retry-After` seconds.
    Unavailable,
    /// Too many requests (or failed logins): retry after `Retry-After` seconds.
    RateLimited,
    /// A refresh token that is unknown, expired, ended or already used: log in again.
    InvalidGrant,
    /// The account is disabled by an administrator.
    AccountDisabled,
    /// The server requires a verified email address to log in, and the account's is not.
    EmailNotVerified,
    /// The operation needs a role the caller does not have (an administrator's, or a role
    /// on a list); the detail names it.
    Forbidden,
    /// The change would leave no enabled administrator.
    LastAdmin,
    /// The current password given to confirm an account change is not the account's.
    WrongPassword,
    /// `If-Match` does not name the resource's current version.
    PreconditionFailed,
    /// The server requires `If-Match` on changes, and the request had none.
    PreconditionRequired,
    /// A request with the same `Idempotency-Key` is still being processed; retry shortly.
    IdempotencyKeyInUse,
    /// The `Idempotency-Key` was already used for a different request.
    IdempotencyKeyReused,
    /// A list the caller edits already has a tag of that name; rename with `merge` to merge
    /// them.
    TagExists,
    /// An Inbox cannot be deleted or given away.
    Inbox,
    /// A list keeps its owner: they pass it on before leaving or taking a lesser role.
    OwnerRequired,
    /// The sync token is older than the changes the server keeps: sync from scratch
    /// ([`crate::sync::Replica`] does).
    SyncTokenExpired,
    /// The caller holds as many event streams open as one account may: close one first.
    TooManyStreams,
    /// The access token lacks a scope the operation needs, or the operation needs a login
    /// session (`WWW-Authenticate` names what it needs).
    InsufficientScope,
    /// The account holds as many access tokens as one may: delete one first.
    TooManyAccessTokens,
    /// A type this version of the SDK does not know, as the server sent it.
    Other(String),
}

impl ProblemType {
    /// Every type this SDK knows (all but [`ProblemType::Other`]).
    pub const KNOWN: [Self; 25] = [
        Self::AboutBlank,
        Self::Validation,
        Self::InvalidToken,
        Self::InvalidCredentials,
        Self::EmailTaken,
        Self::Busy,
        Self::Unavailable,
        Self::RateLimited,
        Self::InvalidGrant,
        Self::AccountDisabled,
        Self::EmailNotVerified,
        Self::Forbidden,
        Self::LastAdmin,
        Self::WrongPassword,
        Self::PreconditionFailed,
        Self::PreconditionRequired,
        Self::IdempotencyKeyInUse,
        Self::IdempotencyKeyReused,
        Self::TagExists,
        Self::Inbox,
        Self::OwnerRequired,
        Self::SyncTokenExpired,
        Self::TooManyStreams,
        Self::InsufficientScope,
        Self::TooManyAccessTokens,
    ];

    /// The type's URI, as on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::AboutBlank => "about:blank",
            Self::Validation => "urn:taskapi:problem:validation",
            Self::InvalidToken => "urn:taskapi:problem:invalid-token",
            Self::InvalidCredentials => "urn:taskapi:problem:invalid-credentials",
            Self::EmailTaken => "urn:taskapi:problem:email-taken",
            Self::Busy => "urn:taskapi:problem:busy",
            Self::Unavailable => "urn:taskapi:problem:unavailable",
            Self::RateLimited => "urn:taskapi:problem:rate-limited",
            Self::InvalidGrant => "urn:taskapi:problem:invalid-grant",
            Self::AccountDisabled => "urn:taskapi:problem:account-disabled",
            Self::EmailNotVerified => "urn:taskapi:problem:email-not-verified",
            Self::Forbidden => "urn:taskapi:problem:forbidden",
            Self::LastAdmin => "urn:taskapi:problem:last-admin",
            Self::WrongPassword => "urn:taskapi:problem:wrong-password",
            Self::PreconditionFailed => "urn:taskapi:problem:precondition-failed",
            Self::PreconditionRequired => "urn:taskapi:problem:precondition-required",
            Self::IdempotencyKeyInUse => "urn:taskapi:problem:idempotency-key-in-use",
            Self::IdempotencyKeyReused => "urn:taskapi:problem:idempotency-key-reused",
            Self::TagExists => "urn:taskapi:problem:tag-exists",
            Self::Inbox => "urn:taskapi:problem:inbox",
            Self::OwnerRequired => "urn:taskapi:problem:owner-required",
            Self::SyncTokenExpired => "urn:taskapi:problem:sync-token-expired",
            Self::TooManyStreams => "urn:taskapi:problem:too-many-streams",
            Self::InsufficientScope => "urn:taskapi:problem:insufficient-scope",
            Self::TooManyAccessTokens => "urn:taskapi:problem:too-many-access-tokens",
            Self::Other(uri) => uri,
        }
    }
}

impl From<&str> for ProblemType {
    fn from(uri: &str) -> Self {
        Self::KNOWN
            .into_iter()
            .find(|known| known.as_str() == uri)
            .unwrap_or_else(|| Self::Other(uri.to_owned()))
    }
}

impl fmt::Display for ProblemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An RFC 9457 problem document, with its type named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What kind of problem this is.
    pub problem_type: ProblemType,
    /// A short summary of the problem type (`Unprocessable Entity`).
    pub title: String,
    /// The HTTP status the problem was sent with.
    pub status: StatusCode,
    /// What went wrong this time, for a person to read.
    pub detail: Option<String>,
    /// For [`ProblemType::Validation`]: each invalid field, with what is wrong with it.
    pub errors: BTreeMap<String, Vec<String>>,
    /// For a server error, when the server exports traces: the request's trace id, for
    /// the service's operators.
    pub trace_id: Option<String>,
}

impl Problem {
    /// The problem a response carried, with the status it was sent with (which wins over a
    /// document's own `status` that disagrees with it).
    pub fn from_response(response: ResponseValue<types::Problem>) -> Self {
        let status = response.status();
        let mut problem = Self::from(response.into_inner());
        problem.status = status;
        problem
    }
}

impl From<types::Problem> for Problem {
    fn from(problem: types::Problem) -> Self {
        Self {
            problem_type: ProblemType::from(problem.type_.as_str()),
            status: u16::try_from(problem.status)
                .ok()
                .and_then(|status| StatusCode::from_u16(status).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            title: problem.title,
            detail: problem.detail,
            errors: problem.errors.into_iter().collect(),
            trace_id: problem.trace_id,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.title)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        for (field, messages) in &self.errors {
            write!(f, "; {field}: {}", messages.join(", "))?;
        }
        if let Some(trace_id) = &self.trace_id {
            write!(f, " (trace {trace_id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

/// A call that failed: with the server's problem document when it sent one.
#[derive(Debug)]
pub enum ApiError {
    /// The server refused the request and said why.
    Problem(Problem),
    /// No problem document: the request could not be built or sent, the answer could not be
    /// read, or its status is not one the contract declares for the operation.
    Client(Error<()>),
}

impl ApiError {
    /// The problem, when the server sent one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::Problem(problem) => Some(problem),
            Self::Client(_) => None,
        }
    }

    /// The HTTP status of the answer, when there was one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Problem(problem) => Some(problem.status),
            Self::Client(error) => error.status(),
        }
    }
}

impl From<Error<types::Problem>> for ApiError {
    fn from(error: Error<types::Problem>) -> Self {
        match error {
            Error::ErrorResponse(response) => Self::Problem(Problem::from_response(response)),
            other => Self::Client(other.into_untyped()),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Problem(problem) => problem.fmt(f),
            Self::Client(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Problem(problem) => Some(problem),
            Self::Client(error) => Some(error),
        }
    }
}

/// The answer to a conditional `GET` (`If-None-Match`): a representation, or word that
/// the caller's copy is current.
#[derive(Debug)]
pub enum Conditional<T> {
    /// The resource differs from every version named: here it is, with its new `ETag`.
    Modified(ResponseValue<T>),
    /// `304 Not Modified`: the caller's copy is current.
    NotModified {
        /// The current version (`ETag`), as the server sent it.
        etag: Option<String>,
        /// Every header of the 304.
        headers: HeaderMap,
    },
}

impl<T> Conditional<T> {
    /// The new representation, or `None` when the caller's copy is current.
    pub fn modified(self) -> Option<T> {
        match self {
            Self::Modified(response) => Some(response.into_inner()),
            Self::NotModified { .. } => None,
        }
    }
}

/// Reads a conditional request's result as a [`Conditional`]: the generated client treats a
/// 304 as an answer the contract does not type, an [`Error::UnexpectedResponse`].
///
/// ```no_run
/// # async fn example(client: taskapi_client::Client, id: uuid::Uuid, etag: String)
/// # -> Result<(), taskapi_client::problem::ApiError> {
/// use taskapi_client::problem::{Conditional, ConditionalExt};
///
/// let answer = client.get_task().task_id(id).if_none_match(etag).send().await.conditional()?;
/// match answer {
///     Conditional::NotModified { .. } => println!("still current"),
///     Conditional::Modified(task) => println!("changed: {}", task.title),
/// }
/// # Ok(())
/// # }
/// ```
// The error is the generated client's own, passed through unchanged.
#[allow(clippy::result_large_err)]
pub trait ConditionalExt<T, E> {
    /// A 304 as [`Conditional::NotModified`], a success as [`Conditional::Modified`].
    fn conditional(self) -> Result<Conditional<T>, Error<E>>;
}

impl<T, E> ConditionalExt<T, E> for Result<ResponseValue<T>, Error<E>> {
    fn conditional(self) -> Result<Conditional<T>, Error<E>> {
        match self {
            Ok(response) => Ok(Conditional::Modified(response)),
            Err(Error::UnexpectedResponse(response))
                if response.status() == StatusCode::NOT_MODIFIED =>
            {
                let headers = response.headers().clone();
                let etag = headers
                    .get(ETAG)
                    .and_then(|etag| etag.to_str().ok())
                    .map(str::to_owned);
                Ok(Conditional::NotModified { etag, headers })
            }
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_type_reads_back_as_itself_and_an_unknown_one_is_kept() {
        for known in ProblemType::KNOWN {
            assert_eq!(ProblemType::from(known.as_str()), known);
        }
        let later = ProblemType::from("urn:taskapi:problem:from-the-future");
        assert_eq!(
            later,
            ProblemType::Other("urn:taskapi:problem:from-the-future".to_owned())
        );
        assert_eq!(later.as_str(), "urn:taskapi:problem:from-the-future");
    }

    #[test]
    fn a_server_error_names_its_trace() {
        let document: types::Problem = serde_json::from_str(
            r#"{"type":"about:blank","title":"Internal Server Error","status":500,
                "detail":"The server failed.","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}"#,
        )
        .expect("a problem");
        let problem = Problem::from(document);
        assert_eq!(
            problem.trace_id.as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(
            problem.to_string(),
            "Internal Server Error: The server failed. (trace 4bf92f3577b34da6a3ce929d0e0e4736)"
        );
    }

    #[test]
    fn a_problem_document_is_typed() {
        let document: types::Problem = serde_json::from_str(
            r#"{"type":"urn:taskapi:problem:validation","title":"Unprocessable Entity",
                "status":422,"detail":"see errors","errors":{"title":["must not be empty"]}}"#,
        )
        .expect("a problem");
        let problem = Problem::from(document);
        assert_eq!(problem.problem_type, ProblemType::Validation);
        assert_eq!(problem.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem.errors["title"], ["must not be empty"]);
        assert_eq!(
            problem.to_string(),
            "Unprocessable Entity: see errors; title: must not be empty"
        );
    }
}
