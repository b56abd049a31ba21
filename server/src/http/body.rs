//! Request bodies, decoded against the contract's own schemas.
//!
//! The contract hands bodies over undecoded ([`JsonBody`], [`FormBody`]); entry points
//! decode them here, once the caller is authenticated. A body is first checked against the
//! schema the published document gives its type, every field at once, so that a 422 names
//! each invalid field and what is wrong with it; only a body that passes goes to
//! poem-openapi's decoder. The schemas are compiled once, when the app is built, from the
//! same document clients are generated from: what the server accepts is what it publishes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use poem_openapi::{
    registry::MetaSchemaRef,
    types::{ParseFromJSON, Type},
};
use regex::Regex;
use serde_json::{Map, Value};
use taskapi_api::body::{FormBody, JsonBody};
use uuid::Uuid;

use crate::domain::FieldErrors;

/// Why a body was refused.
#[derive(Debug)]
pub enum BodyError {
    /// Not JSON at all: 400.
    Malformed(String),
    /// Well-formed, but these fields are invalid: 422.
    Invalid(FieldErrors),
    /// The contract has no schema for this body's type: a bug, never a pass.
    Unchecked(&'static str),
}

/// The error key of a problem with the body as a whole rather than one field.
const WHOLE_BODY: &str = "body";

/// `$ref`s nested deeper than this are not followed (the contract has no recursive schema).
const MAX_DEPTH: usize = 16;

/// Decodes request bodies; holds the compiled schema of every component of the contract.
pub struct Bodies {
    schemas: HashMap<String, Schema>,
}

impl Bodies {
    /// Compiles every component schema of the OpenAPI `document`.
    pub fn from_spec(document: &Value) -> Self {
        let components = &document["components"]["schemas"];
        let schemas = components
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, schema)| (name.clone(), Schema::compile(schema, components, 0)))
            .collect();
        Self { schemas }
    }

    pub fn json<T: ParseFromJSON>(&self, body: JsonBody<T>) -> Result<T, BodyError> {
        let value = if body.bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body.bytes).map_err(|error| {
                BodyError::Malformed(format!("The body is not valid JSON: {error}."))
            })?
        };
        self.decode(value)
    }

    /// Decodes a form as the object of its fields, each a string; a field given twice is
    /// refused rather than guessed at.
    pub fn form<T: ParseFromJSON>(&self, body: FormBody<T>) -> Result<T, BodyError> {
        let mut fields = Map::new();
        let mut errors = FieldErrors::default();
        for (name, value) in form_urlencoded::parse(&body.bytes) {
            if fields
                .insert(name.to_string(), Value::String(value.into_owned()))
                .is_some()
            {
                errors.add(&name, "must be given once");
            }
        }
        if !errors.is_empty() {
            return Err(BodyError::Invalid(errors));
        }
        self.decode(Value::Object(fields))
    }

    fn decode<T: ParseFromJSON>(&self, value: Value) -> Result<T, BodyError> {
        let schema = self
            .schema_of::<T>()
            .ok_or(BodyError::Unchecked(std::any::type_name::<T>()))?;
        let mut errors = FieldErrors::default();
        schema.check(&value, "", &mut errors);
        if !errors.is_empty() {
            return Err(BodyError::Invalid(errors));
        }
        // A value the schema admits and the decoder still refuses: say what the decoder
        // said, about the body as a whole.
        T::parse_from_json(Some(value)).map_err(|error| {
            BodyError::Invalid(FieldErrors::single(WHOLE_BODY, error.into_message()))
        })
    }

    fn schema_of<T: Type>(&self) -> Option<&Schema> {
        match T::schema_ref() {
            MetaSchemaRef::Reference(name) => self.schemas.get(&name),
            MetaSchemaRef::Inline(_) => None,
        }
    }
}

/// One schema of the contract, compiled for checking values.
#[derive(Debug, Default)]
struct Schema {
    kind: Kind,
    nullable: bool,
    /// The values an `enum` allows; empty for any.
    allowed: Vec<Value>,
    /// `allOf`: schemas the value must also match.
    all_of: Vec<Schema>,
}

#[derive(Debug, Default)]
enum Kind {
    #[default]
    Any,
    Object {
        properties: Vec<(String, Schema)>,
        required: Vec<String>,
        closed: bool,
    },
    Array {
        items: Box<Schema>,
        max_items: Option<usize>,
    },
    String {
        min_chars: Option<usize>,
        max_chars: Option<usize>,
        pattern: Option<Regex>,
        format: Option<String>,
    },
    Integer {
        minimum: Option<f64>,
        maximum: Option<f64>,
    },
    Number,
    Boolean,
}

impl Schema {
    fn compile(schema: &Value, components: &Value, depth: usize) -> Self {
        if depth > MAX_DEPTH {
            return Self::default();
        }
        if let Some(name) = schema["$ref"]
            .as_str()
            .and_then(|reference| reference.strip_prefix("#/components/schemas/"))
        {
            return Self::compile(&components[name], components, depth + 1);
        }
        let compile = |value: &Value| Self::compile(value, components, depth + 1);
        let kind = match schema["type"].as_str() {
            Some("object") => Kind::Object {
                properties: schema["properties"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, property)| (name.clone(), compile(property)))
                    .collect(),
                required: strings(&schema["required"]),
                closed: schema["additionalProperties"] == Value::Bool(false),
            },
            Some("array") => Kind::Array {
                items: Box::new(compile(&schema["items"])),
                max_items: count(&schema["maxItems"]),
            },
            Some("string") => Kind::String {
                min_chars: count(&schema["minLength"]),
                max_chars: count(&schema["maxLength"]),
                // The contract's patterns are constants; the tests below compile each one.
                pattern: schema["pattern"]
                    .as_str()
                    .map(|pattern| Regex::new(pattern).expect("the contract's patterns compile")),
                format: schema["format"].as_str().map(str::to_owned),
            },
            Some("integer") => Kind::Integer {
                minimum: schema["minimum"].as_f64(),
                maximum: schema["maximum"].as_f64(),
            },
            Some("number") => Kind::Number,
            Some("boolean") => Kind::Boolean,
            _ => Kind::Any,
        };
        Self {
            kind,
            nullable: schema["nullable"] == Value::Bool(true),
            allowed: schema["enum"].as_array().cloned().unwrap_or_default(),
            all_of: schema["allOf"]
                .as_array()
                .into_iter()
                .flatten()
                .map(compile)
                .collect(),
        }
    }

    /// Records in `errors`, under `path`, everything wrong with `value`.
    fn check(&self, value: &Value, path: &str, errors: &mut FieldErrors) {
        let key = if path.is_empty() { WHOLE_BODY } else { path };
        if value.is_null() {
            if !self.nullable {
                errors.add(key, self.mismatch(value));
            }
            return;
        }
        if !self.allowed.is_empty() && !self.allowed.contains(value) {
            errors.add(key, self.mismatch(value));
            return;
        }
        for member in &self.all_of {
            member.check(value, path, errors);
        }
        match (&self.kind, value) {
            (Kind::Any, _) => {}
            (Kind::Object { .. }, Value::Object(object)) => self.check_object(object, path, errors),
            (Kind::Array { items, max_items }, Value::Array(values)) => {
                if let Some(max) = max_items.filter(|max| values.len() > *max) {
                    errors.add(key, format!("must hold at most {max} items"));
                }
                for (index, item) in values.iter().enumerate() {
                    items.check(item, &format!("{key}[{index}]"), errors);
                }
            }
            (Kind::String { .. }, Value::String(text)) => {
                if let Some(problem) = self.text_problem(text) {
                    errors.add(key, problem);
                }
            }
            (Kind::Integer { minimum, maximum }, Value::Number(number))
                if number.is_i64() || number.is_u64() =>
            {
                let number = number.as_f64().unwrap_or_default();
                if let Some(minimum) = minimum.filter(|minimum| number < *minimum) {
                    errors.add(key, format!("must be at least {minimum}"));
                }
                if let Some(maximum) = maximum.filter(|maximum| number > *maximum) {
                    errors.add(key, format!("must be at most {maximum}"));
                }
            }
            (Kind::Number, Value::Number(_)) | (Kind::Boolean, Value::Bool(_)) => {}
            _ => errors.add(key, self.mismatch(value)),
        }
    }

    fn check_object(&self, object: &Map<String, Value>, path: &str, errors: &mut FieldErrors) {
        let Kind::Object {
            properties,
            required,
            closed,
        } = &self.kind
        else {
            return;
        };
        let field = |name: &str| {
            if path.is_empty() {
                name.to_owned()
            } else {
                format!("{path}.{name}")
            }
        };
        for name in required.iter().filter(|name| !object.contains_key(*name)) {
            errors.add(&field(name), "is required");
        }
        for (name, value) in object {
            match properties.iter().find(|(property, _)| property == name) {
                Some((_, schema)) => schema.check(value, &field(name), errors),
                None if *closed => errors.add(&field(name), "is not a field of this request"),
                None => {}
            }
        }
    }

    /// What is wrong with a string, if anything.
    fn text_problem(&self, text: &str) -> Option<String> {
        let Kind::String {
            min_chars,
            max_chars,
            pattern,
            format,
        } = &self.kind
        else {
            return None;
        };
        // The same parsers poem-openapi's decoder uses for these formats.
        let well_formed = match format.as_deref() {
            Some("date-time") => text.parse::<DateTime<Utc>>().is_ok(),
            Some("uuid") => text.parse::<Uuid>().is_ok(),
            _ => true,
        };
        if !well_formed {
            return Some(self.mismatch(&Value::String(text.to_owned())));
        }
        let chars = text.chars().count();
        if let Some(min) = min_chars.filter(|min| chars < *min) {
            return Some(format!("must be at least {min} characters long"));
        }
        if let Some(max) = max_chars.filter(|max| chars > *max) {
            return Some(format!("must be at most {max} characters long"));
        }
        let pattern = pattern.as_ref().filter(|pattern| !pattern.is_match(text))?;
        Some(pattern_mismatch(pattern, text))
    }

    /// `must be <what this schema admits>, got <what value is>`.
    fn mismatch(&self, value: &Value) -> String {
        format!("must be {}, got {}", self.expectation(), describe(value))
    }

    /// What a valid value looks like, in words.
    fn expectation(&self) -> String {
        let or_null = if self.nullable { " or null" } else { "" };
        if !self.allowed.is_empty() {
            let items: Vec<String> = self.allowed.iter().map(Value::to_string).collect();
            return format!("one of {}{or_null}", items.join(", "));
        }
        let kind = match &self.kind {
            Kind::Any => {
                return self
                    .all_of
                    .iter()
                    .map(Schema::expectation)
                    .find(|expectation| expectation != "any value")
                    .map_or_else(|| "any value".to_owned(), |e| format!("{e}{or_null}"));
            }
            Kind::Object { .. } => "a JSON object",
            Kind::Array { .. } => "an array",
            Kind::String { format, .. } => match format.as_deref() {
                Some("date-time") => "an RFC 3339 timestamp such as \"2026-03-01T17:00:00Z\"",
                Some("uuid") => "a UUID",
                _ => "a string",
            },
            Kind::Integer { .. } => "an integer",
            Kind::Number => "a number",
            Kind::Boolean => "a boolean",
        };
        format!("{kind}{or_null}")
    }
}

/// Names the first character the pattern refuses on its own, which for the character-class
/// patterns of this contract is the one to remove.
fn pattern_mismatch(pattern: &Regex, text: &str) -> String {
    let mut single = String::new();
    let refused = text.chars().find(|c| {
        single.clear();
        single.push(*c);
        !pattern.is_match(&single)
    });
    match refused {
        Some(c) => format!("must not contain the character U+{:04X}", u32::from(c)),
        None => format!("must match the pattern {}", pattern.as_str()),
    }
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

fn count(value: &Value) -> Option<usize> {
    value.as_u64().and_then(|n| usize::try_from(n).ok())
}

/// A short description of a JSON value, for an error message.
fn describe(value: &Value) -> String {
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
    use serde_json::json;
    use taskapi_api::{
        auth::{LoginForm, RegisterRequest},
        tasks::{TITLE_MAX_CHARS, TaskInput, TaskStatus},
    };

    use super::*;

    fn bodies() -> Bodies {
        let document: Value =
            serde_json::from_str(&crate::http::spec_json()).expect("the spec is JSON");
        Bodies::from_spec(&document)
    }

    fn task_errors(body: Value) -> std::collections::BTreeMap<String, Vec<String>> {
        match bodies().json::<TaskInput>(JsonBody::new(body.to_string())) {
            Err(BodyError::Invalid(errors)) => errors.into_inner(),
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_body_decodes() {
        let task = bodies()
            .json::<TaskInput>(JsonBody::new(
                r#"{"title": "Buy milk", "description": null}"#,
            ))
            .expect("valid");
        assert_eq!(task.title.as_str(), "Buy milk");
        assert_eq!(task.status, TaskStatus::Todo);
    }

    #[test]
    fn every_wrong_field_is_named_at_once() {
        let errors = task_errors(json!({
            "title": 5,
            "description": [],
            "status": "finished",
            "priority": null,
            "due_at": "tomorrow",
            "owner_id": "someone",
        }));
        assert_eq!(errors.len(), 6, "{errors:?}");
        assert_eq!(errors["title"], ["must be a string, got a number"]);
        assert_eq!(
            errors["description"],
            ["must be a string or null, got an array"]
        );
        assert_eq!(
            errors["status"],
            [r#"must be one of "todo", "in_progress", "done", got the string "finished""#]
        );
        assert_eq!(
            errors["priority"],
            [r#"must be one of "low", "normal", "high", "urgent", got null"#]
        );
        assert_eq!(
            errors["due_at"],
            [
                r#"must be an RFC 3339 timestamp such as "2026-03-01T17:00:00Z" or null, got the string "tomorrow""#
            ]
        );
        assert_eq!(errors["owner_id"], ["is not a field of this request"]);
    }

    #[test]
    fn missing_fields_lengths_and_patterns_are_named() {
        assert_eq!(task_errors(json!({}))["title"], ["is required"]);
        assert_eq!(
            task_errors(json!({"title": ""}))["title"],
            ["must be at least 1 characters long"]
        );
        assert_eq!(
            task_errors(json!({"title": "t".repeat(TITLE_MAX_CHARS + 1)}))["title"],
            [format!("must be at most {TITLE_MAX_CHARS} characters long")]
        );
        assert_eq!(
            task_errors(json!({"title": "bell\u{7}"}))["title"],
            ["must not contain the character U+0007"]
        );
    }

    #[test]
    fn a_body_that_is_not_an_object_is_about_the_body() {
        assert_eq!(
            task_errors(json!([1]))["body"],
            ["must be a JSON object, got an array"]
        );
        let empty = bodies().json::<TaskInput>(JsonBody::new(""));
        assert!(matches!(empty, Err(BodyError::Invalid(_))), "{empty:?}");
        let broken = bodies().json::<TaskInput>(JsonBody::new("{\"title\": "));
        assert!(matches!(broken, Err(BodyError::Malformed(_))), "{broken:?}");
    }

    #[test]
    fn numbers_are_not_strings() {
        let refused = bodies().json::<RegisterRequest>(JsonBody::new(
            r#"{"email": "n@example.com", "password": 1234567890}"#,
        ));
        let Err(BodyError::Invalid(errors)) = refused else {
            panic!("expected field errors, got {refused:?}");
        };
        assert_eq!(
            errors.into_inner()["password"],
            ["must be a string, got a number"]
        );
    }

    #[test]
    fn forms_decode_as_objects_of_strings_and_extra_fields_pass() {
        let form = bodies()
            .form::<LoginForm>(FormBody::new(
                "username=a%40example.com&password=p%20w&client_id=",
            ))
            .expect("valid");
        assert_eq!(form.username.as_deref(), Some("a@example.com"));
        assert_eq!(form.password.as_deref(), Some("p w"));

        let refused = bodies().form::<LoginForm>(FormBody::new("username=a&username=b"));
        let Err(BodyError::Invalid(errors)) = refused else {
            panic!("expected field errors, got {refused:?}");
        };
        let errors = errors.into_inner();
        assert_eq!(errors["username"], ["must be given once"]);
    }

    /// Kinds no request body of today's contract has, checked on a schema made up for it.
    #[test]
    fn integers_arrays_booleans_and_nested_objects_are_checked_too() {
        let document = json!({"components": {"schemas": {"Sample": {
            "type": "object",
            "required": ["count"],
            "properties": {
                "count": {"type": "integer", "minimum": 1, "maximum": 3},
                "tags": {"type": "array", "items": {"type": "string", "maxLength": 2}},
                "flag": {"type": "boolean"},
                "inner": {"type": "object", "properties": {"n": {"type": "number"}}},
            },
        }}}});
        let bodies = Bodies::from_spec(&document);
        let schema = bodies.schemas.get("Sample").expect("compiled");
        let mut errors = FieldErrors::default();
        let body = json!({"count": 4, "tags": ["ok", "long"], "flag": "yes", "inner": {"n": "x"}});
        schema.check(&body, "", &mut errors);
        let errors = errors.into_inner();
        assert_eq!(errors["count"], ["must be at most 3"]);
        assert_eq!(errors["tags[1]"], ["must be at most 2 characters long"]);
        assert_eq!(
            errors["flag"],
            [r#"must be a boolean, got the string "yes""#]
        );
        assert_eq!(
            errors["inner.n"],
            [r#"must be a number, got the string "x""#]
        );
        let mut errors = FieldErrors::default();
        schema.check(&json!({"count": 1.5}), "", &mut errors);
        assert_eq!(
            errors.into_inner()["count"],
            ["must be an integer, got a number"]
        );
    }

    #[test]
    fn every_request_body_of_the_contract_has_a_compiled_schema() {
        let bodies = bodies();
        assert!(bodies.schema_of::<TaskInput>().is_some());
        assert!(bodies.schema_of::<RegisterRequest>().is_some());
        assert!(bodies.schema_of::<LoginForm>().is_some());
    }
}
