//! `/tasks`: the caller's own tasks. Every operation is scoped to the caller; another
//! user's task is indistinguishable from one that does not exist.

use std::{future::Future, sync::Arc};

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Header, Path, Query},
    types::{Example, MaybeUndefined},
};
use serde::Serialize;
use strum::{EnumString, IntoStaticStr, VariantArray};
use uuid::Uuid;

use crate::{
    ApiTag,
    body::JsonBody,
    json::{self, Serialized},
    paging::{Cursor, PageLimit},
    problem::{Errors, error_set},
    security::{Authenticate, BearerAuth},
    text::{PlainText, SingleLineChars, Text},
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
pub type TagName = Text<1, TAG_MAX_CHARS, SingleLineChars>;
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Enum, VariantArray)]
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

/// What a task listing asks for: which tasks (every filter given must hold), in which
/// order, and which page.
#[derive(Debug, Clone, Default)]
pub struct TaskQuery {
    pub limit: PageLimit,
    pub cursor: Option<Cursor>,
    pub sort: TaskSort,
    pub status: Vec<TaskStatus>,
    pub priority: Vec<TaskPriority>,
    pub tag: Vec<TagName>,
    pub due_before: Option<DateTime<Utc>>,
    pub due_after: Option<DateTime<Utc>>,
    pub overdue: Option<bool>,
    pub has_due: Option<bool>,
    pub updated_since: Option<DateTime<Utc>>,
    pub q: Option<SearchText>,
}

/// A task, as stored.
#[derive(Debug, Clone, Object, Serialize)]
#[oai(example)]
pub struct Task {
    pub id: Uuid,
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
    pub title: PlainText<1, TITLE_MAX_CHARS>,
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
    #[oai(skip_serializing_if_is_none, validator(max_items = 20))]
    pub tags: Option<Vec<TagName>>,
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
    pub title: Option<PlainText<1, TITLE_MAX_CHARS>>,
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
    #[oai(skip_serializing_if_is_none, validator(max_items = 20))]
    pub tags: Option<Vec<TagName>>,
}

impl Example for TaskPatch {
    fn example() -> Self {
        Self {
            title: None,
            description: MaybeUndefined::Undefined,
            status: Some(TaskStatus::Done),
            priority: None,
            due_at: MaybeUndefined::Null,
            tags: None,
        }
    }
}

/// One page of tasks, in the order the listing asked for.
#[derive(Debug, Clone, Object, Serialize)]
#[oai(example)]
pub struct TaskPage {
    pub items: Vec<Task>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

impl Example for Task {
    fn example() -> Self {
        Self {
            id: Uuid::from_u128(0x0194_b2a4_0000_7000_8000_0000_0000_0002),
            title: "Buy milk".to_owned(),
            description: Some("Two litres, semi-skimmed.".to_owned()),
            status: TaskStatus::Todo,
            priority: TaskPriority::High,
            due_at: Some(crate::EXAMPLE_TIME + chrono::Duration::days(1)),
            completed_at: None,
            tags: vec!["errands".to_owned(), "Home".to_owned()],
            created_at: crate::EXAMPLE_TIME,
            updated_at: crate::EXAMPLE_TIME,
        }
    }
}

impl Example for TaskInput {
    fn example() -> Self {
        Self {
            title: PlainText::new("Buy milk"),
            description: Some(PlainText::new("Two litres, semi-skimmed.")),
            status: TaskStatus::Todo,
            priority: TaskPriority::High,
            due_at: Some(crate::EXAMPLE_TIME + chrono::Duration::days(1)),
            tags: Some(vec![TagName::new("errands"), TagName::new("Home")]),
        }
    }
}

impl Example for TaskPage {
    fn example() -> Self {
        Self {
            items: vec![Task::example()],
            next_cursor: Some(
                "MTc3MjM4NDQwMDAwMDAwMC4wMTk0YjJhNDAwMDA3MDAwODAwMDAwMDAwMDAwMDAwMg".to_owned(),
            ),
        }
    }
}

/// A task and the strong entity tag of its current version.
#[derive(Debug, Clone)]
pub struct TaggedTask {
    pub task: Task,
    pub etag: String,
}

/// What reading a task with `If-None-Match` gives.
#[derive(Debug, Clone)]
pub enum TaskRead {
    Current(TaggedTask),
    /// The client's copy is current; `etag` names it.
    NotModified {
        etag: String,
    },
}

/// What the server behind `/tasks` does, always on behalf of one caller.
pub trait TaskBackend: Authenticate {
    fn create_task(
        &self,
        caller: Self::Caller,
        idempotency_key: Option<String>,
        body: JsonBody<TaskInput>,
    ) -> impl Future<Output = Result<TaggedTask, Errors<CreateTaskErrors>>> + Send;

    fn list_tasks(
        &self,
        caller: Self::Caller,
        query: TaskQuery,
    ) -> impl Future<Output = Result<TaskPage, Errors<ListTasksErrors>>> + Send;

    fn get_task(
        &self,
        caller: Self::Caller,
        task_id: Uuid,
        if_none_match: Option<String>,
    ) -> impl Future<Output = Result<TaskRead, Errors<GetTaskErrors>>> + Send;

    fn replace_task(
        &self,
        caller: Self::Caller,
        task_id: Uuid,
        if_match: Option<String>,
        body: JsonBody<TaskInput>,
    ) -> impl Future<Output = Result<TaggedTask, Errors<ReplaceTaskErrors>>> + Send;

    fn delete_task(
        &self,
        caller: Self::Caller,
        task_id: Uuid,
        if_match: Option<String>,
    ) -> impl Future<Output = Result<(), Errors<DeleteTaskErrors>>> + Send;

    fn update_task(
        &self,
        caller: Self::Caller,
        task_id: Uuid,
        if_match: Option<String>,
        body: JsonBody<TaskPatch>,
    ) -> impl Future<Output = Result<TaggedTask, Errors<ReplaceTaskErrors>>> + Send;
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

#[derive(ApiResponse)]
pub enum GetTaskResponse {
    /// The task; `ETag` is its version.
    #[oai(status = 200)]
    Ok(Serialized<Task>, #[oai(header = "ETag")] String),
    /// `If-None-Match` names the current version: the client's copy is current.
    #[oai(status = 304)]
    NotModified(#[oai(header = "ETag")] String),
}

#[derive(ApiResponse)]
pub enum TaskPageResponse {
    /// A page of the caller's tasks.
    #[oai(status = 200)]
    Ok(Serialized<TaskPage>),
}

#[derive(ApiResponse)]
pub enum TaskResponse {
    /// The task as it is now; `ETag` is its new version.
    #[oai(status = 200)]
    Ok(Serialized<Task>, #[oai(header = "ETag")] String),
}

#[derive(ApiResponse)]
pub enum DeleteTaskResponse {
    /// The task was deleted.
    #[oai(status = 204)]
    NoContent,
}

error_set!(
    /// Errors of `create_task`.
    CreateTaskErrors: 400, 401, 409, 413, 415, 422, 429
);
error_set!(
    /// Errors of `list_tasks`.
    ListTasksErrors: 400, 401, 422, 429
);
error_set!(
    /// Errors of `get_task`.
    GetTaskErrors: 400, 401, 404, 429
);
error_set!(
    /// Errors of `delete_task`.
    DeleteTaskErrors: 400, 401, 404, 412, 428, 429
);
error_set!(
    /// Errors of `replace_task` and `update_task`.
    ReplaceTaskErrors: 400, 401, 404, 412, 413, 415, 422, 428, 429
);

/// A header's value as the client sent it. poem-openapi passes over a value that is not
/// visible ASCII as if the header were absent; a condition or an idempotency key must not
/// be ignored, so such a value is kept (decoded lossily) for the server to refuse, or to
/// match no version.
fn as_sent(request: &Request, name: &str, parsed: Header<Option<String>>) -> Option<String> {
    parsed.0.or_else(|| {
        request
            .headers()
            .get(name)
            .map(|raw| String::from_utf8_lossy(raw.as_bytes()).into_owned())
    })
}

pub struct TasksApi<B> {
    pub backend: Arc<B>,
}

#[OpenApi(prefix_path = "/tasks", tag = "ApiTag::Tasks")]
impl<B: TaskBackend> TasksApi<B> {
    /// Create a task
    ///
    /// Creates a task owned by the caller. With an `Idempotency-Key`, a retry of the same
    /// request (same key, same body, within the key's lifetime, 24 hours by default) creates
    /// nothing and gets the first response again; the same key with another body is refused
    /// (422), and while the first request with a key is still running, a second one is
    /// refused (409) and may be retried.
    #[oai(path = "/", method = "post", operation_id = "create_task")]
    async fn create(
        &self,
        request: &Request,
        auth: BearerAuth,
        /// A unique value per intended task (a UUID, say), 1 to 255 visible ASCII characters, bare or as a quoted string.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
        body: JsonBody<TaskInput>,
    ) -> Result<CreateTaskResponse, Errors<CreateTaskErrors>> {
        let caller = self.backend.authenticate(auth).await?;
        let idempotency_key = as_sent(request, "Idempotency-Key", idempotency_key);
        let TaggedTask { task, etag } = self
            .backend
            .create_task(caller, idempotency_key, body)
            .await?;
        let location = format!("/tasks/{}", task.id);
        Ok(CreateTaskResponse::Created(
            Serialized(task),
            location,
            etag,
        ))
    }

    /// List tasks
    ///
    /// The caller's tasks that match every filter given, in the order `sort` names, one
    /// bounded page at a time. Follow `next_cursor` (with the same filters and sort) until
    /// it is `null`: a task that exists throughout the walk and keeps its place in the
    /// order appears exactly once, whatever is created, changed or deleted in between; a
    /// task whose sort field changes moves to its new place. Repeat a parameter to give
    /// several values (`status=todo&status=in_progress`).
    #[oai(path = "/", method = "get", operation_id = "list_tasks")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        auth: BearerAuth,
        /// How many tasks the page holds.
        #[oai(default)]
        limit: Query<PageLimit>,
        /// The previous page's `next_cursor`, with the same filters and sort; omit for page one.
        cursor: Query<Option<Cursor>>,
        /// The order; `-` in front reverses it. See the `TaskSort` schema for each order.
        sort: Query<Option<TaskSort>>,
        /// Only tasks with one of these statuses.
        status: Query<Option<Vec<TaskStatus>>>,
        /// Only tasks with one of these priorities.
        priority: Query<Option<Vec<TaskPriority>>>,
        /// Only tasks carrying every one of these tags (compared ignoring case).
        tag: Query<Option<Vec<TagName>>>,
        /// Only tasks due before this time (RFC 3339).
        due_before: Query<Option<DateTime<Utc>>>,
        /// Only tasks due at or after this time (RFC 3339).
        due_after: Query<Option<DateTime<Utc>>>,
        /// `true`: only tasks past their due time and not done; `false`: only the others.
        overdue: Query<Option<bool>>,
        /// `true`: only tasks with a due time; `false`: only tasks without one.
        has_due: Query<Option<bool>>,
        /// Only tasks changed (or created) at or after this time (RFC 3339), for syncing.
        updated_since: Query<Option<DateTime<Utc>>>,
        /// Words to find in the title, description or tags: each must start a word there, ignoring case (`dent` finds `Dentist`).
        q: Query<Option<SearchText>>,
    ) -> Result<TaskPageResponse, Errors<ListTasksErrors>> {
        let caller = self.backend.authenticate(auth).await?;
        let query = TaskQuery {
            limit: limit.0,
            cursor: cursor.0,
            sort: sort.0.unwrap_or_default(),
            status: status.0.unwrap_or_default(),
            priority: priority.0.unwrap_or_default(),
            tag: tag.0.unwrap_or_default(),
            due_before: due_before.0,
            due_after: due_after.0,
            overdue: overdue.0,
            has_due: has_due.0,
            updated_since: updated_since.0,
            q: q.0,
        };
        let page = self.backend.list_tasks(caller, query).await?;
        Ok(TaskPageResponse::Ok(Serialized(page)))
    }

    /// Get a task
    ///
    /// One of the caller's tasks, by id, with its version as `ETag`. With `If-None-Match`
    /// naming the current version, the answer is 304 and no body.
    #[oai(path = "/:task_id", method = "get", operation_id = "get_task")]
    async fn get(
        &self,
        request: &Request,
        auth: BearerAuth,
        task_id: Path<Uuid>,
        /// Entity tags of copies the client holds (`"3"`, or `*`); weak tags compare too.
        #[oai(name = "If-None-Match")]
        if_none_match: Header<Option<String>>,
    ) -> Result<GetTaskResponse, Errors<GetTaskErrors>> {
        let caller = self.backend.authenticate(auth).await?;
        let read = self
            .backend
            .get_task(
                caller,
                task_id.0,
                as_sent(request, "If-None-Match", if_none_match),
            )
            .await?;
        Ok(match read {
            TaskRead::Current(TaggedTask { task, etag }) => {
                GetTaskResponse::Ok(Serialized(task), etag)
            }
            TaskRead::NotModified { etag } => GetTaskResponse::NotModified(etag),
        })
    }

    /// Replace a task
    ///
    /// Replaces every client-writable field; omitted optional fields take their defaults.
    /// `completed_at` is set when `status` becomes `done` and cleared when it leaves it.
    /// With `If-Match`, the task is replaced only if it is still at that version (else
    /// 412, with the current `ETag`), so two clients cannot overwrite each other unseen.
    #[oai(path = "/:task_id", method = "put", operation_id = "replace_task")]
    async fn replace(
        &self,
        request: &Request,
        auth: BearerAuth,
        task_id: Path<Uuid>,
        /// The `ETag` of the version being replaced (`"3"`), or `*`; 428 without, if required.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: JsonBody<TaskInput>,
    ) -> Result<TaskResponse, Errors<ReplaceTaskErrors>> {
        let caller = self.backend.authenticate(auth).await?;
        let TaggedTask { task, etag } = self
            .backend
            .replace_task(
                caller,
                task_id.0,
                as_sent(request, "If-Match", if_match),
                body,
            )
            .await?;
        Ok(TaskResponse::Ok(Serialized(task), etag))
    }

    /// Change some fields of a task
    ///
    /// A JSON Merge Patch (RFC 7396; `application/merge-patch+json` or `application/json`):
    /// fields left out keep their value, fields given are set, and `null` clears
    /// `description` or `due_at`. Every value follows the rules of `PUT`, and so does
    /// `completed_at`. With `If-Match`, only if the task is still at that version (else 412,
    /// with the current `ETag`).
    #[oai(path = "/:task_id", method = "patch", operation_id = "update_task")]
    async fn update(
        &self,
        request: &Request,
        auth: BearerAuth,
        task_id: Path<Uuid>,
        /// The `ETag` of the version being changed (`"3"`), or `*`; 428 without, if required.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: JsonBody<TaskPatch>,
    ) -> Result<TaskResponse, Errors<ReplaceTaskErrors>> {
        let caller = self.backend.authenticate(auth).await?;
        let TaggedTask { task, etag } = self
            .backend
            .update_task(
                caller,
                task_id.0,
                as_sent(request, "If-Match", if_match),
                body,
            )
            .await?;
        Ok(TaskResponse::Ok(Serialized(task), etag))
    }

    /// Delete a task
    ///
    /// Deletes one of the caller's tasks for good. With `If-Match`, only if it is still at
    /// that version (else 412, with the current `ETag`).
    #[oai(path = "/:task_id", method = "delete", operation_id = "delete_task")]
    async fn delete(
        &self,
        request: &Request,
        auth: BearerAuth,
        task_id: Path<Uuid>,
        /// The `ETag` of the version being deleted (`"3"`), or `*`; 428 without, if required.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
    ) -> Result<DeleteTaskResponse, Errors<DeleteTaskErrors>> {
        let caller = self.backend.authenticate(auth).await?;
        self.backend
            .delete_task(caller, task_id.0, as_sent(request, "If-Match", if_match))
            .await?;
        Ok(DeleteTaskResponse::NoContent)
    }
}
