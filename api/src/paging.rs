//! [`PageLimit`]: how many items one page of a listing holds.

use std::borrow::Cow;

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromParameter, ParseResult, ToJSON, Type},
};
use serde_json::Value;

/// The most items one page holds.
pub const MAX_PAGE_SIZE: u16 = 100;

/// The page size when a client asks for none.
pub const DEFAULT_PAGE_SIZE: u16 = 50;

/// A page size from 1 to [`MAX_PAGE_SIZE`], [`DEFAULT_PAGE_SIZE`] unless the client asks
/// for another. Anything else is refused when the query is read, with 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(u16);

impl PageLimit {
    pub fn get(self) -> u16 {
        self.0
    }
}

impl Default for PageLimit {
    fn default() -> Self {
        Self(DEFAULT_PAGE_SIZE)
    }
}

impl Type for PageLimit {
    const IS_REQUIRED: bool = true;

    type RawValueType = Self;

    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        // Declared as a `uint32`, as before it had a type of its own: generated clients keep theirs.
        u32::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            format: Some("uint32"),
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
        match value.parse::<u16>() {
            Ok(size) if (1..=MAX_PAGE_SIZE).contains(&size) => Ok(Self(size)),
            _ => Err(ParseError::custom(format!(
                "must be a whole number from 1 to {MAX_PAGE_SIZE}"
            ))),
        }
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
    fn sizes_from_one_to_the_maximum_parse() {
        assert_eq!(
            PageLimit::parse_from_parameter("1")
                .map(PageLimit::get)
                .ok(),
            Some(1)
        );
        let max = MAX_PAGE_SIZE.to_string();
        assert_eq!(
            PageLimit::parse_from_parameter(&max)
                .map(PageLimit::get)
                .ok(),
            Some(MAX_PAGE_SIZE)
        );
        let over = (MAX_PAGE_SIZE + 1).to_string();
        for refused in ["0", "-1", "abc", "", &over, "99999999999"] {
            assert!(
                PageLimit::parse_from_parameter(refused).is_err(),
                "{refused:?}"
            );
        }
        assert_eq!(PageLimit::default().get(), DEFAULT_PAGE_SIZE);
    }
}
