use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Datelike, Utc};
use taskapi_api::paging::{MAX_CURSOR_CHARS, MAX_PAGE_SIZE, PageLimit};
use taskapi_api::tasks::{self as contract, DESCRIPTION_MAX_CHARS, TITLE_MAX_CHARS};
pub use taskapi_api::tasks::{TaskPriority, TaskStatus};
use uuid::Uuid;

use super::{FieldErrors, UserId, reject_control_chars, trimmed_line};

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
            return Err(format!(
                "must be at most {DESCRIPTION_MAX_CHARS} characters"
            ));
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
        let (Some(title), Some(description), Some(due_at)) = (title, description, due_at) else {
            return Err(errors);
        };
        Ok(Self {
            title,
            description,
            status: input.status,
            priority: input.priority,
            due_at,
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
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Task> for contract::Task {
    fn from(task: Task) -> Self {
        Self {
            id: task.id.0,
            title: task.title.0,
            description: task.description.map(|description| description.0),
            status: task.status,
            priority: task.priority,
            due_at: task.due_at,
            completed_at: task.completed_at,
            created_at: task.created_at,
            updated_at: task.updated_at,
        }
    }
}

/// One page of a listing, and where the next one starts.
#[derive(Debug)]
pub struct TaskPage {
    pub items: Vec<Task>,
    pub next: Option<PageCursor>,
}

impl From<TaskPage> for contract::TaskPage {
    fn from(page: TaskPage) -> Self {
        Self {
            items: page.items.into_iter().map(Into::into).collect(),
            next_cursor: page.next.as_ref().map(PageCursor::encode),
        }
    }
}

/// How many tasks a page holds: 1 to [`MAX_PAGE_SIZE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u16);

impl PageSize {
    pub fn get(self) -> u16 {
        self.0
    }
}

impl TryFrom<PageLimit> for PageSize {
    type Error = String;

    fn try_from(limit: PageLimit) -> Result<Self, String> {
        u16::try_from(limit.0)
            .ok()
            .filter(|size| (1..=MAX_PAGE_SIZE).contains(size))
            .map(Self)
            .ok_or_else(|| format!("must be between 1 and {MAX_PAGE_SIZE}"))
    }
}

/// A position in the listing order (newest first, ties by id): the last task of a page.
/// Clients see it as an opaque URL-safe string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCursor {
    pub created_at: DateTime<Utc>,
    pub id: TaskId,
}

impl PageCursor {
    pub fn after(task: &Task) -> Self {
        Self {
            created_at: task.created_at,
            id: task.id,
        }
    }

    pub fn encode(&self) -> String {
        let raw = format!(
            "{}.{}",
            self.created_at.timestamp_micros(),
            self.id.0.simple()
        );
        URL_SAFE_NO_PAD.encode(raw)
    }

    pub fn decode(encoded: &str) -> Result<Self, String> {
        let invalid = || "is not a cursor this API returned".to_owned();
        if encoded.len() > MAX_CURSOR_CHARS {
            return Err(invalid());
        }
        let raw = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| invalid())?;
        let raw = String::from_utf8(raw).map_err(|_| invalid())?;
        let (micros, id) = raw.split_once('.').ok_or_else(invalid)?;
        let micros: i64 = micros.parse().map_err(|_| invalid())?;
        // Only times the database can compare with: a forged far-off time is not a cursor.
        let created_at = DateTime::from_timestamp_micros(micros)
            .filter(|at| (1..=9999).contains(&at.year()))
            .ok_or_else(invalid)?;
        let id = Uuid::try_parse(id).map_err(|_| invalid())?;
        Ok(Self {
            created_at,
            id: TaskId(id),
        })
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

    #[test]
    fn page_sizes_are_between_one_and_the_maximum() {
        let size = |limit: i64| PageSize::try_from(PageLimit(limit)).map(PageSize::get);
        assert_eq!(size(1), Ok(1));
        assert_eq!(size(i64::from(MAX_PAGE_SIZE)), Ok(MAX_PAGE_SIZE));
        for refused in [0, -1, i64::from(MAX_PAGE_SIZE) + 1, i64::MAX, i64::MIN] {
            assert!(size(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = PageCursor {
            created_at: DateTime::from_timestamp_micros(1_764_000_000_123_456).expect("valid"),
            id: TaskId(Uuid::now_v7()),
        };
        assert_eq!(PageCursor::decode(&cursor.encode()), Ok(cursor));
        for garbage in [
            "",
            "!!!",
            "bm90IGEgY3Vyc29y",
            &URL_SAFE_NO_PAD.encode("1.xyz"),
            &"A".repeat(MAX_CURSOR_CHARS + 1),
            // A time before PostgreSQL's first (once a 500), and one after its last.
            &URL_SAFE_NO_PAD.encode("-8210298412800000000.01a21468aa197116b4e36be73e97049b"),
            &URL_SAFE_NO_PAD.encode("8210298412800000000.01a21468aa197116b4e36be73e97049b"),
        ] {
            assert!(PageCursor::decode(garbage).is_err(), "{garbage:?}");
        }
    }
}
