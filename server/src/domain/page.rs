//! Paging through a listing: how many items a page holds, and where the next page starts
//! in a listing ordered newest first.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    AccessToken, AuditEvent, FOREIGN_CURSOR, Invitation, List, Member, Session, User,
    within_four_digit_years,
};

/// How many items a page holds, at least one. (The most is the contract's to bound.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u16);

impl PageSize {
    /// `None` for an empty page, which no listing asks for.
    pub fn new(size: u16) -> Option<Self> {
        (size > 0).then_some(Self(size))
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

/// A position in a listing ordered newest first, ties broken by id: the last item of a
/// page. Clients see it as an opaque URL-safe string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

impl CursorText for PageCursor {
    fn encode(&self) -> String {
        let raw = format!(
            "{}.{}",
            self.created_at.timestamp_micros(),
            self.id.simple()
        );
        URL_SAFE_NO_PAD.encode(raw)
    }
}

impl PageCursor {
    pub fn decode(encoded: &str) -> Result<Self, String> {
        let invalid = || FOREIGN_CURSOR.to_owned();
        let raw = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| invalid())?;
        let raw = String::from_utf8(raw).map_err(|_| invalid())?;
        let (micros, id) = raw.split_once('.').ok_or_else(invalid)?;
        let micros: i64 = micros.parse().map_err(|_| invalid())?;
        // Only times the database can compare with: a forged far-off time is not a cursor.
        let created_at = DateTime::from_timestamp_micros(micros)
            .and_then(|at| within_four_digit_years(at).ok())
            .ok_or_else(invalid)?;
        let id = Uuid::try_parse(id).map_err(|_| invalid())?;
        Ok(Self { created_at, id })
    }
}

/// Where each item of a listing in creation order stands, for the cursor of a page that
/// ends with it: `Item: time, id;`, its fields of each (the id a newtype of a UUID).
macro_rules! positioned {
    ($($item:ty: $at:ident, $id:ident;)*) => {$(
        impl $item {
            pub fn position(&self) -> PageCursor {
                PageCursor {
                    created_at: self.$at,
                    id: self.$id.0,
                }
            }
        }

        impl Positioned for $item {
            fn position(&self) -> PageCursor {
                <$item>::position(self)
            }
        }
    )*};
}

/// An item of a listing in creation order: where it stands, for the next page's cursor.
pub trait Positioned {
    fn position(&self) -> PageCursor;
}

positioned! {
    AccessToken: created_at, id;
    AuditEvent: at, id;
    List: created_at, id;
    Member: since, user;
    Invitation: created_at, id;
    Session: created_at, id;
    User: created_at, id;
}

/// A position in a listing as its clients see it: an opaque URL-safe string.
pub trait CursorText {
    fn encode(&self) -> String;
}

/// One page of a listing, and where the next one starts.
#[derive(Debug)]
pub struct Page<T, C = PageCursor> {
    pub items: Vec<T>,
    pub next: Option<C>,
}

impl<T, C> Page<T, C> {
    /// A page of at most `size` items from `items`, fetched with one row of lookahead: the
    /// extra row only tells that another page follows.
    pub fn from_lookahead(mut items: Vec<T>, size: PageSize, position: impl Fn(&T) -> C) -> Self {
        let size = usize::from(size.get());
        let next = (items.len() > size).then(|| {
            items.truncate(size);
            items.last().map(position)
        });
        Self {
            items,
            next: next.flatten(),
        }
    }

    /// `size` plus the one row of lookahead [`Page::from_lookahead`] expects.
    pub fn lookahead(size: PageSize) -> u64 {
        u64::from(size.get()) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = PageCursor {
            created_at: DateTime::from_timestamp_micros(1_764_000_000_123_456).expect("valid"),
            id: Uuid::now_v7(),
        };
        assert_eq!(PageCursor::decode(&cursor.encode()), Ok(cursor));
        for garbage in [
            "",
            "!!!",
            "bm90IGEgY3Vyc29y",
            &URL_SAFE_NO_PAD.encode("1.xyz"),
            // A time before PostgreSQL's first (once a 500), and one after its last.
            &URL_SAFE_NO_PAD.encode("-8210298412800000000.01a21468aa197116b4e36be73e97049b"),
            &URL_SAFE_NO_PAD.encode("8210298412800000000.01a21468aa197116b4e36be73e97049b"),
        ] {
            assert!(PageCursor::decode(garbage).is_err(), "{garbage:?}");
        }
    }
}
