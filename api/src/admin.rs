//! `/admin`: managing every account. Only administrators may call these operations; anyone
//! else gets 403.

use chrono::{DateTime, Utc};
use poem_openapi::{Object, payload::Json};
use uuid::Uuid;

use crate::{
    problem::error_sets,
    text::{EmailChars, Text},
    users::{EMAIL_MAX_CHARS, Role},
};

/// An account as administrators see it.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Account {
    pub id: Uuid,
    /// The email address as registered (trimmed).
    pub email: String,
    pub role: Role,
    /// When an administrator disabled the account; `null` while it is enabled. A disabled
    /// account cannot log in or refresh, and its tokens do not work.
    #[oai(nullable)]
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

pages! {
    /// One page of accounts, newest first.
    AccountPage(Account);
}

examples! {
    Account => Account {
        id: Uuid::from_u128(0x0194_b2a4_0000_7000_8000_0000_0000_0001),
        email: "alice@example.com".to_owned(),
        role: Role::User,
        disabled_at: None,
        created_at: crate::EXAMPLE_TIME,
    };
}

/// The start of an email address to filter accounts by.
pub type EmailPrefix = Text<1, EMAIL_MAX_CHARS, EmailChars>;

responses! {
    /// A page of accounts.
    AccountPageResponse: 200 Ok(Json<AccountPage>);
    /// The account.
    AccountResponse: 200 Ok(Json<Account>);
}

error_sets! {
    /// Errors of `admin_list_users`.
    ListAccountsErrors: 400, 401, 403, 422, 429;
    /// Errors of the admin operations on one account that cannot break the last-admin rule.
    AccountByIdErrors: 400, 401, 403, 404, 429;
    /// Errors of disabling and deleting an account, which must leave an enabled admin.
    AccountChangeErrors: 400, 401, 403, 404, 409, 429;
}
