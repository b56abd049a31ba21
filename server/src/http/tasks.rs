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

use super::AppState;
use crate::domain::{FieldErrors, PageCursor, PageSize, TaskDraft, TaskId, UserId};

impl TaskBackend for AppState {
    async fn create_task(
        &self,
        owner: UserId,
        body: JsonBody<TaskInput>,
    ) -> Result<Task, Errors<CreateTaskErrors>> {
        let draft: TaskDraft = self.bodies.json(body)?.try_into()?;
        Ok(self.tasks.create(owner, draft).await?.into())
    }

    async fn list_tasks(
        &self,
        owner: UserId,
        limit: PageLimit,
        cursor: Option<Cursor>,
    ) -> Result<TaskPage, Errors<ListTasksErrors>> {
        let mut errors = FieldErrors::default();
        let size = errors.check("limit", PageSize::try_from(limit));
        let after = errors.check_optional("cursor", cursor, |cursor| {
            PageCursor::decode(cursor.as_str())
        });
        let (Some(size), Some(after)) = (size, after) else {
            return Err(errors.into());
        };
        Ok(self.tasks.list(owner, size, after).await?.into())
    }

    async fn get_task(&self, owner: UserId, task_id: Uuid) -> Result<Task, Errors<TaskByIdErrors>> {
        Ok(self.tasks.get(owner, TaskId(task_id)).await?.into())
    }

    async fn replace_task(
        &self,
        owner: UserId,
        task_id: Uuid,
        body: JsonBody<TaskInput>,
    ) -> Result<Task, Errors<ReplaceTaskErrors>> {
        let draft: TaskDraft = self.bodies.json(body)?.try_into()?;
        let task = self.tasks.replace(owner, TaskId(task_id), draft).await?;
        Ok(task.into())
    }

    async fn delete_task(
        &self,
        owner: UserId,
        task_id: Uuid,
    ) -> Result<(), Errors<TaskByIdErrors>> {
        Ok(self.tasks.delete(owner, TaskId(task_id)).await?)
    }
}
