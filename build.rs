//! Links the rolepick binary as a non-PIE executable on Linux: the loader
//! then has no relocations to apply at start-up (a PIE build of this binary
//! carries ~27,000 of them), which is most of a warm `rolepick exec`'s own
//! cost. The code itself stays position-independent.
//!
//! Also records the commit the build comes from (`ROLEPICK_VERSION`, what
//! `rolepick --version` prints): see build/version.rs.
#[path = "build/version.rs"]
mod version;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    record_version();
}

fn record_version() {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| std::path::PathBuf::from("."), std::path::PathBuf::from);
    let described = version::describe(&dir);
    println!(
        "cargo:rustc-env=ROLEPICK_VERSION={} ({})",
        env!("CARGO_PKG_VERSION"),
        described.text
    );
    println!("cargo:rustc-env=ROLEPICK_COMMIT_DATE={}", described.date);
    // A new commit, checkout or `git add` changes the answer, and so can an
    // edit of the sources (clean <-> dirty).
    for p in &described.watch {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    for p in [
        "build/version.rs",
        "src",
        "assets",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={p}");
    }
}
