//! Errors on the wire: RFC 9457 problem details (`application/problem+json`), and the error
//! statuses each operation declares.
//!
//! An operation's result is `Result<Success, Errors<S>>`, where the error set `S` lists the
//! statuses the spec declares for it. An [`ApiError<N>`] carries its status in its type and
//! converts into `Errors<S>` only when `S` declares `N`, so a backend answering with an
//! undeclared status does not compile. (What the framework refuses before an operation runs
//! is checked against the declarations by the contract tests.)

use std::{collections::BTreeMap, marker::PhantomData};

use poem::{
    IntoResponse, Response,
    http::{HeaderName, HeaderValue, StatusCode, header},
};
use poem_openapi::{
    ApiResponse, Object,
    registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, Registry},
    types::{ToJSON, Type},
};

/// The media type of every error response.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Problem type URIs of this API; `about:blank` when the status code says it all.
pub mod problem_type {
    pub const ABOUT_BLANK: &str = "about:blank";
    /// Fields of the request failed validation; `errors` says which and why.
    pub const VALIDATION: &str = "urn:taskapi:problem:validation";
    /// A bearer token was presented and is not acceptable.
    pub const INVALID_TOKEN: &str = "urn:taskapi:problem:invalid-token";
    /// The email and password do not match an account.
    pub const INVALID_CREDENTIALS: &str = "urn:taskapi:problem:invalid-credentials";
    /// An account with this email already exists.
    pub const EMAIL_TAKEN: &str = "urn:taskapi:problem:email-taken";
    /// The server is too busy right now (a row held too long by another writer, a statement
    /// over its time, every password-hashing slot taken): retry after `Retry-After` seconds.
    pub const BUSY: &str = "urn:taskapi:problem:busy";
    /// The server cannot reach its database: retry after `Retry-After` seconds.
    pub const UNAVAILABLE: &str = "urn:taskapi:problem:unavailable";
    /// Too many requests (or failed logins) from this client or for this account: retry
    /// after `Retry-After` seconds; `RateLimit-Policy` names the limit.
    pub const RATE_LIMITED: &str = "urn:taskapi:problem:rate-limited";
    /// A refresh token that is unknown, expired, ended, or already used (RFC 6749
    /// `invalid_grant`). Presenting a used one ends its whole session.
    pub const INVALID_GRANT: &str = "urn:taskapi:problem:invalid-grant";
    /// The account is disabled by an administrator.
    pub const ACCOUNT_DISABLED: &str = "urn:taskapi:problem:account-disabled";
    /// This server requires a verified email address to log in, and the account's is not
    /// verified (`TASKAPI_REQUIRE_VERIFIED_EMAIL`).
    pub const EMAIL_NOT_VERIFIED: &str = "urn:taskapi:problem:email-not-verified";
    /// The operation needs a role the caller does not have (an administrator's, or a role
    /// on a list); the detail names it.
    pub const FORBIDDEN: &str = "urn:taskapi:problem:forbidden";
    /// The change would leave no enabled administrator.
    pub const LAST_ADMIN: &str = "urn:taskapi:problem:last-admin";
    /// The current password given to confirm an account change is not the account's.
    pub const WRONG_PASSWORD: &str = "urn:taskapi:problem:wrong-password";
    /// `If-Match` does not name the resource's current version; `ETag` gives it.
    pub const PRECONDITION_FAILED: &str = "urn:taskapi:problem:precondition-failed";
    /// This server requires `If-Match` on changes, and the request had none.
    pub const PRECONDITION_REQUIRED: &str = "urn:taskapi:problem:precondition-required";
    /// A request with the same `Idempotency-Key` is still being processed; retry shortly.
    pub const IDEMPOTENCY_KEY_IN_USE: &str = "urn:taskapi:problem:idempotency-key-in-use";
    /// The `Idempotency-Key` was already used for a different request.
    pub const IDEMPOTENCY_KEY_REUSED: &str = "urn:taskapi:problem:idempotency-key-reused";
    /// A list the caller edits already has a tag of that name; `merge=true` merges the two.
    pub const TAG_EXISTS: &str = "urn:taskapi:problem:tag-exists";
    /// An Inbox cannot be deleted or given away: it is its account's for good.
    pub const INBOX: &str = "urn:taskapi:problem:inbox";
    /// A list keeps its owner: the owner cannot leave or take a lesser role before passing
    /// the list on.
    pub const OWNER_REQUIRED: &str = "urn:taskapi:problem:owner-required";
    /// The sync token is older than the changes the server keeps
    /// (`TASKAPI_TOMBSTONE_TTL_SECONDS`): sync again without a token, and replace the
    /// replica with what that returns.
    pub const SYNC_TOKEN_EXPIRED: &str = "urn:taskapi:problem:sync-token-expired";
    /// The caller holds as many event streams open as one account may
    /// (`TASKAPI_MAX_STREAMS_PER_USER`): close one first.
    pub const TOO_MANY_STREAMS: &str = "urn:taskapi:problem:too-many-streams";
    /// The access token lacks a scope the operation needs (named in `WWW-Authenticate`),
    /// or the operation needs a login session.
    pub const INSUFFICIENT_SCOPE: &str = "urn:taskapi:problem:insufficient-scope";
    /// The account holds as many access tokens as one may
    /// (`TASKAPI_MAX_ACCESS_TOKENS_PER_USER`): delete one first.
    pub const TOO_MANY_ACCESS_TOKENS: &str = "urn:taskapi:problem:too-many-access-tokens";
}

/// An RFC 9457 problem detail. `type` identifies the kind of problem (`about:blank` when
/// the status code says it all); `errors` maps each invalid field to what is wrong with it.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(rename = "Problem", example)]
pub struct Problem {
    /// A URI that identifies the problem type; `about:blank` when the status says it all.
    #[oai(rename = "type")]
    pub problem_type: String,
    /// A short, human-readable summary of the problem type.
    pub title: String,
    /// The HTTP status code of this response.
    pub status: u16,
    /// A human-readable explanation of this occurrence of the problem.
    #[oai(skip_serializing_if_is_none)]
    pub detail: Option<String>,
    /// For validation problems: each invalid field, with what is wrong with it.
    #[oai(skip_serializing_if_is_none)]
    pub errors: Option<BTreeMap<String, Vec<String>>>,
    /// For server errors (5xx), when the server exports traces: the W3C trace id of this
    /// request (32 hex digits), to quote to the service's operators.
    #[oai(skip_serializing_if_is_none)]
    pub trace_id: Option<String>,
}

examples! {
    Problem => Problem {
        problem_type: problem_type::VALIDATION.to_owned(),
        title: "Unprocessable Entity".to_owned(),
        status: 422,
        detail: Some("The request has invalid fields; see `errors`.".to_owned()),
        errors: Some(BTreeMap::from([(
            "title".to_owned(),
            vec!["must not be empty".to_owned()],
        )])),
        trace_id: None,
    };
}

/// A problem document with the status and the headers (`WWW-Authenticate` on a 401,
/// `Retry-After` on a 503, the rate-limit headers on a 429) it is sent with.
#[derive(Debug, Clone)]
pub struct ProblemResponse {
    status: StatusCode,
    problem: Problem,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl ProblemResponse {
    pub fn new(status: StatusCode, problem_type: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            problem: Problem {
                problem_type: problem_type.to_owned(),
                title: status.canonical_reason().unwrap_or("Error").to_owned(),
                status: status.as_u16(),
                detail: Some(detail.into()),
                errors: None,
                trace_id: None,
            },
            headers: Vec::new(),
        }
    }
}

impl IntoResponse for ProblemResponse {
    fn into_response(self) -> Response {
        let mut response = Response::builder()
            .status(self.status)
            .content_type(PROBLEM_JSON)
            .body(self.problem.to_json_string());
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

impl From<ProblemResponse> for poem::Error {
    fn from(problem: ProblemResponse) -> Self {
        poem::Error::from_response(problem.into_response())
    }
}

/// A problem whose status, `STATUS`, the compiler knows.
#[derive(Debug, Clone)]
pub struct ApiError<const STATUS: u16>(ProblemResponse);

impl<const STATUS: u16> ApiError<STATUS> {
    /// Evaluated at compile time: a status that is not an error status does not build.
    const STATUS_CODE: StatusCode = match StatusCode::from_u16(STATUS) {
        Ok(status) if STATUS >= 400 => status,
        _ => panic!("an ApiError status is an error status, 400 or above"),
    };

    /// A problem described by its status code alone (`type: about:blank`).
    pub fn new(detail: impl Into<String>) -> Self {
        Self::typed(problem_type::ABOUT_BLANK, detail)
    }

    /// A problem with its own type URI (see [`problem_type`]).
    pub fn typed(problem_type: &str, detail: impl Into<String>) -> Self {
        Self(ProblemResponse::new(
            Self::STATUS_CODE,
            problem_type,
            detail,
        ))
    }

    fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.0.headers.push((name, value));
        self
    }
}

impl ApiError<401> {
    /// Failed authentication, with `WWW-Authenticate: Bearer` as RFC 6750 asks.
    pub fn unauthorized(problem_type: &str, detail: impl Into<String>) -> Self {
        Self::typed(problem_type, detail)
            .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
    }

    /// A refresh token that is not acceptable (RFC 6749 `invalid_grant`).
    pub fn invalid_grant(detail: impl Into<String>) -> Self {
        Self::unauthorized(problem_type::INVALID_GRANT, detail)
    }

    /// A presented token that is not acceptable (RFC 6750 `invalid_token`).
    pub fn invalid_token(detail: impl Into<String>) -> Self {
        Self::typed(problem_type::INVALID_TOKEN, detail).with_header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Bearer error="invalid_token""#),
        )
    }
}

impl ApiError<403> {
    /// An access token without the scopes an operation needs (RFC 6750 §3.1): `scopes`,
    /// space-separated, are named in `WWW-Authenticate`.
    pub fn insufficient_scope(scopes: &str, detail: impl Into<String>) -> Self {
        let challenge = format!(r#"Bearer error="insufficient_scope", scope="{scopes}""#);
        let error = Self::typed(problem_type::INSUFFICIENT_SCOPE, detail);
        match HeaderValue::try_from(challenge) {
            Ok(value) => error.with_header(header::WWW_AUTHENTICATE, value),
            Err(_) => error,
        }
    }
}

impl ApiError<412> {
    /// `If-Match` names another version: `etag` is the current one, sent as `ETag`.
    pub fn precondition_failed(detail: impl Into<String>, etag: &str) -> Self {
        let error = Self::typed(problem_type::PRECONDITION_FAILED, detail);
        match HeaderValue::from_str(etag) {
            Ok(value) => error.with_header(header::ETAG, value),
            // Entity tags of this server are quoted numbers: always a valid value.
            Err(_) => error,
        }
    }
}

impl ApiError<422> {
    /// The request is well-formed but these fields are invalid.
    pub fn validation(errors: BTreeMap<String, Vec<String>>) -> Self {
        let mut error = Self::typed(
            problem_type::VALIDATION,
            "The request has invalid fields; see `errors`.",
        );
        error.0.problem.errors = Some(errors);
        error
    }
}

impl ApiError<500> {
    /// A failure whose detail says nothing about the cause; the cause belongs in the log.
    pub fn internal() -> Self {
        Self::new("The server failed to handle this request; it has been logged.")
    }
}

impl ApiError<503> {
    /// The service is busy ([`problem_type::BUSY`]) or cannot reach its database
    /// ([`problem_type::UNAVAILABLE`]); retry after `retry_after_seconds`.
    pub fn unavailable(
        problem_type: &str,
        detail: impl Into<String>,
        retry_after_seconds: u32,
    ) -> Self {
        Self::typed(problem_type, detail)
            .with_header(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds))
    }
}

/// A rate limit a request ran into, as the 429 response states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// The policy's name, as `RateLimit-Policy` and `RateLimit` give it.
    pub policy: &'static str,
    /// Requests the policy allows per window.
    pub quota: u64,
    /// The policy's window, in seconds.
    pub window_seconds: u64,
    /// Seconds until a request would be allowed again (at least 1).
    pub retry_after_seconds: u64,
}

impl ApiError<429> {
    /// Refused by `limit`: `Retry-After`, plus `RateLimit-Policy` and `RateLimit` (the
    /// IETF httpapi draft's structured fields) naming the policy and when it resets.
    pub fn rate_limited(detail: impl Into<String>, limit: RateLimit) -> Self {
        Self::limited(problem_type::RATE_LIMITED, detail, limit)
    }

    /// The same, with a problem type of its own (a cap on things held at once, say).
    pub fn limited(problem_type: &str, detail: impl Into<String>, limit: RateLimit) -> Self {
        let retry = limit.retry_after_seconds.max(1);
        let field = |value: String| {
            // Policy names are constants of this server, plain ASCII.
            HeaderValue::try_from(value).expect("rate-limit fields are ASCII")
        };
        Self::typed(problem_type, detail)
            .with_header(header::RETRY_AFTER, HeaderValue::from(retry))
            .with_header(
                HeaderName::from_static("ratelimit-policy"),
                field(format!(
                    "\"{}\";q={};w={}",
                    limit.policy, limit.quota, limit.window_seconds
                )),
            )
            .with_header(
                HeaderName::from_static("ratelimit"),
                field(format!("\"{}\";r=0;t={retry}", limit.policy)),
            )
    }
}

impl<const STATUS: u16> IntoResponse for ApiError<STATUS> {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

impl<const STATUS: u16> From<ApiError<STATUS>> for ProblemResponse {
    fn from(error: ApiError<STATUS>) -> Self {
        error.0
    }
}

/// The server's own failures, which every operation may answer with.
#[derive(Debug, Clone)]
pub enum Fault {
    /// A bug or a broken invariant.
    Internal(ApiError<500>),
    /// Overloaded or cut off from the database; worth a retry.
    Unavailable(ApiError<503>),
}

/// The error statuses one operation can answer with, so the spec lists exactly the errors a
/// client must be ready for. Declared with [`error_sets!`].
pub trait ErrorSet: Declares<500> + Declares<503> + Send + Sync + 'static {
    /// Status codes with the description the spec shows for each.
    const STATUSES: &'static [(u16, &'static str)];
}

/// Proof that an error set declares status `N`.
pub trait Declares<const N: u16> {}

/// The error half of an operation's result: a problem whose status `S` declares.
pub struct Errors<S: ErrorSet> {
    problem: ProblemResponse,
    set: PhantomData<S>,
}

impl<S: ErrorSet + Declares<N>, const N: u16> From<ApiError<N>> for Errors<S> {
    fn from(error: ApiError<N>) -> Self {
        Self {
            problem: error.0,
            set: PhantomData,
        }
    }
}

impl<S: ErrorSet> From<Fault> for Errors<S> {
    fn from(fault: Fault) -> Self {
        match fault {
            Fault::Internal(error) => error.into(),
            Fault::Unavailable(error) => error.into(),
        }
    }
}

impl<S: ErrorSet> IntoResponse for Errors<S> {
    fn into_response(self) -> Response {
        self.problem.into_response()
    }
}

impl<S: ErrorSet> From<Errors<S>> for poem::Error {
    fn from(errors: Errors<S>) -> Self {
        errors.problem.into()
    }
}

impl<S: ErrorSet> ApiResponse for Errors<S> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: S::STATUSES
                .iter()
                .map(|(status, description)| MetaResponse {
                    description,
                    status: Some(*status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: PROBLEM_JSON,
                        schema: Problem::schema_ref(),
                    }],
                    headers: response_headers(*status),
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        Problem::register(registry);
    }
}

/// Declares [`ErrorSet`]s, one per line: `Name: statuses;` lists the client-error statuses
/// an operation can answer with; every set also declares 500 and 503, which any operation
/// can meet. Descriptions come from [`describe`].
macro_rules! error_sets {
    ($($(#[$meta:meta])* $name:ident: $($status:literal),*;)*) => {$(
        $(#[$meta])*
        pub struct $name;
        impl $crate::problem::ErrorSet for $name {
            const STATUSES: &'static [(u16, &'static str)] = &[
                $(($status, $crate::problem::describe($status)),)*
                (500, $crate::problem::describe(500)),
                (503, $crate::problem::describe(503)),
            ];
        }
        $(impl $crate::problem::Declares<$status> for $name {})*
        impl $crate::problem::Declares<500> for $name {}
        impl $crate::problem::Declares<503> for $name {}
    )*};
}
pub(crate) use error_sets;

/// The headers an error status is sent with, as the spec declares them: name, description,
/// and whether the value is a number of seconds.
#[rustfmt::skip] // A table: one header a line.
fn response_headers(status: u16) -> Vec<MetaHeader> {
    const RETRY_AFTER: (&str, &str, bool) = ("Retry-After", "Seconds to wait before retrying.", true);
    let headers: &[(&str, &str, bool)] = match status {
        401 => &[("WWW-Authenticate", "`Bearer`, with `error=\"invalid_token\"` when a token was presented and refused (RFC 6750).", false)],
        403 => &[("WWW-Authenticate", "Only when an access token lacks a scope the operation needs: `Bearer error=\"insufficient_scope\", scope=\"<the scopes it needs>\"` (RFC 6750 §3.1).", false)],
        412 => &[("ETag", "The current version's entity tag.", false)],
        429 => &[
            RETRY_AFTER,
            ("RateLimit-Policy", "The limit that was hit, as `\"name\";q=<quota>;w=<window seconds>` (draft-ietf-httpapi-ratelimit-headers).", false),
            ("RateLimit", "What is left of that limit, as `\"name\";r=0;t=<seconds until reset>` (draft-ietf-httpapi-ratelimit-headers).", false),
        ],
        503 => &[RETRY_AFTER],
        _ => &[],
    };
    (headers.iter())
        .map(|&(name, description, seconds)| MetaHeader {
            name: name.to_owned(),
            description: Some(description.to_owned()),
            // A 403 for other reasons than a token's scope has no challenge.
            required: status != 403,
            deprecated: false,
            schema: if seconds {
                u64::schema_ref()
            } else {
                String::schema_ref()
            },
        })
        .collect()
}

/// What each error status means in this API, as the spec shows it.
#[rustfmt::skip] // A table: one status a line.
pub const fn describe(status: u16) -> &'static str {
    match status {
        400 => "The request is malformed: unparsable JSON or form, or a malformed path or query parameter.",
        401 => "No valid credentials: the bearer token is missing, malformed, expired or revoked, or the login failed.",
        403 => "The caller is authenticated but may not do this: an access token without a scope the operation needs (`urn:taskapi:problem:insufficient-scope`), an administrator operation called by a user, an account change confirmed with a wrong current password, or a login to a disabled account.",
        404 => "No such resource visible to the caller. Another user's task is reported exactly like a missing one.",
        409 => "The request conflicts with existing data or a request in progress: the email is taken, the change would leave no enabled administrator, a tag of the new name exists (rename with `merge=true` to merge), or a request with the same `Idempotency-Key` is still running (retry shortly).",
        410 => "The sync token is older than the changes the server keeps (`urn:taskapi:problem:sync-token-expired`): sync again without a token and replace the replica with what that returns.",
        412 => "`If-Match` does not name the current version: the resource changed since it was read. `ETag` gives the current version; read it again and reapply the change.",
        413 => "The request body is larger than the server accepts.",
        415 => "The request body has an unsupported content type.",
        422 => "The request is well-formed but some fields are invalid (`errors` says which and why), a cursor or sync token is not one this API issued, a cursor is used with other filters or another sort than it was issued for, or an `Idempotency-Key` is reused for a different request.",
        428 => "This server requires `If-Match` on changes (`TASKAPI_REQUIRE_IF_MATCH`): read the resource and send its `ETag` back as `If-Match`.",
        429 => "Too many requests, or too many failed logins, from this client or for this account; retry after `Retry-After` seconds. `RateLimit-Policy` and `RateLimit` name the limit.",
        500 => "The server failed to handle the request.",
        503 => "The service is temporarily overloaded or cannot reach its database; retry after `Retry-After` seconds.",
        // Evaluated at compile time for every error set: a status without a meaning here
        // does not build.
        _ => panic!("no description for this error status"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    error_sets! {
        /// A set for the tests below.
        NotFoundErrors: 404;
    }

    #[test]
    fn every_set_declares_the_servers_own_failures() {
        let statuses: Vec<u16> = NotFoundErrors::STATUSES.iter().map(|(s, _)| *s).collect();
        assert_eq!(statuses, [404, 500, 503]);
    }

    #[tokio::test]
    async fn a_declared_error_keeps_its_status_problem_and_header() {
        let errors: Errors<NotFoundErrors> =
            ApiError::<503>::unavailable(problem_type::BUSY, "Try later.", 2).into();
        let response = errors.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        assert_eq!(response.content_type(), Some(PROBLEM_JSON));
        let body = response.into_body().into_string().await.expect("a body");
        let problem: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(problem["status"], 503);
        assert_eq!(problem["title"], "Service Unavailable");
    }
}
