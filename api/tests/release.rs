//! The contract's version is the crates' version, a semantic one, and every released
//! contract kept in `tests/contract/` is recorded in `CHANGELOG.md` (see its *Making a
//! release*). `tests/breaking-changes` compares `openapi.yaml` with the last of them.

use std::path::{Path, PathBuf};

/// `MAJOR.MINOR.PATCH` of a semantic version, its pre-release and build parts left out.
fn semantic(version: &str) -> Option<(u64, u64, u64)> {
    let core = version.split(['-', '+']).next()?;
    let mut numbers = core.split('.').map(|number| {
        // Leading zeros are not allowed (semver §2).
        let canonical = number == "0" || !number.starts_with('0');
        number.parse::<u64>().ok().filter(|_| canonical)
    });
    let version = (numbers.next()??, numbers.next()??, numbers.next()??);
    numbers.next().is_none().then_some(version)
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn info_version(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let document: serde_yaml::Value =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    document["info"]["version"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: no info.version", path.display()))
        .to_owned()
}

/// The released contracts, by version: `tests/contract/openapi-<version>.yaml`.
fn releases() -> Vec<(String, PathBuf)> {
    let directory = root().join("tests/contract");
    let entries = std::fs::read_dir(&directory).expect("tests/contract/ holds the releases");
    entries
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_str()?;
            let version = name.strip_prefix("openapi-")?.strip_suffix(".yaml")?;
            Some((version.to_owned(), path))
        })
        .collect()
}

#[test]
fn the_contract_states_the_crates_version() {
    let version = info_version(&root().join("openapi.yaml"));
    // The drift test holds openapi.yaml equal to what `described` renders with this.
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    assert!(
        semantic(&version).is_some(),
        "{version} is not MAJOR.MINOR.PATCH"
    );
}

#[test]
fn every_release_is_recorded_and_none_is_ahead_of_the_crates() {
    let changelog = std::fs::read_to_string(root().join("CHANGELOG.md")).expect("CHANGELOG.md");
    let current = semantic(env!("CARGO_PKG_VERSION")).expect("a semantic version");
    let releases = releases();
    assert!(
        !releases.is_empty(),
        "no released contract in tests/contract/"
    );
    for (version, path) in releases {
        assert_eq!(info_version(&path), version, "{}", path.display());
        let release = semantic(&version).unwrap_or_else(|| panic!("{version} is not semantic"));
        assert!(
            release <= current,
            "release {version} is ahead of the crates"
        );
        assert!(
            changelog.contains(&format!("\n## [{version}] - ")),
            "CHANGELOG.md has no section for {version}"
        );
    }
}

#[test]
fn semantic_versions_are_read_as_semver_writes_them() {
    assert_eq!(semantic("0.1.0"), Some((0, 1, 0)));
    assert_eq!(semantic("2.10.3-rc.1+build.5"), Some((2, 10, 3)));
    for invalid in ["1.0", "1.0.0.0", "01.0.0", "v1.0.0", "1.x.0", ""] {
        assert_eq!(semantic(invalid), None, "{invalid}");
    }
}
