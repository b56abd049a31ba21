//! [`TaskSort`]: the `sort` of `list_tasks`. Its values (`due_at`, `-due_at`, …) differ
//! only in punctuation, and typify would name the variants `DueXat` and `XdueXat`; so
//! `build.rs` generates the enum from the `TaskSort` schema of `openapi.yaml` (its values,
//! their `x-enum-varnames`, its description), and the generated client uses it in its
//! place. The conversions below are written once, on `as_str` and `ALL`.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

include!(concat!(env!("OUT_DIR"), "/task_sort.rs"));

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
