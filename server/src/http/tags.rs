//! `/tags`: the caller's tag names, with how many tasks carry each. Tags are set on tasks
//! (`tags` of `/tasks`); here they are listed, renamed and removed across every task at
//! once. Another user's tags are indistinguishable from ones that do not exist.

use taskapi_api::{
    tags::{
        DeleteTagErrors, DeleteTagResponse, ListTagsErrors, RenameTagErrors, Tag, TagPageResponse,
        TagRename, TagResponse,
    },
    tasks::TagName as WireTagName,
};

use super::{body::JsonBody, prelude::*};
use crate::{
    domain::{FieldErrors, TagCursor, TagName, TagUse},
    service::tags::TagError,
};

/// The operations on `/tags`.
pub enum Tags {}

#[OpenApi(prefix_path = "/tags", tag = "ApiTag::Tags")]
impl Api<Tags> {
    /// List tags
    ///
    /// The caller's tags with how many tasks carry each, alphabetically ignoring case, one
    /// bounded page at a time. Follow `next_cursor` until it is `null`.
    #[oai(path = "/", method = "get", operation_id = "list_tags")]
    async fn list_tags(
        &self,
        #[oai(scope = "Scope::TasksRead")] auth: BearerAuth,
        /// How many tags the page holds.
        #[oai(default)]
        limit: Query<PageLimit>,
        /// The previous page's `next_cursor` (only cursors this API issued); omit for page one.
        cursor: Query<Option<Cursor>>,
    ) -> Result<TagPageResponse, Errors<ListTagsErrors>> {
        let caller = self.authenticate(auth).await?;
        let (size, after) = page_request(limit.0, cursor.0, TagCursor::decode)?;
        let page = self.tags.list(caller.user, size, after).await?;
        Ok(TagPageResponse::Ok(Json(page_of(page, tag))))
    }

    /// Rename a tag
    ///
    /// Renames the tag on every one of the caller's tasks at once. If the caller already
    /// has a tag with the new name (ignoring case), the two are merged only with
    /// `merge=true` (else 409): every task that carried either carries the survivor.
    #[oai(path = "/:name", method = "patch", operation_id = "rename_tag")]
    async fn rename_tag(
        &self,
        #[oai(scope = "Scope::TasksWrite")] auth: BearerAuth,
        /// The tag's current name, compared ignoring case.
        name: Path<WireTagName>,
        /// Merge into an existing tag of the new name instead of refusing with 409.
        #[oai(default)]
        merge: Query<bool>,
        body: JsonBody<TagRename>,
    ) -> Result<TagResponse, Errors<RenameTagErrors>> {
        let caller = self.authenticate(auth).await?;
        let rename = self.bodies.json(body)?;
        let to = TagName::parse(rename.name.as_str())
            .map_err(|message| FieldErrors::single("name", message))?;
        let from = existing(&name.0)?;
        let renamed = self.tags.rename(caller.user, from, to, merge.0).await?;
        Ok(TagResponse::Ok(Json(tag(renamed))))
    }

    /// Delete a tag
    ///
    /// Removes the tag from every one of the caller's tasks (the tasks stay) and forgets
    /// its spelling.
    #[oai(path = "/:name", method = "delete", operation_id = "delete_tag")]
    async fn delete_tag(
        &self,
        #[oai(scope = "Scope::TasksWrite")] auth: BearerAuth,
        /// The tag's name, compared ignoring case.
        name: Path<WireTagName>,
    ) -> Result<DeleteTagResponse, Errors<DeleteTagErrors>> {
        let caller = self.authenticate(auth).await?;
        self.tags.delete(caller.user, existing(&name.0)?).await?;
        Ok(DeleteTagResponse::NoContent)
    }
}

/// The tag a path names: one that is not a valid name cannot exist.
fn existing(name: &WireTagName) -> Result<TagName, TagError> {
    TagName::parse(name.as_str()).map_err(|_| TagError::NotFound)
}

fn tag(tag: TagUse) -> Tag {
    Tag {
        name: tag.name.into_inner(),
        task_count: tag.task_count,
    }
}
