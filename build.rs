//! Links the rolepick binary as a non-PIE executable on Linux: the loader
//! then has no relocations to apply at start-up (a PIE build of this binary
//! carries ~27,000 of them), which is most of a warm `rolepick exec`'s own
//! cost. The code itself stays position-independent.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
