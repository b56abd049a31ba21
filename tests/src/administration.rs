//! What an administrator does to other accounts, through the SDK; each call must succeed.

use taskapi_client::types;
use uuid::Uuid;

use crate::TestUser;

impl TestUser {
    /// The first page of every account, newest first.
    pub async fn accounts(&self) -> types::AccountPage {
        self.client
            .admin_list_users()
            .send()
            .await
            .expect("listed")
            .into_inner()
    }

    /// Disables the account `id`; its sessions end at once.
    pub async fn disable_account(&self, id: Uuid) -> types::Account {
        let request = self.client.admin_disable_user().user_id(id);
        request.send().await.expect("disabled").into_inner()
    }

    /// Enables the account `id` again.
    pub async fn enable_account(&self, id: Uuid) -> types::Account {
        let request = self.client.admin_enable_user().user_id(id);
        request.send().await.expect("enabled").into_inner()
    }

    /// Deletes the account `id` with everything it owns.
    pub async fn delete_account(&self, id: Uuid) {
        let request = self.client.admin_delete_user().user_id(id);
        request.send().await.expect("deleted");
    }

    /// Ends every session of the account `id`.
    pub async fn end_sessions_of(&self, id: Uuid) {
        let request = self.client.admin_end_user_sessions().user_id(id);
        request.send().await.expect("ended");
    }
}
