//! The OpenAPI document: rendered from the endpoints' types, then completed where
//! poem-openapi falls short of OpenAPI 3.0.

use std::collections::HashMap;

use poem::{endpoint::BoxEndpoint, http::Method};
use poem_openapi::{
    OpenApi,
    registry::{MetaApi, Registry},
};
use serde_yaml::{Mapping, Value};

use crate::{
    Endpoints,
    auth::{AuthBackend, LoginErrors, LoginForm, RegisterErrors, RegisterRequest, Token},
    body::{FormBody, JsonBody},
    paging::PageLimit,
    problem::Errors,
    security::{Authenticate, BearerAuth, Unauthenticated},
    tasks::{
        CreateTaskErrors, ListTasksErrors, ReplaceTaskErrors, Task, TaskBackend, TaskByIdErrors,
        TaskInput, TaskPage,
    },
    users::{CurrentUserErrors, User, UserBackend},
};

/// The OpenAPI document as YAML: exactly what `openapi.yaml` at the repository root holds.
pub fn spec_yaml() -> String {
    // Serialising a document we just parsed cannot fail.
    serde_yaml::to_string(&document()).expect("the OpenAPI document serialises")
}

/// The same document as JSON, keys in the same order.
pub fn spec_json() -> String {
    // Serialising a document we just parsed cannot fail.
    serde_json::to_string_pretty(&document()).expect("the OpenAPI document serialises")
}

fn document() -> Value {
    // poem-openapi's own output is valid YAML.
    let mut document: Value = serde_yaml::from_str(&crate::described(Described).spec_yaml())
        .expect("poem-openapi renders valid YAML");
    add_empty_oauth_scopes(&mut document);
    close_json_request_bodies(&mut document);
    document
}

/// OpenAPI 3.0 requires `scopes` in every OAuth flow, even when empty; poem-openapi leaves
/// an empty one out, and strict readers (progenitor's among them) then reject the document.
fn add_empty_oauth_scopes(document: &mut Value) {
    let flows = document["components"]["securitySchemes"]
        .as_mapping_mut()
        .into_iter()
        .flat_map(Mapping::values_mut)
        .filter_map(|scheme| scheme.get_mut("flows")?.as_mapping_mut())
        .flat_map(Mapping::values_mut)
        .filter_map(Value::as_mapping_mut);
    for flow in flows {
        if !flow.contains_key("scopes") {
            flow.insert("scopes".into(), Mapping::new().into());
        }
    }
}

/// The server refuses any field a JSON request body's schema does not list (so a typo in a
/// full-replace `PUT` cannot silently reset a field). poem-openapi does not say
/// `additionalProperties: false`; without it the document would call requests valid that
/// the server refuses.
fn close_json_request_bodies(document: &mut Value) {
    let closed: Vec<String> = json_request_schemas(document).collect();
    let Some(schemas) = document["components"]["schemas"].as_mapping_mut() else {
        return;
    };
    for name in closed {
        if let Some(schema) = schemas.get_mut(&name).and_then(Value::as_mapping_mut) {
            schema.insert("additionalProperties".into(), false.into());
        }
    }
}

/// The component names of the schemas that JSON request bodies refer to.
fn json_request_schemas(document: &Value) -> impl Iterator<Item = String> + '_ {
    document["paths"]
        .as_mapping()
        .into_iter()
        .flat_map(Mapping::values)
        .filter_map(Value::as_mapping)
        .flat_map(Mapping::values)
        .filter_map(|operation| operation["requestBody"]["content"].as_mapping())
        .flat_map(Mapping::iter)
        .filter(|(media, _)| {
            media
                .as_str()
                .is_some_and(|m| m.starts_with("application/json"))
        })
        .filter_map(|(_, content)| content["schema"]["$ref"].as_str())
        .filter_map(|reference| reference.strip_prefix("#/components/schemas/"))
        .map(str::to_owned)
}

/// The endpoints as types alone: enough to describe them, impossible to serve.
struct Described;

impl OpenApi for Described {
    fn meta() -> Vec<MetaApi> {
        Endpoints::<Unserved>::meta()
    }

    fn register(registry: &mut Registry) {
        Endpoints::<Unserved>::register(registry);
    }

    fn add_routes(self, _: &mut HashMap<String, HashMap<Method, BoxEndpoint<'static>>>) {}
}

/// A backend that cannot exist: the document needs the endpoints' types, never a server.
enum Unserved {}

impl Authenticate for Unserved {
    type Caller = Unserved;

    async fn authenticate(&self, _: BearerAuth) -> Result<Unserved, Unauthenticated> {
        match *self {}
    }
}

impl AuthBackend for Unserved {
    async fn register(&self, _: JsonBody<RegisterRequest>) -> Result<User, Errors<RegisterErrors>> {
        match *self {}
    }

    async fn login(&self, _: FormBody<LoginForm>) -> Result<Token, Errors<LoginErrors>> {
        match *self {}
    }
}

impl UserBackend for Unserved {
    async fn current_user(&self, _: Unserved) -> Result<User, Errors<CurrentUserErrors>> {
        match *self {}
    }
}

impl TaskBackend for Unserved {
    async fn create_task(
        &self,
        _: Unserved,
        _: JsonBody<TaskInput>,
    ) -> Result<Task, Errors<CreateTaskErrors>> {
        match *self {}
    }

    async fn list_tasks(
        &self,
        _: Unserved,
        _: PageLimit,
        _: Option<String>,
    ) -> Result<TaskPage, Errors<ListTasksErrors>> {
        match *self {}
    }

    async fn get_task(&self, _: Unserved, _: uuid::Uuid) -> Result<Task, Errors<TaskByIdErrors>> {
        match *self {}
    }

    async fn replace_task(
        &self,
        _: Unserved,
        _: uuid::Uuid,
        _: JsonBody<TaskInput>,
    ) -> Result<Task, Errors<ReplaceTaskErrors>> {
        match *self {}
    }

    async fn delete_task(&self, _: Unserved, _: uuid::Uuid) -> Result<(), Errors<TaskByIdErrors>> {
        match *self {}
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::ParseFromJSON;
    use serde_json::json;

    use super::*;

    fn parsed() -> Value {
        serde_yaml::from_str(&spec_yaml()).expect("yaml")
    }

    #[test]
    fn every_oauth_flow_declares_scopes() {
        let document = parsed();
        let password_flow =
            &document["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"];
        assert_eq!(password_flow["tokenUrl"], "/auth/login");
        assert!(password_flow["scopes"].is_mapping());
    }

    #[test]
    fn json_request_bodies_are_closed_and_their_types_refuse_unknown_fields() {
        let document = parsed();
        let mut closed: Vec<String> = json_request_schemas(&document).collect();
        closed.sort();
        closed.dedup();
        assert_eq!(closed, ["RegisterRequest", "TaskInput"]);
        for name in &closed {
            let schema = &document["components"]["schemas"][name.as_str()];
            assert_eq!(schema["additionalProperties"], false, "{name}");
        }

        let with_extra = |mut body: serde_json::Value| {
            body["unexpected"] = json!(1);
            Some(body)
        };
        let register = json!({"email": "a@example.com", "password": "long enough"});
        assert!(RegisterRequest::parse_from_json(Some(register.clone())).is_ok());
        assert!(RegisterRequest::parse_from_json(with_extra(register)).is_err());
        let task = json!({"title": "t"});
        assert!(TaskInput::parse_from_json(Some(task.clone())).is_ok());
        assert!(TaskInput::parse_from_json(with_extra(task)).is_err());
    }

    #[test]
    fn json_and_yaml_are_the_same_document() {
        let from_yaml: serde_json::Value = serde_yaml::from_str(&spec_yaml()).expect("yaml");
        let from_json: serde_json::Value = serde_json::from_str(&spec_json()).expect("json");
        assert_eq!(from_yaml, from_json);
    }
}
