//! Entry points of `/tasks`.

use taskapi_api::{
    body::JsonBody,
    paging::{Cursor, PageLimit},
    problem::Errors,
    tasks::{
        CreateTaskErrors, ListTasksErrors, ReplaceTaskErrors, Task, TaskBackend, TaskByIdErrors,
        TaskInput, TaskPage,
    },
};
use uuid::Uuid;

use super::{AppState, page_request};
use crate::domain::{Caller, TaskDraft, TaskId};

impl TaskBackend for AppState {
    async fn create_task(
        &self,
        caller: Caller,
        body: JsonBody<TaskInput>,
    ) -> Result<Task, Errors<CreateTaskErrors>> {
        let draft: TaskDraft = self.bodies.json(body)?.try_into()?;
        Ok(self.tasks.create(caller.user, draft).await?.into())
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
    ) -> Result<Task, Errors<TaskByIdErrors>> {
        Ok(self.tasks.get(caller.user, TaskId(task_id)).await?.into())
    }

    async fn replace_task(
        &self,
        caller: Caller,
        task_id: Uuid,
        body: JsonBody<TaskInput>,
    ) -> Result<Task, Errors<ReplaceTaskErrors>> {
        let draft: TaskDraft = self.bodies.json(body)?.try_into()?;
        let task = self
            .tasks
            .replace(caller.user, TaskId(task_id), draft)
            .await?;
        Ok(task.into())
    }

    async fn delete_task(
        &self,
        caller: Caller,
        task_id: Uuid,
    ) -> Result<(), Errors<TaskByIdErrors>> {
        Ok(self.tasks.delete(caller.user, TaskId(task_id)).await?)
    }
}
