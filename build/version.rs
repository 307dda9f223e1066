//! Which commit a build comes from, for `rolepick --version`.
//!
//! Used by `build.rs` (`#[path]`) and by `tests/it/install.rs`, which drives it
//! on scratch repositories. Plain std only: a build script has no
//! dependencies of rolepick's.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What a build says about where it comes from, and the files whose change
/// can change that (for `cargo:rerun-if-changed`).
#[derive(Debug)]
pub struct Describe {
    /// `commit 0123456789ab`, `commit 0123456789ab, dirty`, or `unknown commit`.
    pub text: String,
    /// The commit's date, `YYYY-MM-DD` (the man page's date); empty when unknown.
    pub date: String,
    pub watch: Vec<PathBuf>,
}

/// Describes the sources in `dir` (the crate's manifest directory):
/// - a git checkout whose top level is `dir`: `git rev-parse --short=12 HEAD`,
///   and "dirty" when `git status` shows changes to tracked files (as
///   `git describe --dirty` does, untracked files do not count: they are not
///   part of the build unless a tracked file names them);
/// - a crate unpacked from crates.io: the commit `cargo package` recorded in
///   `.cargo_vcs_info.json`;
/// - anything else (no git, a tarball, a directory inside some other
///   repository): `unknown commit`.
pub fn describe(dir: &Path) -> Describe {
    if let Some(d) = from_git(dir) {
        return d;
    }
    let vcs_info = dir.join(".cargo_vcs_info.json");
    if let Some(d) = std::fs::read_to_string(&vcs_info)
        .ok()
        .and_then(|s| from_vcs_info(&s))
    {
        return Describe {
            text: d,
            date: String::new(),
            watch: vec![vcs_info],
        };
    }
    Describe {
        text: "unknown commit".to_string(),
        date: String::new(),
        watch: Vec::new(),
    }
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
}

fn from_git(dir: &Path) -> Option<Describe> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    if std::fs::canonicalize(&top).ok()? != std::fs::canonicalize(dir).ok()? {
        return None; // rolepick's sources sit inside another project's repository
    }
    let hash = git(dir, &["rev-parse", "--short=12", "HEAD"])?;
    if hash.is_empty() || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let date = git(dir, &["log", "-1", "--format=%cs", "HEAD"]).unwrap_or_default();
    let dirty = !git(dir, &["status", "--porcelain", "--untracked-files=no"])?.is_empty();
    // HEAD moves with a checkout; the branch's ref (loose or packed) with a
    // commit; the index with `git add`. `--git-path` knows where each lives,
    // worktrees included.
    let mut names = vec!["HEAD".to_string(), "index".into(), "packed-refs".into()];
    if let Some(r) = git(dir, &["rev-parse", "--symbolic-full-name", "HEAD"]) {
        if r.starts_with("refs/") {
            names.push(r);
        }
    }
    let watch = names
        .iter()
        .filter_map(|n| git(dir, &["rev-parse", "--git-path", n]))
        .map(|p| dir.join(p))
        .filter(|p| p.exists())
        .collect();
    Some(Describe {
        text: if dirty {
            format!("commit {hash}, dirty")
        } else {
            format!("commit {hash}")
        },
        date,
        watch,
    })
}

/// `{"git": {"sha1": "<40 hex>", "dirty": true}, "path_in_vcs": ""}`, as
/// `cargo package` writes it. Read by hand: a build script has no JSON parser.
fn from_vcs_info(json: &str) -> Option<String> {
    let after = &json[json.find("\"sha1\"")? + "\"sha1\"".len()..];
    let after = after.trim_start().strip_prefix(':')?.trim_start();
    let sha = after.strip_prefix('"')?.split('"').next()?;
    if sha.len() < 12 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let dirty = json.split("\"dirty\"").nth(1).is_some_and(|rest| {
        rest.trim_start()
            .trim_start_matches(':')
            .trim_start()
            .starts_with("true")
    });
    Some(if dirty {
        format!("commit {}, dirty", &sha[..12])
    } else {
        format!("commit {}", &sha[..12])
    })
}
