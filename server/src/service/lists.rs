//! Lists and sharing: the caller's lists and those shared with them, their members, and
//! invitations. The caller's role in a list is read with the list, in the same statement;
//! each operation then asks for the role it needs (a list the caller cannot see is not
//! found, one they can see but may not change is refused with the role it needs).
//!
//! Roles are read from the database on every request and never cached, so a member who
//! is removed or leaves loses access with their next request, on every instance.

use std::time::Duration;

use super::{
    Failure, Precondition, Preconditions, Read, after, check,
    limits::{Limited, RateLimits},
    now,
};
use crate::{
    domain::{
        Condition, Email, Invitation, InvitationId, InvitationPage, List, ListDraft, ListEdit,
        ListId, ListPage, ListRole, Member, MemberPage, PageCursor, PageSize, RoleNeeded,
        SharedRole, UserId,
    },
    store::{Database, invitations, lists, tasks, users},
};

super::not_found_error!(
    /// No such list, or the caller cannot see it.
    ListNotFound: "list not found"
);

super::not_found_error!(
    /// No such invitation to the caller (or it has expired).
    InvitationNotFound: "invitation not found"
);

super::one_of! {
    /// Why an operation on a list the caller names was refused.
    ListError {
        Missing(ListNotFound),
        /// The caller can see the list, but the operation needs a higher role.
        RoleNeeded(RoleNeeded),
    }
    failing in Missing
}

/// The account named is not a member of the list.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("no such member")]
pub struct NoSuchMember;

/// What a list keeps whatever its members ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Kept {
    /// An Inbox is its account's for good: it is not deleted or given away.
    #[error("an Inbox cannot be deleted or given away")]
    Inbox,
    /// A list has one owner: they do not leave it or take a lesser role, except by
    /// passing ownership on.
    #[error("the owner stays until ownership passes on")]
    Owner,
}

super::one_of! {
    /// Why a change to a list was refused.
    ListChangeError {
        List(ListError),
        Precondition(Precondition),
    }
    failing in List
}

super::one_of! {
    /// Why a list was not deleted.
    DeleteListError {
        Change(ListChangeError),
        Kept(Kept),
    }
    failing in Change
}

super::one_of! {
    /// Why a membership was not changed or ended.
    MemberError {
        List(ListError),
        /// The account is not a member of the list.
        NoSuchMember(NoSuchMember),
        Kept(Kept),
    }
    failing in List
}

super::one_of! {
    /// Why an invitation was not made.
    InviteError {
        List(ListError),
        Limited(Limited),
    }
    failing in List
}

super::converts_through! {
    MemberError::List <- RoleNeeded,
}

/// What a server's settings decide about lists.
#[derive(Debug, Clone, Copy)]
pub struct ListPolicy {
    pub preconditions: Preconditions,
    /// How long an invitation can be accepted.
    pub invitation_ttl: Duration,
}

#[derive(Clone)]
pub struct ListService {
    db: Database,
    policy: ListPolicy,
    limits: RateLimits,
}

impl ListService {
    pub fn new(db: Database, policy: ListPolicy, limits: RateLimits) -> Self {
        Self { db, policy, limits }
    }

    /// A new list owned by the caller.
    pub async fn create(&self, caller: UserId, draft: ListDraft) -> Result<List, Failure> {
        // A transaction, as every write to lists is: its commit is what tells the event
        // streams of the change (`Database::commits`).
        let mut transaction = self.db.begin().await?;
        let list = lists::insert(&mut *transaction, caller, &draft, false, now()).await?;
        transaction.finish(list).await
    }

    /// A page of the lists the caller can see, oldest first (their Inbox leads).
    pub async fn list(
        &self,
        caller: UserId,
        size: PageSize,
        after: Option<PageCursor>,
    ) -> Result<ListPage, Failure> {
        let items = lists::list(
            &mut *self.db.acquire().await?,
            caller,
            (ListPage::lookahead(size), after),
        )
        .await?;
        Ok(ListPage::from_lookahead(items, size, List::position))
    }

    /// The list, unless `if_none_match` names its current version (weak comparison).
    pub async fn get(
        &self,
        caller: UserId,
        id: ListId,
        if_none_match: Option<Condition>,
    ) -> Result<Read<List>, ListNotFound> {
        let list = lists::find(&mut *self.db.acquire().await?, caller, id, false)
            .await?
            .ok_or(ListNotFound::NotFound)?;
        Ok(Read::of(list, |list| list.version, if_none_match))
    }

    /// The list, locked until `transaction` ends, if the caller has at least `needed`
    /// there.
    async fn locked(
        &self,
        transaction: &mut sqlx::PgConnection,
        caller: UserId,
        id: ListId,
        needed: ListRole,
    ) -> Result<List, ListError> {
        let list = lists::find(&mut *transaction, caller, id, true)
            .await?
            .ok_or(ListNotFound::NotFound)?;
        list.role.at_least(needed)?;
        Ok(list)
    }

    /// Renames the list or changes its description (its owner only), if `if_match` (when
    /// given) names its current version.
    pub async fn update(
        &self,
        caller: UserId,
        id: ListId,
        edit: ListEdit,
        if_match: Option<Condition>,
    ) -> Result<List, ListChangeError> {
        let if_match = self.policy.preconditions.of(if_match)?;
        let mut transaction = self.db.begin().await?;
        let current = self
            .locked(&mut transaction, caller, id, ListRole::Owner)
            .await?;
        check(if_match.as_ref(), current.version)?;
        let draft = current.edited(edit);
        let list = lists::update(&mut *transaction, &current, &draft, now()).await?;
        Ok(transaction.finish(list).await?)
    }

    /// Deletes the list with every task in it (its owner only; never an Inbox), if
    /// `if_match` (when given) names its current version.
    pub async fn delete(
        &self,
        caller: UserId,
        id: ListId,
        if_match: Option<Condition>,
    ) -> Result<(), DeleteListError> {
        let if_match = self
            .policy
            .preconditions
            .of(if_match)
            .map_err(ListChangeError::from)?;
        let mut transaction = self.db.begin().await?;
        let current = self
            .locked(&mut transaction, caller, id, ListRole::Owner)
            .await
            .map_err(ListChangeError::from)?;
        check(if_match.as_ref(), current.version).map_err(ListChangeError::from)?;
        if current.inbox {
            return Err(Kept::Inbox.into());
        }
        lists::delete(&mut *transaction, id).await?;
        Ok(transaction.finish(()).await?)
    }

    /// A page of the list's members (the caller must be one), its owner first.
    pub async fn members(
        &self,
        caller: UserId,
        id: ListId,
        size: PageSize,
        after: Option<PageCursor>,
    ) -> Result<MemberPage, ListNotFound> {
        let mut db = self.db.acquire().await?;
        lists::find(&mut *db, caller, id, false)
            .await?
            .ok_or(ListNotFound::NotFound)?;
        let items = lists::members(&mut *db, id, (MemberPage::lookahead(size), after)).await?;
        Ok(MemberPage::from_lookahead(items, size, Member::position))
    }

    /// Gives a member another role (the owner only). Giving them `owner` passes the list
    /// on: the old owner stays as an editor.
    pub async fn update_member(
        &self,
        caller: UserId,
        id: ListId,
        member: UserId,
        role: ListRole,
    ) -> Result<Member, MemberError> {
        let at = now();
        let mut transaction = self.db.begin().await?;
        let list = self
            .locked(&mut transaction, caller, id, ListRole::Owner)
            .await?;
        if member == caller {
            // The owner: staying the owner changes nothing; anything less needs an heir.
            if role != ListRole::Owner {
                return Err(Kept::Owner.into());
            }
        } else {
            lists::member(&mut *transaction, id, member)
                .await?
                .ok_or(NoSuchMember)?;
            match SharedRole::parse(role) {
                Ok(shared) => {
                    lists::put_member(&mut *transaction, id, member, shared.get(), at).await?;
                }
                Err(_) if list.inbox => return Err(Kept::Inbox.into()),
                Err(_) => {
                    lists::set_owner(&mut *transaction, id, member, at).await?;
                    lists::remove_member(&mut *transaction, id, member).await?;
                    lists::put_member(&mut *transaction, id, caller, ListRole::Editor, at).await?;
                }
            }
        }
        let changed = lists::member(&mut *transaction, id, member)
            .await?
            .ok_or_else(|| Failure::internal("a member just written vanished", id.0.to_string()))?;
        Ok(transaction.finish(changed).await?)
    }

    /// Ends a membership: the owner removes a member, or a member leaves. Whoever goes is
    /// unassigned from the list's tasks.
    pub async fn remove_member(
        &self,
        caller: UserId,
        id: ListId,
        member: UserId,
    ) -> Result<(), MemberError> {
        let needed = match member == caller {
            true => ListRole::Viewer,
            false => ListRole::Owner,
        };
        let mut transaction = self.db.begin().await?;
        let list = self.locked(&mut transaction, caller, id, needed).await?;
        if list.owner == member {
            return Err(Kept::Owner.into());
        }
        if !lists::remove_member(&mut *transaction, id, member).await? {
            return Err(MemberError::NoSuchMember(NoSuchMember));
        }
        tasks::unassign(&mut *transaction, id, member, now()).await?;
        Ok(transaction.finish(()).await?)
    }

    /// Invites whoever has (or registers) `email` to the list with `role` (the owner
    /// only). The answer does not tell whether an account has that address.
    pub async fn invite(
        &self,
        caller: UserId,
        id: ListId,
        email: Email,
        role: SharedRole,
    ) -> Result<Invitation, InviteError> {
        self.limits
            .invitation(caller)
            .await
            .map_err(|error| error.into_error(InviteError::Limited))?;
        let mut transaction = self.db.begin().await?;
        self.locked(&mut transaction, caller, id, ListRole::Owner)
            .await?;
        let at = now();
        let expires_at = after(at, self.policy.invitation_ttl);
        let invitation =
            invitations::put(&mut *transaction, id, &email, role, caller, at, expires_at).await?;
        let made = invitations::find(&mut *transaction, invitation)
            .await?
            .ok_or_else(|| {
                Failure::internal("an invitation just made vanished", id.0.to_string())
            })?;
        Ok(transaction.finish(made).await?)
    }

    /// A page of the invitations to the caller's email address, newest first.
    pub async fn invitations(
        &self,
        caller: UserId,
        after: Option<PageCursor>,
        size: PageSize,
    ) -> Result<InvitationPage, Failure> {
        let mut connection = self.db.acquire().await?;
        let Some(user) = users::find(&mut *connection, caller).await? else {
            return Ok(InvitationPage {
                items: Vec::new(),
                next: None,
            });
        };
        let items = invitations::for_email(
            &mut *connection,
            &user.email,
            after,
            InvitationPage::lookahead(size),
        )
        .await?;
        Ok(InvitationPage::from_lookahead(
            items,
            size,
            Invitation::position,
        ))
    }

    /// Declines an invitation to the caller: it is gone.
    pub async fn decline(
        &self,
        caller: UserId,
        id: InvitationId,
    ) -> Result<(), InvitationNotFound> {
        let mut transaction = self.db.begin().await?;
        self.take(&mut transaction, caller, id).await?;
        Ok(transaction.finish(()).await?)
    }

    /// Accepts an invitation to the caller: they become a member with its role (a member
    /// already takes its role; the owner stays the owner). The list as they now see it.
    pub async fn accept(
        &self,
        caller: UserId,
        id: InvitationId,
    ) -> Result<List, InvitationNotFound> {
        let mut transaction = self.db.begin().await?;
        // The list is locked first, so that the caller's membership read below stays as
        // it is until the end (an ownership passing to them at the same time must not
        // leave them both owner and member); before the invitation, as inviting and
        // deleting the list lock them, or the two could wait on each other.
        if let Some(invitation) = invitations::find(&mut *transaction, id).await? {
            lists::lock(&mut *transaction, invitation.list.0).await?;
        }
        let (list, role) = self.take(&mut transaction, caller, id).await?;
        let already = lists::member(&mut *transaction, list, caller).await?;
        if already.is_none_or(|member| member.role != ListRole::Owner) {
            lists::put_member(&mut *transaction, list, caller, role.get(), now()).await?;
        }
        let joined = lists::find(&mut *transaction, caller, list, false)
            .await?
            .ok_or_else(|| Failure::internal("a list just joined vanished", list.0.to_string()))?;
        Ok(transaction.finish(joined).await?)
    }

    /// Takes the invitation `id` to the caller's address away: its list and role.
    async fn take(
        &self,
        transaction: &mut sqlx::PgConnection,
        caller: UserId,
        id: InvitationId,
    ) -> Result<(ListId, SharedRole), InvitationNotFound> {
        let user = users::find(&mut *transaction, caller)
            .await?
            .ok_or(InvitationNotFound::NotFound)?;
        invitations::take(&mut *transaction, id, &user.email)
            .await?
            .ok_or(InvitationNotFound::NotFound)
    }

    /// Deletes expired invitations (a periodic job); how many.
    pub async fn purge_expired_invitations(&self) -> Result<u64, Failure> {
        let mut db = self.db.acquire().await?;
        let purged = invitations::purge_expired(&mut *db).await?;
        db.release().await?;
        Ok(purged)
    }
}
