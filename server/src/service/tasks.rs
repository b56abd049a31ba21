//! The caller's tasks. Every operation takes the owner and passes it to the store, which
//! makes it part of the query.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::{Failure, after, now};
use crate::{
    domain::{
        Condition, IdempotencyKey, Task, TaskChange, TaskDraft, TaskEdit, TaskFilter, TaskId,
        TaskListing, TaskPage, UserId, Version,
    },
    store::{
        Database, idempotency, tags,
        tasks::{self, Spelled},
    },
    telemetry::metrics,
};

super::not_found_error!(
    /// No such task, or it belongs to someone else.
    TaskError: "task not found"
);

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

/// Why a task was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// Another request with the same idempotency key is still running.
    #[error("a request with this idempotency key is in progress")]
    KeyInUse,
    /// The idempotency key already answered a different request.
    #[error("the idempotency key was used for a different request")]
    KeyReused,
    #[error(transparent)]
    Failed(#[from] Failure),
}

/// What reading a task with `If-None-Match` gives.
#[derive(Debug)]
pub enum Read {
    Current(Task),
    /// The client's copy is current.
    NotModified(Version),
}

/// What a server's settings decide about tasks.
#[derive(Debug, Clone, Copy)]
pub struct TaskPolicy {
    /// Whether every change must name the version it replaces (`If-Match`).
    pub require_if_match: bool,
    /// How long an idempotency key answers with the response it first gave.
    pub idempotency_ttl: Duration,
}

#[derive(Clone)]
pub struct TaskService {
    db: Database,
    policy: TaskPolicy,
}

impl TaskService {
    pub fn new(db: Database, policy: TaskPolicy) -> Self {
        Self { db, policy }
    }

    /// Deletes idempotency keys whose lifetime has passed (a periodic job); how many.
    pub async fn purge_expired_keys(&self) -> Result<u64, Failure> {
        let mut db = self.db.acquire().await?;
        let purged = idempotency::purge_expired(&mut *db).await?;
        db.release().await?;
        Ok(purged)
    }

    /// The condition a change was sent with, unless this server requires one and it has
    /// none.
    fn precondition(&self, if_match: Option<Condition>) -> Result<Option<Condition>, ChangeError> {
        match if_match {
            None if self.policy.require_if_match => Err(ChangeError::PreconditionRequired),
            condition => Ok(condition),
        }
    }

    /// Creates a task from `draft`. With an idempotency key, a retry of the request the key
    /// first answered gets that task back instead; the key is claimed, checked and stored
    /// in the transaction that creates the task, so of two twins exactly one creates it.
    pub async fn create(
        &self,
        owner: UserId,
        draft: TaskDraft,
        key: Option<IdempotencyKey>,
    ) -> Result<Task, CreateError> {
        let at = now();
        let Some(key) = key else {
            if draft.tags.is_empty() {
                // One statement: no transaction needed.
                let change = TaskChange::create(draft, at);
                let mut db = self.db.acquire().await?;
                let task = tasks::insert(&mut *db, owner, &change).await?;
                db.release().await?;
                metrics::task_created();
                return Ok(task);
            }
            let mut transaction = self.db.begin().await?;
            let task = insert(&mut transaction, owner, draft, at).await?;
            transaction.commit().await.map_err(Failure::from)?;
            metrics::task_created();
            return Ok(task);
        };
        let mut transaction = self.db.begin().await?;
        let Some(claimed) = idempotency::claim(&mut *transaction, owner, &key).await? else {
            return Err(CreateError::KeyInUse);
        };
        let fingerprint = draft.fingerprint();
        if let Some(remembered) = claimed.find(&mut *transaction).await? {
            return match remembered.fingerprint == fingerprint {
                true => {
                    metrics::idempotent_replay();
                    Ok(remembered.task)
                }
                false => Err(CreateError::KeyReused),
            };
        }
        let task = insert(&mut transaction, owner, draft, at).await?;
        let expires_at = after(at, self.policy.idempotency_ttl);
        claimed
            .remember(&mut *transaction, fingerprint, &task, expires_at)
            .await?;
        transaction.commit().await.map_err(Failure::from)?;
        metrics::task_created();
        Ok(task)
    }

    /// A page of the owner's tasks, as `listing` asks.
    pub async fn list(&self, owner: UserId, listing: &TaskListing) -> Result<TaskPage, Failure> {
        let mut connection = self.db.acquire().await?;
        let Some(spelled) = spell(&mut connection, owner, &listing.filter).await? else {
            return Ok(TaskPage {
                items: Vec::new(),
                next: None,
            });
        };
        let lookahead = TaskPage::lookahead(listing.size);
        let items = tasks::list(&mut *connection, owner, listing, &spelled, lookahead).await?;
        Ok(TaskPage::from_lookahead(items, listing.size, |task| {
            listing.cursor_after(task)
        }))
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
        let mut draft = make(&current);
        if draft.tags != current.tags && !draft.tags.is_empty() {
            draft.tags = tags::adopt(&mut *transaction, owner, &draft.tags).await?;
        }
        let change = TaskChange::replace(&current, draft, now());
        let replaced = tasks::update(&mut *transaction, owner, id, &change)
            .await?
            // The row is locked: it cannot have gone since it was read.
            .ok_or_else(|| Failure::internal("a locked task vanished", id.0.to_string()))?;
        transaction.commit().await.map_err(Failure::from)?;
        metrics::task_changed();
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
            let mut db = self.db.acquire().await?;
            let deleted = tasks::delete(&mut *db, owner, id).await?;
            db.release().await?;
            return match deleted {
                true => {
                    metrics::task_deleted();
                    Ok(())
                }
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
        metrics::task_deleted();
        Ok(())
    }
}

/// What `filter` means for the owner's tasks: the owner's spellings of its tags, and its
/// search over the owner's words; `None` when no task can match it (a tag the owner does
/// not have, a search the database finds no words in). Public for the benchmark, which
/// explains the statements the server runs.
pub async fn spell(
    connection: &mut PgConnection,
    owner: UserId,
    filter: &TaskFilter,
) -> Result<Option<Spelled>, Failure> {
    let tags = match filter.tags.is_empty() {
        true => Vec::new(),
        false => tags::spellings(&mut *connection, owner, &filter.tags).await?,
    };
    if tags.len() < filter.tags.len() {
        return Ok(None);
    }
    let search = match &filter.search {
        None => None,
        Some(terms) => {
            let words = tasks::search_words(&mut *connection, terms.as_str()).await?;
            if words.is_empty() {
                return Ok(None);
            }
            Some(tasks::owner_tsquery(owner, &words))
        }
    };
    Ok(Some(Spelled { tags, search }))
}

/// Inserts a task from `draft`, in the owner's spelling of each of its tags.
async fn insert(
    transaction: &mut PgConnection,
    owner: UserId,
    mut draft: TaskDraft,
    at: DateTime<Utc>,
) -> Result<Task, Failure> {
    if !draft.tags.is_empty() {
        draft.tags = tags::adopt(&mut *transaction, owner, &draft.tags).await?;
    }
    tasks::insert(&mut *transaction, owner, &TaskChange::create(draft, at)).await
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
