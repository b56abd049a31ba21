//! The change feed's positions: sync tokens, and the changes a sync page holds.
//!
//! A position is a PostgreSQL snapshot, never a clock or a counter: the changes a client
//! has are those of the transactions visible in the snapshot of the read that gave them.
//! A transaction that commits after that read is not visible in it, whatever its id or
//! its timestamps, so the next read finds its changes (README, "Sync").

use std::fmt;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{List, ListId, Task, TaskId};

/// Why a text is not a sync token.
pub const FOREIGN_TOKEN: &str = "is not a sync token this API returned";

/// The most transactions a snapshot lists as in progress (PostgreSQL's is bounded by its
/// connections; a forged one could be any length).
const MAX_IN_PROGRESS: usize = 10_000;

/// A PostgreSQL snapshot (`pg_snapshot`): the transactions in progress when it was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Every transaction below it had ended.
    pub xmin: u64,
    /// No transaction at or above it had started.
    pub xmax: u64,
    /// The transactions between the two still in progress, ascending.
    pub in_progress: Vec<u64>,
}

impl Snapshot {
    /// A snapshot as `pg_snapshot`'s text form has it: `xmin:xmax:xip,…`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let invalid = || format!("{text:?} is not a snapshot");
        let mut parts = text.split(':');
        let number = |part: Option<&str>| -> Result<u64, String> {
            part.ok_or_else(invalid)?.parse().map_err(|_| invalid())
        };
        let (xmin, xmax) = (number(parts.next())?, number(parts.next())?);
        let list = parts.next().ok_or_else(invalid)?;
        if parts.next().is_some() {
            return Err(invalid());
        }
        let in_progress = match list {
            "" => Vec::new(),
            list => list
                .split(',')
                .take(MAX_IN_PROGRESS + 1)
                .map(|xid| xid.parse().map_err(|_| invalid()))
                .collect::<Result<Vec<u64>, _>>()?,
        };
        // As PostgreSQL checks its input: ordered, and every listed id in range.
        let ordered = in_progress.windows(2).all(|pair| pair[0] < pair[1]);
        let in_range = in_progress.iter().all(|xid| (xmin..xmax).contains(xid));
        // PostgreSQL refuses a bound whose 32-bit transaction id is 0 (never assigned).
        let assignable = |xid: u64| xid & 0xFFFF_FFFF != 0;
        if !assignable(xmin)
            || !assignable(xmax)
            || xmin > xmax
            || !ordered
            || !in_range
            || in_progress.len() > MAX_IN_PROGRESS
        {
            return Err(invalid());
        }
        Ok(Self {
            xmin,
            xmax,
            in_progress,
        })
    }
}

impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:", self.xmin, self.xmax)?;
        for (index, xid) in self.in_progress.iter().enumerate() {
            let comma = if index == 0 { "" } else { "," };
            write!(f, "{comma}{xid}")?;
        }
        Ok(())
    }
}

/// Where in a change's items a page ended: the change (its transaction and its number in
/// the log) and, for a change that brings a list's tasks along, the last task (else nil).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangePosition {
    pub txid: u64,
    pub seq: i64,
    pub sub: Uuid,
}

/// Where a full sync's page ended: a list, and the last of its tasks (nil: the list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemPosition {
    pub list: Uuid,
    pub sub: Uuid,
}

/// What a sync read is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncState {
    /// A full sync: everything the caller can see, read in the snapshot `target` was
    /// taken by its first page; continued after `after`.
    Full {
        target: Snapshot,
        after: ItemPosition,
    },
    /// Every change since `seen`; mid-way through a round of pages, the changes up to
    /// `target`, continued after `after`.
    Since {
        seen: Snapshot,
        round: Option<(Snapshot, ChangePosition)>,
    },
}

/// A position in the change feed, as clients see it: an opaque URL-safe string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncToken {
    /// When the server issued it; a token older than the tombstones are kept is expired.
    pub issued_at: DateTime<Utc>,
    pub state: SyncState,
}

impl SyncToken {
    pub fn encode(&self) -> String {
        let uuid = |id: &Uuid| id.simple().to_string();
        let state = match &self.state {
            SyncState::Full { target, after } => {
                format!("F/{target}/{}/{}", uuid(&after.list), uuid(&after.sub))
            }
            SyncState::Since { seen, round: None } => format!("S/{seen}"),
            SyncState::Since {
                seen,
                round: Some((target, after)),
            } => format!(
                "S/{seen}/{target}/{}/{}/{}",
                after.txid,
                after.seq,
                uuid(&after.sub)
            ),
        };
        URL_SAFE_NO_PAD.encode(format!("1/{}/{state}", self.issued_at.timestamp_micros()))
    }

    pub fn decode(encoded: &str) -> Result<Self, String> {
        let invalid = || FOREIGN_TOKEN.to_owned();
        let raw = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| invalid())?;
        let raw = String::from_utf8(raw).map_err(|_| invalid())?;
        let parts: Vec<&str> = raw.split('/').collect();
        let snapshot = |text: &str| Snapshot::parse(text).map_err(|_| invalid());
        let uuid = |text: &str| Uuid::try_parse(text).map_err(|_| invalid());
        let issued_at = parts
            .get(1)
            .and_then(|micros| micros.parse().ok())
            .and_then(DateTime::from_timestamp_micros)
            .ok_or_else(invalid)?;
        let state = match parts.as_slice() {
            ["1", _, "F", target, list, sub] => SyncState::Full {
                target: snapshot(target)?,
                after: ItemPosition {
                    list: uuid(list)?,
                    sub: uuid(sub)?,
                },
            },
            ["1", _, "S", seen] => SyncState::Since {
                seen: snapshot(seen)?,
                round: None,
            },
            ["1", _, "S", seen, target, txid, seq, sub] => {
                let (seen, target) = (snapshot(seen)?, snapshot(target)?);
                let after = ChangePosition {
                    txid: txid.parse().map_err(|_| invalid())?,
                    seq: seq.parse().map_err(|_| invalid())?,
                    sub: uuid(sub)?,
                };
                // A round reads forward from what was seen, to a later snapshot.
                if target.xmax < seen.xmax || target.xmin < seen.xmin {
                    return Err(invalid());
                }
                SyncState::Since {
                    seen,
                    round: Some((target, after)),
                }
            }
            _ => return Err(invalid()),
        };
        Ok(Self { issued_at, state })
    }

    /// The snapshots the token names: every one must be from this database's past.
    pub fn snapshots(&self) -> Vec<&Snapshot> {
        match &self.state {
            SyncState::Full { target, .. } => vec![target],
            SyncState::Since { seen, round } => std::iter::once(seen)
                .chain(round.iter().map(|(target, _)| target))
                .collect(),
        }
    }
}

/// One change of the feed: a task or a list as it is now, or gone (`None`: deleted, moved
/// out of the caller's sight, or in a list the caller no longer sees).
#[derive(Debug, Clone)]
pub enum Change {
    Task(TaskId, Option<Task>),
    List(ListId, Option<List>),
}

/// A page of the change feed, and where the next one starts.
#[derive(Debug)]
pub struct SyncPage {
    pub changes: Vec<Change>,
    /// The token of what follows, sealed for its holder: opaque to everyone else.
    pub next: String,
    pub has_more: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp_micros(1_780_000_000_123_456).expect("a time")
    }

    #[test]
    fn tokens_round_trip() {
        let seen = Snapshot::parse("100:105:101,103").expect("a snapshot");
        let target = Snapshot::parse("104:110:").expect("a snapshot");
        let id = Uuid::from_u128(0xabc);
        for state in [
            SyncState::Full {
                target: seen.clone(),
                after: ItemPosition {
                    list: id,
                    sub: Uuid::nil(),
                },
            },
            SyncState::Since {
                seen: seen.clone(),
                round: None,
            },
            SyncState::Since {
                seen: seen.clone(),
                round: Some((
                    target.clone(),
                    ChangePosition {
                        txid: 104,
                        seq: 7,
                        sub: id,
                    },
                )),
            },
        ] {
            let token = SyncToken {
                issued_at: at(),
                state,
            };
            assert_eq!(SyncToken::decode(&token.encode()), Ok(token));
        }
        assert_eq!(seen.to_string(), "100:105:101,103");
    }

    #[test]
    fn forged_tokens_are_refused() {
        let forged = |raw: &str| SyncToken::decode(&URL_SAFE_NO_PAD.encode(raw));
        for raw in [
            "",
            "1/x/S/100:105:",
            "2/1780000000123456/S/100:105:",
            "1/1780000000123456/S/105:100:",
            "1/1780000000123456/S/100:105:106",
            "1/1780000000123456/S/100:105:103,101",
            "1/1780000000123456/S/0:0:",
            "1/1780000000123456/S/4294967296:4294967296:",
            "1/1780000000123456/S/100:105:/90:95:/91/1/00000000000000000000000000000000",
            "1/1780000000123456/F/100:105:/nope/00000000000000000000000000000000",
            "1/1780000000123456/S/100:105:/extra",
        ] {
            assert_eq!(forged(raw), Err(FOREIGN_TOKEN.to_owned()), "{raw:?}");
        }
        assert!(SyncToken::decode("not base64!").is_err());
    }
}
