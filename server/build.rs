use std::{path::Path, process::Command};

fn main() {
    // `sqlx::migrate!` embeds the migrations; rebuild when they change.
    println!("cargo:rerun-if-changed=../migrations");
    // mimalloc's options by the names its header gives them, compiled against the header
    // of the mimalloc build that is linked in (libmimalloc-sys passes its directory on).
    println!("cargo:rerun-if-changed=src/allocator.c");
    let include = std::env::var("DEP_MIMALLOC_INCLUDE_DIR")
        .expect("libmimalloc-sys names its include directory");
    cc::Build::new()
        .file("src/allocator.c")
        .include(include)
        .compile("taskapi_allocator");
    commit();
}

/// The commit this build is of, for `taskapi_build_info`: `TASKAPI_COMMIT` when set (a
/// build from a source archive), else what git says, else `unknown`.
fn commit() {
    println!("cargo:rerun-if-env-changed=TASKAPI_COMMIT");
    let commit = std::env::var("TASKAPI_COMMIT").ok().or_else(|| {
        // Rebuild when HEAD moves: HEAD itself, and the branch it names (loose or packed).
        let branch = git(&["symbolic-ref", "-q", "HEAD"]);
        let files = ["HEAD", "packed-refs"].into_iter().chain(branch.as_deref());
        for path in files.filter_map(|file| git(&["rev-parse", "--git-path", file])) {
            if Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
        git(&["rev-parse", "--short=12", "HEAD"])
    });
    let commit = commit.unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=TASKAPI_COMMIT={commit}");
}

/// What `git args` prints, trimmed; `None` without git or outside a repository.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}
