//! The caller's tasks. Every operation takes the owner and passes it to the store, which
//! makes it part of the query.

use chrono::{DateTime, SubsecRound, Utc};

use super::Failure;
use crate::{
    domain::{
        Condition, PageCursor, PageSize, Task, TaskChange, TaskDraft, TaskEdit, TaskId, TaskPage,
        UserId, Version,
    },
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

/// Why a change to a task was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error(transparent)]
    Task(#[from] TaskError),
    /// `If-Match` does not name the task's current version.
    #[error("the task has changed (it is at version {current:?})")]
    PreconditionFailed { current: Version },
    /// This server requires `If-Match` on every change, and there was none.
    #[error("changes need If-Match")]
    PreconditionRequired,
}

impl From<Failure> for ChangeError {
    fn from(failure: Failure) -> Self {
        Self::Task(failure.into())
    }
}

/// What reading a task with `If-None-Match` gives.
#[derive(Debug)]
pub enum Read {
    Current(Task),
    /// The client's copy is current.
    NotModified(Version),
}

#[derive(Clone)]
pub struct TaskService {
    db: Database,
    /// Whether every change must name the version it replaces (`If-Match`).
    require_if_match: bool,
}

/// The time of a change, at the microsecond precision PostgreSQL keeps.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

impl TaskService {
    pub fn new(db: Database, require_if_match: bool) -> Self {
        Self {
            db,
            require_if_match,
        }
    }

    /// The condition a change was sent with, unless this server requires one and it has
    /// none.
    fn precondition(&self, if_match: Option<Condition>) -> Result<Option<Condition>, ChangeError> {
        match if_match {
            None if self.require_if_match => Err(ChangeError::PreconditionRequired),
            condition => Ok(condition),
        }
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

    /// The task, unless `if_none_match` names its current version (weak comparison).
    pub async fn get(
        &self,
        owner: UserId,
        id: TaskId,
        if_none_match: Option<Condition>,
    ) -> Result<Read, TaskError> {
        let task = tasks::find(&mut *self.db.acquire().await?, owner, id)
            .await?
            .ok_or(TaskError::NotFound)?;
        Ok(match if_none_match {
            Some(condition) if condition.matches_weakly(task.version) => {
                Read::NotModified(task.version)
            }
            _ => Read::Current(task),
        })
    }

    /// Replaces the writable fields, if `if_match` (when given) names the current version.
    pub async fn replace(
        &self,
        owner: UserId,
        id: TaskId,
        draft: TaskDraft,
        if_match: Option<Condition>,
    ) -> Result<Task, ChangeError> {
        self.change(owner, id, if_match, |_| draft).await
    }

    /// Changes the fields `edit` names (a merge patch), if `if_match` (when given) names
    /// the current version.
    pub async fn update(
        &self,
        owner: UserId,
        id: TaskId,
        edit: TaskEdit,
        if_match: Option<Condition>,
    ) -> Result<Task, ChangeError> {
        self.change(owner, id, if_match, |current| edit.applied_to(current))
            .await
    }

    /// Writes the draft `make` derives from the current task. The task is read, checked and
    /// written in one transaction, with its row locked in between, so the draft and the
    /// completion rule see the state they replace and, of two writers naming the same
    /// version, exactly one succeeds.
    async fn change(
        &self,
        owner: UserId,
        id: TaskId,
        if_match: Option<Condition>,
        make: impl FnOnce(&Task) -> TaskDraft,
    ) -> Result<Task, ChangeError> {
        let if_match = self.precondition(if_match)?;
        let mut transaction = self.db.begin().await?;
        let current = tasks::find_for_update(&mut *transaction, owner, id)
            .await?
            .ok_or(TaskError::NotFound)?;
        check(if_match.as_ref(), &current)?;
        let change = TaskChange::replace(&current, make(&current), now());
        let replaced = tasks::update(&mut *transaction, owner, id, &change)
            .await?
            // The row is locked: it cannot have gone since it was read.
            .ok_or_else(|| Failure::internal("a locked task vanished", id.0.to_string()))?;
        transaction.commit().await.map_err(Failure::from)?;
        Ok(replaced)
    }

    /// Deletes the task, if `if_match` (when given) names its current version; checked
    /// and deleted with the row locked in between.
    pub async fn delete(
        &self,
        owner: UserId,
        id: TaskId,
        if_match: Option<Condition>,
    ) -> Result<(), ChangeError> {
        let Some(if_match) = self.precondition(if_match)? else {
            return match tasks::delete(&mut *self.db.acquire().await?, owner, id).await? {
                true => Ok(()),
                false => Err(TaskError::NotFound.into()),
            };
        };
        let mut transaction = self.db.begin().await?;
        let current = tasks::find_for_update(&mut *transaction, owner, id)
            .await?
            .ok_or(TaskError::NotFound)?;
        check(Some(&if_match), &current)?;
        if !tasks::delete(&mut *transaction, owner, id).await? {
            // The row is locked: it cannot have gone since it was read.
            return Err(Failure::internal("a locked task vanished", id.0.to_string()).into());
        }
        transaction.commit().await.map_err(Failure::from)?;
        Ok(())
    }
}

/// Refuses a change whose `If-Match` does not name `current`'s version (strong comparison).
fn check(if_match: Option<&Condition>, current: &Task) -> Result<(), ChangeError> {
    match if_match {
        Some(condition) if !condition.matches_strongly(current.version) => {
            Err(ChangeError::PreconditionFailed {
                current: current.version,
            })
        }
        _ => Ok(()),
    }
}
