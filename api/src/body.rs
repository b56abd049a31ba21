//! [`JsonBody`]: a JSON request body whose validation errors name every field that is wrong.
//!
//! poem-openapi's `Json<T>` stops at the first field that fails to decode and, for a wrong
//! type or a missing field, does not say which field it was (`Expected input type "string",
//! found null`). A client fixing its request wants the whole list at once, keyed by field.
//! `JsonBody<T>` decodes with exactly the same decoder; only when that fails does it go
//! through the object field by field to say what is wrong with each.

use std::collections::BTreeMap;

use poem::{FromRequest, Request, RequestBody, Result};
use poem_openapi::{
    error::ParseRequestPayloadError,
    impl_apirequest_for_payload,
    payload::{Json, ParsePayload, Payload},
    registry::{MetaSchema, MetaSchemaRef, Registry},
    types::{ParseFromJSON, Type},
};
use serde_json::{Map, Value};

use crate::problem::ApiError;

/// Field errors: each invalid field with what is wrong with it.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// A request object that can check a JSON object field by field.
///
/// Implemented with [`check_fields!`](crate::body::check_fields), which lists the fields
/// with the same types the struct declares.
pub trait CheckFields: ParseFromJSON {
    /// What is wrong with each field of `object` on its own: a wrong type, a missing
    /// required field, an unknown field, a length outside the declared bounds.
    fn field_errors(object: &Map<String, Value>) -> FieldErrors;
}

/// A JSON request body (`application/json`) of type `T`; see the module documentation.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<T: Type> Payload for JsonBody<T> {
    // The same media type poem-openapi's `Json` declares, so the contract is unchanged.
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn check_content_type(content_type: &str) -> bool {
        // `application/json` and any `application/*+json`, exactly as `Json` accepts them.
        Json::<T>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: CheckFields> ParsePayload for JsonBody<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> Result<Self> {
        let data = Vec::<u8>::from_request(request, body).await?;
        let value = if data.is_empty() {
            Value::Null
        } else {
            // Not JSON at all: the problem mapper turns this into a 400.
            serde_json::from_slice(&data).map_err(|error| ParseRequestPayloadError {
                reason: error.to_string(),
            })?
        };
        match decode(value) {
            Ok(decoded) => Ok(Self(decoded)),
            Err(Rejection::Fields(errors)) => Err(ApiError::validation(errors).into()),
            // The problem mapper names the field in the decoder's message where it can.
            Err(Rejection::Decoder(reason)) => Err(ParseRequestPayloadError { reason }.into()),
        }
    }
}

impl_apirequest_for_payload!(JsonBody<T>, T: CheckFields);

/// Why a JSON value is not a `T`.
#[derive(Debug, PartialEq)]
enum Rejection {
    /// These fields are wrong.
    Fields(FieldErrors),
    /// Every field is fine on its own and the decoder still refused; its message is the
    /// only account there is.
    Decoder(String),
}

/// Decodes `value` as `T`; on failure, names every field that is wrong.
fn decode<T: CheckFields>(value: Value) -> Result<T, Rejection> {
    let Value::Object(object) = &value else {
        return Err(Rejection::Fields(BTreeMap::from([(
            "body".to_owned(),
            vec![format!(
                "must be a JSON object, got {}",
                describe_value(&value)
            )],
        )])));
    };
    // The decoder reads `null` for a field with a default as that default, which the schema
    // does not allow; a body holding any null is therefore checked field by field too.
    let has_null = object.values().any(Value::is_null);
    // The decoder takes the value; keep it to explain a failure (bodies are small).
    match T::parse_from_json(Some(value.clone())) {
        Ok(decoded) if !has_null => Ok(decoded),
        outcome => {
            let field_errors = T::field_errors(object);
            match outcome {
                _ if !field_errors.is_empty() => Err(Rejection::Fields(field_errors)),
                Ok(decoded) => Ok(decoded),
                Err(error) => Err(Rejection::Decoder(error.into_message())),
            }
        }
    }
}

/// Implements [`CheckFields`] for a request object. List every field with the type the
/// struct declares. The list cannot drift from the struct: a missing field or a different
/// type does not compile. Which fields may be absent comes from the object's schema.
///
/// ```ignore
/// check_fields!(TaskInput { title: Text, status: TaskStatus });
/// ```
macro_rules! check_fields {
    ($object:ident { $($field:ident: $ty:ty),+ $(,)? }) => {
        const _: fn($object) = |object| {
            let $object { $($field),+ } = object;
            $(let _: $ty = $field;)+
        };

        impl $crate::body::CheckFields for $object {
            fn field_errors(
                object: &serde_json::Map<String, serde_json::Value>,
            ) -> $crate::body::FieldErrors {
                let mut errors = $crate::body::FieldErrors::new();
                $crate::body::check_unknown_fields(object, &[$(stringify!($field)),+], &mut errors);
                let required = $crate::body::required_fields::<$object>();
                $(
                    $crate::body::check_field::<$ty>(
                        object,
                        stringify!($field),
                        required.contains(&stringify!($field)),
                        &mut errors,
                    );
                )+
                $crate::body::check_lengths::<$object>(object, &mut errors);
                errors
            }
        }
    };
}
pub(crate) use check_fields;

#[doc(hidden)]
pub fn check_unknown_fields(object: &Map<String, Value>, known: &[&str], errors: &mut FieldErrors) {
    for name in object.keys() {
        if !known.contains(&name.as_str()) {
            add(errors, name, "is not a field of this request".to_owned());
        }
    }
}

/// The fields the object's schema lists as `required`; the others may be absent (they are
/// optional or have a default).
#[doc(hidden)]
pub fn required_fields<T: Type>() -> Vec<&'static str> {
    let mut registry = Registry::new();
    T::register(&mut registry);
    let schema_ref = T::schema_ref();
    resolve(&registry, &schema_ref).map_or_else(Vec::new, |schema| schema.required.clone())
}

#[doc(hidden)]
pub fn check_field<T: ParseFromJSON>(
    object: &Map<String, Value>,
    name: &str,
    required: bool,
    errors: &mut FieldErrors,
) {
    match object.get(name) {
        None if required => add(errors, name, "is required".to_owned()),
        Some(value) if T::parse_from_json(Some(value.clone())).is_err() => add(
            errors,
            name,
            format!(
                "must be {}, got {}",
                expectation::<T>(),
                describe_value(value)
            ),
        ),
        _ => {}
    }
}

/// Checks the `minLength` / `maxLength` the object's schema declares for its string fields
/// (counted in characters, as poem-openapi's validators count them).
#[doc(hidden)]
pub fn check_lengths<T: Type>(object: &Map<String, Value>, errors: &mut FieldErrors) {
    let mut registry = Registry::new();
    T::register(&mut registry);
    let schema_ref = T::schema_ref();
    let Some(schema) = resolve(&registry, &schema_ref) else {
        return;
    };
    for (name, property) in &schema.properties {
        let (Some(Value::String(text)), Some(property)) =
            (object.get(*name), resolve(&registry, property))
        else {
            continue;
        };
        let length = text.chars().count();
        if let Some(min) = property.min_length.filter(|min| length < *min) {
            add(
                errors,
                name,
                format!("must be at least {min} characters long"),
            );
        }
        if let Some(max) = property.max_length.filter(|max| length > *max) {
            add(
                errors,
                name,
                format!("must be at most {max} characters long"),
            );
        }
    }
}

fn add(errors: &mut FieldErrors, name: &str, message: String) {
    errors.entry(name.to_owned()).or_default().push(message);
}

fn resolve<'a>(registry: &'a Registry, schema: &'a MetaSchemaRef) -> Option<&'a MetaSchema> {
    match schema {
        MetaSchemaRef::Inline(schema) => Some(schema),
        MetaSchemaRef::Reference(name) => registry.schemas.get(name),
    }
}

/// What a valid value of `T` looks like, in words, from its schema.
fn expectation<T: Type>() -> String {
    let mut registry = Registry::new();
    T::register(&mut registry);
    let schema_ref = T::schema_ref();
    let Some(schema) = resolve(&registry, &schema_ref) else {
        return format!("a valid {}", T::name());
    };
    let nullable = if T::IS_REQUIRED { "" } else { " or null" };
    if !schema.enum_items.is_empty() {
        let items: Vec<String> = schema.enum_items.iter().map(Value::to_string).collect();
        return format!("one of {}{nullable}", items.join(", "));
    }
    let kind = match (schema.ty, schema.format) {
        ("string", Some("date-time")) => {
            "an RFC 3339 timestamp such as \"2026-03-01T17:00:00Z\"".to_owned()
        }
        ("string", Some("uuid")) => "a UUID".to_owned(),
        ("string", _) => "a string".to_owned(),
        ("integer", _) => "an integer".to_owned(),
        ("boolean", _) => "a boolean".to_owned(),
        (other, _) => format!("a valid {other}"),
    };
    format!("{kind}{nullable}")
}

/// A short description of a JSON value, for an error message.
fn describe_value(value: &Value) -> String {
    const SHOWN: usize = 40;
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(_) => "a boolean".to_owned(),
        Value::Number(_) => "a number".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
        Value::String(text) if text.chars().count() > SHOWN => {
            let start: String = text.chars().take(SHOWN).collect();
            format!("the string {start:?}…")
        }
        Value::String(text) => format!("the string {text:?}"),
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::Object;
    use serde_json::json;

    use super::*;
    use crate::text::Text;

    #[derive(Debug, Object)]
    #[oai(deny_unknown_fields)]
    struct Sample {
        #[oai(validator(min_length = 2, max_length = 4))]
        name: Text,
        #[oai(nullable)]
        note: Option<Text>,
        #[oai(default)]
        count: u8,
    }
    check_fields!(Sample {
        name: Text,
        note: Option<Text>,
        count: u8,
    });

    fn errors_of(value: Value) -> FieldErrors {
        match decode::<Sample>(value) {
            Err(Rejection::Fields(errors)) => errors,
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_object_decodes() {
        let sample = decode::<Sample>(json!({"name": "abc", "note": null})).expect("valid");
        assert_eq!(sample.name, Text("abc".to_owned()));
        assert_eq!(sample.count, 0);
    }

    #[test]
    fn every_wrong_field_is_named_at_once() {
        let errors = errors_of(json!({"name": 5, "note": [], "count": "x", "extra": 1}));
        assert_eq!(
            errors.keys().collect::<Vec<_>>(),
            ["count", "extra", "name", "note"]
        );
        assert_eq!(errors["name"], ["must be a string, got a number"]);
        assert_eq!(errors["note"], ["must be a string or null, got an array"]);
        assert_eq!(errors["extra"], ["is not a field of this request"]);
    }

    #[test]
    fn missing_fields_and_lengths_are_named() {
        assert_eq!(errors_of(json!({}))["name"], ["is required"]);
        assert_eq!(
            errors_of(json!({"name": "abcde"}))["name"],
            ["must be at most 4 characters long"]
        );
        let errors = errors_of(json!({"name": "a", "count": true}));
        assert_eq!(errors["name"], ["must be at least 2 characters long"]);
        assert!(errors.contains_key("count"), "{errors:?}");
    }

    #[test]
    fn null_is_not_a_default() {
        assert_eq!(
            errors_of(json!({"name": "abc", "count": null}))["count"],
            ["must be an integer, got null"]
        );
    }

    #[test]
    fn a_body_that_is_not_an_object_is_about_the_body() {
        assert_eq!(
            errors_of(json!([1]))["body"],
            ["must be a JSON object, got an array"]
        );
        assert_eq!(
            errors_of(Value::Null)["body"],
            ["must be a JSON object, got null"]
        );
    }
}
