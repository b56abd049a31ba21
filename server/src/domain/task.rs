use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Datelike, Utc};
use uuid::Uuid;

use super::{UserId, reject_control_chars};

/// The id of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskId(pub Uuid);

/// A task title: 1 to 500 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTitle(String);

impl TaskTitle {
    pub const MAX_CHARS: usize = 500;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let title = raw.trim();
        if title.is_empty() {
            return Err("must not be empty".to_owned());
        }
        if title.chars().count() > Self::MAX_CHARS {
            return Err(format!("must be at most {} characters", Self::MAX_CHARS));
        }
        reject_control_chars(title)?;
        Ok(Self(title.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A task description: at most 10 000 characters, kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDescription(String);

impl TaskDescription {
    pub const MAX_CHARS: usize = 10_000;

    pub fn parse(raw: String) -> Result<Self, String> {
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(format!("must be at most {} characters", Self::MAX_CHARS));
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

/// Where a task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    Todo,
    InProgress,
    Done,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Todo => "todo",
            Self::InProgress => "in_progress",
            Self::Done => "done",
        }
    }

    /// A task is completed exactly while it is done; the store stamps `completed_at`.
    pub fn is_done(self) -> bool {
        self == Self::Done
    }

    pub fn from_stored(stored: &str) -> Option<Self> {
        [Self::Todo, Self::InProgress, Self::Done]
            .into_iter()
            .find(|status| status.as_str() == stored)
    }
}

/// How urgent a task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskPriority {
    Low,
    Normal,
    High,
    Urgent,
}

impl TaskPriority {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }

    pub fn from_stored(stored: &str) -> Option<Self> {
        [Self::Low, Self::Normal, Self::High, Self::Urgent]
            .into_iter()
            .find(|priority| priority.as_str() == stored)
    }
}

/// Every client-writable field of a task, validated: what a create or a replace stores.
#[derive(Debug, Clone)]
pub struct TaskDraft {
    pub title: TaskTitle,
    pub description: Option<TaskDescription>,
    pub status: TaskStatus,
    pub priority: TaskPriority,
    pub due_at: Option<DueAt>,
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

/// A page size of the task listing: 1 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u16);

impl PageSize {
    pub const MAX: u16 = 100;

    pub fn parse(raw: u32) -> Result<Self, String> {
        match u16::try_from(raw) {
            Ok(size) if (1..=Self::MAX).contains(&size) => Ok(Self(size)),
            _ => Err(format!("must be between 1 and {}", Self::MAX)),
        }
    }

    pub fn get(self) -> u16 {
        self.0
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
        let raw = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| invalid())?;
        let raw = String::from_utf8(raw).map_err(|_| invalid())?;
        let (micros, id) = raw.split_once('.').ok_or_else(invalid)?;
        let micros: i64 = micros.parse().map_err(|_| invalid())?;
        let created_at = DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?;
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

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(
            TaskTitle::parse("  Buy milk \n").expect("valid").as_str(),
            "Buy milk"
        );
        assert!(TaskTitle::parse(" \t ").is_err());
        assert!(TaskTitle::parse(&"t".repeat(500)).is_ok());
        assert!(TaskTitle::parse(&"t".repeat(501)).is_err());
        assert!(TaskTitle::parse("nul\0byte").is_err());
    }

    #[test]
    fn descriptions_are_bounded_and_keep_newlines() {
        assert!(TaskDescription::parse("line one\nline two\ttabbed".to_owned()).is_ok());
        assert!(TaskDescription::parse("d".repeat(10_001)).is_err());
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
    fn page_sizes_are_between_one_and_a_hundred() {
        assert!(PageSize::parse(0).is_err());
        assert_eq!(PageSize::parse(100).expect("valid").get(), 100);
        assert!(PageSize::parse(101).is_err());
        assert!(PageSize::parse(u32::MAX).is_err());
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
        ] {
            assert!(PageCursor::decode(garbage).is_err(), "{garbage:?}");
        }
    }

    #[test]
    fn stored_enum_values_round_trip() {
        for status in [TaskStatus::Todo, TaskStatus::InProgress, TaskStatus::Done] {
            assert_eq!(TaskStatus::from_stored(status.as_str()), Some(status));
        }
        for priority in [
            TaskPriority::Low,
            TaskPriority::Normal,
            TaskPriority::High,
            TaskPriority::Urgent,
        ] {
            assert_eq!(TaskPriority::from_stored(priority.as_str()), Some(priority));
        }
        assert_eq!(TaskStatus::from_stored("DONE"), None);
    }
}
