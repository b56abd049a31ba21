//! The tags of the caller's lists: listing, renaming (and merging) and deleting. A list
//! has its own vocabulary, shared by its members, as its tasks are; a change to a tag is
//! made in every list the caller edits and in no other, and changes each task there that
//! carries it, as a new version of that task, in one transaction.

use super::{Failure, now};
use crate::{
    domain::{
        ListId, ListRole, PageSize, RoleNeeded, TagCursor, TagKey, TagName, TagPage, TagUse, UserId,
    },
    store::{Database, lists, tags, tasks},
};

super::not_found_error!(
    /// No list the caller can see has a tag of that name.
    TagError: "tag not found"
);

super::one_of! {
    /// Why a tag was not changed.
    TagChangeError {
        Tag(TagError),
        /// Only lists the caller views have the tag.
        RoleNeeded(RoleNeeded),
    }
    failing in Tag
}

/// A list has a tag of the new name already.
#[derive(Debug, thiserror::Error)]
#[error("a tag {existing:?} exists")]
pub struct TagExists {
    pub existing: TagName,
}

super::one_of! {
    /// Why a tag was not renamed.
    RenameError {
        Change(TagChangeError),
        /// The new name is another tag of a list, and merging was not asked for.
        Exists(TagExists),
    }
    failing in Change
}

#[derive(Clone)]
pub struct TagService {
    db: Database,
}

/// The lists the caller can see, and of those, the ones they edit.
struct Reach {
    visible: Vec<ListId>,
    edited: Vec<ListId>,
}

impl Reach {
    async fn of(db: &mut sqlx::PgConnection, caller: UserId) -> Result<Self, Failure> {
        let roles = lists::roles(db, caller).await?;
        Ok(Self {
            visible: roles.iter().map(|(list, _)| *list).collect(),
            edited: (roles.iter())
                .filter(|(_, role)| role.at_least(ListRole::Editor).is_ok())
                .map(|(list, _)| *list)
                .collect(),
        })
    }

    /// Why a tag none of the edited lists has cannot be changed: a list the caller views
    /// has it (their role is short), or none has.
    async fn refusal(
        &self,
        db: &mut sqlx::PgConnection,
        key: &TagKey,
    ) -> Result<TagChangeError, Failure> {
        let viewed: Vec<ListId> = (self.visible.iter())
            .filter(|list| !self.edited.contains(list))
            .copied()
            .collect();
        let spelled = match viewed.is_empty() {
            true => false,
            false => tags::spellings(db, &viewed, std::slice::from_ref(key))
                .await?
                .iter()
                .any(|names| !names.is_empty()),
        };
        Ok(match spelled {
            true => RoleNeeded {
                needed: ListRole::Editor,
                held: ListRole::Viewer,
            }
            .into(),
            false => TagError::NotFound.into(),
        })
    }
}

impl TagService {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// A page of the tags of the lists the caller can see, in key order, after `after`.
    pub async fn list(
        &self,
        caller: UserId,
        size: PageSize,
        after: Option<TagCursor>,
    ) -> Result<TagPage, Failure> {
        let mut db = self.db.acquire().await?;
        let visible: Vec<ListId> = lists::roles(&mut *db, caller)
            .await?
            .into_iter()
            .map(|(list, _)| list)
            .collect();
        let items = tags::list(
            &mut *db,
            &visible,
            after.as_ref().map(|cursor| &cursor.0),
            TagPage::lookahead(size),
        )
        .await?;
        Ok(TagPage::from_lookahead(items, size, |tag| {
            TagCursor(tag.name.key())
        }))
    }

    /// Renames tag `from` to `to` on every task of each list the caller edits. Where `to`
    /// names another tag of a list, the two merge into that one (keeping its spelling) if
    /// `merge` allows, and the rename is refused otherwise.
    pub async fn rename(
        &self,
        caller: UserId,
        from: TagName,
        to: TagName,
        merge: bool,
    ) -> Result<TagUse, RenameError> {
        let mut transaction = self.db.begin().await?;
        let reach = Reach::of(&mut transaction, caller).await?;
        let mut renamed: Option<TagUse> = None;
        for &list in &reach.edited {
            let Some(survivor) = rename_in(&mut transaction, list, &from, &to, merge).await? else {
                continue;
            };
            let count = tags::count_carrying(&mut *transaction, list, &survivor).await?;
            let total = renamed.get_or_insert(TagUse {
                name: survivor,
                task_count: 0,
            });
            total.task_count += count;
        }
        let Some(renamed) = renamed else {
            return Err(reach.refusal(&mut transaction, &from.key()).await?.into());
        };
        Ok(transaction.finish(renamed).await?)
    }

    /// Takes the tag off every task of each list the caller edits, and forgets it there.
    pub async fn delete(&self, caller: UserId, name: TagName) -> Result<(), TagChangeError> {
        let mut transaction = self.db.begin().await?;
        let reach = Reach::of(&mut transaction, caller).await?;
        let mut deleted = false;
        for &list in &reach.edited {
            let Some(stored) = tags::delete(&mut *transaction, list, &name.key()).await? else {
                continue;
            };
            tasks::remove_tag(&mut *transaction, list, &stored, &[], now()).await?;
            deleted = true;
        }
        if !deleted {
            return Err(reach.refusal(&mut transaction, &name.key()).await?);
        }
        Ok(transaction.finish(()).await?)
    }
}

/// Renames (or merges) tag `from` to `to` in one list; the surviving name, or `None` when
/// the list has no tag `from`.
async fn rename_in(
    transaction: &mut sqlx::PgConnection,
    list: ListId,
    from: &TagName,
    to: &TagName,
    merge: bool,
) -> Result<Option<TagName>, RenameError> {
    let (from_key, to_key) = (from.key(), to.key());
    let mut found =
        tags::find_for_update(&mut *transaction, list, &[from_key.clone(), to_key.clone()]).await?;
    let Some(current) = found
        .iter()
        .position(|(key, _)| *key == from_key)
        .map(|at| found.swap_remove(at).1)
    else {
        return Ok(None);
    };
    let other = found
        .into_iter()
        .find(|(key, _)| *key == to_key && to_key != from_key);
    let at = now();
    Ok(Some(match other {
        Some((_, existing)) if !merge => return Err(TagExists { existing }.into()),
        Some((_, existing)) => {
            // Tasks carrying both keep one; then the rest take the surviving name.
            tasks::remove_tag(&mut *transaction, list, &current, &[&existing], at).await?;
            tasks::rename_tag(&mut *transaction, list, &current, &existing, at).await?;
            tags::delete(&mut *transaction, list, &from_key).await?;
            existing
        }
        None => {
            tags::rename(&mut *transaction, list, &from_key, to).await?;
            if current != *to {
                tasks::rename_tag(&mut *transaction, list, &current, to, at).await?;
            }
            to.clone()
        }
    }))
}
