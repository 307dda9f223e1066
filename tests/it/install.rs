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

// --------------------------------------------------------------------------
// profile names in completions
// --------------------------------------------------------------------------

/// A HOME whose configuration has a key-only profile `beta`, a role
/// `alpha-admin` chained from it, an Identity Center profile `sso-dev`,
/// and a cached listing of session `corp` with one more role,
/// `Sandbox/ReadOnly` (discovered, configured nowhere).
struct ProfileHome {
    dir: tempfile::TempDir,
}

impl ProfileHome {
    fn new() -> ProfileHome {
        use std::os::unix::fs::DirBuilderExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let home = dir.path().join("home");
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(home.join(".aws"))
            .unwrap();
        std::fs::write(
            home.join(".aws/config"),
            "[profile alpha-admin]\nrole_arn = arn:aws:iam::111122223333:role/admin\nsource_profile = beta\n\n\
             [profile sso-dev]\nsso_session = corp\nsso_account_id = 444455556666\nsso_role_name = Dev\n\n\
             [sso-session corp]\nsso_start_url = https://d-1.awsapps.com/start\nsso_region = eu-west-1\n",
        )
        .unwrap();
        let creds = home.join(".aws/credentials");
        std::fs::write(
            &creds,
            "[beta]\naws_access_key_id = AKIAEXAMPLEEXAMPLE12\naws_secret_access_key = abc\n",
        )
        .unwrap();
        std::fs::set_permissions(&creds, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        let session = rolepick::model::SsoSession {
            cache_id: "corp".into(),
            start_url: "https://d-1.awsapps.com/start".into(),
            region: "eu-west-1".into(),
            scopes: Vec::new(),
        };
        rolepick::sso::discovery::write(
            &rolepick::cache::Cache::at(dir.path().join("cache")),
            &session,
            &rolepick::sso::discovery::Discovered::new(
                &session.start_url,
                std::time::SystemTime::now(),
                vec![rolepick::sso::discovery::DiscoveredAccount {
                    account_id: "777788889999".into(),
                    account_name: "Sandbox".into(),
                    roles: vec!["ReadOnly".into()],
                }],
            ),
        )
        .expect("write the listing");
        ProfileHome { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// HOME, the cache, and a PATH that finds this build's rolepick first;
    /// no AWS_* variable, no network endpoint.
    fn env(&self) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
        let bin = Path::new(env!("CARGO_BIN_EXE_rolepick"))
            .parent()
            .expect("bin dir")
            .to_path_buf();
        let mut path = std::ffi::OsString::from(bin);
        path.push(":");
        path.push(std::env::var_os("PATH").unwrap_or_default());
        vec![
            ("HOME".into(), self.root().join("home").into()),
            ("PATH".into(), path),
            (
                "ROLEPICK_CACHE_DIR".into(),
                self.root().join("cache").into(),
            ),
            ("XDG_CONFIG_HOME".into(), self.root().join("xdg").into()),
        ]
    }

    fn script(&self, shell: &str) -> PathBuf {
        let file = self.root().join(format!("rolepick.{shell}"));
        std::fs::write(&file, stdout_of(&["completions", shell])).expect("write");
        file
    }
}

const ALL_PROFILES: [&str; 4] = ["Sandbox/ReadOnly", "alpha-admin", "beta", "sso-dev"];
const TAKE_A_PROFILE: [&str; 5] = ["exec", "env", "console", "credential-process", "clear"];

#[test]
fn the_hidden_profile_lister_prints_configured_and_discovered_profiles() {
    let h = ProfileHome::new();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rolepick"))
        .arg("__complete-profiles")
        .env_clear()
        .envs(h.env())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    names.sort();
    assert_eq!(names, ALL_PROFILES);
    // Neither help nor a completion offers it.
    let help = stdout_of(&["--help"]);
    assert!(!help.contains("__complete"), "{help}");
}

#[test]
fn bash_completes_profile_names_after_the_subcommands_that_take_one() {
    let h = ProfileHome::new();
    let script = h.script("bash");
    for sub in TAKE_A_PROFILE {
        for (typed, want) in [
            ("", &ALL_PROFILES[..]),
            ("al", &["alpha-admin"][..]),
            ("Sand", &["Sandbox/ReadOnly"][..]),
        ] {
            let out = std::process::Command::new("bash")
                .arg("--norc")
                .arg("-c")
                .arg(
                    r#"source "$1"
COMP_WORDS=(rolepick "$2" "$3"); COMP_CWORD=2; COMP_LINE="rolepick $2 $3"; COMP_POINT=${#COMP_LINE}
_rolepick rolepick "$3" "$2"
printf '%s\n' "${COMPREPLY[@]}""#,
                )
                .args([
                    "bash".as_ref(),
                    script.as_os_str(),
                    sub.as_ref(),
                    typed.as_ref(),
                ])
                .env_clear()
                .envs(h.env())
                .output()
                .expect("bash");
            let stdout = String::from_utf8_lossy(&out.stdout);
            let mut got: Vec<&str> = stdout.lines().filter(|l| !l.starts_with('-')).collect();
            got.sort_unstable();
            assert_eq!(
                got,
                want,
                "bash: rolepick {sub} {typed}<TAB>\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    // Not after a subcommand that takes no profile.
    let out = std::process::Command::new("bash")
        .arg("--norc")
        .arg("-c")
        .arg(
            r#"source "$1"
COMP_WORDS=(rolepick list ""); COMP_CWORD=2; COMP_LINE="rolepick list "; COMP_POINT=${#COMP_LINE}
_rolepick rolepick "" list
printf '%s\n' "${COMPREPLY[@]}""#,
        )
        .arg("bash")
        .arg(&script)
        .env_clear()
        .envs(h.env())
        .output()
        .expect("bash");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("beta"));
}

#[test]
fn fish_completes_profile_names_after_the_subcommands_that_take_one() {
    if !have("fish") {
        crate::support::missing_prerequisite("fish (to run its completion)");
        return;
    }
    let h = ProfileHome::new();
    let script = h.script("fish");
    for sub in TAKE_A_PROFILE {
        let out = std::process::Command::new("fish")
            .arg("--no-config")
            .arg("-c")
            .arg(format!(
                "source '{}'; complete -C 'rolepick {sub} '",
                script.display()
            ))
            .env_clear()
            .envs(h.env())
            .output()
            .expect("fish");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let mut got: Vec<&str> = stdout
            .lines()
            .filter_map(|l| l.split('\t').next())
            .filter(|l| !l.starts_with('-'))
            .collect();
        got.sort_unstable();
        assert_eq!(
            got,
            ALL_PROFILES,
            "fish: rolepick {sub} <TAB>\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn zsh_completes_profile_names_on_tab_in_a_terminal() {
    use crate::support::tmux::{have_tmux, Tmux};
    if !have("zsh") || !have_tmux() {
        crate::support::missing_prerequisite("zsh and tmux (to press Tab in zsh)");
        return;
    }
    let h = ProfileHome::new();
    let fpath = h.root().join("zfunc");
    std::fs::create_dir(&fpath).unwrap();
    std::fs::write(fpath.join("_rolepick"), stdout_of(&["completions", "zsh"])).unwrap();
    let t = Tmux::start(h.root(), &h.env());
    t.line("exec zsh -f");
    t.line(&format!(
        "PS1='zsh%% '; fpath=({} $fpath); autoload -Uz compinit; compinit -u -D; echo ready",
        fpath.display()
    ));
    t.wait_for("zsh with compinit", |s| s.contains("\nready"));
    for (sub, typed, completed) in [
        ("exec", "al", "alpha-admin"),
        ("env", "Sand", "Sandbox/ReadOnly"),
        ("console", "ss", "sso-dev"),
        ("credential-process", "be", "beta"),
        ("clear", "al", "alpha-admin"),
    ] {
        t.type_text(&format!("rolepick {sub} {typed}"));
        t.keys(&["Tab"]);
        let want = format!("zsh% rolepick {sub} {completed}");
        t.wait_for(&want, |s| s.contains(&want));
        t.keys(&["C-u"]);
        t.wait_for("an empty line", |s| s.trim_end().ends_with("zsh%"));
    }
}
