//! The taskapi HTTP contract: endpoints, schemas, error responses and the security scheme.
//!
//! Handlers here only parse the request, call one backend method and shape the response;
//! the backends ([`AuthBackend`], [`UserBackend`], [`TaskBackend`]) are implemented by the
//! server and attached to the route as request data. Nothing here touches a database, so
//! [`spec_yaml`] renders the OpenAPI document anywhere.

pub mod auth;
pub mod body;
pub mod problem;
pub mod security;
pub mod tasks;
pub mod text;
pub mod users;

pub use auth::{AuthBackend, Caller};
pub use problem::{ApiError, Problem, problem_response};
pub use tasks::TaskBackend;
pub use users::UserBackend;

use poem_openapi::{OpenApiService, Tags};

/// Operation groups, in the order Swagger UI shows them.
#[derive(Tags)]
pub enum ApiTag {
    /// Accounts and bearer tokens.
    Auth,
    /// The account behind the token.
    Users,
    /// The caller's tasks.
    Tasks,
}

/// Every endpoint of the API.
pub type Endpoints = (auth::AuthApi, users::UsersApi, tasks::TasksApi);

/// The OpenAPI service with all endpoints; the server mounts it and its documents.
pub fn openapi_service() -> OpenApiService<Endpoints, ()> {
    OpenApiService::new(
        (auth::AuthApi, users::UsersApi, tasks::TasksApi),
        "taskapi",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Task management: register, log in for a bearer token, and manage your own tasks. \
         Errors are RFC 9457 problem documents (`application/problem+json`).",
    )
}

/// The OpenAPI document as YAML: exactly what `openapi.yaml` at the repository root holds.
pub fn spec_yaml() -> String {
    // Serialising a document we just parsed cannot fail.
    serde_yaml::to_string(&spec_document()).expect("the OpenAPI document serialises")
}

/// The same document as JSON, keys in the same order.
pub fn spec_json() -> String {
    // Serialising a document we just parsed cannot fail.
    serde_json::to_string_pretty(&spec_document()).expect("the OpenAPI document serialises")
}

/// The document poem-openapi renders, completed where it falls short of OpenAPI 3.0.
fn spec_document() -> serde_yaml::Value {
    // poem-openapi's own output is valid YAML.
    let mut document: serde_yaml::Value = serde_yaml::from_str(&openapi_service().spec_yaml())
        .expect("poem-openapi renders valid YAML");
    add_empty_oauth_scopes(&mut document);
    close_schemas(&mut document);
    document
}

/// Request bodies declared with `deny_unknown_fields`: the server refuses any field they do
/// not list (so a typo in a full-replace `PUT` cannot silently reset a field).
const CLOSED_SCHEMAS: &[&str] = &["RegisterRequest", "TaskInput"];

/// poem-openapi does not say `additionalProperties: false` for `deny_unknown_fields`; without
/// it the document would call requests valid that the server refuses.
fn close_schemas(document: &mut serde_yaml::Value) {
    let Some(schemas) = document
        .get_mut("components")
        .and_then(|components| components.get_mut("schemas"))
    else {
        return;
    };
    for name in CLOSED_SCHEMAS {
        if let Some(schema) = schemas
            .get_mut(*name)
            .and_then(serde_yaml::Value::as_mapping_mut)
        {
            schema.insert("additionalProperties".into(), false.into());
        }
    }
}

/// OpenAPI 3.0 requires `scopes` in every OAuth flow, even when empty; poem-openapi leaves
/// an empty one out, and strict readers (progenitor's among them) then reject the document.
fn add_empty_oauth_scopes(document: &mut serde_yaml::Value) {
    let Some(schemes) = document
        .get_mut("components")
        .and_then(|components| components.get_mut("securitySchemes"))
        .and_then(serde_yaml::Value::as_mapping_mut)
    else {
        return;
    };
    let flows = schemes
        .values_mut()
        .filter_map(|scheme| scheme.get_mut("flows"))
        .filter_map(serde_yaml::Value::as_mapping_mut)
        .flat_map(|flows| flows.values_mut())
        .filter_map(serde_yaml::Value::as_mapping_mut);
    for flow in flows {
        if !flow.contains_key("scopes") {
            flow.insert("scopes".into(), serde_yaml::Mapping::new().into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_oauth_flow_declares_scopes() {
        let document: serde_yaml::Value = serde_yaml::from_str(&spec_yaml()).expect("yaml");
        let password_flow =
            &document["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"];
        assert_eq!(password_flow["tokenUrl"], "/auth/login");
        assert!(password_flow["scopes"].is_mapping());
    }

    #[test]
    fn closed_schemas_are_exactly_those_that_refuse_unknown_fields() {
        use poem_openapi::types::ParseFromJSON;
        use serde_json::json;

        let register = json!({"email": "a@example.com", "password": "long enough"});
        let task = json!({"title": "t"});
        let with_extra = |mut body: serde_json::Value| {
            body["unexpected"] = json!(1);
            Some(body)
        };
        assert!(auth::RegisterRequest::parse_from_json(Some(register.clone())).is_ok());
        assert!(auth::RegisterRequest::parse_from_json(with_extra(register)).is_err());
        assert!(tasks::TaskInput::parse_from_json(Some(task.clone())).is_ok());
        assert!(tasks::TaskInput::parse_from_json(with_extra(task)).is_err());

        let document: serde_yaml::Value = serde_yaml::from_str(&spec_yaml()).expect("yaml");
        for name in CLOSED_SCHEMAS {
            let schema = &document["components"]["schemas"][*name];
            assert_eq!(schema["additionalProperties"], false, "{name}");
        }
    }

    #[test]
    fn json_and_yaml_are_the_same_document() {
        let from_yaml: serde_json::Value = serde_yaml::from_str(&spec_yaml()).expect("yaml");
        let from_json: serde_json::Value = serde_json::from_str(&spec_json()).expect("json");
        assert_eq!(from_yaml, from_json);
    }
}
