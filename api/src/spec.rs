//! The OpenAPI document: rendered from the endpoints' types, then completed where
//! poem-openapi falls short of OpenAPI 3.0.

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
    add_empty_oauth_scopes(&mut document);
    close_json_request_bodies(&mut document);
    require_always_sent_fields(&mut document);
    move_field_defaults_to_their_types(&mut document);
    declare_public_operations(&mut document);
    declare_deprecation_headers(&mut document);
    name_sort_orders(&mut document);
    give_parameters_examples(&mut document);
    order_tags_as_declared(&mut document);
    for_each_mapping(&mut document, &mut |mapping| {
        use_plain_json_media_type(mapping);
        drop_unsigned_formats(mapping);
        spell_headers_as_http_does(mapping);
    });
    document
}

/// Swagger UI and ReDoc show the groups in the order of `tags`, which poem-openapi sorts
/// A to Z; the order [`ApiTag`] declares puts the newcomer's path (auth, users, tasks) first.
fn order_tags_as_declared(document: &mut Value) {
    let Some(tags) = document["tags"].as_sequence_mut() else {
        return;
    };
    let rank = |tag: &Value| {
        ApiTag::VARIANTS
            .iter()
            .position(|declared| tag["name"].as_str() == Some(poem_openapi::Tags::name(declared)))
    };
    tags.sort_by_key(rank);
}

/// The mappings two levels below `value`: each entry of each of its entries, reached
/// through the entry's `via` field when one is given (`paths` → path items → operations;
/// `schemas` → schemas → `properties` → properties).
fn nested_mut<'a>(
    value: &'a mut Value,
    via: Option<&'a str>,
) -> impl Iterator<Item = &'a mut Mapping> + 'a {
    value
        .as_mapping_mut()
        .into_iter()
        .flat_map(Mapping::values_mut)
        .filter_map(move |child| match via {
            Some(field) => child.get_mut(field)?.as_mapping_mut(),
            None => child.as_mapping_mut(),
        })
        .flat_map(Mapping::values_mut)
        .filter_map(Value::as_mapping_mut)
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

/// Generators name enum members after their values, and `-due_at` gives them nothing to
/// tell it from `due_at` (openapi-python-client falls back to `VALUE_5`). `x-enum-varnames`
/// names each value of `TaskSort` after its variant here: `DUE_AT_REVERSED`.
fn name_sort_orders(document: &mut Value) {
    let names = TaskSort::VARIANTS
        .iter()
        .map(|variant| {
            let mut name = String::new();
            for c in format!("{variant:?}").chars() {
                if c.is_uppercase() && !name.is_empty() {
                    name.push('_');
                }
                name.push(c.to_ascii_uppercase());
            }
            Value::from(name)
        })
        .collect();
    document["components"]["schemas"]["TaskSort"]["x-enum-varnames"] = Value::Sequence(names);
}

/// poem-openapi declares `application/json; charset=utf-8`; generators look for plain
/// `application/json` (the server still sends the charset, which JSON readers ignore).
fn use_plain_json_media_type(mapping: &mut Mapping) {
    const WITH_CHARSET: &str = "application/json; charset=utf-8";
    if let Some(content) = mapping.remove(WITH_CHARSET) {
        mapping.insert("application/json".into(), content);
    }
}

/// poem-openapi writes the default of an enum field beside an `allOf` of the enum and again
/// as a second, typeless member, which some generators cannot take the `allOf` of; and a
/// field with a default reads to others (openapi-typescript) as one that is always present,
/// which holds in a response but not in a request, where leaving it out asks for the
/// default. So the default moves onto the enum itself, and the field refers to it plainly.
fn move_field_defaults_to_their_types(document: &mut Value) {
    let mut defaults: Vec<(String, Value)> = Vec::new();
    for property in nested_mut(&mut document["components"]["schemas"], Some("properties")) {
        let reference = property
            .get("allOf")
            .and_then(|all_of| all_of[0]["$ref"].as_str());
        let Some(target) = reference.map(str::to_owned) else {
            continue;
        };
        let Some(default) = property.remove("default") else {
            continue;
        };
        property.remove("allOf");
        property.insert("$ref".into(), target.clone().into());
        if let Some(name) = target.strip_prefix("#/components/schemas/") {
            defaults.push((name.to_owned(), default));
        }
    }
    let Some(schemas) = document["components"]["schemas"].as_mapping_mut() else {
        return;
    };
    for (name, default) in defaults {
        if let Some(schema) = schemas.get_mut(&name).and_then(Value::as_mapping_mut) {
            let previous = schema.insert("default".into(), default.clone());
            // Two fields defaulting one enum to different values would need another shape.
            assert!(
                previous.is_none_or(|previous| previous == default),
                "fields default {name} differently"
            );
        }
    }
}

/// `uint16`, `uint32` and `uint64` are Rust's words, not OpenAPI's: a plain integer with a
/// minimum of 0 says the same to every generator.
fn drop_unsigned_formats(mapping: &mut Mapping) {
    let unsigned = mapping
        .get("format")
        .and_then(Value::as_str)
        .is_some_and(|format| format.starts_with("uint"));
    if unsigned {
        mapping.remove("format");
        if !mapping.contains_key("minimum") {
            mapping.insert("minimum".into(), 0.into());
        }
    }
}

/// Response headers by the names HTTP gives them; poem-openapi upper-cases them.
const RESPONSE_HEADERS: &[&str] = &["Location", "ETag"];

fn spell_headers_as_http_does(mapping: &mut Mapping) {
    let Some(headers) = mapping.get_mut("headers").and_then(Value::as_mapping_mut) else {
        return;
    };
    for name in RESPONSE_HEADERS {
        let shouted = Value::from(name.to_uppercase());
        if let Some(header) = headers.remove(&shouted) {
            headers.insert((*name).into(), header);
        }
    }
    // poem-openapi writes `deprecated: false` on every header; false is the default.
    for header in headers.values_mut().filter_map(Value::as_mapping_mut) {
        if header.get("deprecated") == Some(&Value::Bool(false)) {
            header.remove("deprecated");
        }
    }
}

/// An example for each parameter, by name (the same name means the same thing in every
/// operation), since poem-openapi renders none; Swagger UI offers them as starting values.
/// `cursor` has none: only a cursor the API issued for the same listing is one.
fn parameter_example(name: &str) -> Option<serde_json::Value> {
    use serde_json::json;
    let at = |days: i64| (crate::EXAMPLE_TIME + chrono::Duration::days(days)).to_rfc3339();
    Some(match name {
        "limit" => json!(20),
        "task_id" | "session_id" | "user_id" => json!("0194b2a4-0000-7000-8000-000000000002"),
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
    })
}

/// Gives every parameter its [`parameter_example`].
fn give_parameters_examples(document: &mut Value) {
    for operation in nested_mut(&mut document["paths"], None) {
        let Some(parameters) = operation
            .get_mut("parameters")
            .and_then(Value::as_sequence_mut)
        else {
            continue;
        };
        for parameter in parameters.iter_mut().filter_map(Value::as_mapping_mut) {
            let name = parameter.get("name").and_then(Value::as_str).unwrap_or("");
            if let Some(example) = parameter_example(name) {
                // JSON values are valid YAML values.
                let example = serde_yaml::to_value(example).expect("JSON converts to YAML");
                parameter.insert("example".into(), example);
            }
        }
    }
}

/// A deprecated operation (`#[oai(deprecated)]`) answers with `Deprecation` and `Sunset`
/// (the server's retirement table has the dates); every response of it declares them.
fn declare_deprecation_headers(document: &mut Value) {
    use serde_json::json;
    let headers = [
        (
            "Deprecation",
            json!({
                "description": "RFC 9745: when this operation was deprecated, as `@` and Unix seconds.",
                "required": true,
                "schema": {"type": "string", "example": "@1772384400"},
            }),
        ),
        (
            "Sunset",
            json!({
                "description": "RFC 8594: when this operation will stop answering, as an HTTP-date.",
                "required": true,
                "schema": {"type": "string", "example": "Sun, 30 Aug 2026 17:00:00 GMT"},
            }),
        ),
    ]
    // JSON values are valid YAML values.
    .map(|(name, header)| (name, serde_yaml::to_value(header).expect("JSON converts to YAML")));
    for operation in nested_mut(&mut document["paths"], None) {
        if operation.get("deprecated") != Some(&Value::Bool(true)) {
            continue;
        }
        let responses = operation
            .get_mut("responses")
            .and_then(Value::as_mapping_mut);
        for response in responses.into_iter().flat_map(Mapping::values_mut) {
            for (name, header) in &headers {
                response["headers"][*name] = header.clone();
            }
        }
    }
}

/// Operations without a security requirement say so with `security: []`, so that no reader
/// applies a global default to them.
fn declare_public_operations(document: &mut Value) {
    for operation in nested_mut(&mut document["paths"], None) {
        if !operation.contains_key("security") {
            operation.insert("security".into(), Value::Sequence(Vec::new()));
        }
    }
}

/// The server sends every field of a response object, `null` when it has no value; a
/// nullable field is therefore required, so generators type it as present-or-null rather
/// than as possibly missing. Schemas of request bodies are left as they are: there a field
/// may be left out.
fn require_always_sent_fields(document: &mut Value) {
    let requests: Vec<String> = request_schemas(document).collect();
    let Some(schemas) = document["components"]["schemas"].as_mapping_mut() else {
        return;
    };
    for (name, schema) in schemas.iter_mut() {
        if name
            .as_str()
            .is_some_and(|name| requests.iter().any(|r| r == name))
        {
            continue;
        }
        let nullable: Vec<Value> = schema["properties"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter(|(_, property)| property["nullable"] == Value::Bool(true))
            .map(|(field, _)| field.clone())
            .collect();
        let Some(schema) = schema.as_mapping_mut().filter(|_| !nullable.is_empty()) else {
            continue;
        };
        let required = schema
            .entry("required".into())
            .or_insert_with(|| Value::Sequence(Vec::new()));
        if let Some(required) = required.as_sequence_mut() {
            for field in nullable {
                if !required.contains(&field) {
                    required.push(field);
                }
            }
        }
    }
}

/// OpenAPI 3.0 requires `scopes` in every OAuth flow, even when empty; poem-openapi leaves
/// an empty one out, and strict readers (progenitor's among them) then reject the document.
fn add_empty_oauth_scopes(document: &mut Value) {
    for flow in nested_mut(
        &mut document["components"]["securitySchemes"],
        Some("flows"),
    ) {
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
    request_bodies(document)
        .filter(|(media, _)| media.starts_with("application/json"))
        .map(|(_, schema)| schema)
}

/// The component names of the schemas that any request body refers to.
fn request_schemas(document: &Value) -> impl Iterator<Item = String> + '_ {
    request_bodies(document).map(|(_, schema)| schema)
}

/// `(media type, schema name)` of every request body.
fn request_bodies(document: &Value) -> impl Iterator<Item = (&str, String)> + '_ {
    document["paths"]
        .as_mapping()
        .into_iter()
        .flat_map(Mapping::values)
        .filter_map(Value::as_mapping)
        .flat_map(Mapping::values)
        .filter_map(|operation| operation["requestBody"]["content"].as_mapping())
        .flat_map(Mapping::iter)
        .filter_map(|(media, content)| {
            let reference = content["schema"]["$ref"].as_str()?;
            let name = reference.strip_prefix("#/components/schemas/")?;
            Some((media.as_str()?, name.to_owned()))
        })
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
        let mut closed: Vec<String> = json_request_schemas(&document).collect();
        closed.sort();
        closed.dedup();
        assert_eq!(
            closed,
            [
                "AccountDeletion",
                "EmailChange",
                "PasswordChange",
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
        for operation in nested_mut(&mut document["paths"], None) {
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
