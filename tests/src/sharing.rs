//! What a user does with lists: make them, share them, answer invitations.

use futures::TryStreamExt;
use taskapi_client::{ResponseValue, pages::Listing, types};
use uuid::Uuid;

use crate::TestUser;

impl TestUser {
    /// Makes a list with just a name.
    pub async fn create_list(&self, name: &str) -> types::List {
        let created = self.try_create_list(name).await;
        created.expect("the list is created").into_inner()
    }

    /// Every list this user can see, their Inbox first.
    pub async fn lists(&self) -> Vec<types::List> {
        self.client
            .list_lists()
            .items()
            .try_collect()
            .await
            .expect("listed")
    }

    /// This user's Inbox.
    pub async fn inbox(&self) -> types::List {
        let lists = self.lists().await;
        let mut inboxes = lists
            .into_iter()
            .filter(|list| list.inbox && list.owner_id == self.id);
        let inbox = inboxes.next().expect("an Inbox");
        assert!(inboxes.next().is_none(), "one Inbox");
        inbox
    }

    /// Invites `email` to the list as `role`.
    pub async fn invite(
        &self,
        list_id: Uuid,
        email: &str,
        role: types::ListRole,
    ) -> types::Invitation {
        let invited = self.try_invite(list_id, email, role).await;
        invited.expect("invited").into_inner()
    }

    /// The invitations to this user that can still be accepted.
    pub async fn invitations(&self) -> Vec<types::Invitation> {
        self.client
            .list_invitations()
            .items()
            .try_collect()
            .await
            .expect("listed")
    }

    /// Accepts the invitation: the list as this user now sees it.
    pub async fn accept(&self, invitation_id: Uuid) -> types::List {
        let accepted = self.try_accept(invitation_id).await;
        accepted.expect("accepted").into_inner()
    }

    /// Makes a list and shares it with `member` as `role`.
    pub async fn shared_list(
        &self,
        name: &str,
        member: &TestUser,
        role: types::ListRole,
    ) -> types::List {
        let list = self.create_list(name).await;
        self.share(list.id, member, role).await;
        list
    }

    /// Shares the list with `member` as `role`: invited by email, and accepted.
    pub async fn share(&self, list_id: Uuid, member: &TestUser, role: types::ListRole) {
        let invitation = self.invite(list_id, &member.email, role).await;
        let joined = member.accept(invitation.id).await;
        assert_eq!(joined.id, list_id);
    }

    /// The list's members, its owner first.
    pub async fn members(&self, list_id: Uuid) -> Vec<types::Member> {
        self.client
            .list_members()
            .list_id(list_id)
            .items()
            .try_collect()
            .await
            .expect("listed")
    }

    /// A task with a title in the list.
    pub async fn create_in(&self, list_id: Uuid, title: &str) -> types::Task {
        self.create(types::TaskInput {
            list_id: Some(list_id),
            ..crate::task_titled(title)
        })
        .await
    }
}

/// What the SDK answers a call: the response, or the problem the server sent.
pub type Sent<T> = Result<ResponseValue<T>, taskapi_client::Error<types::Problem>>;

/// Calls whose answer a test looks at, refusals included.
impl TestUser {
    /// Makes a list with just a name.
    pub async fn try_create_list(&self, name: &str) -> Sent<types::List> {
        let list = types::ListInput::builder().name(name);
        self.client.create_list().body(list).send().await
    }

    /// Invites `email` to the list as `role`.
    pub async fn try_invite(
        &self,
        list_id: Uuid,
        email: &str,
        role: types::ListRole,
    ) -> Sent<types::Invitation> {
        let body = types::InvitationInput::builder().email(email).role(role);
        self.client
            .create_invitation()
            .list_id(list_id)
            .body(body)
            .send()
            .await
    }

    /// Accepts the invitation.
    pub async fn try_accept(&self, invitation_id: Uuid) -> Sent<types::List> {
        let accept = self.client.accept_invitation();
        accept.invitation_id(invitation_id).send().await
    }

    /// Renames the list.
    pub async fn try_rename_list(&self, list_id: Uuid, name: &str) -> Sent<types::List> {
        let patch = types::ListPatch::builder().name(Some(name.try_into().expect("fits")));
        self.client
            .update_list()
            .list_id(list_id)
            .body(patch)
            .send()
            .await
    }

    /// Patches the task with `patch`.
    pub async fn try_patch(
        &self,
        task_id: Uuid,
        patch: types::builder::TaskPatch,
    ) -> Sent<types::Task> {
        self.client
            .update_task()
            .task_id(task_id)
            .body(patch)
            .send()
            .await
    }

    /// Ends `user_id`'s membership of the list (or, for this user, leaves it).
    pub async fn try_remove(&self, list_id: Uuid, user_id: Uuid) -> Sent<()> {
        self.client
            .remove_member()
            .list_id(list_id)
            .user_id(user_id)
            .send()
            .await
    }

    /// Gives the member `user_id` a role in the list.
    pub async fn try_set_role(
        &self,
        list_id: Uuid,
        user_id: Uuid,
        role: types::ListRole,
    ) -> Sent<types::Member> {
        let update = types::MemberUpdate::builder().role(role);
        self.client
            .update_member()
            .list_id(list_id)
            .user_id(user_id)
            .body(update)
            .send()
            .await
    }

    /// The first page of the tasks assigned to `assignee` (`me`, or an account's id).
    pub async fn assigned_to(&self, assignee: &str) -> Sent<types::TaskPage> {
        self.client.list_tasks().assignee(assignee).send().await
    }

    /// Renames tag `from` to `to`, across the lists this user edits.
    pub async fn try_rename_tag(&self, from: &str, to: &str) -> Sent<types::Tag> {
        let rename = types::TagRename::builder().name(to);
        self.client
            .rename_tag()
            .name(from)
            .body(rename)
            .send()
            .await
    }

    /// The first page of the list's tasks.
    pub async fn tasks_in(&self, list_id: Uuid) -> Sent<types::TaskPage> {
        self.client.list_tasks().list_id(list_id).send().await
    }
}
