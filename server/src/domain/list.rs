//! Lists: where tasks live, and who may see and change them. A list has one owner and
//! may be shared with other accounts, each with a role.

use chrono::{DateTime, Utc};
use strum::{EnumString, IntoStaticStr, VariantArray};
use uuid::Uuid;

use super::{Email, Page, UserId, Version, or_current, trimmed};

/// The id of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListId(pub Uuid);

/// What a member of a list may do, least first: a `viewer` reads its tasks, an `editor`
/// also creates, changes, moves and deletes them, and the `owner` also renames, shares
/// and deletes the list and passes it on.
// The snake_case names are the wire format and how the database stores a role.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, IntoStaticStr, EnumString, VariantArray,
)]
#[strum(serialize_all = "snake_case")]
pub enum ListRole {
    Viewer,
    Editor,
    Owner,
}

impl ListRole {
    /// The role, if it is at least `needed`; else what was needed, for the refusal.
    pub fn at_least(self, needed: ListRole) -> Result<Self, RoleNeeded> {
        match self >= needed {
            true => Ok(self),
            false => Err(RoleNeeded { needed, held: self }),
        }
    }
}

/// The caller can see the list but its role there is below what the operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("needs the {needed:?} role on the list (the caller is {held:?})")]
pub struct RoleNeeded {
    pub needed: ListRole,
    pub held: ListRole,
}

/// A list's name: trimmed, not empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListName(String);

impl ListName {
    /// The name of the list every account starts with.
    pub fn inbox() -> Self {
        Self("Inbox".to_owned())
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        trimmed(raw).map(|name| Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A list's description, kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListDescription(String);

impl ListDescription {
    pub fn new(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The client-writable fields of a list.
#[derive(Debug, Clone)]
pub struct ListDraft {
    pub name: ListName,
    pub description: Option<ListDescription>,
}

/// Changes to some fields of a list: `None` keeps a field; `Some(None)` clears the
/// description.
#[derive(Debug, Clone, Default)]
pub struct ListEdit {
    pub name: Option<ListName>,
    pub description: Option<Option<ListDescription>>,
}

/// A list as one member sees it: with that member's `role`. `inbox`: whether it is its
/// owner's Inbox, which cannot be deleted or given away. Its `version` is one more with
/// every change of its name, description or owner.
#[derive(Debug, Clone)]
pub struct List {
    pub id: ListId,
    pub owner: UserId,
    pub name: ListName,
    pub description: Option<ListDescription>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub inbox: bool,
    pub role: ListRole,
    pub version: Version,
}

impl List {
    /// These fields of the list with `edit`'s changes made.
    pub fn edited(&self, edit: ListEdit) -> ListDraft {
        ListDraft {
            name: or_current(edit.name, &self.name),
            description: or_current(edit.description, &self.description),
        }
    }
}

/// One page of the lists a user can see.
pub type ListPage = Page<List>;

/// A member of a list, its owner included.
#[derive(Debug, Clone)]
pub struct Member {
    pub user: UserId,
    pub email: Email,
    pub role: ListRole,
    /// When they became a member (for the owner: when the list was made).
    pub since: DateTime<Utc>,
}

/// One page of a list's members.
pub type MemberPage = Page<Member>;

/// The role a list's owner gives a member, or an invitation offers: anything but owner,
/// which passes only from the owner to a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedRole(ListRole);

impl SharedRole {
    pub fn parse(role: ListRole) -> Result<Self, String> {
        match role {
            ListRole::Owner => Err("must be editor or viewer".to_owned()),
            other => Ok(Self(other)),
        }
    }

    pub fn get(self) -> ListRole {
        self.0
    }
}

/// The id of an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InvitationId(pub Uuid);

/// An invitation to a list (its id and name), for whoever has (or registers) its email
/// address, from an inviter (their account and address).
#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: InvitationId,
    pub list: (ListId, ListName),
    pub email: Email,
    pub role: SharedRole,
    pub inviter: (UserId, Email),
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// One page of invitations.
pub type InvitationPage = Page<Invitation>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_rank_viewer_editor_owner() {
        assert!(ListRole::Owner.at_least(ListRole::Editor).is_ok());
        assert!(ListRole::Editor.at_least(ListRole::Editor).is_ok());
        assert_eq!(
            ListRole::Viewer.at_least(ListRole::Editor),
            Err(RoleNeeded {
                needed: ListRole::Editor,
                held: ListRole::Viewer
            })
        );
        assert!(ListRole::Editor.at_least(ListRole::Owner).is_err());
    }

    #[test]
    fn only_the_owner_passes_ownership_on() {
        assert!(SharedRole::parse(ListRole::Owner).is_err());
        assert_eq!(
            SharedRole::parse(ListRole::Viewer).map(SharedRole::get),
            Ok(ListRole::Viewer)
        );
    }
}
