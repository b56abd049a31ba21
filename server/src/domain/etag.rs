//! Entity tags (RFC 9110 §8.8.3) and the conditions clients put on them (§13.1).

/// A task's version: [`Version::FIRST`] when created, one more with every change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version(pub i64);

impl Version {
    /// The version of a new task (the column default in the migrations says it too).
    pub const FIRST: Self = Self(1);

    /// The strong entity tag of this version: `"<version>"`.
    pub fn etag(self) -> String {
        format!("\"{}\"", self.0)
    }
}

/// What an `If-Match` or `If-None-Match` header lists: any current representation (`*`),
/// or entity tags. Elements that are not entity tags are kept as nothing: they match no
/// tag, so a garbled `If-Match` fails safe (412) and a garbled `If-None-Match` changes
/// nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    Any,
    Tags(Vec<EntityTag>),
}

/// One entity tag as a client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityTag {
    pub weak: bool,
    /// The opaque tag, quotes included.
    pub opaque: String,
}

impl Condition {
    pub fn parse(raw: &str) -> Self {
        if raw.trim() == "*" {
            return Self::Any;
        }
        Self::Tags(raw.split(',').filter_map(EntityTag::parse).collect())
    }

    /// `If-Match`: the strong comparison; a weak tag never matches.
    pub fn matches_strongly(&self, current: Version) -> bool {
        let current = current.etag();
        match self {
            Self::Any => true,
            Self::Tags(tags) => tags.iter().any(|tag| !tag.weak && tag.opaque == current),
        }
    }

    /// `If-None-Match`: the weak comparison; `W/` is ignored.
    pub fn matches_weakly(&self, current: Version) -> bool {
        let current = current.etag();
        match self {
            Self::Any => true,
            Self::Tags(tags) => tags.iter().any(|tag| tag.opaque == current),
        }
    }
}

impl EntityTag {
    fn parse(element: &str) -> Option<Self> {
        let element = element.trim();
        let (weak, opaque) = match element.strip_prefix("W/") {
            Some(rest) => (true, rest),
            None => (false, element),
        };
        let inner = opaque.strip_prefix('"')?.strip_suffix('"')?;
        // etagc: visible ASCII but `"`, or obs-text.
        if inner.bytes().any(|b| b == b'"' || b < 0x21 || b == 0x7f) {
            return None;
        }
        Some(Self {
            weak,
            opaque: opaque.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_tag_as_quoted_numbers() {
        assert_eq!(Version::FIRST.etag(), "\"1\"");
        assert_eq!(Version(42).etag(), "\"42\"");
    }

    #[test]
    fn if_match_compares_strongly_and_if_none_match_weakly() {
        let v3 = Version(3);
        assert!(Condition::parse("\"3\"").matches_strongly(v3));
        assert!(Condition::parse(" \"1\" , \"3\"").matches_strongly(v3));
        assert!(Condition::parse("*").matches_strongly(v3));
        assert!(!Condition::parse("W/\"3\"").matches_strongly(v3));
        assert!(Condition::parse("W/\"3\"").matches_weakly(v3));
        assert!(!Condition::parse("\"4\"").matches_weakly(v3));
    }

    #[test]
    fn garbage_matches_nothing() {
        let v3 = Version(3);
        for garbage in ["", "3", "\"3", "'3'", "W/3", "\"3\"x", "\"a b\""] {
            assert!(
                !Condition::parse(garbage).matches_strongly(v3),
                "{garbage:?}"
            );
            assert!(!Condition::parse(garbage).matches_weakly(v3), "{garbage:?}");
        }
    }
}
