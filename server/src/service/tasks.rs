//! The caller's tasks. Every operation takes the owner and passes it to the store, which
//! makes it part of the query.

use chrono::{DateTime, SubsecRound, Utc};

use super::Failure;
use crate::{
    domain::{PageCursor, PageSize, Task, TaskChange, TaskDraft, TaskId, TaskPage, UserId},
    store::{Database, tasks},
};

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// No such task, or it belongs to someone else; the two are not told apart.
    #[error("task not found")]
    NotFound,
    #[error(transparent)]
    Failed(#[from] Failure),
}

#[derive(Clone)]
pub struct TaskService {
    db: Database,
}

/// The time of a change, at the microsecond precision PostgreSQL keeps.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

impl TaskService {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    pub async fn create(&self, owner: UserId, draft: TaskDraft) -> Result<Task, Failure> {
        let change = TaskChange::create(draft, now());
        tasks::insert(&mut *self.db.acquire().await?, owner, &change).await
    }

    pub async fn list(
        &self,
        owner: UserId,
        size: PageSize,
        after: Option<PageCursor>,
    ) -> Result<TaskPage, Failure> {
        let items = tasks::list(
            &mut *self.db.acquire().await?,
            owner,
            after,
            TaskPage::lookahead(size),
        )
        .await?;
        Ok(TaskPage::from_lookahead(items, size, Task::position))
    }

    pub async fn get(&self, owner: UserId, id: TaskId) -> Result<Task, TaskError> {
        tasks::find(&mut *self.db.acquire().await?, owner, id)
            .await?
            .ok_or(TaskError::NotFound)
    }

    /// Replaces the writable fields. The task is read and written in one transaction, with
    /// its row locked in between, so the completion rule sees the state it replaces.
    pub async fn replace(
        &self,
        owner: UserId,
        id: TaskId,
        draft: TaskDraft,
    ) -> Result<Task, TaskError> {
        let mut transaction = self.db.begin().await?;
        let current = tasks::find_for_update(&mut *transaction, owner, id)
            .await?
            .ok_or(TaskError::NotFound)?;
        let change = TaskChange::replace(&current, draft, now());
        let replaced = tasks::update(&mut *transaction, owner, id, &change)
            .await?
            // The row is locked: it cannot have gone since it was read.
            .ok_or_else(|| Failure::internal("a locked task vanished", id.0.to_string()))?;
        transaction.commit().await.map_err(Failure::from)?;
        Ok(replaced)
    }

    pub async fn delete(&self, owner: UserId, id: TaskId) -> Result<(), TaskError> {
        match tasks::delete(&mut *self.db.acquire().await?, owner, id).await? {
            true => Ok(()),
            false => Err(TaskError::NotFound),
        }
    }
}
