//! `/sync`: the change feed. A thin entry point: the token is decoded here, and what it
//! means is the sync service's.

use taskapi_api::sync::{ChangeKind, SyncChange, SyncErrors, SyncPage as WirePage, SyncResponse};

use super::{positioned_request, prelude::*};
use crate::domain::{Change, SyncPage};

/// The operations on `/sync`.
pub enum Sync {}

#[OpenApi(prefix_path = "/sync", tag = "ApiTag::Sync")]
impl Api<Sync> {
    /// Sync a replica
    ///
    /// Without `token`: everything the caller can see, lists and tasks, in pages. With the
    /// `next_token` of the previous page: what follows, which after the last page is every
    /// change made since, in the order the changes committed, each item as it is now.
    /// Deletions, moves out of the caller's sight and lost access arrive as tombstones
    /// (`deleted`); a list shared with the caller arrives with its tasks. Follow
    /// `next_token` while `has_more`; then keep it for the next sync. A token older than
    /// the changes kept is 410 (`urn:taskapi:problem:sync-token-expired`): start over
    /// without one.
    #[oai(path = "/", method = "get", operation_id = "sync")]
    async fn sync(
        &self,
        #[oai(scope = "Scope::TasksRead", scope = "Scope::ListsRead")] auth: BearerAuth,
        /// The previous page's `next_token` (only tokens this API issued); omit to start.
        token: Query<Option<Cursor>>,
        /// How many changes the page holds at most.
        #[oai(default)]
        limit: Query<PageLimit>,
    ) -> Result<SyncResponse, Errors<SyncErrors>> {
        let caller = self.authenticate(auth).await?;
        let open = |sealed: &str| self.sync.open(caller.user, sealed);
        let (size, token) = positioned_request(limit.0, ("token", token.0), open)?;
        let page = self.sync.page(caller.user, token, size).await?;
        Ok(SyncResponse::Ok(Json(page.into())))
    }
}

impl From<SyncPage> for WirePage {
    fn from(page: SyncPage) -> Self {
        Self {
            changes: page.changes.into_iter().map(Into::into).collect(),
            next_token: page.next,
            has_more: page.has_more,
        }
    }
}

impl From<Change> for SyncChange {
    fn from(change: Change) -> Self {
        let (kind, id, task, list) = match change {
            Change::Task(id, task) => (ChangeKind::Task, id.0, task.map(Into::into), None),
            Change::List(id, list) => (ChangeKind::List, id.0, None, list.map(Into::into)),
        };
        Self {
            kind,
            id,
            deleted: task.is_none() && list.is_none(),
            task,
            list,
        }
    }
}
