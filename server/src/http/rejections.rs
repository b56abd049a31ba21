//! Requests the framework turns away before an entry point runs: no route, a method the
//! path does not allow, no bearer token, a malformed path or query parameter, a body of an
//! unsupported media type. Each is answered as a problem document like every other error.

use poem::{
    Error, IntoResponse, Response,
    error::{MethodNotAllowedError, NotFoundError, ParsePathError},
};
use poem_openapi::error::{
    AuthorizationError, ContentTypeError, ParseParamError, ParsePathError as OaiParsePathError,
};
use taskapi_api::problem::{ApiError, PROBLEM_JSON, ProblemResponse, problem_type};

/// The problem response for an error that reached the edge of the app. Errors an entry
/// point answered with are problem documents already and pass through unchanged.
pub async fn problem_response(error: Error) -> Response {
    rejection(&error).map_or_else(|| passed_through(error), IntoResponse::into_response)
}

/// The problem for a rejection the framework made, recognised by its type.
fn rejection(error: &Error) -> Option<ProblemResponse> {
    let problem = if error.is::<AuthorizationError>() {
        ApiError::unauthorized(
            problem_type::ABOUT_BLANK,
            "This operation needs a bearer token: `Authorization: Bearer <token>`.",
        )
        .into()
    } else if error.is::<NotFoundError>() {
        ApiError::<404>::new("No route matches this path.").into()
    } else if error.is::<MethodNotAllowedError>() {
        ApiError::<405>::new("This path does not support this method.").into()
    } else if error.is::<OaiParsePathError>() || error.is::<ParsePathError>() {
        // poem-openapi names path parameters `param0`, …; say what the client can act on.
        ApiError::<400>::new("A path parameter is malformed: resource ids are UUIDs.").into()
    } else if let Some(parameter) = error.downcast_ref::<ParseParamError>() {
        ApiError::<400>::new(format!(
            "Query parameter `{}`: {}",
            parameter.name, parameter.reason
        ))
        .into()
    } else if error.is::<ContentTypeError>() {
        ApiError::<415>::new(error.to_string()).into()
    } else {
        return None;
    };
    Some(problem)
}

/// Any other error: kept if it is already a problem document, otherwise given one with the
/// status it carries. The cause of a server error goes to the log, not to the client.
fn passed_through(error: Error) -> Response {
    let status = error.status();
    let detail = error.to_string();
    let response = error.into_response();
    if response
        .content_type()
        .is_some_and(|content_type| content_type.starts_with(PROBLEM_JSON))
    {
        return response;
    }
    if status.is_server_error() {
        tracing::error!(%status, error = %detail, "request failed outside an entry point");
        return ApiError::internal().into_response();
    }
    if status.is_client_error() {
        return ProblemResponse::new(status, problem_type::ABOUT_BLANK, detail).into_response();
    }
    response
}

#[cfg(test)]
mod tests {
    use poem::http::StatusCode;

    use super::*;

    async fn answer(error: impl Into<Error>) -> (StatusCode, serde_json::Value) {
        let response = problem_response(error.into()).await;
        let status = response.status();
        assert_eq!(response.content_type(), Some(PROBLEM_JSON));
        let body = response.into_body().into_string().await.expect("a body");
        (
            status,
            serde_json::from_str(&body).expect("a problem document"),
        )
    }

    #[tokio::test]
    async fn each_rejection_is_a_problem_with_its_status() {
        let (status, problem) = answer(NotFoundError).await;
        assert_eq!(
            (status, &problem["status"]),
            (StatusCode::NOT_FOUND, &404.into())
        );
        let (status, _) = answer(MethodNotAllowedError).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        let (status, _) = answer(AuthorizationError).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _) = answer(ContentTypeError::ExpectContentType).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }

    /// poem gives a parameter's failure only as a message, wrapping the parameter type's
    /// own; the detail names the parameter and keeps the message. Built here the way poem
    /// builds it, so a change in poem's wrapping shows up in `tests/tests/api/pagination.rs`.
    #[tokio::test]
    async fn a_malformed_query_parameter_is_named() {
        use poem_openapi::types::ParseFromParameter;
        let reason = taskapi_api::paging::PageLimit::parse_from_parameter("abc")
            .expect_err("not a number")
            .into_message();
        let (status, problem) = answer(ParseParamError {
            name: "limit",
            reason: reason.clone(),
        })
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            problem["detail"],
            format!("Query parameter `limit`: {reason}")
        );
        assert!(reason.contains("must be a whole number"), "{reason}");
    }

    #[tokio::test]
    async fn server_errors_say_nothing_of_their_cause() {
        let error = Error::from_string("secret internals", StatusCode::INTERNAL_SERVER_ERROR);
        let (status, problem) = answer(error).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!problem.to_string().contains("secret"), "{problem}");
    }
}
