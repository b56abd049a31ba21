//! `/tasks`: the caller's own tasks. Every operation is scoped to the caller; another
//! user's task is indistinguishable from one that does not exist.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use uuid::Uuid;

use crate::{
    ApiTag,
    auth::Caller,
    body::{JsonBody, check_fields},
    problem::{ApiError, Errors, error_set},
    security::BearerAuth,
    text::PlainText,
};

/// Where a task stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum TaskStatus {
    #[default]
    Todo,
    InProgress,
    Done,
}

/// How urgent a task is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum TaskPriority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

/// A task, as stored.
#[derive(Debug, Clone, Object)]
pub struct Task {
    pub id: Uuid,
    pub title: String,
    #[oai(nullable)]
    pub description: Option<String>,
    pub status: TaskStatus,
    pub priority: TaskPriority,
    /// When the task is due, if ever.
    #[oai(nullable)]
    pub due_at: Option<DateTime<Utc>>,
    /// Set by the server when `status` becomes `done`; cleared when it leaves `done`.
    #[oai(nullable)]
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The client-writable fields of a task. `POST` creates a task from them; `PUT` replaces
/// all of them, so an omitted optional field takes its default. Fields not listed here
/// (`id`, owner, timestamps) are set by the server and refused in a request.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct TaskInput {
    /// 1 to 500 characters once surrounding whitespace is trimmed (so not only whitespace);
    /// no control characters except tab and line breaks.
    #[oai(validator(min_length = 1, max_length = 500))]
    pub title: PlainText,
    /// At most 10 000 characters; no control characters except tab and line breaks; `null`
    /// or absent for none.
    #[oai(validator(max_length = 10000), nullable)]
    pub description: Option<PlainText>,
    #[oai(default)]
    pub status: TaskStatus,
    #[oai(default)]
    pub priority: TaskPriority,
    /// An RFC 3339 timestamp between the years 1 and 9999; `null` or absent for none.
    #[oai(nullable)]
    pub due_at: Option<DateTime<Utc>>,
}

check_fields!(TaskInput {
    title: PlainText,
    description: Option<PlainText>,
    status: TaskStatus,
    priority: TaskPriority,
    due_at: Option<DateTime<Utc>>,
});

/// One page of tasks, newest first.
#[derive(Debug, Clone, Object)]
pub struct TaskPage {
    pub items: Vec<Task>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// Which page of tasks to list.
#[derive(Debug, Clone)]
pub struct TaskListQuery {
    pub limit: u32,
    pub cursor: Option<String>,
}

/// Default page size of `GET /tasks`.
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// What the service behind `/tasks` must do.
#[async_trait]
pub trait TaskBackend: Send + Sync + 'static {
    async fn create_task(&self, caller: Caller, input: TaskInput) -> Result<Task, ApiError>;
    async fn list_tasks(&self, caller: Caller, query: TaskListQuery) -> Result<TaskPage, ApiError>;
    async fn get_task(&self, caller: Caller, task_id: Uuid) -> Result<Task, ApiError>;
    async fn replace_task(
        &self,
        caller: Caller,
        task_id: Uuid,
        input: TaskInput,
    ) -> Result<Task, ApiError>;
    async fn delete_task(&self, caller: Caller, task_id: Uuid) -> Result<(), ApiError>;
}

#[derive(ApiResponse)]
pub enum CreateTaskResponse {
    /// The task was created; `Location` is its URL.
    #[oai(status = 201)]
    Created(Json<Task>, #[oai(header = "Location")] String),
}

#[derive(ApiResponse)]
pub enum TaskPageResponse {
    /// A page of the caller's tasks.
    #[oai(status = 200)]
    Ok(Json<TaskPage>),
}

#[derive(ApiResponse)]
pub enum TaskResponse {
    /// The task.
    #[oai(status = 200)]
    Ok(Json<Task>),
}

#[derive(ApiResponse)]
pub enum DeleteTaskResponse {
    /// The task was deleted.
    #[oai(status = 204)]
    NoContent,
}

error_set!(
    /// Errors of `create_task`.
    CreateTaskErrors: 400, 401, 413, 415, 422, 500, 503
);
error_set!(
    /// Errors of `list_tasks`.
    ListTasksErrors: 400, 401, 422, 500, 503
);
error_set!(
    /// Errors of `get_task` and `delete_task`.
    TaskByIdErrors: 400, 401, 404, 500, 503
);
error_set!(
    /// Errors of `replace_task`.
    ReplaceTaskErrors: 400, 401, 404, 413, 415, 422, 500, 503
);

pub struct TasksApi;

#[OpenApi(prefix_path = "/tasks", tag = "ApiTag::Tasks")]
impl TasksApi {
    /// Create a task
    ///
    /// Creates a task owned by the caller.
    #[oai(path = "/", method = "post", operation_id = "create_task")]
    async fn create(
        &self,
        auth: BearerAuth,
        backend: Data<&Arc<dyn TaskBackend>>,
        body: JsonBody<TaskInput>,
    ) -> Result<CreateTaskResponse, Errors<CreateTaskErrors>> {
        let task = backend.create_task(auth.0, body.0).await?;
        let location = format!("/tasks/{}", task.id);
        Ok(CreateTaskResponse::Created(Json(task), location))
    }

    /// List tasks
    ///
    /// The caller's tasks, newest first (ties broken by id), one bounded page at a time.
    /// Follow `next_cursor` until it is `null`; pages never repeat or skip a task that
    /// existed when the listing started.
    #[oai(path = "/", method = "get", operation_id = "list_tasks")]
    async fn list(
        &self,
        auth: BearerAuth,
        backend: Data<&Arc<dyn TaskBackend>>,
        /// Page size, 1 to 100 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page; omit for the first page.
        #[oai(validator(min_length = 1))]
        cursor: Query<Option<String>>,
    ) -> Result<TaskPageResponse, Errors<ListTasksErrors>> {
        let query = TaskListQuery {
            limit: limit.0.unwrap_or(DEFAULT_PAGE_SIZE),
            cursor: cursor.0,
        };
        let page = backend.list_tasks(auth.0, query).await?;
        Ok(TaskPageResponse::Ok(Json(page)))
    }

    /// Get a task
    #[oai(path = "/:task_id", method = "get", operation_id = "get_task")]
    async fn get(
        &self,
        auth: BearerAuth,
        backend: Data<&Arc<dyn TaskBackend>>,
        task_id: Path<Uuid>,
    ) -> Result<TaskResponse, Errors<TaskByIdErrors>> {
        let task = backend.get_task(auth.0, task_id.0).await?;
        Ok(TaskResponse::Ok(Json(task)))
    }

    /// Replace a task
    ///
    /// Replaces every client-writable field; omitted optional fields take their defaults.
    /// `completed_at` is set when `status` becomes `done` and cleared when it leaves it.
    #[oai(path = "/:task_id", method = "put", operation_id = "replace_task")]
    async fn replace(
        &self,
        auth: BearerAuth,
        backend: Data<&Arc<dyn TaskBackend>>,
        task_id: Path<Uuid>,
        body: JsonBody<TaskInput>,
    ) -> Result<TaskResponse, Errors<ReplaceTaskErrors>> {
        let task = backend.replace_task(auth.0, task_id.0, body.0).await?;
        Ok(TaskResponse::Ok(Json(task)))
    }

    /// Delete a task
    #[oai(path = "/:task_id", method = "delete", operation_id = "delete_task")]
    async fn delete(
        &self,
        auth: BearerAuth,
        backend: Data<&Arc<dyn TaskBackend>>,
        task_id: Path<Uuid>,
    ) -> Result<DeleteTaskResponse, Errors<TaskByIdErrors>> {
        backend.delete_task(auth.0, task_id.0).await?;
        Ok(DeleteTaskResponse::NoContent)
    }
}
