//! [`Text`] and [`PlainText`]: string fields of a request body that are only ever JSON
//! strings.

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

/// Declares a request string type that accepts JSON strings only. poem-openapi's `String`
/// also accepts JSON numbers and booleans (`{"title": 5}` would become `"5"`); a client that
/// sends the wrong type has a bug it should hear about.
macro_rules! json_string {
    ($(#[$doc:meta])* $name:ident, $schema:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub String);

        impl $name {
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Type for $name {
            const IS_REQUIRED: bool = true;

            type RawValueType = String;

            type RawElementValueType = String;

            fn name() -> Cow<'static, str> {
                "string".into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new($schema))
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

        impl ParseFromJSON for $name {
            fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
                match value.unwrap_or_default() {
                    Value::String(text) => Ok(Self(text)),
                    other => Err(ParseError::expected_type(other)),
                }
            }
        }

        impl ToJSON for $name {
            fn to_json(&self) -> Option<Value> {
                Some(Value::String(self.0.clone()))
            }
        }
    };
}

json_string!(
    /// Any JSON string (a password, say). Its schema is a plain `type: string`.
    Text,
    MetaSchema::new("string")
);

json_string!(
    /// A JSON string a person typed: no control characters except tab and line breaks.
    /// Its schema is `type: string` with [`PLAIN_TEXT_PATTERN`], so generated clients can
    /// check it before sending.
    PlainText,
    MetaSchema {
        pattern: Some(PLAIN_TEXT_PATTERN.to_owned()),
        ..MetaSchema::new("string")
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_strings_parse() {
        let parsed = Text::parse_from_json(Some(Value::from("five"))).expect("a string");
        assert_eq!(parsed, Text("five".to_owned()));
        for wrong in [
            Value::from(5),
            Value::from(true),
            Value::Null,
            serde_json::json!([]),
        ] {
            assert!(
                Text::parse_from_json(Some(wrong.clone())).is_err(),
                "{wrong}"
            );
        }
        assert!(Text::parse_from_json(None).is_err());
    }
}
