//! `/lists`: lists, their members, and invitations to share them; and the caller's
//! invitations, which they accept or decline. A list the caller cannot see is
//! indistinguishable from one that does not exist.

use poem::Request;
use taskapi_api::lists::{
    self as contract, CreateInvitationErrors, CreateListErrors, CreateListResponse,
    DeleteListErrors, GetListErrors, GetListResponse, InvitationInput, InvitationPageResponse,
    InvitationResponse, JoinedResponse, ListDoneResponse, ListInput, ListListsErrors,
    ListMembersErrors, ListPageResponse, ListPatch, ListResponse, MemberPageResponse,
    MemberResponse, MemberUpdate, RemoveMemberErrors, UpdateListErrors, UpdateMemberErrors,
};

use super::{body::JsonBody, condition, conditional, prelude::*};
use crate::domain::{
    Email, FieldErrors, Invitation, InvitationId, List, ListDescription, ListDraft, ListEdit,
    ListId, ListName, ListRole, Member, PageCursor, SharedRole, UserId,
};

super::same_variants!(contract::ListRole, ListRole: Owner, Editor, Viewer);

/// The operations on `/lists`.
pub enum Lists {}

#[OpenApi(prefix_path = "/lists", tag = "ApiTag::Lists")]
impl Api<Lists> {
    /// Create a list
    ///
    /// Creates a list owned by the caller, who can then share it (`create_invitation`).
    #[oai(path = "/", method = "post", operation_id = "create_list")]
    async fn create_list(
        &self,
        #[oai(scope = "Scope::ListsWrite")] auth: BearerAuth,
        body: JsonBody<ListInput>,
    ) -> Result<CreateListResponse, Errors<CreateListErrors>> {
        let caller = self.authenticate(auth).await?;
        let draft: ListDraft = self.bodies.json(body)?.try_into()?;
        let list = self.lists.create(caller.user, draft).await?;
        let (etag, location) = (list.version.etag(), format!("/lists/{}", list.id.0));
        Ok(CreateListResponse::Created(
            Json(list.into()),
            location,
            etag,
        ))
    }

    /// List lists
    ///
    /// The lists the caller can see, each with the caller's `role`: their own (their Inbox
    /// first) and those shared with them, oldest first, one bounded page at a time.
    #[oai(path = "/", method = "get", operation_id = "list_lists")]
    async fn list_lists(
        &self,
        #[oai(scope = "Scope::ListsRead")] auth: BearerAuth,
        /// How many lists the page holds.
        #[oai(default)]
        limit: Query<PageLimit>,
        /// The previous page's `next_cursor` (only cursors this API issued); omit for page one.
        cursor: Query<Option<Cursor>>,
    ) -> Result<ListPageResponse, Errors<ListListsErrors>> {
        let caller = self.authenticate(auth).await?;
        let (size, after) = page_request(limit.0, cursor.0, PageCursor::decode)?;
        let page = self.lists.list(caller.user, size, after).await?;
        Ok(ListPageResponse::Ok(Json(page_of(page, Into::into))))
    }

    /// Get a list
    ///
    /// A list the caller can see, with their role and its version as `ETag`. With
    /// `If-None-Match` naming the current version, the answer is 304 and no body.
    #[oai(path = "/:list_id", method = "get", operation_id = "get_list")]
    async fn get_list(
        &self,
        request: &Request,
        #[oai(scope = "Scope::ListsRead")] auth: BearerAuth,
        list_id: Path<Uuid>,
        /// Entity tags of copies the client holds (`"3"`, or `*`); weak tags compare too.
        #[oai(name = "If-None-Match")]
        if_none_match: Header<Option<String>>,
    ) -> Result<GetListResponse, Errors<GetListErrors>> {
        let caller = self.authenticate(auth).await?;
        let condition = condition(request, "If-None-Match", if_none_match);
        let read = self
            .lists
            .get(caller.user, ListId(list_id.0), condition)
            .await?;
        let ok = |list: List, etag| GetListResponse::Ok(Json(list.into()), etag);
        Ok(conditional(
            read,
            |list| list.version,
            ok,
            GetListResponse::NotModified,
        ))
    }

    /// Change a list
    ///
    /// Renames the list or changes its description (its owner only), as a JSON Merge
    /// Patch. With `If-Match`, only if the list is still at that version (else 412, with
    /// the current `ETag`).
    #[oai(path = "/:list_id", method = "patch", operation_id = "update_list")]
    async fn update_list(
        &self,
        request: &Request,
        #[oai(scope = "Scope::ListsWrite")] auth: BearerAuth,
        list_id: Path<Uuid>,
        /// The `ETag` of the version being changed (`"3"`), or `*`; 428 without, if required.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: JsonBody<ListPatch>,
    ) -> Result<ListResponse, Errors<UpdateListErrors>> {
        let caller = self.authenticate(auth).await?;
        let edit: ListEdit = self.bodies.json(body)?.try_into()?;
        let condition = condition(request, "If-Match", if_match);
        let list = self
            .lists
            .update(caller.user, ListId(list_id.0), edit, condition)
            .await?;
        let etag = list.version.etag();
        Ok(ListResponse::Ok(Json(list.into()), etag))
    }

    /// Delete a list
    ///
    /// Deletes the list and every task in it, at once (its owner only). An Inbox cannot be
    /// deleted (409). With `If-Match`, only if the list is still at that version.
    #[oai(path = "/:list_id", method = "delete", operation_id = "delete_list")]
    async fn delete_list(
        &self,
        request: &Request,
        #[oai(scope = "Scope::ListsWrite")] auth: BearerAuth,
        list_id: Path<Uuid>,
        /// The `ETag` of the version being deleted (`"3"`), or `*`; 428 without, if required.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
    ) -> Result<ListDoneResponse, Errors<DeleteListErrors>> {
        let caller = self.authenticate(auth).await?;
        let condition = condition(request, "If-Match", if_match);
        self.lists
            .delete(caller.user, ListId(list_id.0), condition)
            .await?;
        Ok(ListDoneResponse::NoContent)
    }

    /// List a list's members
    ///
    /// Everyone the list is shared with, and its owner first, with their roles; any
    /// member may look.
    #[oai(
        path = "/:list_id/members",
        method = "get",
        operation_id = "list_members"
    )]
    async fn list_members(
        &self,
        #[oai(scope = "Scope::ListsRead")] auth: BearerAuth,
        list_id: Path<Uuid>,
        /// How many members the page holds.
        #[oai(default)]
        limit: Query<PageLimit>,
        /// The previous page's `next_cursor` (only cursors this API issued); omit for page one.
        cursor: Query<Option<Cursor>>,
    ) -> Result<MemberPageResponse, Errors<ListMembersErrors>> {
        let caller = self.authenticate(auth).await?;
        let (size, after) = page_request(limit.0, cursor.0, PageCursor::decode)?;
        let page = self
            .lists
            .members(caller.user, ListId(list_id.0), size, after)
            .await?;
        Ok(MemberPageResponse::Ok(Json(page_of(page, Into::into))))
    }

    /// Change a member's role
    ///
    /// Makes a member an editor or a viewer (the owner only). Role `owner` passes the list
    /// on to the member: the old owner becomes an editor. An Inbox cannot be passed on, and
    /// the owner cannot take a lesser role without passing the list on first (409).
    #[oai(
        path = "/:list_id/members/:user_id",
        method = "patch",
        operation_id = "update_member"
    )]
    async fn update_member(
        &self,
        #[oai(scope = "Scope::ListsWrite")] auth: BearerAuth,
        list_id: Path<Uuid>,
        user_id: Path<Uuid>,
        body: JsonBody<MemberUpdate>,
    ) -> Result<MemberResponse, Errors<UpdateMemberErrors>> {
        let caller = self.authenticate(auth).await?;
        let update = self.bodies.json(body)?;
        let member = self
            .lists
            .update_member(
                caller.user,
                ListId(list_id.0),
                UserId(user_id.0),
                update.role.into(),
            )
            .await?;
        Ok(MemberResponse::Ok(Json(member.into())))
    }

    /// Remove a member
    ///
    /// Ends a membership: the owner removes a member, or a member removes themself (leaves
    /// the list). They lose access at their next request, and are unassigned from the
    /// list's tasks. The owner cannot leave (409): they pass the list on first, or delete
    /// it.
    #[oai(
        path = "/:list_id/members/:user_id",
        method = "delete",
        operation_id = "remove_member"
    )]
    async fn remove_member(
        &self,
        #[oai(scope = "Scope::ListsWrite")] auth: BearerAuth,
        list_id: Path<Uuid>,
        user_id: Path<Uuid>,
    ) -> Result<ListDoneResponse, Errors<RemoveMemberErrors>> {
        let caller = self.authenticate(auth).await?;
        self.lists
            .remove_member(caller.user, ListId(list_id.0), UserId(user_id.0))
            .await?;
        Ok(ListDoneResponse::NoContent)
    }

    /// Invite someone to a list
    ///
    /// Invites whoever has (or will register) the email address to the list as an editor
    /// or a viewer (the owner only). The answer is the same whether or not an account has
    /// the address; the invitation shows in their `list_invitations` until it is accepted,
    /// declined or expires (after 14 days by default). Invitations are rate-limited per
    /// inviter.
    #[oai(
        path = "/:list_id/invitations",
        method = "post",
        operation_id = "create_invitation"
    )]
    async fn create_invitation(
        &self,
        #[oai(scope = "Scope::ListsWrite")] auth: BearerAuth,
        list_id: Path<Uuid>,
        body: JsonBody<InvitationInput>,
    ) -> Result<InvitationResponse, Errors<CreateInvitationErrors>> {
        let caller = self.authenticate(auth).await?;
        let input = self.bodies.json(body)?;
        let mut errors = FieldErrors::default();
        let email = errors.check("email", Email::parse(input.email.as_str()));
        let role = errors.check("role", SharedRole::parse(input.role.into()));
        let (Some(email), Some(role)) = (email, role) else {
            return Err(errors.into());
        };
        let invitation = self
            .lists
            .invite(caller.user, ListId(list_id.0), email, role)
            .await?;
        Ok(InvitationResponse::Accepted(Json(invitation.into())))
    }
}

/// The operations on the caller's invitations.
pub enum Invitations {}

#[OpenApi(tag = "ApiTag::Lists")]
impl Api<Invitations> {
    /// List my invitations
    ///
    /// The invitations to the caller's email address that can still be accepted, newest
    /// first, each with its list, role and inviter.
    #[oai(
        path = "/users/me/invitations",
        method = "get",
        operation_id = "list_invitations"
    )]
    async fn list_invitations(
        &self,
        #[oai(scope = "Scope::ListsRead")] auth: BearerAuth,
        /// How many invitations the page holds.
        #[oai(default)]
        limit: Query<PageLimit>,
        /// The previous page's `next_cursor` (only cursors this API issued); omit for page one.
        cursor: Query<Option<Cursor>>,
    ) -> Result<InvitationPageResponse, Errors<ListListsErrors>> {
        let caller = self.authenticate(auth).await?;
        let (size, after) = page_request(limit.0, cursor.0, PageCursor::decode)?;
        let page = self.lists.invitations(caller.user, after, size).await?;
        Ok(InvitationPageResponse::Ok(Json(page_of(page, Into::into))))
    }

    /// Accept an invitation
    ///
    /// The caller joins the list with the invitation's role (a member already takes that
    /// role). An invitation to another address, or one that has expired, is not found.
    #[oai(
        path = "/invitations/:invitation_id/accept",
        method = "post",
        operation_id = "accept_invitation"
    )]
    async fn accept_invitation(
        &self,
        #[oai(scope = "Scope::ListsWrite")] auth: BearerAuth,
        invitation_id: Path<Uuid>,
    ) -> Result<JoinedResponse, Errors<GetListErrors>> {
        let caller = self.authenticate(auth).await?;
        let list = self
            .lists
            .accept(caller.user, InvitationId(invitation_id.0))
            .await?;
        Ok(JoinedResponse::Ok(Json(list.into())))
    }

    /// Decline an invitation
    ///
    /// The invitation is gone; the list is not joined.
    #[oai(
        path = "/invitations/:invitation_id/decline",
        method = "post",
        operation_id = "decline_invitation"
    )]
    async fn decline_invitation(
        &self,
        #[oai(scope = "Scope::ListsWrite")] auth: BearerAuth,
        invitation_id: Path<Uuid>,
    ) -> Result<ListDoneResponse, Errors<GetListErrors>> {
        let caller = self.authenticate(auth).await?;
        self.lists
            .decline(caller.user, InvitationId(invitation_id.0))
            .await?;
        Ok(ListDoneResponse::NoContent)
    }
}

impl TryFrom<ListInput> for ListDraft {
    type Error = FieldErrors;

    fn try_from(input: ListInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let Some(name) = errors.check("name", ListName::parse(input.name.as_str())) else {
            return Err(errors);
        };
        Ok(Self {
            name,
            description: input
                .description
                .map(|text| ListDescription::new(text.into_inner())),
        })
    }
}

impl TryFrom<ListPatch> for ListEdit {
    type Error = FieldErrors;

    fn try_from(patch: ListPatch) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let Some(name) =
            errors.check_optional("name", patch.name, |name| ListName::parse(name.as_str()))
        else {
            return Err(errors);
        };
        Ok(Self {
            name,
            description: patch
                .description
                .map_value(|text| ListDescription::new(text.into_inner()))
                .into(),
        })
    }
}

impl From<List> for contract::List {
    fn from(list: List) -> Self {
        Self {
            id: list.id.0,
            name: list.name.as_str().to_owned(),
            description: list.description.map(|d| d.as_str().to_owned()),
            inbox: list.inbox,
            owner_id: list.owner.0,
            role: list.role.into(),
            created_at: list.created_at,
            updated_at: list.updated_at,
        }
    }
}

impl From<Member> for contract::Member {
    fn from(member: Member) -> Self {
        Self {
            user_id: member.user.0,
            email: member.email.as_str().to_owned(),
            role: member.role.into(),
            since: member.since,
        }
    }
}

impl From<Invitation> for contract::Invitation {
    fn from(invitation: Invitation) -> Self {
        Self {
            id: invitation.id.0,
            list_id: invitation.list.0.0,
            list_name: invitation.list.1.as_str().to_owned(),
            email: invitation.email.as_str().to_owned(),
            role: invitation.role.get().into(),
            inviter_id: invitation.inviter.0.0,
            inviter_email: invitation.inviter.1.as_str().to_owned(),
            created_at: invitation.created_at,
            expires_at: invitation.expires_at,
        }
    }
}
