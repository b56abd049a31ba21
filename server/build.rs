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
}
