//! A local copy of everything the caller can see, kept current from the change feed
//! (`GET /sync`): apply each page's changes in order, keep the last `next_token`, and
//! start over when the server says the token is too old (410).

use std::collections::HashMap;

use uuid::Uuid;

use crate::{
    Client,
    problem::{ApiError, ProblemType},
    types,
};

/// The caller's lists and tasks as of the last sync, and the token to continue from.
#[derive(Debug, Clone, Default)]
pub struct Replica {
    /// Every list the caller can see, by id.
    pub lists: HashMap<Uuid, types::List>,
    /// Every task in those lists, by id.
    pub tasks: HashMap<Uuid, types::Task>,
    /// Where the next sync continues; `None` before the first.
    pub token: Option<String>,
}

/// What one [`Replica::sync`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Synced {
    /// Changes applied.
    pub changes: usize,
    /// Pages read.
    pub pages: usize,
    /// Whether the token had expired, so the replica was rebuilt from scratch.
    pub restarted: bool,
}

impl Replica {
    /// An empty replica: its first sync reads everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Brings the replica up to date: every page until `has_more` is false. Pages of at
    /// most `limit` changes (`None`: the server's default). On a 410 (the token is older
    /// than the changes kept), forgets everything and syncs from scratch.
    pub async fn sync(
        &mut self,
        client: &Client,
        limit: Option<std::num::NonZeroU64>,
    ) -> Result<Synced, ApiError> {
        let mut synced = Synced::default();
        loop {
            let mut request = client.sync();
            if let Some(limit) = limit {
                request = request.limit(limit);
            }
            if let Some(token) = &self.token {
                request = request.token(token.clone());
            }
            let page = match request.send().await {
                Ok(page) => page.into_inner(),
                Err(error) => {
                    let error = ApiError::from(error);
                    let expired = error
                        .problem()
                        .is_some_and(|p| p.problem_type == ProblemType::SyncTokenExpired);
                    if expired && self.token.is_some() && !synced.restarted {
                        *self = Self::new();
                        synced.restarted = true;
                        continue;
                    }
                    return Err(error);
                }
            };
            synced.pages += 1;
            synced.changes += page.changes.len();
            for change in page.changes {
                self.apply(change);
            }
            self.token = Some(page.next_token);
            if !page.has_more {
                return Ok(synced);
            }
        }
    }

    /// Applies one change: the item as it is now, or its tombstone. A list's tombstone
    /// takes its tasks with it.
    pub fn apply(&mut self, change: types::SyncChange) {
        match (change.kind, change.task, change.list) {
            (types::ChangeKind::Task, Some(task), _) => {
                self.tasks.insert(task.id, task);
            }
            (types::ChangeKind::Task, None, _) => {
                self.tasks.remove(&change.id);
            }
            (types::ChangeKind::List, _, Some(list)) => {
                self.lists.insert(list.id, list);
            }
            (types::ChangeKind::List, _, None) => {
                self.lists.remove(&change.id);
                self.tasks.retain(|_, task| task.list_id != change.id);
            }
        }
    }
}
