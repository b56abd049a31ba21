//! `/tags`: the caller's tag names, with how many tasks carry each. Tags are set on tasks
//! (`tags` of `/tasks`); here they are listed, renamed and removed across every task at
//! once. Another user's tags are indistinguishable from ones that do not exist.

use poem_openapi::{Object, payload::Json};

use crate::{problem::error_sets, tasks::TagName};

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

examples! {
    Tag => Tag {
        name: "Home".to_owned(),
        task_count: 12,
    };
    TagPage => TagPage {
        items: vec![Tag::example()],
        next_cursor: Some("aG9tZQ".to_owned()),
    };
    TagRename => TagRename {
        name: TagName::new("Household"),
    };
}

responses! {
    /// A page of the caller's tags.
    TagPageResponse: 200 Ok(Json<TagPage>);
    /// The tag under its new name, with every task that carries it now.
    TagResponse: 200 Ok(Json<Tag>);
    /// The tag was removed from every task and is gone.
    DeleteTagResponse: 204 NoContent;
}

error_sets! {
    /// Errors of `list_tags`.
    ListTagsErrors: 400, 401, 422, 429;
    /// Errors of `rename_tag`.
    RenameTagErrors: 400, 401, 404, 409, 413, 415, 422, 429;
    /// Errors of `delete_tag`.
    DeleteTagErrors: 400, 401, 404, 429;
}
