//! The caller's tasks. Every operation takes the owner and passes it to the store, which
//! makes it part of the query.

use sqlx::PgPool;

use crate::{
    domain::{PageCursor, PageSize, Task, TaskDraft, TaskId, UserId},
    store::{StoreError, tasks},
};

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// No such task, or it belongs to someone else; the two are not told apart.
    #[error("task not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One page of a listing.
pub struct TaskPage {
    pub items: Vec<Task>,
    pub next: Option<PageCursor>,
}

#[derive(Clone)]
pub struct TaskService {
    pool: PgPool,
}

impl TaskService {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub async fn create(&self, owner: UserId, draft: TaskDraft) -> Result<Task, TaskError> {
        Ok(tasks::insert(&self.pool, owner, &draft).await?)
    }

    pub async fn list(
        &self,
        owner: UserId,
        size: PageSize,
        after: Option<PageCursor>,
    ) -> Result<TaskPage, TaskError> {
        let limit = usize::from(size.get());
        // One row past the page tells whether another page follows.
        let lookahead = u64::from(size.get()) + 1;
        let mut items = tasks::list(&self.pool, owner, after, lookahead).await?;
        let next = (items.len() > limit).then(|| {
            items.truncate(limit);
            items.last().map(PageCursor::after)
        });
        Ok(TaskPage {
            items,
            next: next.flatten(),
        })
    }

    pub async fn get(&self, owner: UserId, id: TaskId) -> Result<Task, TaskError> {
        tasks::find(&self.pool, owner, id)
            .await?
            .ok_or(TaskError::NotFound)
    }

    pub async fn replace(
        &self,
        owner: UserId,
        id: TaskId,
        draft: TaskDraft,
    ) -> Result<Task, TaskError> {
        tasks::replace(&self.pool, owner, id, &draft)
            .await?
            .ok_or(TaskError::NotFound)
    }

    pub async fn delete(&self, owner: UserId, id: TaskId) -> Result<(), TaskError> {
        match tasks::delete(&self.pool, owner, id).await? {
            true => Ok(()),
            false => Err(TaskError::NotFound),
        }
    }
}
