//! Build script. On Linux the binary keeps the toolchain's hardening
//! defaults: a position-independent executable (ASLR), full RELRO and
//! BIND_NOW. `scripts/check_hardening` checks the release binary for all
//! three; nothing here may turn any of them off.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
}
