//! `/tags`: the tag names of the caller's lists, with how many tasks carry each. Tags are
//! set on tasks (`tags` of `/tasks`); each list has its own vocabulary, shared by its
//! members. Here they are listed across the lists the caller can see, and renamed and
//! removed across every task of the lists the caller edits (never in a list they only
//! view). Tags of lists the caller cannot see are indistinguishable from ones that do not
//! exist.

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

/// A tag's new name.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct TagRename {
    /// Trimmed; may differ from the old name only in case, to respell it.
    pub name: TagName,
}

pages! {
    /// One page of tags, in alphabetical order ignoring case.
    TagPage(Tag) = "aG9tZQ";
}

examples! {
    Tag => Tag {
        name: "Home".to_owned(),
        task_count: 12,
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
    ListTagsErrors: 400, 401, 403, 422, 429;
    /// Errors of `rename_tag`.
    RenameTagErrors: 400, 401, 403, 404, 409, 413, 415, 422, 429;
    /// Errors of `delete_tag`.
    DeleteTagErrors: 400, 401, 403, 404, 429;
}
