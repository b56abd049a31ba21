//! The caller's tags across their tasks: listing, renaming (and merging) and deleting.
//! Every change to a tag changes each task that carries it, as a new version of that
//! task, in one transaction.

use super::{Failure, now};
use crate::{
    domain::{PageSize, TagCursor, TagName, TagPage, TagUse, UserId},
    store::{Database, tags, tasks},
};

super::not_found_error!(
    /// The caller has no tag of that name.
    TagError: "tag not found"
);

/// Why a tag was not renamed.
#[derive(Debug, thiserror::Error)]
pub enum RenameError {
    #[error(transparent)]
    Tag(#[from] TagError),
    /// The new name is another tag the caller has, and merging was not asked for.
    #[error("a tag {existing:?} exists")]
    Exists { existing: TagName },
}

impl From<Failure> for RenameError {
    fn from(failure: Failure) -> Self {
        Self::Tag(failure.into())
    }
}

#[derive(Clone)]
pub struct TagService {
    db: Database,
}

impl TagService {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// A page of the owner's tags in key order, after `after`.
    pub async fn list(
        &self,
        owner: UserId,
        size: PageSize,
        after: Option<TagCursor>,
    ) -> Result<TagPage, Failure> {
        let items = tags::list(
            &mut *self.db.acquire().await?,
            owner,
            after.as_ref().map(|cursor| &cursor.0),
            TagPage::lookahead(size),
        )
        .await?;
        Ok(TagPage::from_lookahead(items, size, |tag| {
            TagCursor(tag.name.key())
        }))
    }

    /// Renames the owner's tag `from` to `to` on every task. When `to` names another tag
    /// the owner has, the two merge into that one (keeping its spelling) if `merge`
    /// allows, and the result is refused otherwise.
    pub async fn rename(
        &self,
        owner: UserId,
        from: TagName,
        to: TagName,
        merge: bool,
    ) -> Result<TagUse, RenameError> {
        let (from_key, to_key) = (from.key(), to.key());
        let mut transaction = self.db.begin().await?;
        let mut found = tags::find_for_update(
            &mut *transaction,
            owner,
            &[from_key.clone(), to_key.clone()],
        )
        .await?;
        let current = found
            .iter()
            .position(|(key, _)| *key == from_key)
            .map(|at| found.swap_remove(at).1)
            .ok_or(TagError::NotFound)?;
        let other = found
            .into_iter()
            .find(|(key, _)| *key == to_key && to_key != from_key);
        let at = now();
        let survivor = match other {
            Some((_, existing)) if !merge => return Err(RenameError::Exists { existing }),
            Some((_, existing)) => {
                // Tasks carrying both keep one; then the rest take the surviving name.
                tasks::remove_tag(&mut *transaction, owner, &current, &[&existing], at).await?;
                tasks::rename_tag(&mut *transaction, owner, &current, &existing, at).await?;
                tags::delete(&mut *transaction, owner, &from_key).await?;
                existing
            }
            None => {
                tags::rename(&mut *transaction, owner, &from_key, &to).await?;
                if current != to {
                    tasks::rename_tag(&mut *transaction, owner, &current, &to, at).await?;
                }
                to
            }
        };
        let task_count = tasks::count_carrying(&mut *transaction, owner, &survivor).await?;
        transaction.commit().await.map_err(Failure::from)?;
        Ok(TagUse {
            name: survivor,
            task_count,
        })
    }

    /// Takes the owner's tag off every task and forgets it.
    pub async fn delete(&self, owner: UserId, name: TagName) -> Result<(), TagError> {
        let mut transaction = self.db.begin().await?;
        let stored = tags::delete(&mut *transaction, owner, &name.key())
            .await?
            .ok_or(TagError::NotFound)?;
        tasks::remove_tag(&mut *transaction, owner, &stored, &[], now()).await?;
        transaction.commit().await.map_err(Failure::from)?;
        Ok(())
    }
}
