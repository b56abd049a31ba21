//! Request bodies, decoded against the contract's own schemas.
//!
//! Operations declare their bodies as [`JsonBody<T>`] or [`FormBody<T>`]: the spec shows the
//! media type and `T`'s schema, exactly as poem-openapi's `Json<T>` and `Form<T>` would,
//! but the bytes arrive undecoded. Entry points decode them here, once the caller is
//! authenticated. A body is parsed (refusing an object
//! key given twice), then checked against the schema the published document gives its type
//! by the `jsonschema` crate, every field at once, so that a 422 names each invalid field
//! and what is wrong with it; only a body that passes goes to poem-openapi's decoder. The
//! schemas are compiled once, when the app is built, from the same document clients are
//! generated from: what the server accepts is what it publishes.

use std::{
    collections::{BTreeSet, HashMap},
    fmt,
    marker::PhantomData,
    sync::{Arc, Mutex, PoisonError},
};

use bytes::Bytes;

use chrono::{DateTime, Utc};
use jsonschema::{
    Draft, PatternOptions, ValidationError, Validator, error::TypeKind, error::ValidationErrorKind,
    types::JsonType,
};
use poem::{FromRequest, Request, RequestBody};
use poem_openapi::{
    impl_apirequest_for_payload,
    payload::{Form, Json, ParsePayload, Payload},
    registry::{MetaSchemaRef, Registry},
    types::{ParseFromJSON, ToJSON, Type},
};
use regex::Regex;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::domain::{self, FieldErrors};

/// The bytes of a request body declared as the payload `P`.
#[derive(Debug, Clone)]
pub struct Undecoded<P> {
    pub bytes: Bytes,
    payload: PhantomData<P>,
}

/// A JSON object of type `T` (`application/json`, or any `application/*+json`).
pub type JsonBody<T> = Undecoded<Json<T>>;

/// An `application/x-www-form-urlencoded` form of type `T`.
pub type FormBody<T> = Undecoded<Form<T>>;

impl<P> Undecoded<P> {
    pub fn new(bytes: impl Into<Bytes>) -> Self {
        Self {
            bytes: bytes.into(),
            payload: PhantomData,
        }
    }
}

impl<P: Payload> Payload for Undecoded<P> {
    const CONTENT_TYPE: &'static str = P::CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        P::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        P::schema_ref()
    }

    fn register(registry: &mut Registry) {
        P::register(registry);
    }
}

impl<P: Payload> ParsePayload for Undecoded<P> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        Ok(Self::new(Bytes::from_request(request, body).await?))
    }
}

impl_apirequest_for_payload!(Undecoded<P>, P: Payload);

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

/// A field (of a form or of a JSON object at any depth) given more than once: refused
/// rather than guessed at, since a proxy or a client may have read the other one.
const GIVEN_ONCE: &str = "must be given once";

/// The formats a decoder relies on, each checked with the parser the decoder uses
/// (`str::parse`, as poem-openapi does). Other formats only describe a value here: an
/// `email` is the domain's to parse, with its own reasons.
const FORMATS: [(&str, FormatCheck); 2] = [
    ("date-time", |text| text.parse::<DateTime<Utc>>().is_ok()),
    ("uuid", |text| text.parse::<Uuid>().is_ok()),
];

/// Whether a string is of a format.
type FormatCheck = fn(&str) -> bool;

/// Decodes request bodies; holds the compiled schema of every component of the contract.
/// Checks parameters against their schemas too, in the same words.
pub struct Bodies {
    validators: HashMap<String, Validator>,
    /// The schemas of parameter types, by type, compiled when first used.
    parameters: Mutex<HashMap<&'static str, Arc<Validator>>>,
    /// The contract's `pattern`s, to name the character a text must not contain.
    patterns: HashMap<String, Regex>,
}

/// How every schema is compiled.
fn validator_options() -> jsonschema::ValidationOptions<'static> {
    FORMATS
        .into_iter()
        .fold(jsonschema::options(), |options, (name, check)| {
            options.with_format(name, check)
        })
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        // Linear-time matching: the patterns run on untrusted text.
        .with_pattern_options(PatternOptions::regex())
}

impl Bodies {
    /// Compiles every component schema of the OpenAPI `document`.
    pub fn from_spec(document: &Value) -> Self {
        let mut patterns = BTreeSet::new();
        let definitions: Map<String, Value> = document["components"]["schemas"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, schema)| (name.clone(), json_schema(schema, &mut patterns)))
            .collect();
        let options = validator_options();
        let validators = definitions
            .keys()
            .map(|name| {
                let root = serde_json::json!({
                    "$ref": format!("#/$defs/{name}"),
                    "$defs": definitions,
                });
                // The contract's schemas are constants; a test below compiles every one.
                let validator = options
                    .build(&root)
                    .unwrap_or_else(|error| panic!("the schema {name} compiles: {error}"));
                (name.clone(), validator)
            })
            .collect();
        let patterns = patterns
            .into_iter()
            .filter_map(|pattern| Some((pattern.clone(), Regex::new(&pattern).ok()?)))
            .collect();
        Self {
            validators,
            parameters: Mutex::default(),
            patterns,
        }
    }

    /// Checks the parameter `name`'s `value` against the schema its type publishes, in the
    /// words a body's field is told, and whether it passed. What is wrong goes to `errors`.
    pub fn parameter<T: Type + ToJSON>(
        &self,
        errors: &mut FieldErrors,
        name: &str,
        value: &T,
    ) -> bool {
        let validator = self.parameter_validator::<T>();
        let value = value.to_json().unwrap_or_default();
        let mut valid = true;
        for error in validator.iter_errors(&value) {
            errors.add(name, self.message(&error));
            valid = false;
        }
        valid
    }

    fn parameter_validator<T: Type>(&self) -> Arc<Validator> {
        let mut compiled = self
            .parameters
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let validator = compiled
            .entry(std::any::type_name::<T>())
            .or_insert_with(|| {
                // A parameter type's schema is a constant, which the tests compile.
                let schema = serde_json::to_value(T::schema_ref()).expect("a schema is JSON");
                let validator = validator_options()
                    .build(&json_schema(&schema, &mut BTreeSet::new()))
                    .unwrap_or_else(|error| panic!("a parameter's schema compiles: {error}"));
                Arc::new(validator)
            });
        Arc::clone(validator)
    }

    /// Decodes a value that did not come as a request body (a command's arguments, say)
    /// as if it had: checked by the same schema, refused with the same messages.
    pub fn value<T: ParseFromJSON>(&self, value: Value) -> Result<T, BodyError> {
        self.decode(value)
    }

    pub fn json<T: ParseFromJSON>(&self, body: JsonBody<T>) -> Result<T, BodyError> {
        let value = if body.bytes.is_empty() {
            Value::Null
        } else {
            parse_json(&body.bytes)?
        };
        self.decode(value)
    }

    /// Decodes a form as the object of its fields, each a string.
    pub fn form<T: ParseFromJSON>(&self, body: FormBody<T>) -> Result<T, BodyError> {
        let mut fields = Map::new();
        let mut repeated = BTreeSet::new();
        for (name, value) in form_urlencoded::parse(&body.bytes) {
            if fields
                .insert(name.to_string(), Value::String(value.into_owned()))
                .is_some()
            {
                repeated.insert(name.into_owned());
            }
        }
        if !repeated.is_empty() {
            return Err(given_once(repeated));
        }
        self.decode(Value::Object(fields))
    }

    fn decode<T: ParseFromJSON>(&self, value: Value) -> Result<T, BodyError> {
        let validator = self
            .validator_of::<T>()
            .ok_or(BodyError::Unchecked(std::any::type_name::<T>()))?;
        let errors = self.field_errors(validator, &value);
        if !errors.is_empty() {
            return Err(BodyError::Invalid(errors));
        }
        // A value the schema admits and the decoder still refuses: say what the decoder
        // said, about the body as a whole.
        T::parse_from_json(Some(value)).map_err(|error| {
            BodyError::Invalid(FieldErrors::single(WHOLE_BODY, error.into_message()))
        })
    }

    fn validator_of<T: Type>(&self) -> Option<&Validator> {
        match T::schema_ref() {
            MetaSchemaRef::Reference(name) => self.validators.get(&name),
            MetaSchemaRef::Inline(_) => None,
        }
    }

    /// Everything `validator` finds wrong with `body`, by field.
    fn field_errors(&self, validator: &Validator, body: &Value) -> FieldErrors {
        let mut errors = FieldErrors::default();
        for error in validator.iter_errors(body) {
            let at = field_at(body, error.instance_path().as_str());
            match error.kind() {
                ValidationErrorKind::Required { property } => {
                    let name = property.as_str().unwrap_or_default();
                    errors.add(&member(&at, name), "is required");
                }
                ValidationErrorKind::AdditionalProperties { unexpected } => {
                    for name in unexpected {
                        errors.add(&member(&at, name), "is not a field of this request");
                    }
                }
                _ => errors.add(or_whole_body(&at), self.message(&error)),
            }
        }
        errors
    }

    /// What is wrong with the value `error` is about, in words: the one place a schema's
    /// rule becomes a message.
    fn message(&self, error: &ValidationError) -> String {
        let value = error.instance();
        let mismatch = |expected: String| format!("must be {expected}, got {}", describe(value));
        match error.kind() {
            ValidationErrorKind::Type { kind } => mismatch(type_words(kind)),
            ValidationErrorKind::Enum { options } => mismatch(one_of(options)),
            ValidationErrorKind::Format { format } => mismatch(format_words(format)),
            ValidationErrorKind::MinLength { limit } => domain::too_short(count(*limit)),
            ValidationErrorKind::MaxLength { limit } => too_long(count(*limit)),
            ValidationErrorKind::Pattern { pattern } => {
                self.pattern_mismatch(pattern, value.as_str().unwrap_or_default())
            }
            ValidationErrorKind::MinItems { limit } => format!("must hold at least {limit} items"),
            ValidationErrorKind::MaxItems { limit } => format!("must hold at most {limit} items"),
            ValidationErrorKind::Minimum { limit } => format!("must be at least {limit}"),
            ValidationErrorKind::Maximum { limit } => format!("must be at most {limit}"),
            ValidationErrorKind::ExclusiveMinimum { limit } => format!("must be more than {limit}"),
            ValidationErrorKind::ExclusiveMaximum { limit } => format!("must be less than {limit}"),
            // Keywords the contract does not use today: the message still names the rule.
            other => format!("must satisfy the schema's `{}`", other.keyword()),
        }
    }

    /// Names the first character the pattern refuses on its own (after a letter, so that
    /// a pattern asking for more than white space judges only the character), which for
    /// the character-class patterns of this contract is the one to remove; text that is
    /// white space alone is empty, as the domain says of it once trimmed.
    fn pattern_mismatch(&self, pattern: &str, text: &str) -> String {
        let refused = self.patterns.get(pattern).and_then(|regex| {
            text.chars().find(|&c| {
                let mut probe = String::from("x");
                probe.push(c);
                !regex.is_match(&probe)
            })
        });
        match refused {
            Some(c) if c.is_control() => control_character(c),
            None if text.trim().is_empty() => domain::too_short(1),
            _ => format!("must match the pattern {pattern}"),
        }
    }
}

/// An OpenAPI 3.0 schema as the JSON Schema (2020-12) it means: `nullable` becomes `null`
/// among the allowed types or values, `$ref`s point into `$defs`, `example` and the formats
/// not in [`FORMATS`] go. Records each `pattern` in `patterns`.
fn json_schema(schema: &Value, patterns: &mut BTreeSet<String>) -> Value {
    let Value::Object(openapi) = schema else {
        return schema.clone();
    };
    let mut converted = Map::new();
    for (keyword, value) in openapi {
        let value = match keyword.as_str() {
            "nullable" | "example" => continue,
            "format" if !FORMATS.iter().any(|(name, _)| value == name) => continue,
            "$ref" => match value
                .as_str()
                .and_then(|to| to.strip_prefix("#/components/schemas/"))
            {
                Some(name) => Value::String(format!("#/$defs/{name}")),
                None => value.clone(),
            },
            "properties" => Value::Object(
                value
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, property)| (name.clone(), json_schema(property, patterns)))
                    .collect(),
            ),
            "items" | "additionalProperties" | "not" => json_schema(value, patterns),
            "allOf" | "anyOf" | "oneOf" => Value::Array(
                value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|member| json_schema(member, patterns))
                    .collect(),
            ),
            "pattern" => {
                patterns.extend(value.as_str().map(str::to_owned));
                value.clone()
            }
            _ => value.clone(),
        };
        converted.insert(keyword.clone(), value);
    }
    // An `enum` says the type as well: one error naming the allowed values, not two.
    if converted.contains_key("enum") {
        converted.remove("type");
    }
    if openapi.get("nullable") == Some(&Value::Bool(true)) {
        // `null` joins the values or the type; with neither, `nullable` changes nothing
        // (OpenAPI 3.0.3).
        if let Some(Value::Array(values)) = converted.get_mut("enum") {
            values.push(Value::Null);
        } else if let Some(Value::String(kind)) = converted.get("type") {
            let kinds = serde_json::json!([kind, "null"]);
            converted.insert("type".to_owned(), kinds);
        }
    }
    Value::Object(converted)
}

/// Parses JSON, refusing an object that gives one key twice (at any depth): JSON leaves
/// what that means to each parser, and a parser in front of this one may have read the
/// other value.
fn parse_json(bytes: &[u8]) -> Result<Value, BodyError> {
    let malformed = |error: serde_json::Error| {
        BodyError::Malformed(format!("The body is not valid JSON: {error}."))
    };
    let mut repeated = BTreeSet::new();
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = Node {
        place: Place::Body,
        repeated: &mut repeated,
    }
    .deserialize(&mut deserializer)
    .map_err(malformed)?;
    deserializer.end().map_err(malformed)?;
    if !repeated.is_empty() {
        return Err(given_once(repeated));
    }
    Ok(value)
}

/// A JSON value being parsed at `place`; the field keys of repeated object keys go to
/// `repeated`.
struct Node<'p, 'r> {
    place: Place<'p>,
    repeated: &'r mut BTreeSet<String>,
}

/// Where a value sits in the body, spelled as a field key only when one is repeated.
#[derive(Clone, Copy)]
enum Place<'p> {
    Body,
    Member(&'p Place<'p>, &'p str),
    Item(&'p Place<'p>, usize),
}

impl Place<'_> {
    fn key(&self) -> String {
        match self {
            Place::Body => String::new(),
            Place::Member(parent, name) => member(&parent.key(), name),
            Place::Item(parent, index) => item(&parent.key(), *index),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_, '_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let node = Node {
                place: Place::Item(&self.place, items.len()),
                repeated: &mut *self.repeated,
            };
            match seq.next_element_seed(node)? {
                Some(value) => items.push(value),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            let place = Place::Member(&self.place, &name);
            let value = map.next_value_seed(Node {
                place,
                repeated: &mut *self.repeated,
            })?;
            if object.contains_key(&name) {
                self.repeated.insert(place.key());
            }
            object.insert(name, value);
        }
        Ok(Value::Object(object))
    }
}

/// The refusal of the fields given more than once.
fn given_once(keys: BTreeSet<String>) -> BodyError {
    let mut errors = FieldErrors::default();
    for key in keys {
        errors.add(or_whole_body(&key), GIVEN_ONCE);
    }
    BodyError::Invalid(errors)
}

/// The field key of the value at `pointer`, a JSON pointer into `body`.
fn field_at(body: &Value, pointer: &str) -> String {
    let mut key = String::new();
    let mut node = Some(body);
    for segment in pointer.split('/').skip(1) {
        let name = segment.replace("~1", "/").replace("~0", "~");
        match (node, name.parse::<usize>()) {
            (Some(Value::Array(items)), Ok(index)) => {
                key = item(&key, index);
                node = items.get(index);
            }
            (parent, _) => {
                node = parent.and_then(|parent| parent.get(&name));
                key = member(&key, &name);
            }
        }
    }
    key
}

/// The field key of member `name` of the object at `parent`: `title`, `inner.n`.
fn member(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

/// The field key of item `index` of the array at `parent`: `tags[1]`.
fn item(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

fn or_whole_body(key: &str) -> &str {
    if key.is_empty() { WHOLE_BODY } else { key }
}

fn count(limit: u64) -> usize {
    usize::try_from(limit).unwrap_or(usize::MAX)
}

/// The JSON types a value may have, in words: `a string or null`.
fn type_words(kind: &TypeKind) -> String {
    let kinds: Vec<JsonType> = match kind {
        TypeKind::Single(kind) => vec![*kind],
        TypeKind::Multiple(kinds) => kinds.iter().collect(),
    };
    let mut words: Vec<&str> = kinds
        .iter()
        .filter_map(|kind| match kind {
            JsonType::Array => Some("an array"),
            JsonType::Boolean => Some("a boolean"),
            JsonType::Integer => Some("an integer"),
            JsonType::Number => Some("a number"),
            JsonType::Object => Some("a JSON object"),
            JsonType::String => Some("a string"),
            JsonType::Null => None,
        })
        .collect();
    if kinds.contains(&JsonType::Null) {
        words.push("null");
    }
    words.join(" or ")
}

/// The values an `enum` allows, in words: `one of "low", "high" or null`.
fn one_of(options: &Value) -> String {
    let options = options.as_array().map(Vec::as_slice).unwrap_or_default();
    let named: Vec<String> = options
        .iter()
        .filter(|option| !option.is_null())
        .map(Value::to_string)
        .collect();
    let or_null = if options.contains(&Value::Null) {
        " or null"
    } else {
        ""
    };
    format!("one of {}{or_null}", named.join(", "))
}

/// A string of `format`, in words.
fn format_words(format: &str) -> String {
    match format {
        "date-time" => "an RFC 3339 timestamp such as \"2026-03-01T17:00:00Z\"".to_owned(),
        "uuid" => "a UUID".to_owned(),
        other => format!("a string of the format {other}"),
    }
}

/// Text longer than `max_chars` characters.
pub fn too_long(max_chars: usize) -> String {
    format!("must be at most {max_chars} characters")
}

/// Text holding the control character `c`, which its rule refuses.
pub fn control_character(c: char) -> String {
    format!(
        "must not contain control characters (found U+{:04X})",
        u32::from(c)
    )
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
    use std::collections::BTreeMap;

    use serde_json::json;
    use taskapi_api::{
        auth::{LoginForm, RegisterRequest},
        tasks::{TITLE_MAX_CHARS, TaskInput, TaskStatus},
        text::{
            NON_BLANK_PLAIN_TEXT_PATTERN, NON_BLANK_SINGLE_LINE_PATTERN, PLAIN_TEXT_PATTERN,
            SINGLE_LINE_PATTERN,
        },
    };

    use super::*;

    fn bodies() -> Bodies {
        let document: Value =
            serde_json::from_str(&crate::http::spec_json()).expect("the spec is JSON");
        Bodies::from_spec(&document)
    }

    fn invalid<T: std::fmt::Debug>(refused: Result<T, BodyError>) -> BTreeMap<String, Vec<String>> {
        match refused {
            Err(BodyError::Invalid(errors)) => errors.into_inner(),
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    fn task_errors(body: Value) -> BTreeMap<String, Vec<String>> {
        invalid(bodies().json::<TaskInput>(JsonBody::new(body.to_string())))
    }

    #[test]
    fn a_valid_body_decodes() {
        let task = bodies()
            .json::<TaskInput>(JsonBody::new(
                r#"{"title": "Buy milk", "description": null, "due_at": "2026-03-01T17:00:00Z"}"#,
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
                r#"must be an RFC 3339 timestamp such as "2026-03-01T17:00:00Z", got the string "tomorrow""#
            ]
        );
        assert_eq!(errors["owner_id"], ["is not a field of this request"]);
        assert_eq!(
            task_errors(json!({"title": "t", "status": 3}))["status"],
            [r#"must be one of "todo", "in_progress", "done", got a number"#]
        );
    }

    #[test]
    fn missing_fields_lengths_and_patterns_are_named_as_the_domain_names_them() {
        assert_eq!(task_errors(json!({}))["title"], ["is required"]);
        assert_eq!(
            task_errors(json!({"title": ""}))["title"],
            [domain::too_short(1)]
        );
        assert_eq!(
            task_errors(json!({"title": "t".repeat(TITLE_MAX_CHARS + 1)}))["title"],
            [too_long(TITLE_MAX_CHARS)]
        );
        assert_eq!(
            task_errors(json!({"title": "tab\tthen bell\u{7}"}))["title"],
            [control_character('\u{7}')]
        );
        // A tag is one line: the tab a title may hold is refused there.
        assert_eq!(
            task_errors(json!({"title": "t", "tags": ["ok", "two\tparts"]}))["tags[1]"],
            [control_character('\t')]
        );
        let register = bodies().json::<RegisterRequest>(JsonBody::new(
            r#"{"email": "n@example.com", "password": "short"}"#,
        ));
        assert_eq!(invalid(register)["password"], [domain::too_short(8)]);
    }

    #[test]
    fn a_body_that_is_not_an_object_is_about_the_body() {
        assert_eq!(
            task_errors(json!([1]))["body"],
            ["must be a JSON object, got an array"]
        );
        let empty = invalid(bodies().json::<TaskInput>(JsonBody::new("")));
        assert_eq!(empty["body"], ["must be a JSON object, got null"]);
        let broken = bodies().json::<TaskInput>(JsonBody::new("{\"title\": "));
        assert!(matches!(broken, Err(BodyError::Malformed(_))), "{broken:?}");
        let trailing = bodies().json::<TaskInput>(JsonBody::new(r#"{"title": "a"} {}"#));
        assert!(
            matches!(trailing, Err(BodyError::Malformed(_))),
            "{trailing:?}"
        );
    }

    #[test]
    fn numbers_are_not_strings() {
        let refused = bodies().json::<RegisterRequest>(JsonBody::new(
            r#"{"email": "n@example.com", "password": 1234567890}"#,
        ));
        assert_eq!(
            invalid(refused)["password"],
            ["must be a string, got a number"]
        );
    }

    /// An email address is the domain's to parse, with reasons a format check would not give.
    #[test]
    fn emails_pass_the_schema_for_the_domain_to_parse() {
        let register = bodies()
            .json::<RegisterRequest>(JsonBody::new(
                r#"{"email": "no at sign", "password": "long enough"}"#,
            ))
            .expect("the schema does not judge addresses");
        assert_eq!(register.email.as_str(), "no at sign");
    }

    #[test]
    fn a_key_given_twice_is_refused_at_any_depth() {
        let top = bodies().json::<TaskInput>(JsonBody::new(r#"{"title": "a", "title": "b"}"#));
        assert_eq!(invalid(top)["title"], [GIVEN_ONCE]);
        let same = bodies().json::<TaskInput>(JsonBody::new(r#"{"title": "a", "title": "a"}"#));
        assert_eq!(invalid(same)["title"], [GIVEN_ONCE]);
        let nested = bodies().json::<TaskInput>(JsonBody::new(
            r#"{"title": "a", "x": [{"y": 1}, {"y": {"z": 1, "z": 2, "z": 3}}], "w": 1, "w": 2}"#,
        ));
        let errors = invalid(nested);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors["x[1].y.z"], [GIVEN_ONCE]);
        assert_eq!(errors["w"], [GIVEN_ONCE]);
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
        assert_eq!(invalid(refused)["username"], [GIVEN_ONCE]);
    }

    /// Kinds no request body of today's contract has, checked on a schema made up for it.
    #[test]
    fn integers_arrays_booleans_and_nested_objects_are_checked_too() {
        let document = json!({"components": {"schemas": {
            "Sample": {
                "type": "object",
                "required": ["count"],
                "properties": {
                    "count": {"type": "integer", "minimum": 1, "maximum": 3},
                    "tags": {"type": "array", "items": {"type": "string", "maxLength": 2}},
                    "flag": {"type": "boolean"},
                    "inner": {"$ref": "#/components/schemas/Inner"},
                    "id": {"type": "string", "format": "uuid", "nullable": true},
                    "level": {"type": "string", "enum": ["low", "high"], "nullable": true},
                },
                "example": {"count": 1},
            },
            "Inner": {
                "type": "object",
                "required": ["n"],
                "properties": {"n": {"type": "number"}},
                "additionalProperties": false,
            },
        }}});
        let bodies = Bodies::from_spec(&document);
        let validator = &bodies.validators["Sample"];
        let check = |body: Value| bodies.field_errors(validator, &body).into_inner();
        let errors = check(json!({
            "count": 4,
            "tags": ["ok", "long"],
            "flag": "yes",
            "inner": {"n": "x", "m": 1},
            "id": "not-a-uuid",
            "level": "mid",
        }));
        assert_eq!(errors["count"], ["must be at most 3"]);
        assert_eq!(errors["tags[1]"], [too_long(2)]);
        assert_eq!(
            errors["flag"],
            [r#"must be a boolean, got the string "yes""#]
        );
        assert_eq!(
            errors["inner.n"],
            [r#"must be a number, got the string "x""#]
        );
        assert_eq!(errors["inner.m"], ["is not a field of this request"]);
        assert_eq!(
            errors["id"],
            [r#"must be a UUID, got the string "not-a-uuid""#]
        );
        assert_eq!(
            errors["level"],
            [r#"must be one of "low", "high" or null, got the string "mid""#]
        );
        assert_eq!(errors.len(), 7, "{errors:?}");

        let errors = check(json!({"count": 1.5, "inner": {}, "id": 7}));
        assert_eq!(errors["count"], ["must be an integer, got a number"]);
        assert_eq!(errors["inner.n"], ["is required"]);
        assert_eq!(errors["id"], ["must be a string or null, got a number"]);
        assert!(check(json!({"count": 1, "id": null, "level": null})).is_empty());
        let id = json!({"count": 1, "id": "0194b2a4-0000-7000-8000-000000000001"});
        assert!(check(id).is_empty());
    }

    #[test]
    fn every_component_schema_of_the_contract_compiles() {
        let document: Value =
            serde_json::from_str(&crate::http::spec_json()).expect("the spec is JSON");
        let bodies = Bodies::from_spec(&document);
        let components = document["components"]["schemas"]
            .as_object()
            .expect("components");
        assert_eq!(bodies.validators.len(), components.len());
        assert!(bodies.validator_of::<TaskInput>().is_some());
        assert!(bodies.validator_of::<RegisterRequest>().is_some());
        assert!(bodies.validator_of::<LoginForm>().is_some());
        // The character rules' patterns compiled for naming characters as well.
        for pattern in [
            PLAIN_TEXT_PATTERN,
            NON_BLANK_PLAIN_TEXT_PATTERN,
            NON_BLANK_SINGLE_LINE_PATTERN,
        ] {
            assert!(bodies.patterns.contains_key(pattern), "{pattern}");
        }
    }

    /// The non-blank patterns refuse exactly the text the domain finds empty once trimmed
    /// (`str::trim`: Unicode's white space), with no other character rule than their base
    /// pattern's: checked for every character of the Basic Multilingual Plane, alone and
    /// beside a letter.
    #[test]
    fn the_non_blank_patterns_are_the_domains_trim() {
        let pairs = [
            (NON_BLANK_PLAIN_TEXT_PATTERN, PLAIN_TEXT_PATTERN),
            (NON_BLANK_SINGLE_LINE_PATTERN, SINGLE_LINE_PATTERN),
        ];
        for (non_blank, base) in pairs {
            let non_blank = Regex::new(non_blank).expect("compiles");
            let base = Regex::new(base).expect("compiles");
            for c in (0..=0xFFFF).filter_map(char::from_u32) {
                let alone = c.to_string();
                assert_eq!(
                    non_blank.is_match(&alone),
                    base.is_match(&alone) && !alone.trim().is_empty(),
                    "U+{:04X} alone",
                    u32::from(c)
                );
                let beside = format!("x{c} ");
                assert_eq!(
                    non_blank.is_match(&beside),
                    base.is_match(&beside),
                    "U+{:04X} beside a letter",
                    u32::from(c)
                );
            }
        }
    }

    #[test]
    fn white_space_alone_is_empty_once_and_a_control_character_is_named() {
        for blank in ["", " ", "\u{a0}", "\u{2003}\u{3000}"] {
            let found = task_errors(json!({"title": blank, "tags": [blank]}));
            assert_eq!(found["title"], ["must not be empty"], "{blank:?}");
            assert_eq!(found["tags[0]"], ["must not be empty"], "{blank:?}");
        }
        // A title may hold tabs and line breaks, a tag no control character at all.
        let found = task_errors(json!({"title": "\t\u{3000}\n", "tags": ["\t"]}));
        assert_eq!(found["title"], ["must not be empty"]);
        assert_eq!(found["tags[0]"], [control_character('\t')]);
        let found = task_errors(json!({"title": "a\u{1}b", "tags": ["ok\u{7f}"]}));
        assert_eq!(found["title"], [control_character('\u{1}')]);
        assert_eq!(found["tags[0]"], [control_character('\u{7f}')]);
        let padded = json!({"title": " Milk\t", "tags": ["\u{a0}home "]});
        let task = bodies()
            .json::<TaskInput>(JsonBody::new(padded.to_string()))
            .expect("valid");
        assert_eq!(task.title.as_str(), " Milk\t");
    }
}
