//! `/tags`: the caller's tag names, with how many tasks carry each. Tags are set on tasks
//! (`tags` of `/tasks`); here they are listed, renamed and removed across every task at
//! once. Another user's tags are indistinguishable from ones that do not exist.

use std::{future::Future, sync::Arc};

use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::Example,
};

use crate::{
    ApiTag,
    body::JsonBody,
    paging::{Cursor, PageLimit},
    problem::{Errors, error_set},
    security::{Authenticate, BearerAuth},
    tasks::TagName,
};

/// A tag, as the caller spells it, and how many of the caller's tasks carry it.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Tag {
    pub name: String,
    /// May be 0: a tag stays (with its spelling) until it is deleted.
    pub task_count: i64,
}

/// One page of tags, in alphabetical order ignoring case.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct TagPage {
    pub items: Vec<Tag>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// A tag's new name.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct TagRename {
    /// Trimmed; may differ from the old name only in case, to respell it.
    pub name: TagName,
}

impl Example for Tag {
    fn example() -> Self {
        Self {
            name: "Home".to_owned(),
            task_count: 12,
        }
    }
}

impl Example for TagPage {
    fn example() -> Self {
        Self {
            items: vec![Tag::example()],
            next_cursor: Some("aG9tZQ".to_owned()),
        }
    }
}

impl Example for TagRename {
    fn example() -> Self {
        Self {
            name: TagName::new("Household"),
        }
    }
}

/// What the server behind `/tags` does, always on behalf of one caller.
pub trait TagBackend: Authenticate {
    fn list_tags(
        &self,
        caller: Self::Caller,
        limit: PageLimit,
        cursor: Option<Cursor>,
    ) -> impl Future<Output = Result<TagPage, Errors<ListTagsErrors>>> + Send;

    fn rename_tag(
        &self,
        caller: Self::Caller,
        name: TagName,
        merge: bool,
        body: JsonBody<TagRename>,
    ) -> impl Future<Output = Result<Tag, Errors<RenameTagErrors>>> + Send;

    fn delete_tag(
        &self,
        caller: Self::Caller,
        name: TagName,
    ) -> impl Future<Output = Result<(), Errors<DeleteTagErrors>>> + Send;
}

#[derive(ApiResponse)]
pub enum TagPageResponse {
    /// A page of the caller's tags.
    #[oai(status = 200)]
    Ok(Json<TagPage>),
}

#[derive(ApiResponse)]
pub enum TagResponse {
    /// The tag under its new name, with every task that carries it now.
    #[oai(status = 200)]
    Ok(Json<Tag>),
}

#[derive(ApiResponse)]
pub enum DeleteTagResponse {
    /// The tag was removed from every task and is gone.
    #[oai(status = 204)]
    NoContent,
}

error_set!(
    /// Errors of `list_tags`.
    ListTagsErrors: 400, 401, 422, 429
);
error_set!(
    /// Errors of `rename_tag`.
    RenameTagErrors: 400, 401, 404, 409, 413, 415, 422, 429
);
error_set!(
    /// Errors of `delete_tag`.
    DeleteTagErrors: 400, 401, 404, 429
);

pub struct TagsApi<B> {
    pub backend: Arc<B>,
}

#[OpenApi(prefix_path = "/tags", tag = "ApiTag::Tags")]
impl<B: TagBackend> TagsApi<B> {
    /// List tags
    ///
    /// The caller's tags with how many tasks carry each, alphabetically ignoring case, one
    /// bounded page at a time. Follow `next_cursor` until it is `null`.
    #[oai(path = "/", method = "get", operation_id = "list_tags")]
    async fn list(
        &self,
        auth: BearerAuth,
        /// How many tags the page holds.
        #[oai(default)]
        limit: Query<PageLimit>,
        /// The previous page's `next_cursor` (only cursors this API issued); omit for page one.
        cursor: Query<Option<Cursor>>,
    ) -> Result<TagPageResponse, Errors<ListTagsErrors>> {
        let caller = self.backend.authenticate(auth).await?;
        let page = self.backend.list_tags(caller, limit.0, cursor.0).await?;
        Ok(TagPageResponse::Ok(Json(page)))
    }

    /// Rename a tag
    ///
    /// Renames the tag on every one of the caller's tasks at once. If the caller already
    /// has a tag with the new name (ignoring case), the two are merged only with
    /// `merge=true` (else 409): every task that carried either carries the survivor.
    #[oai(path = "/:name", method = "patch", operation_id = "rename_tag")]
    async fn rename(
        &self,
        auth: BearerAuth,
        /// The tag's current name, compared ignoring case.
        name: Path<TagName>,
        /// Merge into an existing tag of the new name instead of refusing with 409.
        #[oai(default)]
        merge: Query<bool>,
        body: JsonBody<TagRename>,
    ) -> Result<TagResponse, Errors<RenameTagErrors>> {
        let caller = self.backend.authenticate(auth).await?;
        let tag = self
            .backend
            .rename_tag(caller, name.0, merge.0, body)
            .await?;
        Ok(TagResponse::Ok(Json(tag)))
    }

    /// Delete a tag
    ///
    /// Removes the tag from every one of the caller's tasks (the tasks stay) and forgets
    /// its spelling.
    #[oai(path = "/:name", method = "delete", operation_id = "delete_tag")]
    async fn delete(
        &self,
        auth: BearerAuth,
        /// The tag's name, compared ignoring case.
        name: Path<TagName>,
    ) -> Result<DeleteTagResponse, Errors<DeleteTagErrors>> {
        let caller = self.backend.authenticate(auth).await?;
        self.backend.delete_tag(caller, name.0).await?;
        Ok(DeleteTagResponse::NoContent)
    }
}
