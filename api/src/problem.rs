//! Errors on the wire: RFC 9457 problem details (`application/problem+json`).
//!
//! Every error the service sends, whether it comes from a handler ([`ApiError`]) or from
//! the framework itself (malformed JSON, unknown route, missing token, oversized body),
//! leaves through this module, so a client only ever has to decode one error shape.

use std::{collections::BTreeMap, marker::PhantomData};

use poem::{
    Error, IntoResponse, Response,
    error::{MethodNotAllowedError, NotFoundError, ParsePathError},
    http::{HeaderValue, StatusCode, header},
};
use poem_openapi::{
    ApiResponse, Object,
    error::{
        AuthorizationError, ContentTypeError, ParseParamError, ParsePathError as OaiParsePathError,
        ParseRequestPayloadError,
    },
    registry::{MetaMediaType, MetaResponse, MetaResponses, Registry},
    types::{ToJSON, Type},
};

/// The media type of every error response.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Problem type of a request whose fields failed validation; `errors` says which and why.
pub const VALIDATION_PROBLEM: &str = "urn:taskapi:problem:validation";

/// An RFC 9457 problem detail. `type` identifies the kind of problem (`about:blank` when
/// the status code says it all); `errors` maps each invalid field to what is wrong with it.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(rename = "Problem")]
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
}

/// An error a handler returns: a status code, its problem document and, for 401 and 503,
/// the header that tells the client what to do next.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    problem: Problem,
    www_authenticate: Option<&'static str>,
    retry_after_seconds: Option<u32>,
}

impl ApiError {
    /// A problem described by its status code alone (`type: about:blank`).
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self::typed(status, "about:blank", detail)
    }

    /// A problem with its own type URI.
    pub fn typed(status: StatusCode, problem_type: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            problem: Problem {
                problem_type: problem_type.to_owned(),
                title: status.canonical_reason().unwrap_or("Error").to_owned(),
                status: status.as_u16(),
                detail: Some(detail.into()),
                errors: None,
            },
            www_authenticate: None,
            retry_after_seconds: None,
        }
    }

    /// 422: the request was well-formed but these fields are invalid.
    pub fn validation(errors: BTreeMap<String, Vec<String>>) -> Self {
        let mut error = Self::typed(
            StatusCode::UNPROCESSABLE_ENTITY,
            VALIDATION_PROBLEM,
            "The request has invalid fields; see `errors`.",
        );
        error.problem.errors = Some(errors);
        error
    }

    /// 401 with `WWW-Authenticate: Bearer`, as RFC 6750 asks.
    pub fn unauthorized(problem_type: &str, detail: impl Into<String>) -> Self {
        let mut error = Self::typed(StatusCode::UNAUTHORIZED, problem_type, detail);
        error.www_authenticate = Some("Bearer");
        error
    }

    /// 401 for a presented token that is not acceptable (RFC 6750 `invalid_token`).
    pub fn invalid_token(detail: impl Into<String>) -> Self {
        let mut error = Self::unauthorized("urn:taskapi:problem:invalid-token", detail);
        error.www_authenticate = Some(r#"Bearer error="invalid_token""#);
        error
    }

    /// 503 with `Retry-After`: the service is overloaded or its database is unreachable.
    pub fn unavailable(detail: impl Into<String>, retry_after_seconds: u32) -> Self {
        let mut error = Self::new(StatusCode::SERVICE_UNAVAILABLE, detail);
        error.retry_after_seconds = Some(retry_after_seconds);
        error
    }

    /// 500 whose detail says nothing about the cause; the cause belongs in the log.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The server failed to handle this request; it has been logged.",
        )
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn problem(&self) -> &Problem {
        &self.problem
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = Response::builder()
            .status(self.status)
            .content_type(PROBLEM_JSON)
            .body(self.problem.to_json_string());
        if let Some(challenge) = self.www_authenticate {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if let Some(seconds) = self.retry_after_seconds {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<ApiError> for Error {
    fn from(error: ApiError) -> Self {
        Error::from_response(error.into_response())
    }
}

/// The error statuses one operation can answer with. Each operation names its own set, so
/// the spec lists exactly the errors a client must be ready for.
pub trait ErrorSet: Send + Sync + 'static {
    /// Status codes with the description the spec shows for each.
    const STATUSES: &'static [(u16, &'static str)];
}

/// The error half of an operation's result: an [`ApiError`] whose possible statuses are
/// declared by `S` in the spec.
pub struct Errors<S: ErrorSet> {
    error: ApiError,
    set: PhantomData<S>,
}

impl<S: ErrorSet> From<ApiError> for Errors<S> {
    fn from(error: ApiError) -> Self {
        debug_assert!(
            S::STATUSES
                .iter()
                .any(|(status, _)| *status == error.status.as_u16()),
            "status {} is not declared for this operation",
            error.status
        );
        Self {
            error,
            set: PhantomData,
        }
    }
}

impl<S: ErrorSet> IntoResponse for Errors<S> {
    fn into_response(self) -> Response {
        self.error.into_response()
    }
}

impl<S: ErrorSet> From<Errors<S>> for Error {
    fn from(errors: Errors<S>) -> Self {
        errors.error.into()
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
                    headers: vec![],
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        Problem::register(registry);
    }
}

/// Declares an [`ErrorSet`] from status codes; descriptions come from [`describe`].
macro_rules! error_set {
    ($(#[$meta:meta])* $name:ident: $($status:literal),+ $(,)?) => {
        $(#[$meta])*
        pub struct $name;
        impl $crate::problem::ErrorSet for $name {
            const STATUSES: &'static [(u16, &'static str)] =
                &[$(($status, $crate::problem::describe($status))),+];
        }
    };
}
pub(crate) use error_set;

/// What each error status means in this API, as the spec shows it.
pub const fn describe(status: u16) -> &'static str {
    match status {
        400 => {
            "The request is malformed: unparsable JSON or form, or a malformed path or query parameter."
        }
        401 => {
            "No valid credentials: the bearer token is missing, malformed, expired or revoked, or the login failed."
        }
        404 => {
            "No such resource visible to the caller. Another user's task is reported exactly like a missing one."
        }
        409 => "The request conflicts with existing data.",
        413 => "The request body is larger than the server accepts.",
        415 => "The request body has an unsupported content type.",
        422 => {
            "The request is well-formed but some fields are invalid; `errors` says which and why."
        }
        503 => {
            "The service is temporarily overloaded or cannot reach its database; retry after `Retry-After` seconds."
        }
        _ => "The server failed to handle the request.",
    }
}

/// Turns any error that reached the edge of the service into a problem response: errors a
/// handler built are passed through as they are; the framework's own errors get the status
/// they carry and a problem body that says what was wrong.
pub async fn problem_response(error: Error) -> Response {
    if error.is::<AuthorizationError>() {
        return ApiError::unauthorized(
            "about:blank",
            "This operation needs a bearer token: `Authorization: Bearer <token>`.",
        )
        .into_response();
    }
    if let Some(parse) = error.downcast_ref::<ParseRequestPayloadError>() {
        return payload_problem(&parse.reason).into_response();
    }
    if error.is::<NotFoundError>() {
        return ApiError::new(StatusCode::NOT_FOUND, "No route matches this path.").into_response();
    }
    if error.is::<MethodNotAllowedError>() {
        return ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "This path does not support this method.",
        )
        .into_response();
    }
    if error.is::<OaiParsePathError>() || error.is::<ParsePathError>() {
        // poem-openapi names path parameters `param0`, …; say what the client can act on.
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "A path parameter is malformed: resource ids are UUIDs.",
        )
        .into_response();
    }
    let is_parameter_error = error.is::<ParseParamError>() || error.is::<ContentTypeError>();
    let status = error.status();
    let detail = error.to_string();
    let response = error.into_response();
    let already_problem = response
        .content_type()
        .is_some_and(|content_type| content_type.starts_with(PROBLEM_JSON));
    if already_problem {
        return response;
    }
    if status.is_server_error() {
        return ApiError::internal().into_response();
    }
    if is_parameter_error || status.is_client_error() {
        return ApiError::new(status, detail).into_response();
    }
    response
}

/// A body that did not parse. Bytes that are not JSON at all are a 400; JSON or form data
/// of the wrong shape is a 422, naming the field where the decoder's message does.
fn payload_problem(reason: &str) -> ApiError {
    if is_json_syntax_error(reason) {
        return ApiError::new(StatusCode::BAD_REQUEST, reason);
    }
    // poem-openapi wraps schema errors as `failed to parse "Type": message`.
    let message = reason
        .strip_prefix("failed to parse \"")
        .and_then(|rest| rest.split_once("\": "))
        .map_or(reason, |(_, message)| message);
    let field = message
        .split_once('`')
        .and_then(|(_, rest)| rest.split_once('`'))
        .map_or("body", |(field, _)| field);
    ApiError::validation(BTreeMap::from([(
        field.to_owned(),
        vec![message.to_owned()],
    )]))
}

/// serde_json reports a syntax error with its position (`… at line 1 column 9`); schema
/// errors from poem-openapi and the form decoder carry no position.
fn is_json_syntax_error(reason: &str) -> bool {
    let Some((_, position)) = reason.rsplit_once(" at line ") else {
        return false;
    };
    let Some((line, column)) = position.split_once(" column ") else {
        return false;
    };
    [line, column]
        .iter()
        .all(|number| !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_syntax_errors_are_bad_requests() {
        for reason in [
            "expected value at line 1 column 1",
            "EOF while parsing a value at line 1 column 9",
        ] {
            let error = payload_problem(reason);
            assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{reason}");
            assert_eq!(error.problem().errors, None);
        }
    }

    #[test]
    fn schema_errors_name_the_field() {
        let error = payload_problem(
            r#"failed to parse "TaskInput": field `title` verification failed. maxLength(500)"#,
        );
        assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let errors = error.problem().errors.clone().expect("field errors");
        assert!(errors["title"][0].contains("maxLength(500)"));
    }

    #[test]
    fn missing_form_fields_are_named() {
        let error = payload_problem("missing field `password`");
        assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            error
                .problem()
                .errors
                .clone()
                .expect("field errors")
                .contains_key("password")
        );
    }

    #[test]
    fn schema_errors_without_a_field_are_about_the_body() {
        let reason =
            r#"Expected input type "string", found null. (occurred while parsing "TaskInput")"#;
        let error = payload_problem(reason);
        assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let errors = error.problem().errors.clone().expect("field errors");
        assert_eq!(errors["body"], vec![reason.to_owned()]);
    }
}
