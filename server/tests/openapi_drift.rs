//! `openapi.yaml` at the repository root is the contract clients are generated from; it
//! must be exactly what the code renders.

use std::path::Path;

const REFRESH: &str =
    "cargo run -q -p taskapi-server --bin taskapi -- openapi --output openapi.yaml";

#[test]
fn checked_in_spec_matches_the_code() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi.yaml");
    let rendered = taskapi_server::http::spec_yaml();
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    if rendered == checked_in {
        return;
    }
    let diff = line_diff(&checked_in, &rendered);
    panic!(
        "openapi.yaml is out of date with the code (api/ and server/src/http/).\n\
         Refresh it from the repository root with:\n\n    {REFRESH}\n\n\
         then rebuild (the SDK is generated from it) and commit both.\n\n\
         --- openapi.yaml (checked in)\n+++ rendered from the code\n{diff}"
    );
}

/// A plain line diff (longest common subsequence), enough to show what drifted.
fn line_diff(old: &str, new: &str) -> String {
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    let mut lcs = vec![vec![0usize; new.len() + 1]; old.len() + 1];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            lcs[i][j] = if old[i] == new[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            i += 1;
            j += 1;
        } else if j < new.len() && (i == old.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push_str(&format!("+{}\n", new[j]));
            j += 1;
        } else {
            out.push_str(&format!("-{}\n", old[i]));
            i += 1;
        }
    }
    out
}
