//! What a task listing asks for: filters, an order, and a page that starts after a cursor.
//! A cursor carries its order and a fingerprint of its filters, so that it is only
//! accepted with the listing it was issued for.

use std::fmt::Write as _;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Datelike, Utc};
use sha2::{Digest, Sha256};
use taskapi_api::{
    paging::MAX_CURSOR_CHARS,
    tasks::{self as contract, MAX_TAGS_PER_TASK, SEARCH_MAX_CHARS, TaskSort},
};
use uuid::Uuid;

use super::{
    FieldErrors, PageCursor, PageSize, TagKey, TagName, Task, TaskPriority, TaskStatus, UserId,
    reject_control_chars,
};

/// The field a listing is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    CreatedAt,
    UpdatedAt,
    DueAt,
    Priority,
    Title,
}

/// A listing's order: a field in its natural direction, or reversed. Ties are broken by
/// id (time-ordered: ids are UUIDv7) in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskOrder {
    pub field: SortField,
    pub reversed: bool,
}

impl TaskOrder {
    /// Whether the listing runs from the largest value down. Natural directions: newest
    /// first, most recently changed first, soonest due first, most urgent first, A to Z.
    pub fn descending(self) -> bool {
        let natural = matches!(
            self.field,
            SortField::CreatedAt | SortField::UpdatedAt | SortField::Priority
        );
        natural != self.reversed
    }

    /// The order's name on the wire (`-due_at`).
    fn name(self) -> String {
        let field = match self.field {
            SortField::CreatedAt => "created_at",
            SortField::UpdatedAt => "updated_at",
            SortField::DueAt => "due_at",
            SortField::Priority => "priority",
            SortField::Title => "title",
        };
        format!("{}{field}", if self.reversed { "-" } else { "" })
    }

    /// Where `task` stands in this order.
    pub fn position(self, task: &Task) -> TaskPosition {
        let value = match self.field {
            SortField::CreatedAt => SortValue::Time(task.created_at),
            SortField::UpdatedAt => SortValue::Time(task.updated_at),
            SortField::DueAt => SortValue::Due(task.due_at),
            SortField::Priority => SortValue::Priority(task.priority),
            SortField::Title => SortValue::Title(task.title.as_str().to_owned()),
        };
        TaskPosition {
            value,
            id: task.id.0,
        }
    }
}

impl From<TaskSort> for TaskOrder {
    fn from(sort: TaskSort) -> Self {
        let (field, reversed) = match sort {
            TaskSort::CreatedAt => (SortField::CreatedAt, false),
            TaskSort::CreatedAtReversed => (SortField::CreatedAt, true),
            TaskSort::UpdatedAt => (SortField::UpdatedAt, false),
            TaskSort::UpdatedAtReversed => (SortField::UpdatedAt, true),
            TaskSort::DueAt => (SortField::DueAt, false),
            TaskSort::DueAtReversed => (SortField::DueAt, true),
            TaskSort::Priority => (SortField::Priority, false),
            TaskSort::PriorityReversed => (SortField::Priority, true),
            TaskSort::Title => (SortField::Title, false),
            TaskSort::TitleReversed => (SortField::Title, true),
        };
        Self { field, reversed }
    }
}

/// A task's value of the sort field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortValue {
    Time(DateTime<Utc>),
    /// `None` (no due date) sorts after every date.
    Due(Option<DateTime<Utc>>),
    Priority(TaskPriority),
    /// The title; the database compares it in lower case.
    Title(String),
}

/// A task's place in a listing: its sort value, then its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskPosition {
    pub value: SortValue,
    pub id: Uuid,
}

/// What a listing searches for: text with at least one letter or digit, at most
/// [`SEARCH_MAX_CHARS`] characters, no control characters. The database splits it into
/// words as it splits the tasks' text; each word must start a word of the task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerms(String);

impl SearchTerms {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.chars().count() > SEARCH_MAX_CHARS {
            return Err(super::too_long(SEARCH_MAX_CHARS));
        }
        reject_control_chars(raw)?;
        let text = raw.trim();
        if !text.chars().any(char::is_alphanumeric) {
            return Err("must contain a letter or a digit".to_owned());
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A search for `words` (as the database split them) among the owner's tasks, as a
/// PostgreSQL `tsquery`: every word a prefix, of the owner's words only (the search
/// document stores each word as `<owner hex>_<word>`; see the migrations).
pub fn owner_tsquery(owner: UserId, words: &[String]) -> String {
    let owner = owner.0.simple();
    let prefixes: Vec<String> = words
        .iter()
        .map(|word| {
            // A quoted tsquery lexeme: quotes and backslashes are escaped by doubling.
            let escaped = word.replace('\\', "\\\\").replace('\'', "''");
            format!("'{owner}_{escaped}':*")
        })
        .collect();
    prefixes.join(" & ")
}

/// Which tasks a listing shows: every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    /// Any of these statuses (all when empty).
    pub statuses: Vec<TaskStatus>,
    /// Any of these priorities (all when empty).
    pub priorities: Vec<TaskPriority>,
    /// Every one of these tags.
    pub tags: Vec<TagKey>,
    pub due_before: Option<DateTime<Utc>>,
    pub due_after: Option<DateTime<Utc>>,
    pub overdue: Option<bool>,
    pub has_due: Option<bool>,
    pub updated_since: Option<DateTime<Utc>>,
    pub search: Option<SearchTerms>,
}

impl TaskFilter {
    /// A digest of the filter and `order`, the same for equal listings however their
    /// parameters were written (order, repeats, case of tags).
    fn fingerprint(&self, order: TaskOrder) -> String {
        let mut canonical = order.name();
        let mut add = |name: &str, value: String| {
            let _ = write!(canonical, "\n{name}={value}");
        };
        let mut statuses: Vec<&str> = self.statuses.iter().map(|s| s.into()).collect();
        statuses.sort_unstable();
        statuses.dedup();
        add("status", statuses.join(","));
        let mut priorities: Vec<&str> = self.priorities.iter().map(|p| p.into()).collect();
        priorities.sort_unstable();
        priorities.dedup();
        add("priority", priorities.join(","));
        let tags: Vec<&str> = self.tags.iter().map(TagKey::as_str).collect();
        add("tag", tags.join("\u{1f}"));
        let time = |at: Option<DateTime<Utc>>| at.map(|at| at.timestamp_micros().to_string());
        add("due_before", time(self.due_before).unwrap_or_default());
        add("due_after", time(self.due_after).unwrap_or_default());
        add("overdue", format!("{:?}", self.overdue));
        add("has_due", format!("{:?}", self.has_due));
        add(
            "updated_since",
            time(self.updated_since).unwrap_or_default(),
        );
        add(
            "q",
            self.search
                .as_ref()
                .map(|terms| terms.0.clone())
                .unwrap_or_default(),
        );
        let digest = Sha256::digest(canonical.as_bytes());
        digest[..8]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Where the next page of one listing starts: its order and filters (as a fingerprint),
/// and the last task's position. Clients see an opaque URL-safe string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskCursor {
    order: TaskOrder,
    fingerprint: String,
    pub position: TaskPosition,
}

/// The version prefix of a task cursor's text; older cursors are [`PageCursor`]s.
const CURSOR_VERSION: &str = "t1";

impl TaskCursor {
    pub fn encode(&self) -> String {
        let value = match &self.position.value {
            SortValue::Time(at) | SortValue::Due(Some(at)) => at.timestamp_micros().to_string(),
            SortValue::Due(None) => "none".to_owned(),
            SortValue::Priority(priority) => <&str>::from(*priority).to_owned(),
            SortValue::Title(title) => title.clone(),
        };
        let raw = format!(
            "{CURSOR_VERSION}.{}.{}.{}.{value}",
            self.order.name(),
            self.fingerprint,
            self.position.id.simple(),
        );
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The position a cursor gives in the listing of `filter` in `order`; an error when it
    /// is not a cursor of this API, or was issued for another listing.
    fn decode(encoded: &str, order: TaskOrder, filter: &TaskFilter) -> Result<Self, String> {
        let invalid = || "is not a cursor this API returned".to_owned();
        let elsewhere = || "was issued for other filters or another sort".to_owned();
        if encoded.len() > MAX_CURSOR_CHARS {
            return Err(invalid());
        }
        let raw = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| invalid())?;
        let raw = String::from_utf8(raw).map_err(|_| invalid())?;
        let fingerprint = filter.fingerprint(order);
        let Some(rest) = raw
            .strip_prefix(CURSOR_VERSION)
            .and_then(|r| r.strip_prefix('.'))
        else {
            // A cursor issued before filters and orders existed: newest first, unfiltered.
            let legacy = PageCursor::decode(encoded)?;
            let default = TaskOrder::from(TaskSort::default());
            if order != default || !filter.is_empty() {
                return Err(elsewhere());
            }
            return Ok(Self {
                order,
                fingerprint,
                position: TaskPosition {
                    value: SortValue::Time(legacy.created_at),
                    id: legacy.id,
                },
            });
        };
        let mut parts = rest.splitn(4, '.');
        let (Some(sort), Some(issued_for), Some(id), Some(value)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        if sort != order.name() || issued_for != fingerprint {
            return Err(elsewhere());
        }
        let id = Uuid::try_parse(id).map_err(|_| invalid())?;
        let time = |value: &str| {
            value
                .parse::<i64>()
                .ok()
                .and_then(DateTime::from_timestamp_micros)
                .filter(|at| within_four_digit_years(*at))
                .ok_or_else(invalid)
        };
        let value = match order.field {
            SortField::CreatedAt | SortField::UpdatedAt => SortValue::Time(time(value)?),
            SortField::DueAt if value == "none" => SortValue::Due(None),
            SortField::DueAt => SortValue::Due(Some(time(value)?)),
            SortField::Priority => SortValue::Priority(value.parse().map_err(|_| invalid())?),
            SortField::Title if value.is_empty() => return Err(invalid()),
            SortField::Title => SortValue::Title(value.to_owned()),
        };
        Ok(Self {
            order,
            fingerprint,
            position: TaskPosition { value, id },
        })
    }
}

/// Times PostgreSQL and every client can represent.
fn within_four_digit_years(at: DateTime<Utc>) -> bool {
    (1..=9999).contains(&at.year())
}

/// A listing of the caller's tasks: which, in what order, and which page.
#[derive(Debug, Clone)]
pub struct TaskListing {
    pub filter: TaskFilter,
    pub order: TaskOrder,
    pub size: PageSize,
    /// Where the previous page ended.
    pub after: Option<TaskPosition>,
}

impl TaskListing {
    /// The cursor of a page that ends with `task`.
    pub fn cursor_after(&self, task: &Task) -> TaskCursor {
        TaskCursor {
            order: self.order,
            fingerprint: self.filter.fingerprint(self.order),
            position: self.order.position(task),
        }
    }
}

impl TryFrom<contract::TaskQuery> for TaskListing {
    type Error = FieldErrors;

    fn try_from(query: contract::TaskQuery) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let size = errors.check("limit", PageSize::try_from(query.limit));
        let tags: Option<Vec<TagKey>> = query
            .tag
            .iter()
            .map(|name| errors.check("tag", TagName::parse(name.as_str()).map(|n| n.key())))
            .collect();
        let mut tags = tags.unwrap_or_default();
        tags.sort();
        tags.dedup();
        if tags.len() > MAX_TAGS_PER_TASK {
            errors.add(
                "tag",
                format!("must name at most {MAX_TAGS_PER_TASK} tags (no task has more)"),
            );
        }
        let mut time = |field: &str, at: Option<DateTime<Utc>>| {
            errors
                .check_optional(field, at, |at| {
                    if within_four_digit_years(at) {
                        Ok(at)
                    } else {
                        Err("must be between the years 1 and 9999".to_owned())
                    }
                })
                .flatten()
        };
        let due_before = time("due_before", query.due_before);
        let due_after = time("due_after", query.due_after);
        let updated_since = time("updated_since", query.updated_since);
        let search = errors
            .check_optional("q", query.q, |q| SearchTerms::parse(q.as_str()))
            .flatten();
        let filter = TaskFilter {
            statuses: query.status.into_iter().map(Into::into).collect(),
            priorities: query.priority.into_iter().map(Into::into).collect(),
            tags,
            due_before,
            due_after,
            overdue: query.overdue,
            has_due: query.has_due,
            updated_since,
            search,
        };
        let order = TaskOrder::from(query.sort);
        // Checked last: a cursor is only compared with a filter that is valid.
        let after = if errors.is_empty() {
            errors
                .check_optional("cursor", query.cursor, |cursor| {
                    TaskCursor::decode(cursor.as_str(), order, &filter)
                })
                .flatten()
                .map(|cursor| cursor.position)
        } else {
            None
        };
        match size {
            Some(size) if errors.is_empty() => Ok(Self {
                filter,
                order,
                size,
                after,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use taskapi_api::{
        paging::Cursor,
        tasks::{TagName as ApiTagName, TaskQuery, TaskStatus as ApiStatus},
    };

    use super::*;

    fn listing(query: TaskQuery) -> Result<TaskListing, FieldErrors> {
        TaskListing::try_from(query)
    }

    fn position(value: SortValue) -> TaskPosition {
        TaskPosition {
            value,
            id: Uuid::now_v7(),
        }
    }

    fn cursor_for(query: &TaskQuery, position: TaskPosition) -> String {
        let listing = listing(query.clone()).expect("a valid query");
        TaskCursor {
            order: listing.order,
            fingerprint: listing.filter.fingerprint(listing.order),
            position,
        }
        .encode()
    }

    fn with_cursor(query: &TaskQuery, cursor: String) -> TaskQuery {
        TaskQuery {
            cursor: Some(Cursor::new(cursor)),
            ..query.clone()
        }
    }

    #[test]
    fn searches_are_bounded_text_with_a_letter_or_digit() {
        assert_eq!(
            SearchTerms::parse("  Dent appt. ").map(|t| t.0),
            Ok("Dent appt.".to_owned())
        );
        assert!(SearchTerms::parse(" !?& ").is_err());
        assert!(SearchTerms::parse(&"0".repeat(SEARCH_MAX_CHARS + 1)).is_err());
        assert!(SearchTerms::parse("bell\u{7}").is_err());
    }

    #[test]
    fn owner_queries_prefix_every_word_and_escape_quotes() {
        let owner = UserId(Uuid::from_u128(0xab));
        let hex = "000000000000000000000000000000ab";
        assert_eq!(
            owner_tsquery(owner, &["dent".to_owned(), "o'brien\\x".to_owned()]),
            format!("'{hex}_dent':* & '{hex}_o''brien\\\\x':*")
        );
    }

    #[test]
    fn cursors_of_every_order_round_trip() {
        let at = DateTime::from_timestamp_micros(1_764_000_000_123_456).expect("valid");
        for (sort, value) in [
            (TaskSort::CreatedAt, SortValue::Time(at)),
            (TaskSort::UpdatedAtReversed, SortValue::Time(at)),
            (TaskSort::DueAt, SortValue::Due(Some(at))),
            (TaskSort::DueAtReversed, SortValue::Due(None)),
            (
                TaskSort::Priority,
                SortValue::Priority(TaskPriority::Urgent),
            ),
            (
                TaskSort::Title,
                SortValue::Title("Dots. In. Title.".to_owned()),
            ),
        ] {
            let query = TaskQuery {
                sort,
                ..TaskQuery::default()
            };
            let expected = position(value);
            let next = with_cursor(&query, cursor_for(&query, expected.clone()));
            assert_eq!(
                listing(next).expect("accepted").after,
                Some(expected),
                "{sort:?}"
            );
        }
    }

    #[test]
    fn a_cursor_is_refused_with_another_sort_or_other_filters() {
        let query = TaskQuery {
            status: vec![ApiStatus::Todo, ApiStatus::Done],
            tag: vec![ApiTagName::new("Work")],
            ..TaskQuery::default()
        };
        let cursor = cursor_for(&query, position(SortValue::Time(Utc::now())));
        // The same filter written differently is the same listing.
        let same = TaskQuery {
            status: vec![ApiStatus::Done, ApiStatus::Todo, ApiStatus::Done],
            tag: vec![ApiTagName::new("work")],
            ..query.clone()
        };
        assert!(listing(with_cursor(&same, cursor.clone())).is_ok());
        for other in [
            TaskQuery {
                sort: TaskSort::CreatedAtReversed,
                ..query.clone()
            },
            TaskQuery {
                status: vec![ApiStatus::Todo],
                ..query.clone()
            },
            TaskQuery {
                overdue: Some(true),
                ..query.clone()
            },
        ] {
            let refused = listing(with_cursor(&other, cursor.clone())).expect_err("refused");
            assert!(refused.into_inner().contains_key("cursor"));
        }
    }

    #[test]
    fn cursors_from_before_filters_still_work_for_the_default_listing() {
        let legacy = PageCursor {
            created_at: Utc::now(),
            id: Uuid::now_v7(),
        }
        .encode();
        let plain = TaskQuery::default();
        assert!(listing(with_cursor(&plain, legacy.clone())).is_ok());
        let sorted = TaskQuery {
            sort: TaskSort::Title,
            ..TaskQuery::default()
        };
        assert!(listing(with_cursor(&sorted, legacy)).is_err());
    }

    #[test]
    fn garbage_cursors_are_refused() {
        let plain = TaskQuery::default();
        for garbage in [
            "!!!".to_owned(),
            URL_SAFE_NO_PAD.encode("t1.created_at.x.y.z"),
            URL_SAFE_NO_PAD.encode("t1.created_at"),
        ] {
            assert!(
                listing(with_cursor(&plain, garbage.clone())).is_err(),
                "{garbage}"
            );
        }
    }
}
