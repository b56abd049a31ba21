//! `/lists`: where tasks live, and who they are shared with. A list has one owner; its
//! other members are editors or viewers. A list the caller cannot see answers exactly as
//! a missing one (404); one they see but may not change answers 403, naming the role the
//! operation needs.

use chrono::{DateTime, Utc};
use poem_openapi::{ApiResponse, Enum, Object, payload::Json, types::MaybeUndefined};
use strum::{EnumString, IntoStaticStr, VariantArray};
use uuid::Uuid;

use crate::{
    problem::error_sets,
    tasks::DESCRIPTION_MAX_CHARS,
    text::{EmailChars, NonBlankSingleLineChars, PlainText, Text},
    users::{EMAIL_MAX_CHARS, EMAIL_MIN_CHARS},
};

/// Longest list name, in characters, once surrounding whitespace is trimmed.
pub const LIST_NAME_MAX_CHARS: usize = 200;

/// A list's name as a client writes it: trimmed by the server, so not white space alone.
pub type ListName = Text<1, LIST_NAME_MAX_CHARS, NonBlankSingleLineChars>;

/// What a member may do in a list. `viewer`: read its tasks. `editor`: also create, change,
/// move and delete them. `owner` (one per list): also rename, share and delete the list,
/// and pass it on.
// The snake_case names are the wire format and also how the database stores a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, IntoStaticStr, EnumString, VariantArray)]
#[oai(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ListRole {
    Owner,
    Editor,
    Viewer,
}

/// A list, as the caller sees it.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct List {
    pub id: Uuid,
    /// Its name, one line, trimmed.
    pub name: String,
    /// What it is for, if its owner said.
    #[oai(nullable)]
    pub description: Option<String>,
    /// Whether this is its owner's Inbox: every account has one, where tasks go when no
    /// list is named; it cannot be deleted or given away.
    pub inbox: bool,
    /// The account that owns the list.
    pub owner_id: Uuid,
    // No doc comments on enum-typed fields: they become an `allOf` some generators refuse.
    pub role: ListRole,
    /// When it was made (an Inbox: when its account was).
    pub created_at: DateTime<Utc>,
    /// When its name or description last changed, or it passed to another owner.
    pub updated_at: DateTime<Utc>,
}

/// A new list: its name and, optionally, a description.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct ListInput {
    /// Surrounding whitespace is trimmed, and what remains must not be empty; one line.
    pub name: ListName,
    /// No control characters except tab and line breaks; `null` or absent for none.
    #[oai(nullable)]
    pub description: Option<PlainText<0, DESCRIPTION_MAX_CHARS>>,
}

/// Changes to a list, as a JSON Merge Patch (RFC 7396): a field left out stays as it is;
/// `null` clears `description`.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct ListPatch {
    /// The list's new name: trimmed, and what remains must not be empty.
    pub name: Option<ListName>,
    /// The list's new description; `null` clears it.
    #[oai(nullable, skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub description: MaybeUndefined<PlainText<0, DESCRIPTION_MAX_CHARS>>,
}

/// A member of a list, its owner included.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Member {
    pub user_id: Uuid,
    pub email: String,
    pub role: ListRole,
    /// When they became a member (the owner: when the list was made).
    pub since: DateTime<Utc>,
}

/// A member's new role. `owner` passes the list on: the old owner becomes an editor.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct MemberUpdate {
    pub role: ListRole,
}

/// Whom to invite, and as what (`editor` or `viewer`).
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct InvitationInput {
    /// The address to invite. It need not have an account yet: the invitation waits for
    /// one that registers with it.
    pub email: Text<EMAIL_MIN_CHARS, EMAIL_MAX_CHARS, EmailChars>,
    pub role: ListRole,
}

/// An invitation to a list (`list_id`, `list_name`): the address it invites (`email`), as
/// what (`role`), who sent it (`inviter_id`, `inviter_email`), and until when it can be
/// accepted (`expires_at`).
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Invitation {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub list_id: Uuid,
    pub list_name: String,
    pub email: String,
    pub role: ListRole,
    pub inviter_id: Uuid,
    pub inviter_email: String,
}

const LIST_ID: Uuid = Uuid::from_u128(0x0194_b2a4_0000_7000_8000_0000_0000_0010);
const ALICE: Uuid = Uuid::from_u128(0x0194_b2a4_0000_7000_8000_0000_0000_0001);

examples! {
    List => List {
        id: LIST_ID,
        name: "Groceries".to_owned(),
        description: Some("What the household needs this week.".to_owned()),
        inbox: false,
        owner_id: ALICE,
        role: ListRole::Owner,
        created_at: crate::EXAMPLE_TIME,
        updated_at: crate::EXAMPLE_TIME,
    };
    ListInput => ListInput {
        name: ListName::new("Groceries"),
        description: Some(PlainText::new("What the household needs this week.")),
    };
    ListPatch => ListPatch {
        name: Some(ListName::new("Weekly groceries")),
        description: MaybeUndefined::Undefined,
    };
    Member => Member {
        user_id: ALICE,
        email: "alice@example.com".to_owned(),
        role: ListRole::Owner,
        since: crate::EXAMPLE_TIME,
    };
    MemberUpdate => MemberUpdate { role: ListRole::Editor };
    InvitationInput => InvitationInput {
        email: Text::new("bob@example.com"),
        role: ListRole::Editor,
    };
    Invitation => Invitation {
        id: Uuid::from_u128(0x0194_b2a4_0000_7000_8000_0000_0000_0020),
        list_id: LIST_ID,
        list_name: "Groceries".to_owned(),
        email: "bob@example.com".to_owned(),
        role: ListRole::Editor,
        inviter_id: ALICE,
        inviter_email: "alice@example.com".to_owned(),
        created_at: crate::EXAMPLE_TIME,
        expires_at: crate::EXAMPLE_TIME + chrono::Duration::days(14),
    };
}

pages! {
    /// One page of lists: the caller's own, their Inbox first, and those shared with them,
    /// oldest first.
    ListPage(List);
    /// One page of a list's members, longest-standing first (the owner leads).
    MemberPage(Member);
    /// One page of invitations, newest first.
    InvitationPage(Invitation);
}

#[derive(ApiResponse)]
pub enum CreateListResponse {
    /// The list was created; `Location` is its URL and `ETag` its version.
    #[oai(status = 201)]
    Created(
        Json<List>,
        #[oai(header = "Location")] String,
        #[oai(header = "ETag")] String,
    ),
}

conditional_reads! {
    "The list; `ETag` is its version."
    GetListResponse(Json<List>);
}

#[derive(ApiResponse)]
pub enum ListResponse {
    /// The list as it is now; `ETag` is its version.
    #[oai(status = 200)]
    Ok(Json<List>, #[oai(header = "ETag")] String),
}

#[derive(ApiResponse)]
pub enum InvitationResponse {
    /// The invitation stands (it replaces an earlier one of the same address to this
    /// list). The answer is the same whether or not an account has the address.
    #[oai(status = 202)]
    Accepted(Json<Invitation>),
}

responses! {
    /// A page of lists.
    ListPageResponse: 200 Ok(Json<ListPage>);
    /// Done.
    ListDoneResponse: 204 NoContent;
    /// A page of members.
    MemberPageResponse: 200 Ok(Json<MemberPage>);
    /// The member as they are now.
    MemberResponse: 200 Ok(Json<Member>);
    /// A page of invitations.
    InvitationPageResponse: 200 Ok(Json<InvitationPage>);
    /// The invitation is accepted: the list, as the caller now sees it.
    JoinedResponse: 200 Ok(Json<List>);
}

error_sets! {
    /// Errors of `create_list`.
    CreateListErrors: 400, 401, 403, 413, 415, 422, 429;
    /// Errors of `list_lists`, `list_invitations`.
    ListListsErrors: 400, 401, 403, 422, 429;
    /// Errors of `get_list`, `accept_invitation`, `decline_invitation`.
    GetListErrors: 400, 401, 403, 404, 429;
    /// Errors of `update_list`.
    UpdateListErrors: 400, 401, 403, 404, 412, 413, 415, 422, 428, 429;
    /// Errors of `delete_list`.
    DeleteListErrors: 400, 401, 403, 404, 409, 412, 428, 429;
    /// Errors of `list_members`.
    ListMembersErrors: 400, 401, 403, 404, 422, 429;
    /// Errors of `update_member`.
    UpdateMemberErrors: 400, 401, 403, 404, 409, 413, 415, 422, 429;
    /// Errors of `remove_member`.
    RemoveMemberErrors: 400, 401, 403, 404, 409, 429;
    /// Errors of `create_invitation`.
    CreateInvitationErrors: 400, 401, 403, 404, 413, 415, 422, 429;
}
