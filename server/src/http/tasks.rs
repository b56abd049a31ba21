//! Entry points of `/tasks`.

use taskapi_api::{
    body::JsonBody,
    problem::Errors,
    tasks::{
        CreateTaskErrors, DeleteTaskErrors, GetTaskErrors, ListTasksErrors, ReplaceTaskErrors,
        TaggedTask, TaskBackend, TaskInput, TaskPage, TaskPatch, TaskQuery, TaskRead,
    },
};
use uuid::Uuid;

use super::AppState;
use crate::{
    domain::{
        Caller, Condition, FieldErrors, IdempotencyKey, Task, TaskDraft, TaskEdit, TaskId,
        TaskListing,
    },
    service::tasks::Read,
};

impl TaskBackend for AppState {
    async fn create_task(
        &self,
        caller: Caller,
        idempotency_key: Option<String>,
        body: JsonBody<TaskInput>,
    ) -> Result<TaggedTask, Errors<CreateTaskErrors>> {
        let key = idempotency_key
            .map(|key| IdempotencyKey::parse(&key))
            .transpose()
            .map_err(|message| FieldErrors::single("Idempotency-Key", message))?;
        let draft: TaskDraft = self.bodies.json(body)?.try_into()?;
        Ok(tagged(self.tasks.create(caller.user, draft, key).await?))
    }

    async fn list_tasks(
        &self,
        caller: Caller,
        query: TaskQuery,
    ) -> Result<TaskPage, Errors<ListTasksErrors>> {
        let listing = TaskListing::try_from(query)?;
        Ok(self.tasks.list(caller.user, &listing).await?.into())
    }

    async fn get_task(
        &self,
        caller: Caller,
        task_id: Uuid,
        if_none_match: Option<String>,
    ) -> Result<TaskRead, Errors<GetTaskErrors>> {
        let condition = if_none_match.as_deref().map(Condition::parse);
        Ok(
            match self
                .tasks
                .get(caller.user, TaskId(task_id), condition)
                .await?
            {
                Read::Current(task) => TaskRead::Current(tagged(task)),
                Read::NotModified(version) => TaskRead::NotModified {
                    etag: version.etag(),
                },
            },
        )
    }

    async fn replace_task(
        &self,
        caller: Caller,
        task_id: Uuid,
        if_match: Option<String>,
        body: JsonBody<TaskInput>,
    ) -> Result<TaggedTask, Errors<ReplaceTaskErrors>> {
        let draft: TaskDraft = self.bodies.json(body)?.try_into()?;
        let condition = if_match.as_deref().map(Condition::parse);
        let task = self
            .tasks
            .replace(caller.user, TaskId(task_id), draft, condition)
            .await?;
        Ok(tagged(task))
    }

    async fn update_task(
        &self,
        caller: Caller,
        task_id: Uuid,
        if_match: Option<String>,
        body: JsonBody<TaskPatch>,
    ) -> Result<TaggedTask, Errors<ReplaceTaskErrors>> {
        let edit: TaskEdit = self.bodies.json(body)?.try_into()?;
        let condition = if_match.as_deref().map(Condition::parse);
        let task = self
            .tasks
            .update(caller.user, TaskId(task_id), edit, condition)
            .await?;
        Ok(tagged(task))
    }

    async fn delete_task(
        &self,
        caller: Caller,
        task_id: Uuid,
        if_match: Option<String>,
    ) -> Result<(), Errors<DeleteTaskErrors>> {
        let condition = if_match.as_deref().map(Condition::parse);
        Ok(self
            .tasks
            .delete(caller.user, TaskId(task_id), condition)
            .await?)
    }
}

/// A task with the entity tag of its version.
fn tagged(task: Task) -> TaggedTask {
    let etag = task.version.etag();
    TaggedTask {
        task: task.into(),
        etag,
    }
}
