//! Build script. On Linux the binary keeps the toolchain's hardening
//! defaults: a position-independent executable (ASLR), full RELRO and
//! BIND_NOW. `scripts/check_hardening` checks the release binary for all
//! three; nothing here may turn any of them off.
//!
//! Also records the commit the build comes from (`ROLEPICK_VERSION`, what
//! `rolepick --version` prints): see build/version.rs; and a hash of the
//! sources (`ROLEPICK_SOURCE_HASH`), which keys the configuration snapshot;
//! and the libexec directory of `rolepick-full` (`ROLEPICK_LIBEXEC_DIR`).
#[path = "build/version.rs"]
mod version;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    record_version();
    record_source_hash();
    record_libexec_dir();
}

/// Where the small program looks for `rolepick-full` when it cannot find
/// itself (no /proc) and `argv[0]` does not lead to it:
/// `ROLEPICK_LIBEXEC_DIR` at build time, else the Debian package's
/// `/usr/libexec/rolepick`. See src/warm/program.rs.
fn record_libexec_dir() {
    println!("cargo:rerun-if-env-changed=ROLEPICK_LIBEXEC_DIR");
    let dir = std::env::var("ROLEPICK_LIBEXEC_DIR")
        .ok()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "/usr/libexec/rolepick".to_string());
    println!("cargo:rustc-env=ROLEPICK_LIBEXEC_DIR={dir}");
}

/// FNV-1a over the relative path and contents of every file that decides
/// how a build reads and writes its own files (the configuration snapshot
/// in particular): the sources, this script, the lockfile. Both programs
/// of one build get the same value, a copy of a binary keeps it, and any
/// change of the sources gives a new one.
fn record_source_hash() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| std::path::PathBuf::from("."), std::path::PathBuf::from);
    let mut files = vec![dir.join("build.rs"), dir.join("Cargo.lock")];
    walk(&dir.join("src"), &mut files);
    files.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    for f in &files {
        let Ok(content) = std::fs::read(f) else {
            continue;
        };
        let rel = f.strip_prefix(&dir).unwrap_or(f);
        eat(rel.to_string_lossy().as_bytes());
        eat(&[0]);
        eat(&(content.len() as u64).to_le_bytes());
        eat(&content);
    }
    println!("cargo:rustc-env=ROLEPICK_SOURCE_HASH={h:016x}");
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
