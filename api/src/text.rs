//! [`Text`]: string values of a request, with their limits in the type, so each limit is a
//! named constant that the schema, the server's checks and the tests all share.

use std::{borrow::Cow, marker::PhantomData};

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type},
};
use serde_json::Value;

/// What [`PlainText`] may not contain, as the schema's `pattern`: control characters other
/// than tab, line feed and carriage return (Unicode category Cc). The server enforces the
/// same rule with its own check and a message that names the character; a test in the
/// server's domain module holds the two together.
pub const PLAIN_TEXT_PATTERN: &str = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$";

/// What a one-line name (a tag) may not contain: any control character (Unicode category
/// Cc), tabs and line breaks included. Names are trimmed, so their schema states
/// [`NON_BLANK_SINGLE_LINE_PATTERN`], this and one character more.
pub const SINGLE_LINE_PATTERN: &str = r"^[^\u0000-\u001F\u007F-\u009F]*$";

/// [`PLAIN_TEXT_PATTERN`] for text that is trimmed and must not be empty once trimmed (a
/// title): besides, one character that is neither white space (Unicode's `White_Space`,
/// what the server trims) nor a control character.
pub const NON_BLANK_PLAIN_TEXT_PATTERN: &str = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$";

/// [`SINGLE_LINE_PATTERN`] for a name that is trimmed and must not be empty once trimmed (a
/// tag), as [`NON_BLANK_PLAIN_TEXT_PATTERN`] is for plain text.
pub const NON_BLANK_SINGLE_LINE_PATTERN: &str = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$";

/// The characters of an opaque page cursor: unpadded base64url.
pub const CURSOR_PATTERN: &str = "^[A-Za-z0-9_-]*$";

/// What else than its length a [`Text`] must satisfy, as the schema states it.
pub trait TextRule: Send + Sync + 'static {
    const PATTERN: Option<&'static str>;
    const FORMAT: Option<&'static str>;
}

/// Declares [`TextRule`]s: `Name: pattern, format;`.
macro_rules! text_rules {
    ($($(#[$meta:meta])* $name:ident: $pattern:expr, $format:expr;)*) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name;
        impl TextRule for $name {
            const PATTERN: Option<&'static str> = $pattern;
            const FORMAT: Option<&'static str> = $format;
        }
    )*};
}

text_rules! {
    /// Any characters at all (a password, say).
    AnyChars: None, None;
    /// What a person types: no control characters except tab and line breaks.
    PlainChars: Some(PLAIN_TEXT_PATTERN), None;
    /// What a person types where white space alone says nothing (a title).
    NonBlankPlainChars: Some(NON_BLANK_PLAIN_TEXT_PATTERN), None;
    /// A one-line name that white space alone cannot be (a tag).
    NonBlankSingleLineChars: Some(NON_BLANK_SINGLE_LINE_PATTERN), None;
    /// An email address (`format: email`) a person typed.
    EmailChars: Some(PLAIN_TEXT_PATTERN), Some("email");
    /// The alphabet of a page cursor.
    CursorChars: Some(CURSOR_PATTERN), None;
}

/// A string of `MIN` to `MAX` characters that satisfies `R`. The schema states the limits;
/// the server enforces them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text<const MIN: usize, const MAX: usize, R = PlainChars>(String, PhantomData<R>);

/// Text a person typed: no control characters except tab and line breaks.
pub type PlainText<const MIN: usize, const MAX: usize> = Text<MIN, MAX, PlainChars>;

/// Any text (a password, say).
pub type AnyText<const MIN: usize, const MAX: usize> = Text<MIN, MAX, AnyChars>;

impl<const MIN: usize, const MAX: usize, R> Text<MIN, MAX, R> {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into(), PhantomData)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl<const MIN: usize, const MAX: usize, R: TextRule> Type for Text<MIN, MAX, R> {
    const IS_REQUIRED: bool = true;

    type RawValueType = String;

    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        "string".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            format: R::FORMAT,
            min_length: (MIN > 0).then_some(MIN),
            max_length: Some(MAX),
            pattern: R::PATTERN.map(str::to_owned),
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

impl<const MIN: usize, const MAX: usize, R: TextRule> ParseFromJSON for Text<MIN, MAX, R> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        // Only a JSON string: poem-openapi's `String` would also take `5` as "5".
        match value.unwrap_or_default() {
            Value::String(text) => Ok(Self::new(text)),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl<const MIN: usize, const MAX: usize, R: TextRule> ParseFromParameter for Text<MIN, MAX, R> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self::new(value))
    }

    /// One value: a text parameter given twice is not a string (poem-openapi would take the
    /// first). Each item of an array parameter comes here alone.
    fn parse_from_parameters<I: IntoIterator<Item = A>, A: AsRef<str>>(
        values: I,
    ) -> ParseResult<Self> {
        let mut values = values.into_iter();
        match (values.next(), values.next()) {
            (Some(value), None) => Self::parse_from_parameter(value.as_ref()),
            (Some(_), Some(_)) => Err(ParseError::custom("must be given once")),
            (None, _) => Err(ParseError::expected_input()),
        }
    }
}

impl<const MIN: usize, const MAX: usize, R: TextRule> ToJSON for Text<MIN, MAX, R> {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}
