//! [`TaskSort`]: the `sort` of `list_tasks`, written by hand because its values (`due_at`,
//! `-due_at`, …) differ only in punctuation, and typify would name the variants
//! `DueXat` and `XdueXat`. The generated client uses this type in its place (see
//! `build.rs`); a test below holds it to the values `openapi.yaml` lists.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The order of a task listing: a field in its natural direction, or reversed (`-` in
/// front on the wire). Ties go by creation, in the same direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum TaskSort {
    /// `created_at`: newest first.
    #[default]
    CreatedAt,
    /// `-created_at`: oldest first.
    CreatedAtReversed,
    /// `updated_at`: most recently changed first.
    UpdatedAt,
    /// `-updated_at`: least recently changed first (what a client syncing wants).
    UpdatedAtReversed,
    /// `due_at`: soonest due first, tasks without a due date last.
    DueAt,
    /// `-due_at`: tasks without a due date first, then latest due first.
    DueAtReversed,
    /// `priority`: urgent first.
    Priority,
    /// `-priority`: low first.
    PriorityReversed,
    /// `title`: A to Z, ignoring case.
    Title,
    /// `-title`: Z to A, ignoring case.
    TitleReversed,
}

impl TaskSort {
    /// Every order, as `openapi.yaml` lists them.
    pub const ALL: [Self; 10] = [
        Self::CreatedAt,
        Self::CreatedAtReversed,
        Self::UpdatedAt,
        Self::UpdatedAtReversed,
        Self::DueAt,
        Self::DueAtReversed,
        Self::Priority,
        Self::PriorityReversed,
        Self::Title,
        Self::TitleReversed,
    ];

    /// The value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreatedAt => "created_at",
            Self::CreatedAtReversed => "-created_at",
            Self::UpdatedAt => "updated_at",
            Self::UpdatedAtReversed => "-updated_at",
            Self::DueAt => "due_at",
            Self::DueAtReversed => "-due_at",
            Self::Priority => "priority",
            Self::PriorityReversed => "-priority",
            Self::Title => "title",
            Self::TitleReversed => "-title",
        }
    }
}

impl fmt::Display for TaskSort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TaskSort {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|sort| sort.as_str() == value)
            .ok_or_else(|| format!("{value:?} is not a task order"))
    }
}

impl Serialize for TaskSort {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TaskSort {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        value.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_orders_are_exactly_those_of_the_spec() {
        let yaml = include_str!("../openapi.yaml");
        let spec: serde_json::Value = serde_yaml::from_str(yaml).expect("openapi.yaml parses");
        let listed: Vec<&str> = spec["components"]["schemas"]["TaskSort"]["enum"]
            .as_array()
            .expect("TaskSort is an enum in openapi.yaml")
            .iter()
            .map(|value| value.as_str().expect("a string value"))
            .collect();
        let ours: Vec<&str> = TaskSort::ALL.iter().map(|sort| sort.as_str()).collect();
        assert_eq!(ours, listed);
        for sort in TaskSort::ALL {
            assert_eq!(sort.as_str().parse::<TaskSort>(), Ok(sort));
            let json = serde_json::to_string(&sort).expect("serializes");
            assert_eq!(
                serde_json::from_str::<TaskSort>(&json).expect("parses"),
                sort
            );
        }
        assert!("sideways".parse::<TaskSort>().is_err());
    }
}
