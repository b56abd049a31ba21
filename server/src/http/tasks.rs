//! Entry points of `/tasks`.

use taskapi_api::{
    body::JsonBody,
    paging::{Cursor, PageLimit},
    problem::Errors,
    tasks::{
        CreateTaskErrors, DeleteTaskErrors, GetTaskErrors, ListTasksErrors, ReplaceTaskErrors,
        TaggedTask, TaskBackend, TaskInput, TaskPage, TaskPatch, TaskRead,
    },
};
use uuid::Uuid;

use super::{AppState, page_request};
use crate::{
    domain::{Caller, Condition, Task, TaskDraft, TaskEdit, TaskId},
    service::tasks::Read,
};

impl TaskBackend for AppState {
    async fn create_task(
        &self,
        caller: Caller,
        body: JsonBody<TaskInput>,
    ) -> Result<TaggedTask, Errors<CreateTaskErrors>> {
        let draft: TaskDraft = self.bodies.json(body)?.try_into()?;
        Ok(tagged(self.tasks.create(caller.user, draft).await?))
    }

    async fn list_tasks(
        &self,
        caller: Caller,
        limit: PageLimit,
        cursor: Option<Cursor>,
    ) -> Result<TaskPage, Errors<ListTasksErrors>> {
        let (size, after) = page_request(limit, cursor)?;
        Ok(self.tasks.list(caller.user, size, after).await?.into())
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
