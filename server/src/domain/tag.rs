//! Tags: names a user puts on tasks, compared ignoring case.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use super::{FOREIGN_CURSOR, Page, trimmed};

/// A tag name: trimmed, not empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagName(String);

/// What tag names are compared by: the name in lower case. Two names with one key are
/// one tag.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TagKey(String);

impl TagName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        trimmed(raw).map(|name| Self(name.to_owned()))
    }

    /// A name read back from the database, where only parsed names are written.
    pub fn stored(name: String) -> Self {
        Self(name)
    }

    pub fn key(&self) -> TagKey {
        TagKey(self.0.to_lowercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl TagKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A key read back from the database.
    pub fn stored(key: String) -> Self {
        Self(key)
    }
}

/// The tags of one task: one per key, in key order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagSet(Vec<TagName>);

impl TagSet {
    /// The set of `names`: of names with one key, the first counts.
    pub fn new(names: impl IntoIterator<Item = TagName>) -> Self {
        let mut set: Vec<TagName> = Vec::new();
        for name in names {
            if !set.iter().any(|kept| kept.key() == name.key()) {
                set.push(name);
            }
        }
        set.sort_by_key(TagName::key);
        Self(set)
    }

    /// Names read back from the database, where only sets of parsed names are written.
    pub fn stored(names: Vec<String>) -> Self {
        let mut set: Vec<TagName> = names.into_iter().map(TagName).collect();
        set.sort_by_key(TagName::key);
        Self(set)
    }

    pub fn names(&self) -> &[TagName] {
        &self.0
    }

    pub fn keys(&self) -> Vec<TagKey> {
        self.0.iter().map(TagName::key).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_strings(self) -> Vec<String> {
        self.0.into_iter().map(TagName::into_inner).collect()
    }
}

/// A tag of one user, with how many of their tasks carry it.
#[derive(Debug, Clone)]
pub struct TagUse {
    pub name: TagName,
    pub task_count: i64,
}

/// Where a page of tags ends: its last key. Clients see an opaque URL-safe string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagCursor(pub TagKey);

impl super::CursorText for TagCursor {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.as_str())
    }
}

impl TagCursor {
    pub fn decode(encoded: &str) -> Result<Self, String> {
        let invalid = || FOREIGN_CURSOR.to_owned();
        let raw = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| invalid())?;
        let key = String::from_utf8(raw).map_err(|_| invalid())?;
        // Keys are names in lower case: anything else was not issued here.
        let untrimmed = key.trim() != key;
        if key.is_empty()
            || untrimmed
            || key.chars().any(char::is_control)
            || key.to_lowercase() != key
        {
            return Err(invalid());
        }
        Ok(Self(TagKey(key)))
    }
}

/// One page of a user's tags, by key.
pub type TagPage = Page<TagUse, TagCursor>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CursorText;

    fn name(raw: &str) -> TagName {
        TagName::parse(raw).expect("a valid tag name")
    }

    #[test]
    fn names_are_trimmed_and_not_empty() {
        assert_eq!(name("  Home ").as_str(), "Home");
        assert!(TagName::parse("   ").is_err());
    }

    #[test]
    fn names_differing_in_case_are_one_tag_and_the_first_spelling_counts() {
        let set = TagSet::new([name("work"), name("Home"), name("WORK"), name("home")]);
        let names: Vec<&str> = set.names().iter().map(TagName::as_str).collect();
        assert_eq!(names, ["Home", "work"]);
    }

    #[test]
    fn tag_cursors_round_trip_and_reject_what_is_not_a_key() {
        let cursor = TagCursor(name("Ünïcode Tag").key());
        assert_eq!(TagCursor::decode(&cursor.encode()), Ok(cursor));
        for garbage in [
            "",
            "!!",
            &URL_SAFE_NO_PAD.encode("Upper"),
            &URL_SAFE_NO_PAD.encode(" x"),
        ] {
            assert!(TagCursor::decode(garbage).is_err(), "{garbage:?}");
        }
    }
}
