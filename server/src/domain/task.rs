use chrono::{DateTime, Datelike, Utc};
use poem_openapi::types::MaybeUndefined;
use taskapi_api::tasks::{self as contract, DESCRIPTION_MAX_CHARS, TITLE_MAX_CHARS};
use uuid::Uuid;

use sha2::{Digest, Sha256};
use strum::{EnumString, IntoStaticStr, VariantArray};

use super::{
    FieldErrors, Page, TagName, TagSet, TaskCursor, UserId, Version, reject_control_chars,
    trimmed_line,
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

/// A task title: not empty after trimming, at most [`TITLE_MAX_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTitle(String);

impl TaskTitle {
    pub fn parse(raw: &str) -> Result<Self, String> {
        trimmed_line(raw, TITLE_MAX_CHARS).map(|title| Self(title.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A task description: at most [`DESCRIPTION_MAX_CHARS`] characters, kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDescription(String);

impl TaskDescription {
    pub fn parse(raw: String) -> Result<Self, String> {
        if raw.chars().count() > DESCRIPTION_MAX_CHARS {
            return Err(super::too_long(DESCRIPTION_MAX_CHARS));
        }
        reject_control_chars(&raw)?;
        Ok(Self(raw))
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
        if !(1..=9999).contains(&at.year()) {
            return Err("must be between the years 1 and 9999".to_owned());
        }
        Ok(Self(at))
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
        hasher.finalize().into()
    }
}

/// A list of tag names from a request, as a set.
fn tag_set(names: Vec<contract::TagName>) -> Result<TagSet, String> {
    let names: Vec<TagName> = names
        .iter()
        .map(|name| TagName::parse(name.as_str()))
        .collect::<Result<_, String>>()?;
    TagSet::parse(names)
}

impl TryFrom<contract::TaskInput> for TaskDraft {
    type Error = FieldErrors;

    fn try_from(input: contract::TaskInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let title = errors.check("title", TaskTitle::parse(input.title.as_str()));
        let description = errors.check_optional("description", input.description, |text| {
            TaskDescription::parse(text.into_inner())
        });
        let due_at = errors.check_optional("due_at", input.due_at, DueAt::parse);
        let tags = errors.check("tags", tag_set(input.tags.unwrap_or_default()));
        let (Some(title), Some(description), Some(due_at), Some(tags)) =
            (title, description, due_at, tags)
        else {
            return Err(errors);
        };
        Ok(Self {
            title,
            description,
            status: input.status.into(),
            priority: input.priority.into(),
            due_at,
            tags,
        })
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
}

impl TaskEdit {
    /// `current`'s writable fields with these changes made.
    pub fn applied_to(self, current: &Task) -> TaskDraft {
        TaskDraft {
            title: self.title.unwrap_or_else(|| current.title.clone()),
            description: self
                .description
                .unwrap_or_else(|| current.description.clone()),
            status: self.status.unwrap_or(current.status),
            priority: self.priority.unwrap_or(current.priority),
            // A stored due date passed this type's check when it was written.
            due_at: self.due_at.unwrap_or(current.due_at.map(DueAt)),
            tags: self.tags.unwrap_or_else(|| current.tags.clone()),
        }
    }
}

/// A merge-patch field: absent, `null`, or a value to parse.
fn patched<R, T>(
    errors: &mut FieldErrors,
    field: &str,
    raw: MaybeUndefined<R>,
    parse: impl FnOnce(R) -> Result<T, String>,
) -> Option<Option<Option<T>>> {
    match raw {
        MaybeUndefined::Undefined => Some(None),
        MaybeUndefined::Null => Some(Some(None)),
        MaybeUndefined::Value(raw) => errors
            .check(field, parse(raw))
            .map(|value| Some(Some(value))),
    }
}

impl TryFrom<contract::TaskPatch> for TaskEdit {
    type Error = FieldErrors;

    fn try_from(patch: contract::TaskPatch) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let title = errors.check_optional("title", patch.title, |title| {
            TaskTitle::parse(title.as_str())
        });
        let description = patched(&mut errors, "description", patch.description, |text| {
            TaskDescription::parse(text.into_inner())
        });
        let due_at = patched(&mut errors, "due_at", patch.due_at, DueAt::parse);
        let tags = errors.check_optional("tags", patch.tags, tag_set);
        let (Some(title), Some(description), Some(due_at), Some(tags)) =
            (title, description, due_at, tags)
        else {
            return Err(errors);
        };
        Ok(Self {
            title,
            description,
            status: patch.status.map(Into::into),
            priority: patch.priority.map(Into::into),
            due_at,
            tags,
        })
    }
}

/// A draft as it is written: the client's fields and the times the server sets.
#[derive(Debug, Clone)]
pub struct TaskChange {
    pub draft: TaskDraft,
    pub completed_at: Option<DateTime<Utc>>,
    /// When the change happens: `updated_at`, and `created_at` of a new task.
    pub at: DateTime<Utc>,
}

impl TaskChange {
    /// A new task; completed `at` if it starts out done.
    pub fn create(draft: TaskDraft, at: DateTime<Utc>) -> Self {
        Self {
            completed_at: completed_at(draft.status, None, at),
            draft,
            at,
        }
    }

    /// `current`, replaced by `draft`.
    pub fn replace(current: &Task, draft: TaskDraft, at: DateTime<Utc>) -> Self {
        Self {
            completed_at: completed_at(draft.status, current.completed_at, at),
            draft,
            at,
        }
    }
}

/// A task as stored.
#[derive(Debug, Clone)]
pub struct Task {
    pub id: TaskId,
    pub owner: UserId,
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

impl From<Task> for contract::Task {
    fn from(task: Task) -> Self {
        Self {
            id: task.id.0,
            title: task.title.0,
            description: task.description.map(|description| description.0),
            status: task.status.into(),
            priority: task.priority.into(),
            due_at: task.due_at,
            completed_at: task.completed_at,
            tags: task.tags.into_strings(),
            created_at: task.created_at,
            updated_at: task.updated_at,
        }
    }
}

/// One page of the owner's tasks.
pub type TaskPage = Page<Task, TaskCursor>;

impl From<TaskPage> for contract::TaskPage {
    fn from(page: TaskPage) -> Self {
        Self {
            items: page.items.into_iter().map(Into::into).collect(),
            next_cursor: page.next.as_ref().map(TaskCursor::encode),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        rfc3339.parse().expect("a timestamp")
    }

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(
            TaskTitle::parse("  Buy milk \n").expect("valid").as_str(),
            "Buy milk"
        );
        assert!(TaskTitle::parse(" \t ").is_err());
        assert!(TaskTitle::parse(&"t".repeat(TITLE_MAX_CHARS)).is_ok());
        assert!(TaskTitle::parse(&"t".repeat(TITLE_MAX_CHARS + 1)).is_err());
        assert!(TaskTitle::parse("nul\0byte").is_err());
    }

    #[test]
    fn descriptions_are_bounded_and_keep_newlines() {
        assert!(TaskDescription::parse("line one\nline two\ttabbed".to_owned()).is_ok());
        assert!(TaskDescription::parse("d".repeat(DESCRIPTION_MAX_CHARS + 1)).is_err());
        assert!(TaskDescription::parse("bell\u{7}".to_owned()).is_err());
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
