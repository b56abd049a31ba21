//! `/tasks`: the tasks of the lists the caller can see. A task in any other list is
//! indistinguishable from one that does not exist.

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::types::MaybeUndefined;
use taskapi_api::{
    json::Serialized,
    tasks::{
        self as contract, CreateTaskErrors, CreateTaskResponse, DESCRIPTION_MAX_CHARS,
        DeleteTaskErrors, DeleteTaskResponse, GetTaskErrors, GetTaskResponse,
        IDEMPOTENCY_KEY_MAX_CHARS, ListTasksErrors, ReplaceTaskErrors, SearchText, TagName,
        TagNames, TaskInput, TaskPageResponse, TaskPatch, TaskPriority, TaskResponse, TaskSort,
        TaskStatus,
    },
    text::PlainText,
};

use super::{TaskQuery, as_sent, body::JsonBody, condition, conditional, listing, prelude::*};
use crate::domain::{
    self, DueAt, FieldErrors, IdempotencyKey, ListId, TagSet, Task, TaskDescription, TaskDraft,
    TaskEdit, TaskId, TaskTitle, UserId,
};

super::same_variants!(TaskStatus, domain::TaskStatus: Todo, InProgress, Done);
super::same_variants!(TaskPriority, domain::TaskPriority: Low, Normal, High, Urgent);

/// The operations on `/tasks`.
pub enum Tasks {}

#[OpenApi(prefix_path = "/tasks", tag = "ApiTag::Tasks")]
impl Api<Tasks> {
    /// Create a task
    ///
    /// Creates a task in the list `list_id` names (the caller must be an editor there), or
    /// in the caller's Inbox. With an `Idempotency-Key`, a retry of the same
    /// request (same key, same body, within the key's lifetime, 24 hours by default) creates
    /// nothing and gets the first response again; the same key with another body is refused
    /// (422), and while the first request with a key is still running, a second one is
    /// refused (409) and may be retried.
    #[oai(path = "/", method = "post", operation_id = "create_task")]
    async fn create_task(
        &self,
        request: &Request,
        #[oai(scope = "Scope::TasksWrite")] auth: BearerAuth,
        /// A unique value per intended task (a UUID, say), 1 to 255 visible ASCII characters, bare or as a quoted string.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
        body: JsonBody<TaskInput>,
    ) -> Result<CreateTaskResponse, Errors<CreateTaskErrors>> {
        let caller = self.authenticate(auth).await?;
        let key = as_sent(request, "Idempotency-Key", idempotency_key)
            .map(|key| checked_idempotency_key(&key))
            .transpose()
            .map_err(|message| FieldErrors::single("Idempotency-Key", message))?;
        let draft: TaskDraft = self.bodies.json(body)?.try_into()?;
        let task = self.tasks.create(caller.user, draft, key).await?;
        let (etag, location) = (task.version.etag(), format!("/tasks/{}", task.id.0));
        Ok(CreateTaskResponse::Created(
            Serialized(task.into()),
            location,
            etag,
        ))
    }

    /// List tasks
    ///
    /// The tasks the caller can see (in every list they own or share, or in the one
    /// `list_id` names) that match every filter given, in the order `sort` names, one
    /// bounded page at a time. Follow `next_cursor` (with the same filters and sort) until
    /// it is `null`: a task that exists throughout the walk and keeps its place in the
    /// order appears exactly once, whatever is created, changed or deleted in between; a
    /// task whose sort field changes moves to its new place. Repeat a parameter to give
    /// several values (`status=todo&status=in_progress`).
    // poem-openapi declares a parameter per argument (it has no extractor for a struct of
    // query parameters); they are gathered into one `TaskQuery` at once.
    #[oai(path = "/", method = "get", operation_id = "list_tasks")]
    #[allow(clippy::too_many_arguments)]
    async fn list_tasks(
        &self,
        #[oai(scope = "Scope::TasksRead")] auth: BearerAuth,
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
        /// Only the tasks of this list (404 if it is not one the caller can see).
        list_id: Query<Option<Uuid>>,
        /// Only tasks assigned to this member: `me`, or an account's id.
        assignee: Query<Option<String>>,
    ) -> Result<TaskPageResponse, Errors<ListTasksErrors>> {
        let caller = self.authenticate(auth).await?;
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
            list_id: list_id.0,
            assignee: assignee.0,
        };
        let listing = listing::task_listing(&self.bodies, query)?;
        let page = self.tasks.list(caller.user, &listing).await?;
        Ok(TaskPageResponse::Ok(Serialized(page_of(page, Into::into))))
    }

    /// Get a task
    ///
    /// A task the caller can see, by id, with its version as `ETag`. With `If-None-Match`
    /// naming the current version, the answer is 304 and no body.
    #[oai(path = "/:task_id", method = "get", operation_id = "get_task")]
    async fn get_task(
        &self,
        request: &Request,
        #[oai(scope = "Scope::TasksRead")] auth: BearerAuth,
        task_id: Path<Uuid>,
        /// Entity tags of copies the client holds (`"3"`, or `*`); weak tags compare too.
        #[oai(name = "If-None-Match")]
        if_none_match: Header<Option<String>>,
    ) -> Result<GetTaskResponse, Errors<GetTaskErrors>> {
        let caller = self.authenticate(auth).await?;
        let condition = condition(request, "If-None-Match", if_none_match);
        let read = self
            .tasks
            .get(caller.user, TaskId(task_id.0), condition)
            .await?;
        let ok = |task: Task, etag| GetTaskResponse::Ok(Serialized(task.into()), etag);
        let version = |task: &Task| task.version;
        Ok(conditional(read, version, ok, GetTaskResponse::NotModified))
    }

    /// Replace a task
    ///
    /// Replaces every client-writable field; omitted optional fields take their defaults.
    /// `completed_at` is set when `status` becomes `done` and cleared when it leaves it.
    /// With `If-Match`, the task is replaced only if it is still at that version (else
    /// 412, with the current `ETag`), so two clients cannot overwrite each other unseen.
    #[oai(path = "/:task_id", method = "put", operation_id = "replace_task")]
    async fn replace_task(
        &self,
        request: &Request,
        #[oai(scope = "Scope::TasksWrite")] auth: BearerAuth,
        task_id: Path<Uuid>,
        /// The `ETag` of the version being replaced (`"3"`), or `*`; 428 without, if required.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: JsonBody<TaskInput>,
    ) -> Result<TaskResponse, Errors<ReplaceTaskErrors>> {
        let caller = self.authenticate(auth).await?;
        let draft: TaskDraft = self.bodies.json(body)?.try_into()?;
        let condition = condition(request, "If-Match", if_match);
        let task = self
            .tasks
            .replace(caller.user, TaskId(task_id.0), draft, condition)
            .await?;
        Ok(changed(task))
    }

    /// Change some fields of a task
    ///
    /// A JSON Merge Patch (RFC 7396; `application/merge-patch+json` or `application/json`):
    /// fields left out keep their value, fields given are set, and `null` clears
    /// `description` or `due_at`. Every value follows the rules of `PUT`, and so does
    /// `completed_at`. With `If-Match`, only if the task is still at that version (else 412,
    /// with the current `ETag`).
    #[oai(path = "/:task_id", method = "patch", operation_id = "update_task")]
    async fn update_task(
        &self,
        request: &Request,
        #[oai(scope = "Scope::TasksWrite")] auth: BearerAuth,
        task_id: Path<Uuid>,
        /// The `ETag` of the version being changed (`"3"`), or `*`; 428 without, if required.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: JsonBody<TaskPatch>,
    ) -> Result<TaskResponse, Errors<ReplaceTaskErrors>> {
        let caller = self.authenticate(auth).await?;
        let edit: TaskEdit = self.bodies.json(body)?.try_into()?;
        let condition = condition(request, "If-Match", if_match);
        let task = self
            .tasks
            .update(caller.user, TaskId(task_id.0), edit, condition)
            .await?;
        Ok(changed(task))
    }

    /// Delete a task
    ///
    /// Deletes a task for good (the caller must be an editor of its list). With `If-Match`, only if it is still at
    /// that version (else 412, with the current `ETag`).
    #[oai(path = "/:task_id", method = "delete", operation_id = "delete_task")]
    async fn delete_task(
        &self,
        request: &Request,
        #[oai(scope = "Scope::TasksWrite")] auth: BearerAuth,
        task_id: Path<Uuid>,
        /// The `ETag` of the version being deleted (`"3"`), or `*`; 428 without, if required.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
    ) -> Result<DeleteTaskResponse, Errors<DeleteTaskErrors>> {
        let caller = self.authenticate(auth).await?;
        let condition = condition(request, "If-Match", if_match);
        self.tasks
            .delete(caller.user, TaskId(task_id.0), condition)
            .await?;
        Ok(DeleteTaskResponse::NoContent)
    }
}

/// A task as a change left it, with its new version.
fn changed(task: Task) -> TaskResponse {
    let etag = task.version.etag();
    TaskResponse::Ok(Serialized(task.into()), etag)
}

/// An `Idempotency-Key` as sent, no longer than the contract's longest.
fn checked_idempotency_key(raw: &str) -> Result<IdempotencyKey, String> {
    let key = IdempotencyKey::parse(raw)?;
    if key.as_str().len() > IDEMPOTENCY_KEY_MAX_CHARS {
        return Err(format!(
            "must be 1 to {IDEMPOTENCY_KEY_MAX_CHARS} characters"
        ));
    }
    Ok(key)
}

/// A list of tag names from a request, as a set.
fn tag_set(names: TagNames) -> Result<TagSet, String> {
    names
        .0
        .iter()
        .map(|name| domain::TagName::parse(name.as_str()))
        .collect::<Result<Vec<_>, String>>()
        .map(TagSet::new)
}

impl TryFrom<TaskInput> for TaskDraft {
    type Error = FieldErrors;

    fn try_from(input: TaskInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let title = errors.check("title", TaskTitle::parse(input.title.as_str()));
        let due_at = errors.check_optional("due_at", input.due_at, DueAt::parse);
        let tags = errors.check("tags", tag_set(input.tags.unwrap_or_default()));
        let (Some(title), Some(due_at), Some(tags)) = (title, due_at, tags) else {
            return Err(errors);
        };
        Ok(Self {
            title,
            description: input.description.map(description),
            status: input.status.into(),
            priority: input.priority.into(),
            due_at,
            tags,
            list: input.list_id.map(ListId),
            assignee: assignee(input.assignee_id),
        })
    }
}

/// An assignee as a request gives it: absent (`None`), `null` (`Some(None)`) or an id.
fn assignee(raw: MaybeUndefined<Uuid>) -> Option<Option<UserId>> {
    raw.map_value(UserId).into()
}

fn description(text: PlainText<0, DESCRIPTION_MAX_CHARS>) -> TaskDescription {
    TaskDescription::new(text.into_inner())
}

/// A merge-patch field: absent (`None`), `null` (`Some(None)`), or a value to parse.
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

impl TryFrom<TaskPatch> for TaskEdit {
    type Error = FieldErrors;

    fn try_from(patch: TaskPatch) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let title = errors.check_optional("title", patch.title, |title| {
            TaskTitle::parse(title.as_str())
        });
        let due_at = patched(&mut errors, "due_at", patch.due_at, DueAt::parse);
        let tags = errors.check_optional("tags", patch.tags, tag_set);
        let (Some(title), Some(due_at), Some(tags)) = (title, due_at, tags) else {
            return Err(errors);
        };
        Ok(Self {
            title,
            description: patch.description.map_value(description).into(),
            status: patch.status.map(Into::into),
            priority: patch.priority.map(Into::into),
            due_at,
            tags,
            list: patch.list_id.map(ListId),
            assignee: assignee(patch.assignee_id),
        })
    }
}

impl From<Task> for contract::Task {
    fn from(task: Task) -> Self {
        Self {
            id: task.id.0,
            list_id: task.list.0,
            assignee_id: task.assignee.map(|user| user.0),
            title: task.title.as_str().to_owned(),
            description: task
                .description
                .map(|description| description.as_str().to_owned()),
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
