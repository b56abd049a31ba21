//! Entry points of `/tags`.

use taskapi_api::{
    body::JsonBody,
    paging::{Cursor, PageLimit},
    problem::Errors,
    tags::{DeleteTagErrors, ListTagsErrors, RenameTagErrors, Tag, TagBackend, TagPage, TagRename},
    tasks::TagName as ApiTagName,
};

use super::AppState;
use crate::{
    domain::{Caller, FieldErrors, PageSize, TagCursor, TagName, TagUse},
    service::tags::TagError,
};

impl TagBackend for AppState {
    async fn list_tags(
        &self,
        caller: Caller,
        limit: PageLimit,
        cursor: Option<Cursor>,
    ) -> Result<TagPage, Errors<ListTagsErrors>> {
        let mut errors = FieldErrors::default();
        let size = errors.check("limit", PageSize::try_from(limit));
        let after = errors.check_optional("cursor", cursor, |cursor| {
            TagCursor::decode(cursor.as_str())
        });
        let (Some(size), Some(after)) = (size, after) else {
            return Err(errors.into());
        };
        let page = self.tags.list(caller.user, size, after).await?;
        Ok(TagPage {
            items: page.items.into_iter().map(tag).collect(),
            next_cursor: page.next.as_ref().map(TagCursor::encode),
        })
    }

    async fn rename_tag(
        &self,
        caller: Caller,
        name: ApiTagName,
        merge: bool,
        body: JsonBody<TagRename>,
    ) -> Result<Tag, Errors<RenameTagErrors>> {
        let rename = self.bodies.json(body)?;
        let to = TagName::parse(rename.name.as_str())
            .map_err(|message| FieldErrors::single("name", message))?;
        let from = existing(&name)?;
        Ok(tag(self.tags.rename(caller.user, from, to, merge).await?))
    }

    async fn delete_tag(
        &self,
        caller: Caller,
        name: ApiTagName,
    ) -> Result<(), Errors<DeleteTagErrors>> {
        Ok(self.tags.delete(caller.user, existing(&name)?).await?)
    }
}

/// The tag a path names: one that is not a valid name cannot exist.
fn existing(name: &ApiTagName) -> Result<TagName, TagError> {
    TagName::parse(name.as_str()).map_err(|_| TagError::NotFound)
}

fn tag(tag: TagUse) -> Tag {
    Tag {
        name: tag.name.into_inner(),
        task_count: tag.task_count,
    }
}
