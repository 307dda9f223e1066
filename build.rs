//! Build script. On Linux the binary keeps the toolchain's hardening
//! defaults: a position-independent executable (ASLR), full RELRO and
//! BIND_NOW. `scripts/check_hardening` checks the release binary for all
//! three; nothing here may turn any of them off.
//!
//! Also records the commit the build comes from (`ROLEPICK_VERSION`, what
//! `rolepick --version` prints): see build/version.rs.
#[path = "build/version.rs"]
mod version;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
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
