//! What a task listing asks for: filters, an order, and a page that starts after a cursor.
//! A cursor carries its order and a fingerprint of its filters, so that it is only
//! accepted with the listing it was issued for.

use std::fmt::Write as _;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use strum::{EnumString, IntoStaticStr, VariantArray};
use uuid::Uuid;

use super::{
    FOREIGN_CURSOR, ListId, PageCursor, PageSize, TagKey, Task, TaskPriority, TaskStatus, UserId,
    within_four_digit_years,
};

/// The field a listing is ordered by, named as an order names it (`due_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoStaticStr, EnumString, VariantArray)]
#[strum(serialize_all = "snake_case")]
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
    /// The order of a listing that names none: newest first.
    pub const DEFAULT: Self = Self {
        field: SortField::CreatedAt,
        reversed: false,
    };

    /// The order a name gives (`due_at`, or `-due_at` reversed); `None` for no order.
    pub fn parse(name: &str) -> Option<Self> {
        let (field, reversed) = match name.strip_prefix('-') {
            Some(field) => (field, true),
            None => (name, false),
        };
        let field = field.parse().ok()?;
        Some(Self { field, reversed })
    }

    /// Whether the listing runs from the largest value down. Natural directions: newest
    /// first, most recently changed first, soonest due first, most urgent first, A to Z.
    pub fn descending(self) -> bool {
        let natural = matches!(
            self.field,
            SortField::CreatedAt | SortField::UpdatedAt | SortField::Priority
        );
        natural != self.reversed
    }

    /// The order's name (`-due_at`), as [`TaskOrder::parse`] reads it.
    pub fn name(self) -> String {
        let field: &str = self.field.into();
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

/// What a listing searches for: trimmed text with at least one letter or digit. The
/// database splits it into words as it splits the tasks' text; each word must start a word
/// of the task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerms(String);

impl SearchTerms {
    pub fn parse(raw: &str) -> Result<Self, String> {
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

/// Whose tasks a listing shows, by assignee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignee {
    /// The caller's.
    Me,
    User(UserId),
}

impl Assignee {
    /// `me`, or an account's id.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "me" => Ok(Self::Me),
            id => Uuid::try_parse(id)
                .map(|id| Self::User(UserId(id)))
                .map_err(|_| "must be `me` or an account's id".to_owned()),
        }
    }

    /// The account this names, for `caller`.
    pub fn resolve(self, caller: UserId) -> UserId {
        match self {
            Self::Me => caller,
            Self::User(user) => user,
        }
    }

    fn name(self) -> String {
        match self {
            Self::Me => "me".to_owned(),
            Self::User(user) => user.0.simple().to_string(),
        }
    }
}

/// Which tasks a listing shows: every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    /// Only this list's (every list the caller can see when `None`).
    pub list: Option<ListId>,
    pub assignee: Option<Assignee>,
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
        // Written only when given, so that cursors issued before lists stay valid.
        if let Some(list) = self.list {
            add("list_id", list.0.simple().to_string());
        }
        if let Some(assignee) = self.assignee {
            add("assignee", assignee.name());
        }
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

impl super::CursorText for TaskCursor {
    fn encode(&self) -> String {
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
}

impl TaskCursor {
    /// The position a cursor gives in the listing of `filter` in `order`; an error when it
    /// is not a cursor of this API, or was issued for another listing.
    pub fn decode(encoded: &str, order: TaskOrder, filter: &TaskFilter) -> Result<Self, String> {
        let invalid = || FOREIGN_CURSOR.to_owned();
        let elsewhere = || "was issued for other filters or another sort".to_owned();
        let raw = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| invalid())?;
        let raw = String::from_utf8(raw).map_err(|_| invalid())?;
        let fingerprint = filter.fingerprint(order);
        let Some(rest) = raw
            .strip_prefix(CURSOR_VERSION)
            .and_then(|r| r.strip_prefix('.'))
        else {
            // A cursor issued before filters and orders existed: newest first, unfiltered.
            let legacy = PageCursor::decode(encoded)?;
            if order != TaskOrder::DEFAULT || !filter.is_empty() {
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
                .and_then(|at| within_four_digit_years(at).ok())
                .ok_or_else(invalid)
        };
        let value = match order.field {
            SortField::CreatedAt | SortField::UpdatedAt => SortValue::Time(time(value)?),
            SortField::DueAt if value == "none" => SortValue::Due(None),
            SortField::DueAt => SortValue::Due(Some(time(value)?)),
            SortField::Priority => SortValue::Priority(value.parse().map_err(|_| invalid())?),
            // No stored title is empty or holds NUL, which PostgreSQL text cannot.
            SortField::Title if value.is_empty() || value.contains('\0') => return Err(invalid()),
            SortField::Title => SortValue::Title(value.to_owned()),
        };
        Ok(Self {
            order,
            fingerprint,
            position: TaskPosition { value, id },
        })
    }
}

/// A listing of the tasks the caller can see: which, in what order, and which page.
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
        self.cursor_at(self.order.position(task))
    }

    /// The cursor of a page that ends at `position`.
    pub fn cursor_at(&self, position: TaskPosition) -> TaskCursor {
        TaskCursor {
            order: self.order,
            fingerprint: self.filter.fingerprint(self.order),
            position,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_are_trimmed_and_hold_a_letter_or_digit() {
        assert_eq!(
            SearchTerms::parse("  Dent appt. ").map(|t| t.0),
            Ok("Dent appt.".to_owned())
        );
        assert!(SearchTerms::parse(" !?& ").is_err());
    }

    #[test]
    fn a_forged_title_cursor_holding_nul_is_refused() {
        use crate::domain::CursorText as _;
        let order = TaskOrder::parse("title").expect("an order");
        let filter = TaskFilter::default();
        let forged = |title: &str| TaskCursor {
            order,
            fingerprint: filter.fingerprint(order),
            position: TaskPosition {
                value: SortValue::Title(title.to_owned()),
                id: Uuid::nil(),
            },
        };
        let fine = forged("milk").encode();
        assert!(TaskCursor::decode(&fine, order, &filter).is_ok());
        let nul = forged("mi\0lk").encode();
        assert_eq!(
            TaskCursor::decode(&nul, order, &filter).map(|_| ()),
            Err(FOREIGN_CURSOR.to_owned())
        );
    }

    #[test]
    fn every_order_is_named_as_it_parses() {
        for &field in SortField::VARIANTS {
            for reversed in [false, true] {
                let order = TaskOrder { field, reversed };
                assert_eq!(TaskOrder::parse(&order.name()), Some(order));
            }
        }
        assert_eq!(TaskOrder::parse("created_at"), Some(TaskOrder::DEFAULT));
        assert_eq!(TaskOrder::parse("--title"), None);
        assert_eq!(TaskOrder::parse("owner"), None);
    }
}
