//! The OpenAPI document: rendered from the endpoints' types, then completed where
//! poem-openapi's rendering falls short of what a reader needs. Each completion names the
//! reader that needs it; none of them can be asked of poem-openapi 5.

use std::{collections::HashMap, marker::PhantomData};

use poem::{endpoint::BoxEndpoint, http::Method};
use poem_openapi::{
    OpenApi,
    registry::{MetaApi, Registry},
};
use serde_yaml::{Mapping, Value};
use strum::VariantArray;

use crate::{ApiTag, tasks::TaskSort};

/// The OpenAPI document of the endpoints `T` as YAML (for the server's endpoints, exactly
/// what `openapi.yaml` at the repository root holds).
pub fn spec_yaml<T: OpenApi>() -> String {
    // Serialising a document we just parsed cannot fail.
    serde_yaml::to_string(&document::<T>()).expect("the OpenAPI document serialises")
}

/// The same document as JSON, keys in the same order.
pub fn spec_json<T: OpenApi>() -> String {
    // Serialising a document we just parsed cannot fail.
    serde_json::to_string_pretty(&document::<T>()).expect("the OpenAPI document serialises")
}

/// poem-openapi's own Swagger UI and ReDoc pages, which embed its rendering of the spec
/// inline with their scripts and styles; the server serves those scripts and styles.
pub fn bundled_ui_pages<T: OpenApi>() -> (String, String) {
    let service = described::<T>();
    (service.swagger_ui_html(), service.redoc_html())
}

fn document<T: OpenApi>() -> Value {
    // poem-openapi's own output is valid YAML.
    let mut document: Value = serde_yaml::from_str(&described::<T>().spec_yaml())
        .expect("poem-openapi renders valid YAML");
    let bodies = request_bodies(&document);
    complete_schemas(&mut document["components"]["schemas"], &bodies);
    complete_operations(&mut document["paths"]);
    if let Some(tags) = document["tags"].as_sequence_mut() {
        // Swagger UI and ReDoc: groups in the order `ApiTag` declares (poem-openapi sorts them).
        tags.sort_by_key(|tag| {
            ApiTag::VARIANTS.iter().position(|declared| {
                tag["name"].as_str() == Some(poem_openapi::Tags::name(declared))
            })
        });
    }
    for_each_mapping(&mut document, &mut complete_mapping);
    document
}

/// Completes the component schemas, given the `(schema, is JSON)` of each request body.
fn complete_schemas(schemas: &mut Value, bodies: &[(String, bool)]) {
    let mut enum_defaults = Vec::new();
    for (name, schema) in schemas.as_mapping_mut().into_iter().flatten() {
        let uses: Vec<bool> = (bodies.iter())
            .filter(|(body, _)| name.as_str() == Some(body))
            .map(|(_, json)| *json)
            .collect();
        if uses.contains(&true) {
            // Schemathesis: the server refuses unknown fields (a typo in a `PUT` must not
            // reset a field), so the document must not call such bodies valid.
            schema["additionalProperties"] = false.into();
        } else if uses.is_empty() {
            require_nullable_fields(schema);
        }
        let properties = schema.get_mut("properties").and_then(Value::as_mapping_mut);
        for property in properties.into_iter().flat_map(Mapping::values_mut) {
            enum_defaults.extend(refer_plainly_to_enum(property));
        }
    }
    for (name, default) in enum_defaults {
        if let Some(schema) = schemas.get_mut(&name).filter(|schema| schema.is_mapping()) {
            // Two fields defaulting one enum to different values would need another shape.
            assert!(
                schema
                    .get("default")
                    .is_none_or(|previous| *previous == default),
                "fields default {name} differently"
            );
            schema["default"] = default;
        }
    }
    // poem-openapi gives a union no example: its first member's is one.
    let unions: Vec<(Value, Value)> = (schemas.as_mapping().into_iter().flatten())
        .filter(|(_, schema)| schema.get("example").is_none())
        .filter_map(|(name, schema)| {
            let first = schema
                .get("anyOf")
                .or_else(|| schema.get("oneOf"))?
                .get(0)?;
            let target = first["$ref"]
                .as_str()?
                .strip_prefix("#/components/schemas/")?;
            Some((name.clone(), schemas[target].get("example")?.clone()))
        })
        .collect();
    for (name, example) in unions {
        schemas[&name]["example"] = example;
    }
    // openapi-python-client (and the Rust SDK's build): `-due_at` and `due_at` name no
    // distinct members (`VALUE_5`), so each value is named after its variant: `DUE_AT_REVERSED`.
    if let Some(sort) = schemas.get_mut("TaskSort") {
        let names = TaskSort::VARIANTS
            .iter()
            .map(|&variant| <&str>::from(variant));
        sort["x-enum-varnames"] = Value::Sequence(names.map(Value::from).collect());
    }
}

/// openapi-typescript and openapi-python-client: the server sends every field of a response
/// object, `null` when it has no value, so a nullable field is required (present or null,
/// never missing). Request bodies are left alone: there a field may be left out.
fn require_nullable_fields(schema: &mut Value) {
    let nullable: Vec<Value> = (schema["properties"].as_mapping().into_iter().flatten())
        .filter(|(_, property)| property["nullable"] == Value::Bool(true))
        .map(|(field, _)| field.clone())
        .collect();
    if nullable.is_empty() {
        return;
    }
    let required = &mut schema["required"];
    if required.is_null() {
        *required = Value::Sequence(Vec::new());
    }
    if let Some(required) = required.as_sequence_mut() {
        for field in nullable {
            if !required.contains(&field) {
                required.push(field);
            }
        }
    }
}

/// openapi-python-client cannot take the `allOf` poem-openapi wraps around an enum field
/// with a default (nor the default's typeless second member), and openapi-typescript reads a
/// field with a default as always present, which a request field is not. So the field
/// refers to the enum plainly; returns the enum's name and the default, for the enum itself.
fn refer_plainly_to_enum(property: &mut Value) -> Option<(String, Value)> {
    let target = property.get("allOf")?[0]["$ref"].as_str()?.to_owned();
    let property = property.as_mapping_mut()?;
    let default = property.remove("default")?;
    property.remove("allOf");
    property.insert("$ref".into(), target.clone().into());
    Some((
        target.strip_prefix("#/components/schemas/")?.to_owned(),
        default,
    ))
}

/// Completes each operation under `paths`.
fn complete_operations(paths: &mut Value) {
    let operations = (paths.as_mapping_mut().into_iter())
        .flat_map(Mapping::values_mut)
        .filter_map(Value::as_mapping_mut)
        .flat_map(Mapping::values_mut)
        .filter(|operation| operation.is_mapping());
    for operation in operations {
        // Redocly (`security-defined`): a public operation says so with `security: []`.
        if operation.get("security").is_none() {
            operation["security"] = Value::Sequence(Vec::new());
        }
        // Every reader: a deprecated operation's responses declare the headers that say when
        // it was deprecated and when it goes (poem-openapi has no operation-wide headers).
        if operation.get("deprecated") == Some(&Value::Bool(true)) {
            declare_retirement_headers(operation);
        }
        // Swagger UI: a parameter's example is its starting value in *Try it out*.
        let parameters = operation
            .get_mut("parameters")
            .and_then(Value::as_sequence_mut);
        for parameter in parameters.into_iter().flatten() {
            if let Some(example) = parameter_example(parameter["name"].as_str().unwrap_or("")) {
                parameter["example"] = example;
            }
        }
    }
}

/// `Deprecation` (RFC 9745) and `Sunset` (RFC 8594) on every response of `operation`; the
/// server's retirement table has the dates.
fn declare_retirement_headers(operation: &mut Value) {
    use serde_json::json;
    let header = |description: &str, example: &str| {
        let header = json!({"description": description, "required": true,
            "schema": {"type": "string", "example": example}});
        // JSON values are valid YAML values.
        serde_yaml::to_value(header).expect("JSON converts to YAML")
    };
    let deprecation = header(
        "RFC 9745: when this operation was deprecated, as `@` and Unix seconds.",
        "@1772384400",
    );
    let sunset = header(
        "RFC 8594: when this operation will stop answering, as an HTTP-date.",
        "Sun, 30 Aug 2026 17:00:00 GMT",
    );
    let responses = operation
        .get_mut("responses")
        .and_then(Value::as_mapping_mut);
    for response in responses.into_iter().flat_map(Mapping::values_mut) {
        response["headers"]["Deprecation"] = deprecation.clone();
        response["headers"]["Sunset"] = sunset.clone();
    }
}

/// An example for each parameter, by name (the same name means the same thing in every
/// operation). `cursor` has none: only a cursor the API issued for the same listing is one.
fn parameter_example(name: &str) -> Option<Value> {
    use serde_json::json;
    let at = |days: i64| (crate::EXAMPLE_TIME + chrono::Duration::days(days)).to_rfc3339();
    let example = match name {
        "limit" => json!(20),
        "task_id" | "session_id" | "user_id" => json!("0194b2a4-0000-7000-8000-000000000002"),
        // No `list_id` or `assignee`: as filters of `list_tasks`, an example would narrow
        // (or, for a list the reader cannot see, refuse) the listing *Try it out* shows.
        "invitation_id" => json!("0194b2a4-0000-7000-8000-000000000020"),
        // Swagger UI sends examples as they stand: `*` changes whatever version is
        // current, where a fixed tag would answer 412.
        "If-Match" => json!("*"),
        "If-None-Match" => json!("\"3\""),
        "Idempotency-Key" => json!("\"7c0a9d3e-5b1f-4c2a-9e8d-3f6b2a1c4d5e\""),
        "sort" => json!("-priority"),
        "status" => json!(["todo", "in_progress"]),
        "priority" => json!(["urgent", "high"]),
        "tag" => json!(["Home"]),
        "due_before" => json!(at(7)),
        "due_after" | "updated_since" => json!(at(0)),
        "overdue" | "has_due" | "merge" => json!(true),
        "q" => json!("dent"),
        "name" => json!("Home"),
        "email_prefix" => json!("alice@example.com"),
        _ => return None,
    };
    // JSON values are valid YAML values.
    Some(serde_yaml::to_value(example).expect("JSON converts to YAML"))
}

/// Completions of any mapping of the document, wherever it stands.
fn complete_mapping(mapping: &mut Mapping) {
    // progenitor decodes only the exact `application/json` (the server still sends
    // poem-openapi's `; charset=utf-8`, which JSON readers ignore).
    if let Some(content) = mapping.remove("application/json; charset=utf-8") {
        mapping.insert("application/json".into(), content);
    }
    // openapi-typescript and openapi-python-client know no `uint*` format (Rust's words,
    // not OpenAPI's): a plain integer with a minimum of 0 tells them the same.
    let format = mapping.get("format").and_then(Value::as_str);
    if format.is_some_and(|format| format.starts_with("uint")) {
        mapping.remove("format");
        if !mapping.contains_key("minimum") {
            mapping.insert("minimum".into(), 0.into());
        }
    }
    // Swagger UI and ReDoc show response headers by name: as HTTP spells them, not as
    // poem-openapi upper-cases them, and without its `deprecated: false` (the default).
    if let Some(headers) = mapping.get_mut("headers").and_then(Value::as_mapping_mut) {
        for name in ["Location", "ETag"] {
            if let Some(header) = headers.remove(name.to_uppercase()) {
                headers.insert(name.into(), header);
            }
        }
        for header in headers.values_mut().filter_map(Value::as_mapping_mut) {
            if header.get("deprecated") == Some(&Value::Bool(false)) {
                header.remove("deprecated");
            }
        }
    }
    // progenitor: OpenAPI 3.0 requires `scopes` in every OAuth flow, even an empty one,
    // which poem-openapi leaves out.
    if mapping.get("type").and_then(Value::as_str) == Some("oauth2") {
        let flows = mapping.get_mut("flows").and_then(Value::as_mapping_mut);
        for flow in flows.into_iter().flat_map(Mapping::values_mut) {
            if flow.get("scopes").is_none() {
                flow["scopes"] = Mapping::new().into();
            }
        }
    }
}

/// Calls `visit` on every mapping of the document, outermost first.
fn for_each_mapping(value: &mut Value, visit: &mut impl FnMut(&mut Mapping)) {
    match value {
        Value::Mapping(mapping) => {
            visit(mapping);
            for child in mapping.values_mut() {
                for_each_mapping(child, visit);
            }
        }
        Value::Sequence(sequence) => {
            for child in sequence {
                for_each_mapping(child, visit);
            }
        }
        _ => {}
    }
}

/// `(schema name, whether JSON)` of every request body that refers to a component schema.
fn request_bodies(document: &Value) -> Vec<(String, bool)> {
    let operations = (document["paths"].as_mapping().into_iter())
        .flat_map(Mapping::values)
        .filter_map(Value::as_mapping)
        .flat_map(Mapping::values);
    operations
        .filter_map(|operation| operation["requestBody"]["content"].as_mapping())
        .flatten()
        .filter_map(|(media, content)| {
            let reference = content["schema"]["$ref"].as_str()?;
            let name = reference.strip_prefix("#/components/schemas/")?;
            Some((
                name.to_owned(),
                media.as_str()?.starts_with("application/json"),
            ))
        })
        .collect()
}

/// Endpoints as types alone: enough to describe them, never served, so the document
/// renders without a server or a database.
struct Described<T>(PhantomData<T>);

impl<T: OpenApi> OpenApi for Described<T> {
    fn meta() -> Vec<MetaApi> {
        T::meta()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn add_routes(self, _: &mut HashMap<String, HashMap<Method, BoxEndpoint<'static>>>) {}
}

fn described<T: OpenApi>() -> poem_openapi::OpenApiService<Described<T>, ()> {
    crate::described(Described(PhantomData))
}

#[cfg(test)]
mod tests {
    use crate::{auth::RegisterRequest, tasks::TaskInput};
    use poem_openapi::types::ParseFromJSON;
    use serde_json::json;

    use super::*;

    /// The checked-in document, which the server's drift test holds equal to the rendered one.
    fn parsed() -> Value {
        serde_yaml::from_str(include_str!("../../openapi.yaml")).expect("yaml")
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
        let mut closed: Vec<String> = (request_bodies(&document).into_iter())
            .filter_map(|(name, json)| json.then_some(name))
            .collect();
        closed.sort();
        closed.dedup();
        assert_eq!(
            closed,
            [
                "AccessTokenInput",
                "AccountDeletion",
                "EmailChange",
                "EmailVerification",
                "InvitationInput",
                "ListInput",
                "ListPatch",
                "MemberUpdate",
                "PasswordChange",
                "PasswordResetConfirmation",
                "PasswordResetRequest",
                "RegisterRequest",
                "TagRename",
                "TaskInput",
                "TaskPatch"
            ]
        );
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

    /// poem-openapi's validators take a literal; the schema must still say the constant.
    #[test]
    fn the_tag_limit_in_the_schema_is_the_constant() {
        let document = parsed();
        for body in ["TaskInput", "TaskPatch"] {
            let tags = &document["components"]["schemas"][body]["properties"]["tags"];
            let max_items = tags["maxItems"].as_u64().expect("maxItems");
            assert_eq!(
                usize::try_from(max_items).ok(),
                Some(crate::tasks::MAX_TAGS_PER_TASK),
                "{body}"
            );
        }
    }

    /// What generators stumbled on before; tests/run shows three of them reading it cleanly.
    #[test]
    fn the_document_says_what_generators_need() {
        let mut document = parsed();
        let text = serde_yaml::to_string(&document).expect("yaml");
        assert!(!text.contains("charset=utf-8"), "plain application/json");
        assert!(!text.contains("format: uint"), "no Rust integer formats");
        assert!(!text.contains("LOCATION"), "headers as HTTP spells them");
        assert!(!text.contains("- default:"), "no typeless allOf member");
        assert!(
            !text.contains("allOf"),
            "no allOf: openapi-python-client refuses one around an enum"
        );
        let paths = document["paths"].as_mapping_mut().expect("paths");
        for operation in paths
            .values_mut()
            .flat_map(|item| item.as_mapping_mut().expect("a path item").values_mut())
        {
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            assert!(operation["security"].is_sequence(), "{id}: security stated");
            assert!(operation["summary"].is_string(), "{id}: a summary");
            assert!(operation["description"].is_string(), "{id}: a description");
        }
        let task = &document["components"]["schemas"]["Task"];
        let required = task["required"].as_sequence().expect("required fields");
        for always_sent in ["description", "due_at", "completed_at"] {
            assert!(required.contains(&always_sent.into()), "{always_sent}");
        }
        for (name, schema) in document["components"]["schemas"]
            .as_mapping()
            .expect("schemas")
        {
            let is_enum = schema.get("enum").is_some();
            assert!(
                is_enum || schema.get("example").is_some(),
                "{name:?} has an example"
            );
        }
    }
}
