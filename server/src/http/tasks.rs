//! Entry points of `/tasks`.

use async_trait::async_trait;
use taskapi_api::{
    ApiError, Caller, TaskBackend,
    tasks::{
        Task as TaskSchema, TaskInput, TaskListQuery, TaskPage as TaskPageSchema,
        TaskPriority as PrioritySchema, TaskStatus as StatusSchema,
    },
};
use uuid::Uuid;

use super::AppState;
use crate::domain::{
    DueAt, FieldErrors, PageCursor, PageSize, Task, TaskDescription, TaskDraft, TaskId,
    TaskPriority, TaskStatus, TaskTitle, UserId,
};

#[async_trait]
impl TaskBackend for AppState {
    async fn create_task(&self, caller: Caller, input: TaskInput) -> Result<TaskSchema, ApiError> {
        let draft = parse_draft(input)?;
        let task = self.tasks.create(owner(caller), draft).await?;
        Ok(task_schema(task))
    }

    async fn list_tasks(
        &self,
        caller: Caller,
        query: TaskListQuery,
    ) -> Result<TaskPageSchema, ApiError> {
        let mut errors = FieldErrors::default();
        let size = errors.check("limit", PageSize::parse(query.limit));
        let after =
            errors.check_optional("cursor", query.cursor, |cursor| PageCursor::decode(&cursor));
        let (Some(size), Some(after)) = (size, after) else {
            return Err(errors.into());
        };
        let page = self.tasks.list(owner(caller), size, after).await?;
        Ok(TaskPageSchema {
            items: page.items.into_iter().map(task_schema).collect(),
            next_cursor: page.next.map(|cursor| cursor.encode()),
        })
    }

    async fn get_task(&self, caller: Caller, task_id: Uuid) -> Result<TaskSchema, ApiError> {
        let task = self.tasks.get(owner(caller), TaskId(task_id)).await?;
        Ok(task_schema(task))
    }

    async fn replace_task(
        &self,
        caller: Caller,
        task_id: Uuid,
        input: TaskInput,
    ) -> Result<TaskSchema, ApiError> {
        let draft = parse_draft(input)?;
        let task = self
            .tasks
            .replace(owner(caller), TaskId(task_id), draft)
            .await?;
        Ok(task_schema(task))
    }

    async fn delete_task(&self, caller: Caller, task_id: Uuid) -> Result<(), ApiError> {
        self.tasks.delete(owner(caller), TaskId(task_id)).await?;
        Ok(())
    }
}

fn owner(caller: Caller) -> UserId {
    UserId(caller.user_id)
}

fn parse_draft(input: TaskInput) -> Result<TaskDraft, FieldErrors> {
    let mut errors = FieldErrors::default();
    let title = errors.check("title", TaskTitle::parse(input.title.as_ref()));
    let description = errors.check_optional("description", input.description, |text| {
        TaskDescription::parse(text.into_inner())
    });
    let due_at = errors.check_optional("due_at", input.due_at, DueAt::parse);
    let (Some(title), Some(description), Some(due_at)) = (title, description, due_at) else {
        return Err(errors);
    };
    Ok(TaskDraft {
        title,
        description,
        status: status(input.status),
        priority: priority(input.priority),
        due_at,
    })
}

fn status(schema: StatusSchema) -> TaskStatus {
    match schema {
        StatusSchema::Todo => TaskStatus::Todo,
        StatusSchema::InProgress => TaskStatus::InProgress,
        StatusSchema::Done => TaskStatus::Done,
    }
}

fn status_schema(status: TaskStatus) -> StatusSchema {
    match status {
        TaskStatus::Todo => StatusSchema::Todo,
        TaskStatus::InProgress => StatusSchema::InProgress,
        TaskStatus::Done => StatusSchema::Done,
    }
}

fn priority(schema: PrioritySchema) -> TaskPriority {
    match schema {
        PrioritySchema::Low => TaskPriority::Low,
        PrioritySchema::Normal => TaskPriority::Normal,
        PrioritySchema::High => TaskPriority::High,
        PrioritySchema::Urgent => TaskPriority::Urgent,
    }
}

fn priority_schema(priority: TaskPriority) -> PrioritySchema {
    match priority {
        TaskPriority::Low => PrioritySchema::Low,
        TaskPriority::Normal => PrioritySchema::Normal,
        TaskPriority::High => PrioritySchema::High,
        TaskPriority::Urgent => PrioritySchema::Urgent,
    }
}

fn task_schema(task: Task) -> TaskSchema {
    TaskSchema {
        id: task.id.0,
        title: task.title.as_str().to_owned(),
        description: task.description.map(|d| d.as_str().to_owned()),
        status: status_schema(task.status),
        priority: priority_schema(task.priority),
        due_at: task.due_at,
        completed_at: task.completed_at,
        created_at: task.created_at,
        updated_at: task.updated_at,
    }
}
