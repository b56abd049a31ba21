//! README.md's settings table against the flags of `taskapi serve`: every flag is a row
//! with its variable and default, and every row with a flag is a flag. The table is read,
//! the flags come from clap's own definitions, so neither can drift from the other.

use std::{collections::BTreeMap, fmt};

use clap::{ArgAction, CommandFactory};

use super::Cli;

const README: &str = include_str!("../../../README.md");

/// A default as the table states it, or as clap defines it.
#[derive(Debug, PartialEq, Eq)]
enum Stated {
    /// A switch (`off` in the table).
    Off,
    /// No default (`none…` in the table).
    None,
    /// A value (in backticks in the table).
    Value(String),
}

impl fmt::Display for Stated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Off => f.write_str("off"),
            Self::None => f.write_str("none"),
            Self::Value(value) => write!(f, "`{value}`"),
        }
    }
}

/// One row of the table.
struct Row {
    variable: String,
    /// Empty for variables read by something else than the flags (`RUST_LOG`, the tests').
    flag: String,
    default: Result<Stated, String>,
}

/// The first table under `## Configuration`, without its header.
fn rows() -> Vec<Row> {
    let (_, section) = README
        .split_once("\n## Configuration\n")
        .expect("README.md has a `## Configuration` section");
    section
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2)
        .map(|line| {
            let mut cells = line.split('|').skip(1).map(str::trim);
            let mut next = || cells.next().unwrap_or_default();
            let (variable, flag, default) = (next(), next(), next());
            Row {
                variable: variable.trim_matches('`').to_owned(),
                flag: flag.trim_matches('`').to_owned(),
                default: documented(default),
            }
        })
        .collect()
}

/// The default a cell states: `off`, `none…`, or a value in backticks that may be followed
/// by a remark.
fn documented(cell: &str) -> Result<Stated, String> {
    if cell == "off" {
        return Ok(Stated::Off);
    }
    if cell.starts_with("none") {
        return Ok(Stated::None);
    }
    cell.strip_prefix('`')
        .and_then(|rest| rest.split_once('`'))
        .map(|(value, _)| Stated::Value(value.to_owned()))
        .ok_or_else(|| format!("unreadable default {cell:?} (write `off`, `none…` or `value`)"))
}

/// Every flag of `serve`: its variable and default, by flag.
fn flags() -> BTreeMap<String, (String, Stated)> {
    let cli = Cli::command();
    let serve = cli
        .find_subcommand("serve")
        .expect("`taskapi serve` exists");
    serve
        .get_arguments()
        .filter_map(|arg| {
            let flag = format!("--{}", arg.get_long()?);
            let variable = arg.get_env()?.to_string_lossy().into_owned();
            let defaults: Vec<_> = arg
                .get_default_values()
                .iter()
                .map(|value| value.to_string_lossy())
                .collect();
            let default = match arg.get_action() {
                ArgAction::SetTrue => Stated::Off,
                _ if defaults.is_empty() => Stated::None,
                _ => Stated::Value(defaults.join(",")),
            };
            Some((flag, (variable, default)))
        })
        .collect()
}

#[test]
fn the_readme_states_every_flag_with_its_variable_and_default() {
    let mut flags = flags();
    assert!(flags.len() > 30, "the flags were not found: {flags:?}");
    let variables: BTreeMap<String, String> = flags
        .iter()
        .map(|(flag, (variable, _))| (variable.clone(), flag.clone()))
        .collect();
    let mut problems = Vec::new();
    for row in rows() {
        let name = &row.variable;
        if row.flag.is_empty() {
            if let Some(flag) = variables.get(name) {
                problems.push(format!("{name}: the table gives no flag; it is {flag}"));
            }
            continue;
        }
        let Some((variable, default)) = flags.remove(&row.flag) else {
            problems.push(format!("{name}: `serve` has no flag {}", row.flag));
            continue;
        };
        if *name != variable {
            problems.push(format!("{name}: {} reads {variable}", row.flag));
        }
        match row.default {
            Ok(documented) if documented == default => {}
            Ok(documented) => problems.push(format!(
                "{name}: the table says the default is {documented}, {} defaults to {default}",
                row.flag
            )),
            Err(unreadable) => problems.push(format!("{name}: {unreadable}")),
        }
    }
    for (flag, (variable, default)) in flags {
        problems.push(format!(
            "{variable}: {flag} (default {default}) is missing from the table"
        ));
    }
    assert!(
        problems.is_empty(),
        "README.md's settings table disagrees with `taskapi serve`'s flags:\n{}",
        problems.join("\n")
    );
}
