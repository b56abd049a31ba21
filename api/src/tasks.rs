//! `/tasks`: the tasks of the lists the caller can see (their own, and those shared with
//! them). A task in a list the caller cannot see is indistinguishable from one that does
//! not exist; one they can see but may not change answers 403.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use poem_openapi::{
    ApiResponse, Enum, Object,
    registry::{MetaSchema, MetaSchemaRef, Registry},
    types::{MaybeUndefined, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde::Serialize;
use serde_json::Value;
use strum::{EnumString, IntoStaticStr, VariantArray};
use uuid::Uuid;

use crate::{
    json::{self, Serialized},
    problem::error_sets,
    text::{NonBlankPlainChars, NonBlankSingleLineChars, PlainText, Text},
};

/// Longest task title, in characters, once surrounding whitespace is trimmed.
pub const TITLE_MAX_CHARS: usize = 500;
/// Longest task description, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 10_000;
/// Longest tag name, in characters, once surrounding whitespace is trimmed.
pub const TAG_MAX_CHARS: usize = 50;
/// Most tags one task carries.
pub const MAX_TAGS_PER_TASK: usize = 20;
/// Longest search text (`q`), in characters.
pub const SEARCH_MAX_CHARS: usize = 200;
/// Longest `Idempotency-Key`, in characters.
pub const IDEMPOTENCY_KEY_MAX_CHARS: usize = 255;

/// A tag name as a client writes it: trimmed by the server, compared ignoring case.
pub type TagName = Text<1, TAG_MAX_CHARS, NonBlankSingleLineChars>;
/// A task's title as a client writes it: trimmed by the server, so not white space alone.
pub type Title = Text<1, TITLE_MAX_CHARS, NonBlankPlainChars>;
/// The tags a client gives a task: at most [`MAX_TAGS_PER_TASK`] names. The schema states
/// the bound; the server checks a body against the schema before decoding it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagNames(pub Vec<TagName>);

impl Type for TagNames {
    const IS_REQUIRED: bool = true;

    type RawValueType = Self;

    type RawElementValueType = <Vec<TagName> as Type>::RawElementValueType;

    fn name() -> Cow<'static, str> {
        Vec::<TagName>::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            items: Some(Box::new(TagName::schema_ref())),
            max_items: Some(MAX_TAGS_PER_TASK),
            ..MetaSchema::new("array")
        }))
    }

    fn register(registry: &mut Registry) {
        Vec::<TagName>::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        self.0.raw_element_iter()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl ParseFromJSON for TagNames {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        Vec::parse_from_json(value)
            .map(Self)
            .map_err(poem_openapi::types::ParseError::propagate)
    }
}

impl ToJSON for TagNames {
    fn to_json(&self) -> Option<Value> {
        self.0.to_json()
    }
}

/// What a client searches its tasks for.
pub type SearchText = PlainText<1, SEARCH_MAX_CHARS>;

/// Where a task stands.
// The snake_case names are the wire format and also how the database stores a status.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Enum, IntoStaticStr, EnumString, VariantArray,
)]
#[oai(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum TaskStatus {
    #[default]
    Todo,
    InProgress,
    Done,
}

/// How urgent a task is.
// The snake_case names are the wire format and also how the database stores a priority.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Enum, IntoStaticStr, EnumString, VariantArray,
)]
#[oai(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum TaskPriority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

/// The order of a task listing: a field, optionally reversed with a leading `-`.
/// `created_at`: newest first (the default). `updated_at`: most recently changed first.
/// `due_at`: soonest first, tasks without a due date last. `priority`: urgent first.
/// `title`: A to Z, ignoring case. Ties go by creation, in the same direction.
// Its strum names are the `x-enum-varnames` the spec gives each value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Enum, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskSort {
    #[default]
    #[oai(rename = "created_at")]
    CreatedAt,
    #[oai(rename = "-created_at")]
    CreatedAtReversed,
    #[oai(rename = "updated_at")]
    UpdatedAt,
    #[oai(rename = "-updated_at")]
    UpdatedAtReversed,
    #[oai(rename = "due_at")]
    DueAt,
    #[oai(rename = "-due_at")]
    DueAtReversed,
    #[oai(rename = "priority")]
    Priority,
    #[oai(rename = "-priority")]
    PriorityReversed,
    #[oai(rename = "title")]
    Title,
    #[oai(rename = "-title")]
    TitleReversed,
}

/// A task, as stored.
#[derive(Debug, Clone, Object, Serialize)]
#[oai(example)]
pub struct Task {
    pub id: Uuid,
    /// The list the task is in.
    pub list_id: Uuid,
    /// The member of the list the task is assigned to, if anyone.
    #[oai(nullable)]
    pub assignee_id: Option<Uuid>,
    pub title: String,
    #[oai(nullable)]
    pub description: Option<String>,
    #[serde(serialize_with = "json::wire_name")]
    pub status: TaskStatus,
    #[serde(serialize_with = "json::wire_name")]
    pub priority: TaskPriority,
    /// When the task is due, if ever.
    #[oai(nullable)]
    #[serde(serialize_with = "json::rfc3339_or_null")]
    pub due_at: Option<DateTime<Utc>>,
    /// Set by the server when `status` becomes `done`; cleared when it leaves `done`.
    #[oai(nullable)]
    #[serde(serialize_with = "json::rfc3339_or_null")]
    pub completed_at: Option<DateTime<Utc>>,
    /// The task's tags, in alphabetical order ignoring case.
    pub tags: Vec<String>,
    #[serde(serialize_with = "json::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "json::rfc3339")]
    pub updated_at: DateTime<Utc>,
}

/// The client-writable fields of a task. `POST` creates a task from them; `PUT` replaces
/// all of them, so an omitted optional field takes its default. Fields not listed here
/// (`id`, owner, timestamps) are set by the server and refused in a request.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct TaskInput {
    /// Surrounding whitespace is trimmed, and what remains must not be empty; no control
    /// characters except tab and line breaks.
    pub title: Title,
    /// No control characters except tab and line breaks; `null` or absent for none.
    #[oai(nullable)]
    pub description: Option<PlainText<0, DESCRIPTION_MAX_CHARS>>,
    #[oai(default)]
    pub status: TaskStatus,
    #[oai(default)]
    pub priority: TaskPriority,
    /// An RFC 3339 timestamp between the years 1 and 9999; `null` or absent for none.
    #[oai(nullable)]
    pub due_at: Option<DateTime<Utc>>,
    /// Up to 20 tag names, each trimmed and compared ignoring case; a name the caller
    /// already uses keeps the spelling it was first given. Repeats count once; absent for
    /// none.
    #[oai(skip_serializing_if_is_none)]
    pub tags: Option<TagNames>,
    /// The list the task goes in (you must be an editor there). Absent: a new task goes in
    /// your Inbox, and a replaced one stays where it is.
    #[oai(skip_serializing_if_is_none)]
    pub list_id: Option<Uuid>,
    /// A member of the task's list to assign it to; `null` for no one. Absent: a new task
    /// is unassigned, and a replaced one keeps its assignee.
    #[oai(nullable, skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub assignee_id: MaybeUndefined<Uuid>,
}

/// Changes to some fields of a task, as a JSON Merge Patch (RFC 7396): a field left out
/// stays as it is, a field with a value is set, and `null` clears `description` or
/// `due_at`. `title`, `status` and `priority` cannot be cleared: `null` for them is refused
/// (422). The same rules as `PUT` apply to every value.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct TaskPatch {
    /// Surrounding whitespace is trimmed, and what remains must not be empty.
    #[oai(skip_serializing_if_is_none)]
    pub title: Option<Title>,
    /// `null` clears it.
    #[oai(nullable, skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub description: MaybeUndefined<PlainText<0, DESCRIPTION_MAX_CHARS>>,
    // No doc comments on enum-typed fields: they become an `allOf` some generators refuse.
    #[oai(skip_serializing_if_is_none)]
    pub status: Option<TaskStatus>,
    #[oai(skip_serializing_if_is_none)]
    pub priority: Option<TaskPriority>,
    /// An RFC 3339 timestamp between the years 1 and 9999; `null` clears it.
    #[oai(nullable, skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub due_at: MaybeUndefined<DateTime<Utc>>,
    /// The task's new set of tags (the rules of `PUT`); `[]` removes every tag.
    #[oai(skip_serializing_if_is_none)]
    pub tags: Option<TagNames>,
    /// Moves the task to this list (you must be an editor of both). An assignee who is not
    /// a member of the new list is unassigned.
    #[oai(skip_serializing_if_is_none)]
    pub list_id: Option<Uuid>,
    /// A member of the task's list to assign it to; `null` unassigns it.
    #[oai(nullable, skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub assignee_id: MaybeUndefined<Uuid>,
}

pages! {
    /// One page of tasks, in the order the listing asked for.
    TaskPage(Task) + Serialize =
        "MTc3MjM4NDQwMDAwMDAwMC4wMTk0YjJhNDAwMDA3MDAwODAwMDAwMDAwMDAwMDAwMg";
}

examples! {
    TaskPatch => TaskPatch {
        title: None,
        description: MaybeUndefined::Undefined,
        status: Some(TaskStatus::Done),
        priority: None,
        due_at: MaybeUndefined::Null,
        tags: None,
        list_id: None,
        assignee_id: MaybeUndefined::Undefined,
    };
    Task => Task {
        id: Uuid::from_u128(0x0194_b2a4_0000_7000_8000_0000_0000_0002),
        list_id: Uuid::from_u128(0x0194_b2a4_0000_7000_8000_0000_0000_0010),
        assignee_id: None,
        title: "Buy milk".to_owned(),
        description: Some("Two litres, semi-skimmed.".to_owned()),
        status: TaskStatus::Todo,
        priority: TaskPriority::High,
        due_at: Some(crate::EXAMPLE_TIME + chrono::Duration::days(1)),
        completed_at: None,
        tags: vec!["errands".to_owned(), "Home".to_owned()],
        created_at: crate::EXAMPLE_TIME,
        updated_at: crate::EXAMPLE_TIME,
    };
    TaskInput => TaskInput {
        title: Title::new("Buy milk"),
        description: Some(PlainText::new("Two litres, semi-skimmed.")),
        status: TaskStatus::Todo,
        priority: TaskPriority::High,
        due_at: Some(crate::EXAMPLE_TIME + chrono::Duration::days(1)),
        tags: Some(TagNames(vec![
            TagName::new("errands"),
            TagName::new("Home"),
        ])),
        list_id: None,
        assignee_id: MaybeUndefined::Undefined,
    };
}

#[derive(ApiResponse)]
pub enum CreateTaskResponse {
    /// The task was created (or, for a repeated `Idempotency-Key`, had been: this is the
    /// first response again); `Location` is its URL and `ETag` its version.
    #[oai(status = 201)]
    Created(
        Serialized<Task>,
        #[oai(header = "Location")] String,
        #[oai(header = "ETag")] String,
    ),
}

conditional_reads! {
    "The task; `ETag` is its version."
    GetTaskResponse(Serialized<Task>);
}

responses! {
    /// A page of the caller's tasks.
    TaskPageResponse: 200 Ok(Serialized<TaskPage>);
    /// The task was deleted.
    DeleteTaskResponse: 204 NoContent;
}

#[derive(ApiResponse)]
pub enum TaskResponse {
    /// The task as it is now; `ETag` is its new version.
    #[oai(status = 200)]
    Ok(Serialized<Task>, #[oai(header = "ETag")] String),
}

error_sets! {
    /// Errors of `create_task`.
    CreateTaskErrors: 400, 401, 403, 409, 413, 415, 422, 429;
    /// Errors of `list_tasks`.
    ListTasksErrors: 400, 401, 403, 404, 422, 429;
    /// Errors of `get_task`.
    GetTaskErrors: 400, 401, 403, 404, 429;
    /// Errors of `delete_task`.
    DeleteTaskErrors: 400, 401, 403, 404, 412, 428, 429;
    /// Errors of `replace_task` and `update_task`.
    ReplaceTaskErrors: 400, 401, 403, 404, 412, 413, 415, 422, 428, 429;
}
