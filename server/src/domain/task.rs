use chrono::{DateTime, Utc};
use uuid::Uuid;

use sha2::{Digest, Sha256};
use strum::{EnumString, IntoStaticStr, VariantArray};

use super::{
    ListId, Page, TagSet, TaskCursor, UserId, Version, or_current, trimmed, within_four_digit_years,
};

/// Where a task stands.
// The snake_case names are how the database stores a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoStaticStr, EnumString, VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum TaskStatus {
    Todo,
    InProgress,
    Done,
}

/// How urgent a task is, least urgent first.
// The snake_case names are how the database stores a priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoStaticStr, EnumString, VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum TaskPriority {
    Low,
    Normal,
    High,
    Urgent,
}

/// The id of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskId(pub Uuid);

/// A task title: trimmed, not empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTitle(String);

impl TaskTitle {
    pub fn parse(raw: &str) -> Result<Self, String> {
        trimmed(raw).map(|title| Self(title.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A task description, kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDescription(String);

impl TaskDescription {
    pub fn new(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A due date between the years 1 and 9999: inside what every client and PostgreSQL can
/// represent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueAt(DateTime<Utc>);

impl DueAt {
    pub fn parse(at: DateTime<Utc>) -> Result<Self, String> {
        within_four_digit_years(at).map(Self)
    }

    pub fn get(self) -> DateTime<Utc> {
        self.0
    }
}

/// When a task with `status` counts as completed: stamped `at` when it becomes done, kept
/// while it stays done (the first completion is the one that counts), cleared when it
/// leaves done.
pub fn completed_at(
    status: TaskStatus,
    previously: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match status {
        TaskStatus::Done => Some(previously.unwrap_or(at)),
        TaskStatus::Todo | TaskStatus::InProgress => None,
    }
}

/// Every client-writable field of a task, validated.
#[derive(Debug, Clone)]
pub struct TaskDraft {
    pub title: TaskTitle,
    pub description: Option<TaskDescription>,
    pub status: TaskStatus,
    pub priority: TaskPriority,
    pub due_at: Option<DueAt>,
    pub tags: TagSet,
    /// The list the task goes in; `None`: where it is (a new task: the caller's Inbox).
    pub list: Option<ListId>,
    /// Who it is assigned to (`Some(None)`: no one); `None`: as it is (a new task: no one).
    pub assignee: Option<Option<UserId>>,
}

impl TaskDraft {
    /// A digest of every field, to tell whether two requests ask for the same task. Tags
    /// count as a set, spelled as given.
    pub fn fingerprint(&self) -> [u8; 32] {
        let status: &str = self.status.into();
        let priority: &str = self.priority.into();
        let mut hasher = Sha256::new();
        // Each field ends with a NUL, which no field can hold; no description is a NUL.
        for field in [
            self.title.as_str(),
            self.description
                .as_ref()
                .map_or("\u{0}", TaskDescription::as_str),
            status,
            priority,
            &self
                .due_at
                .map(|due| due.get().timestamp_micros().to_string())
                .unwrap_or_default(),
        ] {
            hasher.update(field.as_bytes());
            hasher.update([0]);
        }
        for tag in self.tags.names() {
            hasher.update(tag.as_str().as_bytes());
            hasher.update([0]);
        }
        // After the tags' NULs: a list and an assignee, or a marker for none.
        for id in [
            self.list.map(|list| list.0),
            self.assignee.flatten().map(|user| user.0),
        ] {
            match id {
                Some(id) => hasher.update(id.as_bytes()),
                None => hasher.update([1]),
            }
        }
        hasher.finalize().into()
    }
}

/// Changes to some fields of a task, validated: `None` keeps a field, and for the fields
/// that can be empty, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct TaskEdit {
    pub title: Option<TaskTitle>,
    pub description: Option<Option<TaskDescription>>,
    pub status: Option<TaskStatus>,
    pub priority: Option<TaskPriority>,
    pub due_at: Option<Option<DueAt>>,
    pub tags: Option<TagSet>,
    pub list: Option<ListId>,
    pub assignee: Option<Option<UserId>>,
}

impl TaskEdit {
    /// `current`'s writable fields with these changes made.
    pub fn applied_to(self, current: &Task) -> TaskDraft {
        TaskDraft {
            title: or_current(self.title, &current.title),
            description: or_current(self.description, &current.description),
            status: self.status.unwrap_or(current.status),
            priority: self.priority.unwrap_or(current.priority),
            // A stored due date passed this type's check when it was written.
            due_at: self.due_at.unwrap_or(current.due_at.map(DueAt)),
            tags: or_current(self.tags, &current.tags),
            list: self.list,
            assignee: self.assignee,
        }
    }
}

/// A draft as it is written: the client's fields, where the task goes and to whom, and
/// the times the server sets.
#[derive(Debug, Clone)]
pub struct TaskChange {
    pub draft: TaskDraft,
    pub placement: Placement,
    pub completed_at: Option<DateTime<Utc>>,
    /// When the change happens: `updated_at`, and `created_at` of a new task.
    pub at: DateTime<Utc>,
}

impl TaskChange {
    /// A new task in `placement`; completed `at` if it starts out done.
    pub fn create(draft: TaskDraft, placement: Placement, at: DateTime<Utc>) -> Self {
        Self {
            completed_at: completed_at(draft.status, None, at),
            draft,
            placement,
            at,
        }
    }

    /// `current`, replaced by `draft`, in `placement`.
    pub fn replace(
        current: &Task,
        draft: TaskDraft,
        placement: Placement,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            completed_at: completed_at(draft.status, current.completed_at, at),
            draft,
            placement,
            at,
        }
    }
}

/// Where a task is: its list, and who in that list it is assigned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub list: ListId,
    pub assignee: Option<UserId>,
}

/// A task as stored.
#[derive(Debug, Clone)]
pub struct Task {
    pub id: TaskId,
    pub list: ListId,
    pub assignee: Option<UserId>,
    pub title: TaskTitle,
    pub description: Option<TaskDescription>,
    pub status: TaskStatus,
    pub priority: TaskPriority,
    pub due_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub tags: TagSet,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: Version,
}

/// One page of the tasks a user can see.
pub type TaskPage = Page<Task, TaskCursor>;

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        rfc3339.parse().expect("a timestamp")
    }

    #[test]
    fn titles_are_trimmed_and_not_empty() {
        assert_eq!(
            TaskTitle::parse("  Buy milk \n").expect("valid").as_str(),
            "Buy milk"
        );
        assert!(TaskTitle::parse(" \t ").is_err());
    }

    #[test]
    fn due_dates_stay_within_four_digit_years() {
        let far = DateTime::parse_from_rfc3339("+10000-01-01T00:00:00Z");
        if let Ok(far) = far {
            assert!(DueAt::parse(far.with_timezone(&Utc)).is_err());
        }
        let ordinary = DateTime::parse_from_rfc3339("2030-05-01T12:00:00+02:00").expect("valid");
        assert!(DueAt::parse(ordinary.with_timezone(&Utc)).is_ok());
    }

    #[test]
    fn becoming_done_stamps_the_completion_time() {
        let now = at("2026-11-25T10:00:00Z");
        assert_eq!(completed_at(TaskStatus::Done, None, now), Some(now));
    }

    #[test]
    fn staying_done_keeps_the_first_completion_time() {
        let first = at("2026-11-20T08:30:00Z");
        let now = at("2026-11-25T10:00:00Z");
        assert_eq!(
            completed_at(TaskStatus::Done, Some(first), now),
            Some(first)
        );
    }

    #[test]
    fn leaving_done_clears_the_completion_time() {
        let first = Some(at("2026-11-20T08:30:00Z"));
        let now = at("2026-11-25T10:00:00Z");
        for status in [TaskStatus::Todo, TaskStatus::InProgress] {
            assert_eq!(completed_at(status, first, now), None, "{status:?}");
            assert_eq!(completed_at(status, None, now), None, "{status:?}");
        }
    }
}
