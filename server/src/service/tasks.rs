//! Tasks, in the lists their callers can see. Every operation takes the caller and passes
//! it to the store, which reads a task only through the caller's lists; the caller's role
//! in the task's list (and in the list it moves to) decides what they may do with it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::{Failure, Precondition, Preconditions, Read, after, check, lists::ListNotFound, now};
use crate::{
    domain::{
        Condition, FieldErrors, IdempotencyKey, ListId, ListRole, Placement, RoleNeeded, Task,
        TaskChange, TaskDraft, TaskEdit, TaskFilter, TaskId, TaskListing, TaskPage, UserId,
    },
    store::{
        Database, idempotency, lists, tags,
        tasks::{self, Spelled},
    },
    telemetry::metrics,
};

super::not_found_error!(
    /// No such task, or it is in no list the caller can see.
    TaskError: "task not found"
);

super::one_of! {
    /// Why a task could not go where a request put it.
    PlacementError {
        /// The caller may not add tasks to the list (or take them out of it).
        RoleNeeded(RoleNeeded),
        /// `list_id` names no list the caller can see, or `assignee_id` no member of the list.
        Invalid(FieldErrors),
        Failed(Failure),
    }
}

super::one_of! {
    /// Why a change to (or the deletion of) a task was refused.
    ChangeError {
        Task(TaskError),
        /// The caller's role in the task's list (or the list it moves to) does not allow it.
        RoleNeeded(RoleNeeded),
        Precondition(Precondition),
    }
    failing in Task
}

super::one_of! {
    /// Why a task was not replaced or patched.
    ReplaceError {
        Change(ChangeError),
        /// `list_id` or `assignee_id` names no list or member it can.
        Invalid(FieldErrors),
    }
    failing in Change
}

impl From<PlacementError> for ReplaceError {
    fn from(error: PlacementError) -> Self {
        match error {
            PlacementError::RoleNeeded(needed) => ChangeError::from(needed).into(),
            PlacementError::Invalid(errors) => Self::Invalid(errors),
            PlacementError::Failed(failure) => failure.into(),
        }
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
    Placement(#[from] PlacementError),
}

super::converts_through! {
    ReplaceError::Change <- TaskError,
    ReplaceError::Change <- Precondition,
    CreateError::Placement <- Failure,
}

/// What a server's settings decide about tasks.
#[derive(Debug, Clone, Copy)]
pub struct TaskPolicy {
    /// Whether every change must name the version it replaces (`If-Match`).
    pub preconditions: Preconditions,
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

    /// Creates a task from `draft`, in the list it names (the caller must be an editor
    /// there) or the caller's Inbox. With an idempotency key, a retry of the request the
    /// key first answered gets that task back instead; the key is claimed, checked and
    /// stored in the transaction that creates the task, so of two twins exactly one
    /// creates it.
    pub async fn create(
        &self,
        caller: UserId,
        draft: TaskDraft,
        key: Option<IdempotencyKey>,
    ) -> Result<Task, CreateError> {
        let at = now();
        let Some(key) = key else {
            let mut transaction = self.db.begin().await?;
            let task = insert(&mut transaction, caller, draft, at).await?;
            transaction.commit().await.map_err(Failure::from)?;
            metrics::task_created();
            return Ok(task);
        };
        let mut transaction = self.db.begin().await?;
        let Some(claimed) = idempotency::claim(&mut *transaction, caller, &key).await? else {
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
        let task = insert(&mut transaction, caller, draft, at).await?;
        let expires_at = after(at, self.policy.idempotency_ttl);
        claimed
            .remember(&mut *transaction, fingerprint, &task, expires_at)
            .await?;
        transaction.commit().await.map_err(Failure::from)?;
        metrics::task_created();
        Ok(task)
    }

    /// A page of the tasks the caller can see (in one list, when the listing names one),
    /// as `listing` asks.
    pub async fn list(
        &self,
        caller: UserId,
        listing: &TaskListing,
    ) -> Result<TaskPage, ListNotFound> {
        let mut connection = self.db.acquire().await?;
        let visible = lists::roles(&mut *connection, caller).await?;
        let listed: Vec<ListId> = match listing.filter.list {
            Some(list) if visible.iter().any(|(id, _)| *id == list) => vec![list],
            Some(_) => return Err(ListNotFound::NotFound),
            None => {
                // In `list_id` order; a list read twice would list its tasks twice.
                let mut lists: Vec<ListId> = visible.into_iter().map(|(id, _)| id).collect();
                lists.dedup();
                lists
            }
        };
        let empty = TaskPage {
            items: Vec::new(),
            next: None,
        };
        if listed.is_empty() {
            return Ok(empty);
        }
        let Some(spelled) = spell(&mut connection, &listed, &listing.filter).await? else {
            return Ok(empty);
        };
        let lookahead = TaskPage::lookahead(listing.size);
        let items = tasks::list(
            &mut connection,
            caller,
            &listed,
            listing,
            &spelled,
            lookahead,
        )
        .await?;
        Ok(TaskPage::from_lookahead(items, listing.size, |task| {
            listing.cursor_after(task)
        }))
    }

    /// The task, unless `if_none_match` names its current version (weak comparison).
    pub async fn get(
        &self,
        caller: UserId,
        id: TaskId,
        if_none_match: Option<Condition>,
    ) -> Result<Read<Task>, TaskError> {
        let (task, _) = tasks::find(&mut *self.db.acquire().await?, caller, id)
            .await?
            .ok_or(TaskError::NotFound)?;
        Ok(Read::of(task, |task| task.version, if_none_match))
    }

    /// Replaces the writable fields, if `if_match` (when given) names the current version.
    pub async fn replace(
        &self,
        caller: UserId,
        id: TaskId,
        draft: TaskDraft,
        if_match: Option<Condition>,
    ) -> Result<Task, ReplaceError> {
        self.change(caller, id, if_match, |_| draft).await
    }

    /// Changes the fields `edit` names (a merge patch), if `if_match` (when given) names
    /// the current version.
    pub async fn update(
        &self,
        caller: UserId,
        id: TaskId,
        edit: TaskEdit,
        if_match: Option<Condition>,
    ) -> Result<Task, ReplaceError> {
        self.change(caller, id, if_match, |current| edit.applied_to(current))
            .await
    }

    /// Writes the draft `make` derives from the current task. The task is read, checked and
    /// written in one transaction, with its row locked in between, so the draft and the
    /// completion rule see the state they replace and, of two writers naming the same
    /// version, exactly one succeeds. The caller must be an editor of its list, and of the
    /// list it moves to.
    async fn change(
        &self,
        caller: UserId,
        id: TaskId,
        if_match: Option<Condition>,
        make: impl FnOnce(&Task) -> TaskDraft,
    ) -> Result<Task, ReplaceError> {
        let if_match = self.policy.preconditions.of(if_match)?;
        let mut transaction = self.db.begin().await?;
        let (current, role) = tasks::find_for_update(&mut *transaction, caller, id)
            .await?
            .ok_or(TaskError::NotFound)?;
        role.at_least(ListRole::Editor).map_err(ChangeError::from)?;
        check(if_match.as_ref(), current.version).map_err(ChangeError::from)?;
        let mut draft = make(&current);
        let placement = place(&mut transaction, caller, &draft, Some(&current)).await?;
        let moved = placement.list != current.list;
        if (moved || draft.tags != current.tags) && !draft.tags.is_empty() {
            draft.tags = tags::adopt(&mut *transaction, placement.list, &draft.tags).await?;
        }
        let change = TaskChange::replace(&current, draft, placement, now());
        let replaced = tasks::update(&mut *transaction, id, &change).await?;
        transaction.commit().await.map_err(Failure::from)?;
        metrics::task_changed();
        Ok(replaced)
    }

    /// Deletes the task, if `if_match` (when given) names its current version; checked
    /// and deleted with the row locked in between. The caller must be an editor of its
    /// list.
    pub async fn delete(
        &self,
        caller: UserId,
        id: TaskId,
        if_match: Option<Condition>,
    ) -> Result<(), ChangeError> {
        let if_match = self.policy.preconditions.of(if_match)?;
        let mut transaction = self.db.begin().await?;
        let (current, role) = tasks::find_for_update(&mut *transaction, caller, id)
            .await?
            .ok_or(TaskError::NotFound)?;
        role.at_least(ListRole::Editor)?;
        check(if_match.as_ref(), current.version)?;
        tasks::delete(&mut *transaction, id).await?;
        transaction.commit().await.map_err(Failure::from)?;
        metrics::task_deleted();
        Ok(())
    }
}

/// What `filter` means for the tasks of `lists`: the spellings those lists give its tags,
/// and its search over their words; `None` when no task can match it (a tag no list has,
/// a search the database finds no words in). Public for the benchmark, which explains the
/// statements the server runs.
pub async fn spell(
    connection: &mut PgConnection,
    lists: &[ListId],
    filter: &TaskFilter,
) -> Result<Option<Spelled>, Failure> {
    let tags = match filter.tags.is_empty() {
        true => Vec::new(),
        false => tags::spellings(&mut *connection, lists, &filter.tags).await?,
    };
    if tags.iter().any(Vec::is_empty) {
        return Ok(None);
    }
    let words = match &filter.search {
        None => None,
        Some(terms) => {
            let words = tasks::search_words(&mut *connection, terms.as_str()).await?;
            if words.is_empty() {
                return Ok(None);
            }
            Some(words)
        }
    };
    Ok(Some(Spelled { tags, words }))
}

/// Where a task goes: the list `draft` names, else where `current` is, else the caller's
/// Inbox; and the assignee `draft` names, else `current`'s. A list the task is not in yet
/// must be one the caller edits; an assignee must be a member of the list (one who is not,
/// when a task moves, is unassigned).
async fn place(
    db: &mut PgConnection,
    caller: UserId,
    draft: &TaskDraft,
    current: Option<&Task>,
) -> Result<Placement, PlacementError> {
    let list = match (draft.list, current) {
        (Some(list), _) => list,
        (None, Some(current)) => current.list,
        (None, None) => lists::inbox(&mut *db, caller)
            .await?
            .ok_or_else(|| Failure::internal("an account has no Inbox", caller.0.to_string()))?,
    };
    let moved = current.is_none_or(|current| current.list != list);
    if draft.list.is_some() && moved {
        let Some(target) = lists::find(&mut *db, caller, list, false).await? else {
            let errors = FieldErrors::single("list_id", "is not a list you can see");
            return Err(PlacementError::Invalid(errors));
        };
        target.role.at_least(ListRole::Editor)?;
    }
    let (assignee, named) = match draft.assignee {
        Some(assignee) => (assignee, true),
        None => (current.and_then(|current| current.assignee), false),
    };
    let unchanged = !moved && current.is_some_and(|current| current.assignee == assignee);
    let Some(user) = assignee.filter(|_| !unchanged) else {
        return Ok(Placement { list, assignee });
    };
    if lists::member(&mut *db, list, user).await?.is_some() {
        return Ok(Placement {
            list,
            assignee: Some(user),
        });
    }
    match named {
        true => Err(PlacementError::Invalid(FieldErrors::single(
            "assignee_id",
            "is not a member of the task's list",
        ))),
        false => Ok(Placement {
            list,
            assignee: None,
        }),
    }
}

/// Inserts a task from `draft` where it goes, in its list's spelling of each of its tags.
async fn insert(
    transaction: &mut PgConnection,
    caller: UserId,
    mut draft: TaskDraft,
    at: DateTime<Utc>,
) -> Result<Task, PlacementError> {
    let placement = place(&mut *transaction, caller, &draft, None).await?;
    if !draft.tags.is_empty() {
        draft.tags = tags::adopt(&mut *transaction, placement.list, &draft.tags).await?;
    }
    Ok(tasks::insert(&mut *transaction, &TaskChange::create(draft, placement, at)).await?)
}
