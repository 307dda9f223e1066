//! Both programs keep the toolchain's hardening defaults (scripts/test checks
//! the release build the same way): PIE, so ASLR moves the program too,
//! and full RELRO (GNU_RELRO + BIND_NOW).

use std::process::Command;

#[test]
fn both_programs_are_pies_with_full_relro_and_bind_now() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/check_hardening");
    let out = Command::new("bash")
        .args([
            script,
            env!("CARGO_BIN_EXE_rolepick"),
            env!("CARGO_BIN_EXE_rolepick-full"),
        ])
        .output()
        .expect("run scripts/check_hardening");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
