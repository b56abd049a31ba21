//! Paging through a listing: how many items a page holds, and where the next page starts.

use std::borrow::Cow;

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromParameter, ParseResult, ToJSON, Type},
};
use serde_json::Value;

use crate::text::{CursorChars, Text};

/// The most items one page holds.
pub const MAX_PAGE_SIZE: u16 = 100;

/// The page size when a client asks for none.
pub const DEFAULT_PAGE_SIZE: u16 = 50;

/// The longest cursor the API issues or accepts, in characters.
pub const MAX_CURSOR_CHARS: usize = 4096;

/// An opaque position in a listing: the `next_cursor` of the previous page.
pub type Cursor = Text<1, MAX_CURSOR_CHARS, CursorChars>;

/// A page of a listing, as the contract sends it: the items, and the cursor of the next
/// page (none on the last).
pub trait Paged {
    type Item;

    fn new(items: Vec<Self::Item>, next_cursor: Option<String>) -> Self;
}

/// A page size as the client wrote it: any whole number, so that one outside 1 to
/// [`MAX_PAGE_SIZE`] is refused by the server as an invalid field (422), and only what is
/// not a number at all is a malformed query (400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(pub i64);

impl Default for PageLimit {
    fn default() -> Self {
        Self(i64::from(DEFAULT_PAGE_SIZE))
    }
}

impl Type for PageLimit {
    const IS_REQUIRED: bool = true;

    type RawValueType = Self;

    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        i64::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            minimum: Some(1.0),
            maximum: Some(f64::from(MAX_PAGE_SIZE)),
            ..MetaSchema::new("integer")
        }))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromParameter for PageLimit {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        let digits = value.strip_prefix('-').unwrap_or(value);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::custom("must be a whole number"));
        }
        // A number too large for an i64 is as out of range as any other.
        let saturated = if value.starts_with('-') {
            i64::MIN
        } else {
            i64::MAX
        };
        Ok(Self(value.parse().unwrap_or(saturated)))
    }
}

impl ToJSON for PageLimit {
    fn to_json(&self) -> Option<Value> {
        Some(Value::from(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_whole_number_parses_and_nothing_else_does() {
        let parsed = |raw: &str| {
            PageLimit::parse_from_parameter(raw)
                .map(|limit| limit.0)
                .ok()
        };
        assert_eq!(parsed("7"), Some(7));
        assert_eq!(parsed("-1"), Some(-1));
        assert_eq!(parsed("0"), Some(0));
        assert_eq!(parsed("99999999999999999999999"), Some(i64::MAX));
        for malformed in ["", "-", "abc", "1.5", "1e3", " 1", "+1"] {
            assert_eq!(parsed(malformed), None, "{malformed:?}");
        }
        assert_eq!(PageLimit::default().0, i64::from(DEFAULT_PAGE_SIZE));
    }
}
