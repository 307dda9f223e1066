//! What an installed rolepick brings besides itself: `--version` naming the
//! commit it was built from, the rolepick(1) man page (`rolepick man`) and
//! the shell completions that the README's Install section and the Debian
//! package put in place. (scripts/test builds the .deb itself and checks
//! the unpacked files: binary, man page, completions, metadata.)

#[path = "../../build/version.rs"]
mod version;

use assert_cmd::Command;
use clap::CommandFactory;
use std::path::{Path, PathBuf};
use std::process::Output;

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// `rolepick` with every AWS_* and ROLEPICK_* variable cleared and a temp HOME.
fn rolepick(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("rolepick").expect("rolepick binary");
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("AWS_") || k.starts_with("ROLEPICK_") || k.starts_with("XDG_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", home);
    cmd
}

fn stdout_of(args: &[&str]) -> String {
    let home = tempfile::tempdir().expect("temp HOME");
    let out = rolepick(home.path())
        .args(args)
        .output()
        .expect("run rolepick");
    assert!(
        out.status.success(),
        "rolepick {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out: Output = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .expect("git must be installed to test the version (apt-get install git)");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A scratch repository with one committed file.
fn scratch_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    git(dir.path(), &["init", "-q"]);
    std::fs::write(dir.path().join("Cargo.toml"), "[package]\n").expect("write");
    git(dir.path(), &["add", "Cargo.toml"]);
    git(dir.path(), &["commit", "-q", "-m", "first"]);
    dir
}

// --------------------------------------------------------------------------
// --version
// --------------------------------------------------------------------------

#[test]
fn version_names_the_commit_of_head() {
    let head = git(
        Path::new(MANIFEST_DIR),
        &["rev-parse", "--short=12", "HEAD"],
    );
    let out = stdout_of(&["--version"]);
    let want = format!("rolepick {} (commit {head}", env!("CARGO_PKG_VERSION"));
    assert!(
        out.starts_with(&want),
        "`rolepick --version` says {out:?}, HEAD is {head}"
    );
    assert_eq!(stdout_of(&["-V"]), out, "-V and --version differ");
}

#[test]
fn a_clean_checkout_is_described_by_its_commit_and_date() {
    let repo = scratch_repo();
    let d = version::describe(repo.path());
    let head = git(repo.path(), &["rev-parse", "--short=12", "HEAD"]);
    assert_eq!(d.text, format!("commit {head}"));
    assert_eq!(d.date, git(repo.path(), &["log", "-1", "--format=%cs"]));
    assert_eq!(d.date.len(), "2026-11-29".len(), "{:?}", d.date);
}

#[test]
fn a_changed_tracked_file_makes_the_build_dirty_an_untracked_one_does_not() {
    let repo = scratch_repo();
    let head = git(repo.path(), &["rev-parse", "--short=12", "HEAD"]);
    std::fs::write(repo.path().join("notes.txt"), "scratch").expect("write");
    assert_eq!(
        version::describe(repo.path()).text,
        format!("commit {head}")
    );
    std::fs::write(repo.path().join("Cargo.toml"), "[package]\nname = \"x\"\n").expect("write");
    assert_eq!(
        version::describe(repo.path()).text,
        format!("commit {head}, dirty")
    );
}

#[test]
fn the_build_reruns_when_head_or_the_branch_moves() {
    let repo = scratch_repo();
    let watch: Vec<PathBuf> = version::describe(repo.path()).watch;
    let git_dir = repo.path().join(".git");
    for want in [
        git_dir.join("HEAD"),
        git_dir.join("refs/heads/main"),
        git_dir.join("index"),
    ] {
        assert!(watch.contains(&want), "{want:?} not in {watch:?}");
    }
}

#[test]
fn sources_outside_a_checkout_say_unknown_commit() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert_eq!(version::describe(dir.path()).text, "unknown commit");
    // Nor does a crate unpacked inside some other project's repository take
    // that project's commit.
    let repo = scratch_repo();
    let inner = repo.path().join("vendor/rolepick");
    std::fs::create_dir_all(&inner).expect("mkdir");
    assert_eq!(version::describe(&inner).text, "unknown commit");
}

#[test]
fn a_crate_from_crates_io_names_the_commit_cargo_package_recorded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sha = "0123456789abcdef0123456789abcdef01234567";
    std::fs::write(
        dir.path().join(".cargo_vcs_info.json"),
        format!("{{\n  \"git\": {{\n    \"sha1\": \"{sha}\"\n  }},\n  \"path_in_vcs\": \"\"\n}}\n"),
    )
    .expect("write");
    assert_eq!(version::describe(dir.path()).text, "commit 0123456789ab");
    std::fs::write(
        dir.path().join(".cargo_vcs_info.json"),
        format!("{{\"git\":{{\"sha1\":\"{sha}\",\"dirty\":true}},\"path_in_vcs\":\"\"}}"),
    )
    .expect("write");
    assert_eq!(
        version::describe(dir.path()).text,
        "commit 0123456789ab, dirty"
    );
}

// --------------------------------------------------------------------------
// rolepick man
// --------------------------------------------------------------------------

/// `rolepick vault add`, ... for every subcommand a user can type.
fn command_paths(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        let path = format!("{prefix} {}", sub.get_name());
        out.push(path.clone());
        command_paths(sub, &path, out);
    }
}

#[test]
fn man_page_has_a_section_for_every_subcommand_and_its_options() {
    let page = stdout_of(&["man"]);
    assert!(page.contains(".TH ROLEPICK 1 "), "{page}");
    let root = rolepick::cli::Cli::command();
    let mut paths = Vec::new();
    command_paths(&root, "rolepick", &mut paths);
    assert!(paths.len() >= 14, "{paths:?}");
    for path in &paths {
        assert!(
            page.contains(&format!(".SS \"{path}\"\n")),
            "no section for `{path}` in the man page"
        );
        // Each option the subcommand's --help lists is described there.
        let words: Vec<&str> = path.split(' ').skip(1).collect();
        let mut args: Vec<&str> = words.clone();
        args.push("--help");
        let help = stdout_of(&args);
        for flag in help
            .split_whitespace()
            .filter(|w| w.starts_with("--") && w.len() > 2)
            .map(|w| w.trim_end_matches([',', '.', ')', '`', ':', ';']))
        {
            let flag = flag.split(['=', '[']).next().unwrap_or(flag);
            assert!(
                page.contains(&format!("\\fB{}\\fR", flag.replace('-', "\\-"))),
                "`{path} --help` lists {flag}, the man page does not"
            );
        }
    }
    for heading in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "COMMANDS",
        "\"EXIT STATUS\"",
        "ENVIRONMENT",
        "FILES",
        "EXAMPLES",
        "\"SEE ALSO\"",
        "VERSION",
    ] {
        assert!(page.contains(&format!("\n.SH {heading}\n")), "no {heading}");
    }
}

#[test]
fn man_page_exit_status_lists_every_code_of_help() {
    let help = stdout_of(&["--help"]);
    let codes: Vec<&str> = help
        .lines()
        .skip_while(|l| l.trim() != "Exit codes:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    assert!(codes.len() >= 5, "no exit codes found in --help:\n{help}");
    let page = stdout_of(&["man"]);
    let section = page
        .split("\n.SH \"EXIT STATUS\"\n")
        .nth(1)
        .and_then(|s| s.split("\n.SH ").next())
        .expect("an EXIT STATUS section");
    for code in codes {
        assert!(
            section.contains(&format!(".TP\n\\fB{code}\\fR\n")),
            "exit code {code} of --help is not in EXIT STATUS:\n{section}"
        );
    }
}

/// `"ROLEPICK_..."` names in the sources, except in `env!(...)` (build time).
fn rolepick_variables_in(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rolepick_variables_in(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("read source");
            for (i, _) in text.match_indices("\"ROLEPICK_") {
                if text[..i].ends_with("env!(") {
                    continue;
                }
                let name: String = text[i + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                    .collect();
                if !out.contains(&name) {
                    out.push(name);
                }
            }
        }
    }
}

#[test]
fn man_page_documents_every_rolepick_variable_the_code_uses() {
    // Lowers the vault's scrypt work factor for the test suite; not a
    // setting to offer users.
    const TEST_ONLY: &[&str] = &["ROLEPICK_VAULT_SCRYPT_LOG_N"];
    let mut names = Vec::new();
    rolepick_variables_in(&Path::new(MANIFEST_DIR).join("src"), &mut names);
    assert!(names.len() >= 8, "{names:?}");
    let page = stdout_of(&["man"]);
    let section = page
        .split("\n.SH ENVIRONMENT\n")
        .nth(1)
        .and_then(|s| s.split("\n.SH ").next())
        .expect("an ENVIRONMENT section");
    for name in names.iter().filter(|n| !TEST_ONLY.contains(&n.as_str())) {
        assert!(
            section.contains(&format!("\\fB{name}\\fR")),
            "{name} is read or set by rolepick but not in the man page's ENVIRONMENT"
        );
    }
}

// --------------------------------------------------------------------------
// completions
// --------------------------------------------------------------------------

fn have(program: &str) -> bool {
    std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn bash_completion_sources_cleanly_and_completes_subcommands() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("rolepick.bash");
    std::fs::write(&script, stdout_of(&["completions", "bash"])).expect("write");
    // Source it in a non-interactive bash and ask it to complete `rolepick m`.
    let out = std::process::Command::new("bash")
        .arg("--norc")
        .arg("-c")
        .arg(
            r#"set -e
source "$1"
complete -p rolepick
COMP_WORDS=(rolepick m); COMP_CWORD=1; COMP_LINE="rolepick m"; COMP_POINT=${#COMP_LINE}
_rolepick rolepick m rolepick
printf 'candidate:%s\n' "${COMPREPLY[@]}""#,
        )
        .arg("bash")
        .arg(&script)
        .output()
        .expect("bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "sourcing the bash completion: {}\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("-F _rolepick rolepick\n"), "{stdout}");
    assert!(stdout.contains("candidate:man\n"), "{stdout}");
}

#[test]
fn zsh_and_fish_completions_are_valid_scripts() {
    for (shell, marker) in [
        ("zsh", "#compdef rolepick"),
        ("fish", "complete -c rolepick"),
    ] {
        let script = stdout_of(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(script.contains("man"), "{shell} completion lacks `man`");
        if !have(shell) {
            crate::support::missing_prerequisite(&format!(
                "{shell} (to check the syntax of its completion script)"
            ));
            continue;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join(format!("rolepick.{shell}"));
        std::fs::write(&file, &script).expect("write");
        let out = std::process::Command::new(shell)
            .arg("-n")
            .arg(&file)
            .output()
            .expect("shell");
        assert!(
            out.status.success(),
            "{shell} -n on the completion: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
