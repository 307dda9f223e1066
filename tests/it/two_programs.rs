//! The two programs (src/warm/program.rs): the small `rolepick` serves a warm
//! `exec`, `env` and `credential-process` (and `prompt`) itself and
//! becomes `rolepick-full` for anything else. A copy of the small program
//! alone in a directory has no full program to become, so whatever it does,
//! it did by itself: it runs a command with the role's credentials (its
//! exit status, signal death, stdin, stdout and terminal its own), reminds
//! of an old key once a day, gives the command the very environment the
//! full program gives and prints what it prints for `env` and
//! `credential-process`; anything else it refuses, naming what is missing.
//! Installed as the Debian package lays it out, it finds the full program
//! in `../libexec/rolepick/`.

use crate::support::{
    assert_exec_owns_the_terminal, lone_small_program, show, text, Stack, MFA_CODE,
};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

/// A snapshot of the configuration is written only for files unchanged
/// for 2 s; the small program reads nothing else.
const SETTLE: Duration = Duration::from_millis(2_200);

/// The vault's passphrase, for the full program only: the warm path never
/// opens the vault.
const VAULT: [(&str, &str); 2] = [
    ("ROLEPICK_VAULT_PASSPHRASE", "correct horse battery"),
    ("ROLEPICK_VAULT_SCRYPT_LOG_N", "10"),
];

/// A stack whose key is in the vault, dated `age_days` back, with files
/// settled and a cold `exec admin` done through the installed programs, so
/// that the snapshot and admin's role credentials are cached.
fn warm_stack(age_days: u64) -> Stack {
    let stack = Stack::start();
    let out = stack
        .sb
        .cmd()
        .args(["vault", "import", "primary", "--yes"])
        .envs(VAULT)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    stack.sb.date_vault_key("primary", age_days);
    std::thread::sleep(SETTLE);
    let out = stack
        .sb
        .cmd()
        .args(["exec", "admin", "--mfa-code", MFA_CODE, "--", "true"])
        .envs(VAULT)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    stack
}

fn sts_calls(stack: &Stack) -> (usize, usize) {
    (
        stack.proxy.count("GetSessionToken"),
        stack.proxy.count("AssumeRole"),
    )
}

#[test]
fn the_small_program_alone_serves_a_warm_exec_and_reminds_of_an_old_key_once_a_day() {
    let stack = warm_stack(95);
    let lone = lone_small_program(stack.sb.root());
    let before = sts_calls(&stack);

    // The role's credentials, from the cache: the command is the role.
    let out = stack
        .sb
        .cmd_of(&lone)
        .args(["exec", "admin", "--", "aws", "sts", "get-caller-identity"])
        .envs(stack.sb.aws_env())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let who: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        who["Arn"]
            .as_str()
            .unwrap()
            .starts_with(&stack.prov.role("admin").assumed_arn_prefix()),
        "{}",
        show(&out)
    );
    // The cold exec above reminded today already.
    assert!(!text(&out.stderr).contains("days old"), "{}", show(&out));
    assert_eq!(sts_calls(&stack), before, "no STS call from rolepick");

    // A day later the small program reminds, once.
    stack.sb.age_key_check_by_a_day("primary");
    let exec_true = || {
        stack
            .sb
            .cmd_of(&lone)
            .args(["exec", "admin", "--", "true"])
            .output()
            .unwrap()
    };
    let out = exec_true();
    assert!(out.status.success(), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("95 days old") && err.contains("rolepick rotate primary"),
        "{err}"
    );
    assert_eq!(err.matches("days old").count(), 1, "one line: {err}");
    let out = exec_true();
    assert!(!text(&out.stderr).contains("days old"), "{}", show(&out));

    // The command's exit status is its own (rolepick became it).
    let out = stack
        .sb
        .cmd_of(&lone)
        .args(["exec", "admin", "--", "sh", "-c", "exit 7"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", show(&out));

    // A signal death is the command's own, seen by whoever waits.
    let out = stack
        .sb
        .cmd_of(&lone)
        .args(["exec", "admin", "--", "sh", "-c", "kill -TERM $$"])
        .output()
        .unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&out.status),
        Some(15),
        "{}",
        show(&out)
    );
    // stdin and stdout are the command's.
    let mut child = stack
        .sb
        .cmd_of(&lone)
        .args(["exec", "admin", "--", "cat"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"through\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(text(&out.stdout), "through\n", "{}", show(&out));

    // In a terminal (script(1) gives one) the command has it as stdin and
    // stdout, and is the terminal's foreground process.
    assert_exec_owns_the_terminal(&lone, stack.sb.base_env());

    // `prompt` is the small program's too.
    let out = stack
        .sb
        .cmd_of(&lone)
        .arg("prompt")
        .env("ROLEPICK_PROFILE", "admin")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert!(text(&out.stdout).contains("admin"), "{}", show(&out));

    // An edit anywhere in the configuration is seen: the small program no
    // longer trusts the snapshot and leaves the run to the full program
    // (missing here; installed, it reports the line, exit 2).
    let config = stack.sb.home.join(".aws/config");
    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("{good}\n[profile other]\nthis line is wrong\n"),
    )
    .unwrap();
    let out = exec_true();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("rolepick-full is missing"),
        "{}",
        show(&out)
    );
    let out = stack
        .sb
        .cmd()
        .args(["exec", "admin", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(text(&out.stderr).contains(".aws/config:"), "{}", show(&out));
    // Mended: once the full program has snapshotted it again, warm again.
    std::fs::write(&config, &good).unwrap();
    std::thread::sleep(SETTLE);
    let out = stack
        .sb
        .cmd()
        .args(["exec", "admin", "--", "true"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let out = exec_true();
    assert!(out.status.success(), "{}", show(&out));

    // Without fresh credentials it has nothing to give: the full program
    // would sign in, and it is missing.
    for f in stack.sb.cache_files() {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("role-") || name.starts_with("session-") {
            std::fs::remove_file(&f).unwrap();
        }
    }
    let out = exec_true();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("rolepick: error: rolepick-full is missing")
            && err.contains(&lone.display().to_string())
            && err.contains("Reinstall rolepick"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(sts_calls(&stack), before, "no STS call from rolepick");
}

/// `env` of a command, without what differs between two runs.
fn child_env(out: &std::process::Output) -> Vec<String> {
    assert!(out.status.success(), "{}", show(out));
    let mut lines: Vec<String> = text(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with("_="))
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

#[test]
fn both_programs_give_a_command_the_same_environment() {
    let stack = warm_stack(10);
    let lone = lone_small_program(stack.sb.root());
    let args = ["exec", "--region", "eu-west-3", "admin", "--", "env"];
    let small = child_env(&stack.sb.cmd_of(&lone).args(args).output().unwrap());
    let full = child_env(
        &stack
            .sb
            .cmd_of(Path::new(env!("CARGO_BIN_EXE_rolepick-full")))
            .args(args)
            .output()
            .unwrap(),
    );
    assert_eq!(small, full);
    for var in [
        "AWS_ACCESS_KEY_ID=",
        "AWS_SECRET_ACCESS_KEY=",
        "AWS_SESSION_TOKEN=",
        "AWS_REGION=eu-west-3",
        "ROLEPICK_PROFILE=admin",
    ] {
        assert!(small.iter().any(|l| l.starts_with(var)), "{var}: {small:?}");
    }
}

#[test]
fn both_programs_print_the_same_env_and_credential_process_output() {
    let stack = warm_stack(10);
    let lone = lone_small_program(stack.sb.root());
    let full = Path::new(env!("CARGO_BIN_EXE_rolepick-full"));
    for args in [
        &["env", "admin"][..],
        &["env", "--format", "json", "--region", "eu-west-3", "admin"],
        &["env", "admin", "--format=fish"],
        &["env", "--format", "dotenv", "admin"],
        &["credential-process", "admin"],
    ] {
        let small = stack.sb.cmd_of(&lone).args(args).output().unwrap();
        assert!(small.status.success(), "{args:?}: {}", show(&small));
        let big = stack.sb.cmd_of(full).args(args).output().unwrap();
        assert!(big.status.success(), "{args:?}: {}", show(&big));
        assert_eq!(text(&small.stdout), text(&big.stdout), "{args:?}");
        assert_eq!(text(&small.stderr), text(&big.stderr), "{args:?}");
    }
    let out = stack
        .sb
        .cmd_of(&lone)
        .args(["credential-process", "admin"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["Version"], 1);
    for k in [
        "AccessKeyId",
        "SecretAccessKey",
        "SessionToken",
        "Expiration",
    ] {
        assert!(doc[k].as_str().is_some_and(|v| !v.is_empty()), "{k}: {doc}");
    }
}

#[test]
fn installed_as_the_debian_package_lays_it_out_the_full_program_is_in_libexec() {
    let stack = Stack::start();
    let root = stack.sb.root().join("usr");
    let lone = lone_small_program(&root);
    let libexec = root.join("libexec/rolepick");
    std::fs::create_dir_all(&libexec).unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_rolepick-full"),
        libexec.join("rolepick-full"),
    )
    .unwrap();
    let out = stack.sb.cmd_of(&lone).arg("list").output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert!(text(&out.stdout).contains("admin"), "{}", show(&out));
    // A cold exec, through the full program.
    let out = stack
        .sb
        .cmd_of(&lone)
        .args(["exec", "admin", "--mfa-code", MFA_CODE, "--", "true"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(stack.proxy.count("AssumeRole"), 1);
    // clap's messages name the program the user ran.
    let out = stack.sb.cmd_of(&lone).arg("--nope").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("Usage: rolepick "),
        "{}",
        show(&out)
    );
}

/// `program ARGS` in a mount namespace whose /proc is an empty tmpfs (a
/// container or a hardened mount without /proc), started by `sh` as
/// `start` (a path, or a name searched in PATH, which leads with `bin`);
/// None when this machine cannot make one (unshare(1) as root).
fn without_proc(
    stack: &Stack,
    bin: &Path,
    start: &str,
    args: &[&str],
) -> Option<std::process::Output> {
    let probe = std::process::Command::new("unshare")
        .args(["-m", "sh", "-c", "mount -t tmpfs none /proc"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        crate::support::missing_prerequisite("unshare -m with the right to mount (root)");
        return None;
    }
    let script =
        r#"mount -t tmpfs none /proc && test ! -e /proc/self/exe && PATH="$0:$PATH" exec "$@""#;
    let out = stack
        .sb
        .cmd_of(Path::new("unshare"))
        .args(["-m", "sh", "-c", script])
        .arg(bin)
        .arg(start)
        .args(args)
        .output()
        .unwrap();
    Some(out)
}

#[test]
fn without_proc_the_small_program_finds_the_full_one_through_argv0_and_path() {
    let stack = Stack::start();
    let root = stack.sb.root().join("usr");
    let lone = lone_small_program(&root);
    let libexec = root.join("libexec/rolepick");
    std::fs::create_dir_all(&libexec).unwrap();
    std::fs::copy(
        env!("CARGO_BIN_EXE_rolepick-full"),
        libexec.join("rolepick-full"),
    )
    .unwrap();
    let bin = lone.parent().unwrap();
    // Named by its path, and by its name alone (found in PATH, as a shell
    // finds it): `list` is the full program's.
    for start in [lone.to_str().unwrap(), "rolepick"] {
        let Some(out) = without_proc(&stack, bin, start, &["list"]) else {
            return;
        };
        assert!(out.status.success(), "{start}: {}", show(&out));
        assert!(
            text(&out.stdout).contains("admin"),
            "{start}: {}",
            show(&out)
        );
    }
    // Neither leads to it (and the build's libexec directory does not
    // hold it here): it says so, naming where it looked.
    std::fs::remove_file(libexec.join("rolepick-full")).unwrap();
    let Some(out) = without_proc(&stack, bin, "rolepick", &["list"]) else {
        return;
    };
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("rolepick-full is missing")
            && err.contains(rolepick::warm::program::LIBEXEC_DIR),
        "{err}"
    );
}

#[test]
fn a_damaged_cache_entry_is_warned_about_once_though_both_programs_read_it() {
    let stack = warm_stack(10);
    let role = stack.sb.role_cache_file("admin");
    let good = std::fs::read_to_string(&role).unwrap();
    let write = |text: &str| {
        let _ = std::fs::remove_file(&role);
        std::fs::write(&role, text).unwrap();
        std::fs::set_permissions(&role, std::fs::Permissions::from_mode(0o600)).unwrap();
    };
    let damage: [(&str, &dyn Fn()); 5] = [
        ("not JSON", &|| write("{ damaged")),
        ("another kind", &|| {
            write(&good.replacen("\"role\"", "\"session\"", 1));
        }),
        ("bad expiration", &|| {
            let mut v: serde_json::Value = serde_json::from_str(&good).unwrap();
            v["expiration"] = "soon".into();
            write(&v.to_string());
        }),
        ("readable by others", &|| {
            write(&good);
            std::fs::set_permissions(&role, std::fs::Permissions::from_mode(0o644)).unwrap();
        }),
        ("a symlink", &|| {
            let _ = std::fs::remove_file(&role);
            std::os::unix::fs::symlink("/etc/hostname", &role).unwrap();
        }),
    ];
    for (what, damage) in damage {
        damage();
        // The small program cannot serve it, hands over, and the full
        // program renews it (from the cached MFA session).
        let out = stack
            .sb
            .cmd()
            .args(["exec", "admin", "--", "true"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{what}: {}", show(&out));
        let err = text(&out.stderr);
        let said = err.matches(&role.display().to_string()).count();
        assert_eq!(said, 1, "{what}: said {said} times: {err}");
        assert!(err.contains("warning: ignoring"), "{what}: {err}");
    }
}

#[test]
fn the_credentials_file_guard_holds_on_the_warm_path() {
    let stack = Stack::start();
    std::thread::sleep(SETTLE);
    let run = |args: &[&str]| stack.sb.cmd().args(args).output().unwrap();
    let out = run(&["exec", "admin", "--mfa-code", MFA_CODE, "--", "true"]);
    assert!(out.status.success(), "{}", show(&out));
    std::thread::sleep(SETTLE);
    let out = run(&["exec", "admin", "--", "true"]);
    assert!(out.status.success(), "warm: {}", show(&out));
    let credentials = stack.sb.home.join(".aws/credentials");
    let chmod = |mode: u32| {
        std::fs::set_permissions(&credentials, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    // Readable by others: refused by every command that reads the
    // configuration, though admin's credentials are cached and fresh.
    chmod(0o644);
    for args in [
        &["exec", "admin", "--", "true"][..],
        &["env", "admin"],
        &["credential-process", "admin"],
        &["list"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", show(&out));
        let err = text(&out.stderr);
        assert!(
            err.contains("readable by other users (mode 0644)")
                && err.contains(&format!("chmod 600 {}", credentials.display())),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: {}", show(&out));
    }
    // Readable by its group: warned about, once per run (the small program
    // serving from the snapshot, and the full program on a cold path).
    chmod(0o640);
    std::thread::sleep(SETTLE);
    for args in [
        &["exec", "admin", "--", "true"][..],
        &["exec", "admin", "--", "true"],
        &["list"],
        &["exec", "dev", "--mfa-code", MFA_CODE, "--", "true"],
    ] {
        let out = run(args);
        assert!(out.status.success(), "{args:?}: {}", show(&out));
        let err = text(&out.stderr);
        assert_eq!(
            err.matches("readable by its group (mode 0640)").count(),
            1,
            "{args:?}: {err}"
        );
    }
    // Mended: nothing said.
    chmod(0o600);
    let out = run(&["exec", "admin", "--", "true"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(!text(&out.stderr).contains("readable"), "{}", show(&out));
}
