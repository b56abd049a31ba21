//! [`Text`]: string fields of a request body, with their length limits in the type, so each
//! limit is a named constant that the schema, the server's checks and the tests all share.

use std::borrow::Cow;

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde_json::Value;

/// What [`PlainText`] may not contain, as the schema's `pattern`: control characters other
/// than tab, line feed and carriage return (Unicode category Cc). The server enforces the
/// same rule with its own check and a message that names the character; a test in the
/// server's domain module holds the two together.
pub const PLAIN_TEXT_PATTERN: &str = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$";

/// A JSON string of `MIN` to `MAX` characters; with `PLAIN`, restricted to
/// [`PLAIN_TEXT_PATTERN`]. The schema states the limits; the server enforces them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text<const MIN: usize, const MAX: usize, const PLAIN: bool>(pub String);

/// Text a person typed: no control characters except tab and line breaks.
pub type PlainText<const MIN: usize, const MAX: usize> = Text<MIN, MAX, true>;

/// Any text (a password, say).
pub type AnyText<const MIN: usize, const MAX: usize> = Text<MIN, MAX, false>;

impl<const MIN: usize, const MAX: usize, const PLAIN: bool> Text<MIN, MAX, PLAIN> {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl<const MIN: usize, const MAX: usize, const PLAIN: bool> Type for Text<MIN, MAX, PLAIN> {
    const IS_REQUIRED: bool = true;

    type RawValueType = String;

    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        "string".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            min_length: (MIN > 0).then_some(MIN),
            max_length: Some(MAX),
            pattern: PLAIN.then(|| PLAIN_TEXT_PATTERN.to_owned()),
            ..MetaSchema::new("string")
        }))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl<const MIN: usize, const MAX: usize, const PLAIN: bool> ParseFromJSON
    for Text<MIN, MAX, PLAIN>
{
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        // Only a JSON string: poem-openapi's `String` would also take `5` as "5".
        match value.unwrap_or_default() {
            Value::String(text) => Ok(Self(text)),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl<const MIN: usize, const MAX: usize, const PLAIN: bool> ToJSON for Text<MIN, MAX, PLAIN> {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}
