//! Domain values. Each is parsed once at the boundary and trusted afterwards: a value of
//! these types is valid by construction.

mod email;
mod etag;
mod idempotency;
mod listing;
mod page;
mod password;
mod session;
mod tag;
mod task;
mod user;

pub use email::Email;
pub use etag::{Condition, EntityTag, Version};
pub use idempotency::IdempotencyKey;
pub use listing::{
    SearchTerms, SortField, SortValue, TaskCursor, TaskFilter, TaskListing, TaskOrder,
    TaskPosition, owner_tsquery,
};
pub use page::{Page, PageCursor, PageSize};
pub use password::{Password, normalized as normalized_password};
pub use session::{RefreshToken, Session, SessionId, SessionOrigin, SessionPage};
pub use tag::{TagCursor, TagKey, TagName, TagPage, TagSet, TagUse};
pub use task::{
    DueAt, Task, TaskChange, TaskDescription, TaskDraft, TaskEdit, TaskId, TaskPage, TaskPriority,
    TaskStatus, TaskTitle, completed_at,
};
pub use user::{
    Admin, Caller, Credentials, DeletionConfirmation, Grant, NewEmail, NewPassword, NotAdmin,
    Registration, Role, User, UserId,
};

use std::collections::BTreeMap;

/// Why the fields of one request are invalid: field name → what is wrong with it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    /// Parses one field, recording its error and returning `None` when it is invalid.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        parsed.map_err(|message| self.add(field, message)).ok()
    }

    /// Parses an optional field: `Some(None)` when absent, `None` when present and invalid.
    pub fn check_optional<R, T>(
        &mut self,
        field: &str,
        raw: Option<R>,
        parse: impl FnOnce(R) -> Result<T, String>,
    ) -> Option<Option<T>> {
        match raw {
            Some(raw) => self.check(field, parse(raw)).map(Some),
            None => Some(None),
        }
    }

    pub fn into_inner(self) -> BTreeMap<String, Vec<String>> {
        self.0
    }

    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::default();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A short text a person typed, such as a title: trimmed, not empty, at most `max_chars`
/// characters, no control characters.
fn trimmed_line(raw: &str, max_chars: usize) -> Result<&str, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(too_short(1));
    }
    if text.chars().count() > max_chars {
        return Err(too_long(max_chars));
    }
    reject_control_chars(text)?;
    Ok(text)
}

/// Text PostgreSQL cannot store (NUL) or that no person types (other control characters
/// except tab and newlines) is refused rather than left to fail in the database.
fn reject_control_chars(text: &str) -> Result<(), String> {
    match text
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        Some(c) => Err(control_character(c)),
        None => Ok(()),
    }
}

// The wording of the rules a request body's schema states and the domain checks again for
// values from elsewhere (query parameters, the command line): one message per rule,
// whichever check finds the problem.

/// Text shorter than `min_chars` characters.
pub fn too_short(min_chars: usize) -> String {
    match min_chars {
        1 => "must not be empty".to_owned(),
        min => format!("must be at least {min} characters"),
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

#[cfg(test)]
mod tests {
    use super::reject_control_chars;

    #[test]
    fn the_contract_pattern_states_exactly_this_rule() {
        let pattern =
            regex::Regex::new(taskapi_api::text::PLAIN_TEXT_PATTERN).expect("a valid pattern");
        let mut text = String::new();
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            text.clear();
            text.push(c);
            assert_eq!(
                pattern.is_match(&text),
                reject_control_chars(&text).is_ok(),
                "U+{:04X}",
                u32::from(c)
            );
        }
        assert!(pattern.is_match("tab\tand\r\nlines"));
        assert!(!pattern.is_match("nul\0byte"));
    }
}
