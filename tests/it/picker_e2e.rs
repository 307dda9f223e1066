//! End-to-end: the real `rolepick` picker in a real pseudo-terminal (a private
//! tmux server, driven with send-keys / capture-pane) against moto through the
//! recording proxy, in a sandbox HOME with the walkthrough's three accounts.
//!
//! Walks what a user does: filter to a role in the second account, open it,
//! type the MFA code in the modal, check the subshell's identity, come back to
//! a countdown, open a role of the third account without a code, quit, and
//! check the terminal settings are as before. Also: SIGTERM and SIGHUP
//! restore the terminal.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::support::tmux::{have_tmux, Tmux};
use crate::support::{Canned, Federation, Stack, MFA_CODE};

/// Ends the test (passing, with a note) where tmux is missing, except under
/// `CI`, where it fails: scripts/test installs tmux, so this only spares a
/// bare `cargo test` elsewhere.
macro_rules! require_tmux {
    () => {
        if !have_tmux() {
            crate::support::missing_prerequisite("tmux");
            return;
        }
    };
}

fn picker_cmd() -> String {
    format!("{} ; echo picker-exit-$?", env!("CARGO_BIN_EXE_rolepick"))
}

/// Starts the picker in the pane's shell; the first screen of it.
#[track_caller]
fn open_picker(tmux: &Tmux) -> String {
    tmux.line(&picker_cmd());
    tmux.wait_for("the picker", is_picker)
}

/// `q`, and the picker exits with 0.
#[track_caller]
fn quit_picker(tmux: &Tmux) {
    tmux.keys(&["q"]);
    tmux.wait_for("the picker's exit", |s| s.contains("picker-exit-0"));
}

fn is_picker(s: &str) -> bool {
    s.contains(" rolepick ") && (s.contains("roles in") || s.contains("roles match"))
}

/// A countdown on the line that names `profile`: `59:12` or `1h 59m`.
fn countdown_on(screen: &str, profile: &str) -> Option<String> {
    screen
        .lines()
        .filter(|l| l.split_whitespace().any(|w| w == profile))
        .find_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                [.., h, m] if h.ends_with('h') && m.ends_with('m') => Some(format!("{h} {m}")),
                [.., mmss] if mmss.len() == 5 && mmss.as_bytes()[2] == b':' => {
                    Some((*mmss).to_string())
                }
                _ => None,
            }
        })
}

/// A resized terminal is redrawn at once, with no key pressed: the idle
/// picker waits on the terminal itself, so the resize comes from SIGWINCH.
#[test]
fn a_resized_terminal_is_redrawn_without_a_key() {
    require_tmux!();
    let stack = Stack::start();
    let tmux = Tmux::start(stack.sb.root(), &stack.sb.aws_env());
    let s = open_picker(&tmux);
    assert!(
        s.contains("jk move"),
        "the full footer at 100 columns:\n{s}"
    );
    tmux.run(&["resize-window", "-t", "e2e", "-x", "60", "-y", "20"]);
    tmux.wait_for("the picker redrawn at 60 columns", |s| {
        is_picker(s) && !s.contains("jk move") && s.contains("q quit")
    });
    quit_picker(&tmux);
}

#[test]
fn picker_walkthrough_against_moto() {
    require_tmux!();
    let stack = Stack::start();
    let tmux = Tmux::start(stack.sb.root(), &stack.sb.aws_env());
    let before = tmux.stty("stty.before");

    let s = open_picker(&tmux);
    assert!(s.contains("444455556666"), "accounts listed:\n{s}");

    // `/` filter to the role in the second account; Enter opens the MFA modal.
    tmux.type_text("/");
    tmux.type_text("dev");
    let s = tmux.wait_for("the filter", |s| {
        s.contains("/ dev") && !s.contains("777788889999")
    });
    // Issue #25: the filter says how many roles match.
    assert!(s.contains(" roles match  / dev"), "{s}");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the MFA modal", |s| s.contains("MFA code for primary"));
    tmux.type_text("12x");
    tmux.wait_for("two digits", |s| s.contains("1 2 _ _ _ _"));
    tmux.type_text(&MFA_CODE[2..]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the subshell banner", |s| {
        s.contains("rolepick: shell for dev") && s.contains("e2e$")
    });

    // The subshell has the role's credentials.
    let dev = stack.prov.role("dev");
    tmux.line("aws sts get-caller-identity --query Arn --output text");
    let expect = dev.assumed_arn_prefix();
    tmux.wait_for("the assumed-role ARN", |s| s.contains(&expect));
    tmux.line("echo profile=$ROLEPICK_PROFILE");
    tmux.wait_for("ROLEPICK_PROFILE", |s| s.contains("profile=dev"));
    // ... from rolepick's endpoint, not static keys.
    tmux.line("echo key=${AWS_ACCESS_KEY_ID:-none} uri=${AWS_CONTAINER_CREDENTIALS_FULL_URI%/*}");
    tmux.wait_for("the endpoint variables", |s| {
        s.contains("key=none uri=http://127.0.0.1:")
    });

    // Back in the picker: a countdown on that row.
    tmux.line("exit");
    // (The frame drawn right after the shell may still say "Opening…": the
    // shell's end reaches the picker as a message, like any other event.)
    let s = tmux.wait_for("the picker with a countdown", |s| {
        is_picker(s) && countdown_on(s, "dev").is_some() && s.contains("Back from dev")
    });
    assert!(s.contains("MFA session"), "session shown:\n{s}");

    // A role of the third account opens without a code: the session is reused.
    assert_eq!(stack.proxy.count("GetSessionToken"), 1);
    tmux.keys(&["Escape"]);
    tmux.wait_for("the filter cleared", |s| s.contains("777788889999"));
    tmux.type_text("/");
    tmux.type_text("readonly");
    tmux.wait_for("the filter", |s| !s.contains("444455556666"));
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("the second subshell", |s| {
        s.contains("rolepick: shell for readonly") && s.contains("e2e$")
    });
    assert!(
        !s.contains("MFA code for"),
        "no modal for the second role:\n{s}"
    );
    assert_eq!(stack.proxy.count("GetSessionToken"), 1, "session reused");
    tmux.line("exit");
    tmux.wait_for("the picker again", |s| {
        is_picker(s) && countdown_on(s, "readonly").is_some()
    });

    // q quits; the terminal is as it was.
    quit_picker(&tmux);
    let after = tmux.stty("stty.after");
    assert_eq!(before, after, "stty settings restored after q");
}

#[test]
fn rejected_code_is_explained_in_the_modal_and_r_reauthenticates() {
    require_tmux!();
    let stack = Stack::start();
    stack
        .proxy
        .inject_nth("GetSessionToken", 1, Canned::invalid_mfa());
    let tmux = Tmux::start(stack.sb.root(), &stack.sb.aws_env());
    open_picker(&tmux);
    tmux.type_text("/admin");
    tmux.wait_for("the filter", |s| !s.contains("444455556666"));
    tmux.keys(&["Enter"]);
    tmux.wait_for("the MFA modal", |s| s.contains("MFA code for primary"));
    tmux.type_text("111111");
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("the rejection in the modal", |s| {
        s.contains("MFA code for primary") && s.contains("│✗ ")
    });
    assert!(s.contains("_ _ _ _ _ _"), "code cleared for a retry:\n{s}");
    tmux.type_text(MFA_CODE);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the subshell", |s| {
        s.contains("rolepick: shell for admin") && s.contains("e2e$")
    });
    tmux.line("exit");
    tmux.wait_for("the picker", |s| {
        is_picker(s) && countdown_on(s, "admin").is_some()
    });
    assert_eq!(stack.proxy.count("GetSessionToken"), 2);
    assert_eq!(stack.proxy.count("AssumeRole"), 1);

    // r: a new code, a new session and new role credentials, no shell.
    tmux.keys(&["r"]);
    tmux.wait_for("the re-auth modal", |s| {
        s.contains("Re-authenticate primary")
    });
    tmux.type_text(MFA_CODE);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the re-auth status", |s| {
        s.contains("Re-authenticated primary")
    });
    assert_eq!(stack.proxy.count("GetSessionToken"), 3);
    assert_eq!(stack.proxy.count("AssumeRole"), 2);
    quit_picker(&tmux);
}

/// The vault passphrase `vault_key_unlocked_in_the_picker` imports with.
const VAULT_PASS: &str = "correct horse battery";

/// Moves primary's key into the vault; only the import gets the passphrase
/// (and a cheap scrypt work factor) from the environment.
fn import_into_vault(stack: &Stack) {
    import_into_vault_with(stack, VAULT_PASS);
}

fn import_into_vault_with(stack: &Stack, passphrase: &str) {
    let out = stack
        .sb
        .cmd()
        .env("ROLEPICK_VAULT_PASSPHRASE", passphrase)
        .env("ROLEPICK_VAULT_SCRYPT_LOG_N", "10")
        .args(["vault", "import", "primary", "--yes"])
        .output()
        .expect("run rolepick vault import");
    assert!(
        out.status.success(),
        "import: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn vault_key_unlocked_in_the_picker_and_nest_inside_its_shell() {
    require_tmux!();
    let stack = Stack::start();
    import_into_vault(&stack);
    let creds = fs::read_to_string(stack.sb.home.join(".aws/credentials")).unwrap();
    assert!(
        !creds.contains("aws_access_key_id"),
        "key only in the vault"
    );

    // The picker runs without ROLEPICK_VAULT_PASSPHRASE: it must ask.
    let tmux = Tmux::start(stack.sb.root(), &stack.sb.aws_env());
    open_picker(&tmux);
    tmux.type_text("/dev");
    tmux.wait_for("the filter", |s| !s.contains("777788889999"));
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("the passphrase modal", |s| {
        s.contains("Unlock the vault for primary")
    });
    assert!(s.contains("vault.age"), "the vault is named:\n{s}");
    assert!(!s.contains("MFA code for"), "passphrase first:\n{s}");

    // A wrong passphrase: the reason in the modal, nothing typed shown.
    tmux.type_text("not the one");
    tmux.wait_for("the mask", |s| s.contains("•••••••••••"));
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("the wrong passphrase in the modal", |s| {
        s.contains("Unlock the vault for primary") && s.contains("│✗ wrong passphrase")
    });
    assert!(!s.contains("not the one"), "never shown:\n{s}");
    assert_eq!(stack.proxy.count("GetSessionToken"), 0);

    // The right one: then the MFA modal, then the shell.
    tmux.type_text(VAULT_PASS);
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("the MFA modal", |s| s.contains("MFA code for primary"));
    assert!(!s.contains(VAULT_PASS), "never shown:\n{s}");
    tmux.type_text(MFA_CODE);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the subshell banner", |s| {
        s.contains("rolepick: shell for dev") && s.contains("e2e$")
    });
    let dev = stack.prov.role("dev");
    tmux.line("aws sts get-caller-identity --query Arn --output text");
    let expect = dev.assumed_arn_prefix();
    tmux.wait_for("the assumed-role ARN", |s| s.contains(&expect));
    assert_eq!(stack.proxy.count("GetSessionToken"), 1);

    // Inside that rolepick shell the picker refuses to nest, unless --nest.
    tmux.line("clear");
    tmux.line(&picker_cmd());
    let s = tmux.wait_for("the refusal", |s| {
        s.lines().any(|l| l.starts_with("picker-exit-"))
    });
    assert!(
        s.contains("already inside a rolepick shell for profile \"dev\""),
        "{s}"
    );
    assert!(s.contains("--nest"), "says how:\n{s}");
    assert!(s.contains("picker-exit-2"), "usage error:\n{s}");
    tmux.line(&format!(
        "{} --nest ; echo nested-exit-$?",
        env!("CARGO_BIN_EXE_rolepick")
    ));
    tmux.wait_for("the nested picker", is_picker);
    tmux.keys(&["q"]);
    tmux.wait_for("the nested picker's exit", |s| s.contains("nested-exit-0"));

    // Back to the first picker; the session is cached, so a role of another
    // account needs neither the passphrase nor a code.
    tmux.line("exit");
    tmux.wait_for("the picker", |s| {
        is_picker(s) && countdown_on(s, "dev").is_some()
    });
    // Esc handled before `/` is typed: an Esc and a key sent together read
    // as Alt+key, and the filter kept `dev` (`/ devreadonly`) under load.
    tmux.keys(&["Escape"]);
    tmux.wait_for("the filter cleared", |s| s.contains("777788889999"));
    tmux.type_text("/readonly");
    tmux.wait_for("the filter", |s| !s.contains("444455556666"));
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("the second subshell", |s| {
        s.contains("rolepick: shell for readonly") && s.contains("e2e$")
    });
    assert!(!s.contains("Unlock the vault"), "no passphrase asked:\n{s}");
    tmux.line("exit");
    tmux.wait_for("the picker again", is_picker);
    quit_picker(&tmux);
    assert_eq!(stack.proxy.count("GetSessionToken"), 1);
}

#[test]
fn nest_is_needed_to_start_rolepick_inside_a_rolepick_shell() {
    let home = tempfile::tempdir().expect("temp HOME");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_rolepick"))
            .env_clear()
            .env("HOME", home.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("ROLEPICK_PROFILE", "dev")
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run rolepick");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let refused = "already inside a rolepick shell for profile \"dev\"";
    let (code, err) = run(&[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(refused) && err.contains("--nest"), "{err}");
    // With --nest the guard lets the picker through (to the next check:
    // stdout here is a pipe, not a terminal).
    let (code, err) = run(&["--nest"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(!err.contains(refused), "{err}");
    assert!(err.contains("the picker needs a terminal"), "{err}");
    // `rolepick --nest exec` means `rolepick exec --nest`.
    let (_, err) = run(&["exec", "nope"]);
    assert!(err.contains(refused), "{err}");
    let (_, err) = run(&["--nest", "exec", "nope"]);
    assert!(!err.contains(refused), "{err}");
}

#[test]
fn sigterm_and_sighup_restore_the_terminal() {
    require_tmux!();
    let stack = Stack::start();
    let tmux = Tmux::start(stack.sb.root(), &stack.sb.aws_env());
    let before = tmux.stty("stty.before");
    for (sig, name, status) in [("-TERM", "term", 143), ("-HUP", "hup", 129)] {
        open_picker(&tmux);
        let pid = tmux.picker_pid();
        let ok = Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .expect("kill");
        assert!(ok.success());
        tmux.wait_for("the picker's exit", |s| {
            s.contains(&format!("picker-exit-{status}"))
        });
        let after = tmux.stty(&format!("stty.{name}"));
        assert_eq!(before, after, "stty settings restored after SIG{name}");
        tmux.line("clear");
        tmux.wait_for("a clear screen", |s| !s.contains("picker-exit-"));
    }
}

#[test]
fn the_picker_marks_roles_with_a_live_shell() {
    require_tmux!();
    let stack = Stack::start();
    // A shell for admin in "another terminal": exec with $SHELL = a sleeper.
    let sleeper = stack.sb.root().join("sleeper.sh");
    fs::write(&sleeper, "#!/bin/sh\nexec sleep 60\n").unwrap();
    fs::set_permissions(
        &sleeper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let mut other = stack
        .sb
        .std_cmd()
        .env("SHELL", &sleeper)
        .args(["exec", "admin", "--mfa-code", MFA_CODE])
        .spawn()
        .expect("start rolepick exec");
    let tmux = Tmux::start(stack.sb.root(), &stack.sb.aws_env());
    tmux.line(&picker_cmd());
    let marked = |s: &str| {
        s.lines()
            .any(|l| l.contains('●') && l.split_whitespace().any(|w| w == "admin"))
    };
    let s = tmux.wait_for("the live-shell mark on admin", |s| {
        is_picker(s) && marked(s)
    });
    assert!(
        !s.lines()
            .any(|l| l.contains('●') && l.split_whitespace().any(|w| w == "dev")),
        "only admin is marked:\n{s}"
    );
    // The shell ends (its rolepick is told to stop and passes SIGTERM on to
    // the shell, so nothing outlives the test): the mark goes within seconds.
    let _ = rustix::process::kill_process(
        rustix::process::Pid::from_child(&other),
        rustix::process::Signal::TERM,
    );
    let _ = other.wait();
    tmux.wait_for("the mark gone", |s| is_picker(s) && !marked(s));
    quit_picker(&tmux);
}

/// Moves the cursor to the first row (`g`), then down (`j`) to `profile`'s.
fn select(tmux: &Tmux, profile: &str) {
    tmux.keys(&["g"]);
    sleep(Duration::from_millis(150));
    for _ in 0..20 {
        let s = tmux.screen();
        let on = s
            .lines()
            .any(|l| l.starts_with('▶') && l.split_whitespace().any(|w| w == profile));
        if on {
            return;
        }
        tmux.keys(&["j"]);
        sleep(Duration::from_millis(150));
    }
    panic!("no row for {profile}:\n{}", tmux.screen());
}

/// The console's one-time pages in the cache dir.
fn console_pages(stack: &Stack) -> Vec<PathBuf> {
    stack
        .sb
        .cache_files()
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("console-"))
        .collect()
}

/// `o`: the MFA modal, then the AWS console for the role in `$BROWSER`
/// (a fake that follows the one-time page to the federation stand-in);
/// the picker stays, says so, and the page is gone within seconds.
#[test]
fn o_opens_the_console_for_the_selected_role_and_the_picker_stays() {
    require_tmux!();
    let stack = Stack::start();
    let fed = Federation::start("ok");
    let seen = stack.sb.root().join("browser");
    fs::create_dir(&seen).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake_browser.py");
    let mut env = stack.sb.aws_env();
    env.push(("ROLEPICK_SIGNIN_ENDPOINT".into(), fed.endpoint().into()));
    env.push((
        "BROWSER".into(),
        format!("python3 {}", script.display()).into(),
    ));
    env.push(("FAKE_BROWSER_DIR".into(), seen.clone().into()));
    let tmux = Tmux::start(stack.sb.root(), &env);
    open_picker(&tmux);

    select(&tmux, "dev");
    tmux.keys(&["o"]);
    tmux.wait_for("the MFA modal", |s| s.contains("MFA code for primary"));
    tmux.type_text(MFA_CODE);
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("the console opened", |s| {
        s.contains("Opened the AWS console for dev")
    });
    assert!(is_picker(&s), "the picker stays:\n{s}");
    assert!(countdown_on(&s, "dev").is_some(), "dev's credentials:\n{s}");

    // The browser signed in with dev's own role credentials, through the page.
    let deadline = Instant::now() + Duration::from_secs(30);
    while fed.requests_for("login").is_empty() && Instant::now() < deadline {
        sleep(Duration::from_millis(100));
    }
    let asked = fed.requests_for("getSigninToken");
    assert_eq!(asked.len(), 1, "{asked:?}");
    let role: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(stack.sb.role_cache_file("dev")).unwrap())
            .unwrap();
    assert_eq!(asked[0]["session"]["sessionId"], role["access_key_id"]);
    let logins = fed.requests_for("login");
    assert_eq!(logins.len(), 1, "the page led to the sign-in URL");
    assert_eq!(logins[0]["params"]["SigninToken"], asked[0]["token"]);
    let leak = fs::read_to_string(seen.join("leak.json")).unwrap();
    assert!(leak.contains("\"argv_pids\": []"), "{leak}");
    let argv = fs::read_to_string(seen.join("argv.json")).unwrap();
    assert!(argv.contains("file://"), "{argv}");
    assert!(
        !argv.contains(asked[0]["token"].as_str().unwrap()),
        "{argv}"
    );

    // The page goes within its 10 s while the picker runs on.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !console_pages(&stack).is_empty() && Instant::now() < deadline {
        sleep(Duration::from_millis(200));
    }
    assert!(
        console_pages(&stack).is_empty(),
        "{:?}",
        console_pages(&stack)
    );
    assert!(is_picker(&tmux.screen()));

    // A source's own session cannot sign in: said in the status line.
    select(&tmux, "primary");
    tmux.keys(&["o"]);
    tmux.wait_for("the refusal", |s| {
        s.contains("Console sign-in needs a role")
    });
    assert_eq!(fed.requests_for("getSigninToken").len(), 1);

    // Quitting right after opening removes the page at once.
    select(&tmux, "dev");
    tmux.keys(&["o"]);
    let opened = Instant::now();
    tmux.wait_for("the console opened again", |s| {
        s.contains("Opened the AWS console for dev")
    });
    assert_eq!(
        console_pages(&stack).len(),
        1,
        "the page of the second sign-in"
    );
    quit_picker(&tmux);
    assert!(
        opened.elapsed() < Duration::from_secs(9),
        "before its time ran out"
    );
    assert!(
        console_pages(&stack).is_empty(),
        "{:?}",
        console_pages(&stack)
    );
    assert_eq!(fed.requests_for("getSigninToken").len(), 2);
}

/// Issue #25: the demo's `o` always failed: its `$BROWSER`
/// (scripts/sso_browser) refused the console's `file://` page, and the
/// status line showed "✗ the browser command failed (exit status: 2)…",
/// cut before its hint. With the demo's set-up (that browser, the
/// federation stand-in), `o` now lands on the stand-in's page. On the way:
/// `Enter` with 5 digits says a code has 6, and `?` shows `/`'s line whole.
#[test]
fn the_demos_browser_opens_the_console_page_from_o() {
    require_tmux!();
    let stack = Stack::start();
    let fed = Federation::start("ok");
    let pages = stack.sb.root().join("pages");
    fs::create_dir(&pages).unwrap();
    let mut env = stack.sb.aws_env();
    env.push(("ROLEPICK_SIGNIN_ENDPOINT".into(), fed.endpoint().into()));
    env.push((
        "BROWSER".into(),
        crate::support::sso::browser().into_os_string(),
    ));
    env.push(("SSO_BROWSER_PAGES".into(), pages.clone().into()));
    let tmux = Tmux::start(stack.sb.root(), &env);
    open_picker(&tmux);

    // `?`: no description cut at the box's edge.
    tmux.keys(&["?"]);
    let s = tmux.wait_for("the help", |s| s.contains("Esc or ? closes this help"));
    assert!(
        s.lines()
            .any(|l| l.split('│').any(|cell| cell.trim() == "tags")),
        "`/`'s line whole:\n{s}"
    );
    tmux.keys(&["Escape"]);

    select(&tmux, "dev");
    tmux.keys(&["o"]);
    tmux.wait_for("the MFA modal", |s| s.contains("MFA code for primary"));
    tmux.type_text(&MFA_CODE[..5]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the 6-digit hint", |s| {
        s.contains("An MFA code has 6 digits; 5 typed")
    });
    assert!(fed.requests_for("getSigninToken").is_empty());
    tmux.type_text(&MFA_CODE[5..]);
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("the console opened, or not", |s| {
        s.contains("Opened the AWS console for dev") || s.contains(" ✗ ")
    });
    assert!(s.contains("Opened the AWS console for dev"), "{s}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let page = pages.join("last-page.html");
    while !page.exists() && Instant::now() < deadline {
        sleep(Duration::from_millis(100));
    }
    let landed = fs::read_to_string(&page).unwrap_or_default();
    assert!(
        landed.contains("Signed in (rolepick's federation stand-in)"),
        "{landed:?}"
    );
    let asked = fed.requests_for("getSigninToken");
    let logins = fed.requests_for("login");
    assert_eq!(logins.len(), 1, "the page led to the sign-in URL");
    assert_eq!(logins[0]["params"]["SigninToken"], asked[0]["token"]);
    quit_picker(&tmux);
}

/// `exec --server -- CMD` owns the terminal's foreground: when the MFA
/// session runs out mid-command, rolepick asks for a new code right there,
/// and the command's next AWS call works again.
#[test]
fn exec_server_asks_for_a_new_code_on_the_terminal_when_the_session_runs_out() {
    require_tmux!();
    let stack = Stack::start();
    short_lived_dev(&stack);
    let expire = stack.sb.expire_cache_script();
    let script = stack.sb.root().join("long-job.sh");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             aws sts get-caller-identity --query Arn --output text\n\
             python3 {}\n\
             n=0; until aws sts get-caller-identity --query Arn --output text 2>/dev/null; do n=$((n+1)); [ $n -gt 60 ] && exit 9; sleep 1; done\n\
             echo job-recovered\n",
            expire.display()
        ),
    )
    .unwrap();
    let tmux = Tmux::start(stack.sb.root(), &stack.sb.aws_env());
    tmux.line(&format!(
        "{} exec dev --server --mfa-code {MFA_CODE} -- sh {} ; echo exec-exit-$?",
        env!("CARGO_BIN_EXE_rolepick"),
        script.display()
    ));
    tmux.wait_for("the code prompt", |s| {
        s.contains("has run out") && s.contains("MFA code for")
    });
    tmux.line(MFA_CODE);
    let s = tmux.wait_for("the job's end", |s| {
        s.lines().any(|l| l.starts_with("exec-exit-"))
    });
    assert!(s.contains("job-recovered"), "{s}");
    assert!(s.contains("exec-exit-0"), "{s}");
    assert_eq!(stack.proxy.count("GetSessionToken"), 2, "one new session");
}

/// An interactive `rolepick exec dev` shell does job control, so the
/// command it runs has the terminal, not rolepick. When that command needs
/// credentials after the MFA session ran out, rolepick borrows the terminal
/// from it, asks for a new code, and gives it back: the command goes on.
/// A command that gives up waiting gives the terminal back to its shell; an
/// empty line skips (the command fails with rolepick's message). A
/// background job never gets the terminal taken from the shell at its
/// prompt.
#[test]
fn an_interactive_exec_shell_asks_for_a_new_code_while_the_command_waits() {
    require_tmux!();
    let stack = Stack::start();
    short_lived_dev(&stack);
    stack
        .proxy
        .inject_nth("GetSessionToken", 2, Canned::invalid_mfa());
    let expire = stack.sb.expire_cache_script();
    let tmux = Tmux::start(stack.sb.root(), &stack.sb.aws_env());
    let before = tmux.stty("stty.before");
    tmux.line(&format!(
        "{} exec dev --mfa-code {MFA_CODE} ; echo exec-exit-$?",
        env!("CARGO_BIN_EXE_rolepick")
    ));
    tmux.wait_for("the subshell", |s| {
        s.contains("rolepick: shell for dev")
            && s.contains("kept fresh")
            && s.trim_end().ends_with("e2e$")
    });
    let dev = stack.prov.role("dev");
    let arn = dev.assumed_arn_prefix();
    // `rolepick prompt` follows the shell's state file, not the variable the
    // shell was born with (here made stale by hand, as hours would).
    let bin = env!("CARGO_BIN_EXE_rolepick");
    tmux.line(&format!(
        "AWS_CREDENTIAL_EXPIRATION=2001-01-01T00:00:00Z {bin} prompt --format 'p1={{profile}}/{{left}}'; \
         env -u ROLEPICK_SHELL_STATE AWS_CREDENTIAL_EXPIRATION=2001-01-01T00:00:00Z {bin} prompt --format 'p2={{profile}}/{{left}}'"
    ));
    let s = tmux.wait_for("the prompts", |s| s.lines().any(|l| l.starts_with("p2=")));
    let p1 = s.lines().find(|l| l.starts_with("p1=")).unwrap_or_default();
    assert!(
        p1.starts_with("p1=dev/11h5"),
        "from the state file: {p1:?}\n{s}"
    );
    assert!(s.lines().any(|l| l == "p2=dev/expired"), "{s}");
    let state = |s: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix("state="))
            .unwrap_or_default()
            .to_string()
    };
    tmux.line("clear; echo state=$(sed -n 2p \"$ROLEPICK_SHELL_STATE\")");
    let before_state = state(&tmux.wait_for("the state file", |s| {
        s.lines().any(|l| l.starts_with("state=2"))
    }));

    // 1. The session runs out; the next aws call waits while rolepick asks.
    // (A second later than the first session, so that the new session's end,
    // which moto gives to the second, is later than the first's.)
    tmux.line(&format!(
        "python3 {}; sleep 1; aws sts get-caller-identity --query Arn --output text; echo aws-exit-$?",
        expire.display()
    ));
    let s = tmux.wait_for("the code prompt", |s| {
        s.contains("has run out") && s.trim_end().ends_with("(source primary):")
    });
    assert!(s.contains("the AWS call waits"), "{s}");
    // A typo is caught before any AWS call; a code AWS rejects is asked
    // again; the third try works.
    tmux.line("12345");
    tmux.wait_for("the typo explained", |s| {
        s.contains("\"12345\" is not 6 digits") && s.trim_end().ends_with("(source primary):")
    });
    assert_eq!(
        stack.proxy.count("GetSessionToken"),
        1,
        "no call for a typo"
    );
    tmux.line("111111");
    tmux.wait_for("the rejection explained", |s| {
        s.lines()
            .filter(|l| l.contains("(source primary):"))
            .count()
            == 3
            && s.trim_end().ends_with("(source primary):")
    });
    tmux.line(MFA_CODE);
    let s = tmux.wait_for("the aws call's end", |s| {
        s.lines().any(|l| l.starts_with("aws-exit-"))
    });
    assert!(
        s.contains("aws-exit-0"),
        "the waiting call got credentials:\n{s}"
    );
    assert!(s.contains(&arn), "{s}");
    assert!(s.contains("new MFA session"), "{s}");
    assert_eq!(
        stack.proxy.count("GetSessionToken"),
        3,
        "the rejected code and the new session"
    );
    // The state file now gives the new session's end. (Read under another
    // name: the screen may still show the first `state=` line until the
    // `clear` has run, and matching that was a race.)
    tmux.line("clear; echo after=$(sed -n 2p \"$ROLEPICK_SHELL_STATE\")");
    let after_state = tmux
        .wait_for("the state file", |s| {
            s.lines().any(|l| l.starts_with("after=2"))
        })
        .lines()
        .find_map(|l| l.strip_prefix("after="))
        .unwrap_or_default()
        .to_string();
    assert!(
        after_state > before_state,
        "{before_state:?} -> {after_state:?}"
    );
    // The shell has its terminal back, as it was.
    let inside = tmux.stty("stty.inside");
    assert!(
        inside.contains(" icanon") && inside.contains(" echo "),
        "{inside}"
    );

    // 2. A background job needs a code while the shell sits at its prompt:
    // rolepick says so but leaves the terminal to the shell. (With `stty
    // tostop`, where a write from the background would stop rolepick.)
    tmux.line("clear");
    tmux.line(&format!("stty tostop; python3 {}", expire.display()));
    let out = stack.sb.root().join("bg.out");
    tmux.line(&format!(
        "(aws sts get-caller-identity --query Arn --output text > {} 2>&1; echo bg-exit-$? >> {}) &",
        out.display(),
        out.display()
    ));
    tmux.wait_for("rolepick's note", |s| {
        s.contains("has run out") && s.contains("rolepick exec --nest dev -- true")
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while !fs::read_to_string(&out).is_ok_and(|t| t.contains("bg-exit-")) {
        assert!(Instant::now() < deadline, "the background job never ended");
        sleep(Duration::from_millis(100));
    }
    assert!(fs::read_to_string(&out).unwrap().contains("bg-exit-255"));
    tmux.line("stty -tostop; echo still-$((6*7))");
    let s = tmux.wait_for("the shell's own input", |s| s.contains("still-42"));
    assert!(!s.trim_end().ends_with("(source primary):"), "{s}");

    // 3. Nobody types: the aws CLI gives up after its retries (about 8 s);
    // rolepick lets go of the terminal and the shell has it again.
    tmux.line("clear");
    tmux.line(&format!(
        "python3 {}; aws sts get-caller-identity --query Arn --output text; echo aws-exit-$?",
        expire.display()
    ));
    tmux.wait_for("the code prompt", |s| {
        s.trim_end().ends_with("(source primary):")
    });
    let s = tmux.wait_for("the call giving up", |s| {
        s.lines().any(|l| l.starts_with("aws-exit-"))
    });
    assert!(s.contains("aws-exit-255"), "{s}");
    tmux.wait_for("rolepick letting go", |s| s.contains("stopped waiting"));
    tmux.line("clear");
    tmux.line("echo mine-$((40+2))");
    tmux.wait_for("the shell reads its terminal", |s| s.contains("mine-42"));
    let inside = tmux.stty("stty.lost");
    assert!(
        inside.contains(" icanon") && inside.contains(" echo "),
        "{inside}"
    );

    // 4. An empty line skips: the call fails with what to do.
    tmux.line("clear");
    tmux.line(&format!(
        "python3 {}; aws sts get-caller-identity --query Arn --output text; echo aws-exit-$?",
        expire.display()
    ));
    tmux.wait_for("the code prompt again", |s| {
        s.trim_end().ends_with("(source primary):")
    });
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("the skipped call's end", |s| {
        s.lines().any(|l| l.starts_with("aws-exit-"))
    });
    assert!(s.contains("aws-exit-255"), "{s}");
    assert!(s.contains("skipped"), "{s}");
    assert!(s.contains("rolepick exec --nest dev -- true"), "{s}");
    assert_eq!(
        stack.proxy.count("GetSessionToken"),
        3,
        "no session on skip"
    );
    tmux.line("clear");
    tmux.line("echo typed-$((40+2))");
    tmux.wait_for("the shell still reads its terminal", |s| {
        s.contains("typed-42")
    });

    // The nested rolepick the note suggests gives the shell credentials again.
    tmux.line(&format!(
        "{} exec --nest dev --mfa-code {MFA_CODE} -- true; aws sts get-caller-identity --query Arn --output text; echo aws-exit-$?",
        env!("CARGO_BIN_EXE_rolepick")
    ));
    let s = tmux.wait_for("the call after the nested code", |s| {
        s.lines().any(|l| l.starts_with("aws-exit-"))
    });
    assert!(s.contains("aws-exit-0"), "{s}");

    // Credentials flowed again, so the next run-out is told again (the
    // note is not said only once per shell).
    tmux.line("clear");
    let out2 = stack.sb.root().join("bg2.out");
    tmux.line(&format!(
        "python3 {}; (aws sts get-caller-identity > {} 2>&1 &)",
        expire.display(),
        out2.display()
    ));
    tmux.wait_for("the note again", |s| {
        s.contains("has run out") && s.contains("rolepick exec --nest dev -- true")
    });
    tmux.line("exit");
    tmux.wait_for("rolepick's exit", |s| s.contains("exec-exit-0"));
    let after = tmux.stty("stty.after");
    assert_eq!(before, after, "stty settings as before");
}

/// The same borrowing of the terminal under the shells people use, each with
/// its own job control and line editor (bash's readline, zsh's ZLE, fish):
/// the waiting call gets its code, the shell gets its terminal back.
#[test]
fn the_code_prompt_works_under_bash_zsh_and_fish() {
    require_tmux!();
    let stack = Stack::start();
    short_lived_dev(&stack);
    let expire = stack.sb.expire_cache_script();
    // Quiet start-up files with the tests' prompt.
    let home = &stack.sb.home;
    fs::write(home.join(".bashrc"), "PS1='e2e$ '\n").unwrap();
    fs::write(home.join(".zshrc"), "PS1='e2e$ '\n").unwrap();
    let fish = stack.sb.root().join("xdg/config/fish");
    fs::create_dir_all(&fish).unwrap();
    fs::write(
        fish.join("config.fish"),
        "set -g fish_greeting\nfunction fish_prompt; echo -n 'e2e$ '; end\n",
    )
    .unwrap();
    let tmux = Tmux::start(stack.sb.root(), &stack.sb.aws_env());
    let mut ran = Vec::new();
    for (shell, status) in [("bash", "$?"), ("zsh", "$?"), ("fish", "$status")] {
        let Some(path) = which(shell) else {
            crate::support::missing_prerequisite(shell);
            continue;
        };
        tmux.line("clear");
        tmux.line(&format!(
            "SHELL={} {} exec dev --mfa-code {MFA_CODE}; echo exec-exit-$?",
            path.display(),
            env!("CARGO_BIN_EXE_rolepick")
        ));
        tmux.wait_for(&format!("the {shell} subshell"), |s| {
            s.contains("rolepick: shell for dev") && s.trim_end().ends_with("e2e$")
        });
        tmux.line(&format!(
            "python3 {}; aws sts get-caller-identity --query Arn --output text; echo aws-exit-{status}",
            expire.display()
        ));
        tmux.wait_for(&format!("the code prompt under {shell}"), |s| {
            s.contains("has run out") && s.trim_end().ends_with("(source primary):")
        });
        tmux.line(MFA_CODE);
        let s = tmux.wait_for(&format!("the call's end under {shell}"), |s| {
            s.lines().any(|l| l.starts_with("aws-exit-"))
        });
        assert!(s.contains("aws-exit-0"), "{shell}:\n{s}");
        // The shell reads its terminal again, with its own line editing.
        tmux.line("clear");
        tmux.line("echo back-in-shell");
        tmux.wait_for(&format!("{shell} reading again"), |s| {
            s.lines().any(|l| l == "back-in-shell")
        });
        tmux.line("exit");
        tmux.wait_for(&format!("rolepick's exit from {shell}"), |s| {
            s.contains("exec-exit-0")
        });
        ran.push(shell);
    }
    assert!(!ran.is_empty(), "bash at least is installed");
    eprintln!("ran under: {ran:?}");
}

/// `name`'s path on PATH, if it is there.
fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// With the key in the vault, a session that runs out inside the shell
/// needs the passphrase too: asked without echo, then the code.
#[test]
fn the_vault_passphrase_is_asked_without_echo_when_the_session_runs_out_in_a_shell() {
    require_tmux!();
    let stack = Stack::start();
    short_lived_dev(&stack);
    // Spaces at either end are part of a passphrase.
    let pass = "  padded pass ";
    import_into_vault_with(&stack, pass);
    let expire = stack.sb.expire_cache_script();
    let tmux = Tmux::start(stack.sb.root(), &stack.sb.aws_env());
    tmux.line(&format!(
        "{} exec dev --mfa-code {MFA_CODE} ; echo exec-exit-$?",
        env!("CARGO_BIN_EXE_rolepick")
    ));
    tmux.wait_for("the passphrase prompt", |s| {
        s.trim_end().ends_with("vault.age:")
    });
    tmux.line(pass);
    tmux.wait_for("the subshell", |s| {
        s.contains("rolepick: shell for dev") && s.trim_end().ends_with("e2e$")
    });
    tmux.line(&format!(
        "python3 {}; aws sts get-caller-identity --query Arn --output text; echo aws-exit-$?",
        expire.display()
    ));
    tmux.wait_for("the passphrase prompt in the shell", |s| {
        s.contains("has run out") && s.trim_end().ends_with("vault.age:")
    });
    tmux.line(pass);
    tmux.wait_for("the code prompt", |s| {
        s.trim_end().ends_with("(source primary):")
    });
    tmux.line(MFA_CODE);
    let s = tmux.wait_for("the call's end", |s| {
        s.lines().any(|l| l.starts_with("aws-exit-"))
    });
    assert!(s.contains("aws-exit-0"), "{s}");
    assert!(
        !s.contains(pass.trim()),
        "the passphrase was not echoed:\n{s}"
    );
    assert_eq!(stack.proxy.count("GetSessionToken"), 2);
    let inside = tmux.stty("stty.inside");
    assert!(inside.contains(" echo "), "echo is back on:\n{inside}");
    tmux.line("exit");
    tmux.wait_for("rolepick's exit", |s| s.contains("exec-exit-0"));
}

/// 900 s role credentials for dev inside an 899 s refresh window: the
/// endpoint goes to the engine (and the cached session) on every request.
fn short_lived_dev(stack: &Stack) {
    let dir = stack.sb.root().join("xdg/config/rolepick");
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("config.toml"),
        "[settings]\nrefresh_before = \"899s\"\n",
    )
    .unwrap();
    let config = stack.sb.prov.config_file_with_duration("dev", 900);
    stack.sb.write_aws_file("config", &config);
}

#[test]
fn the_picker_tells_when_the_session_ran_out_while_its_shell_ran() {
    require_tmux!();
    let stack = Stack::start();
    short_lived_dev(&stack);
    let expire = stack.sb.expire_cache_script();
    let tmux = Tmux::start(stack.sb.root(), &stack.sb.aws_env());
    open_picker(&tmux);
    tmux.type_text("/dev");
    tmux.wait_for("the filter", |s| !s.contains("777788889999"));
    tmux.keys(&["Enter"]);
    tmux.wait_for("the MFA modal", |s| s.contains("MFA code for primary"));
    tmux.type_text(MFA_CODE);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the subshell", |s| {
        s.contains("rolepick: shell for dev") && s.contains("kept fresh") && s.contains("e2e$")
    });
    // The session runs out: rolepick asks in the shell while aws waits.
    tmux.line(&format!(
        "python3 {}; aws sts get-caller-identity --query Arn --output text; echo aws-exit-$?",
        expire.display()
    ));
    tmux.wait_for("the code prompt in the shell", |s| {
        s.contains("has run out") && s.trim_end().ends_with("(source primary):")
    });
    tmux.type_text(MFA_CODE);
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("the call's end", |s| {
        s.lines().any(|l| l.starts_with("aws-exit-"))
    });
    assert!(s.contains("aws-exit-0"), "{s}");
    assert_eq!(stack.proxy.count("GetSessionToken"), 2);
    // Answered in the shell: back in the picker, nothing more to ask.
    tmux.line("exit");
    let s = tmux.wait_for("the picker", |s| {
        is_picker(s) && s.contains("Back from dev")
    });
    assert!(!s.contains("Re-authenticate primary"), "{s}");

    // Again, but Ctrl-C skips: the call fails, and the picker asks on return.
    tmux.keys(&["Enter"]);
    tmux.wait_for("the subshell again", |s| {
        s.contains("rolepick: shell for dev") && s.trim_end().ends_with("e2e$")
    });
    tmux.line("clear");
    tmux.line(&format!(
        "python3 {}; aws sts get-caller-identity --query Arn --output text; echo aws-exit-$?",
        expire.display()
    ));
    tmux.wait_for("the code prompt in the shell", |s| {
        s.contains("has run out") && s.trim_end().ends_with("(source primary):")
    });
    tmux.keys(&["C-c"]);
    let s = tmux.wait_for("the failed call", |s| {
        s.lines().any(|l| l.starts_with("aws-exit-"))
    });
    assert!(s.contains("aws-exit-255"), "{s}");
    assert!(s.contains("skipped"), "said in the shell:\n{s}");
    tmux.line("exit");
    // Back in the picker, the MFA modal has opened by itself, saying why.
    let s = tmux.wait_for("the MFA modal the notice opened", |s| {
        is_picker(s) && s.contains("Re-authenticate primary") && s.contains("has run out")
    });
    assert!(s.contains("MFA session"), "{s}");
    assert!(
        s.contains("expired"),
        "the session shows expired before:\n{s}"
    );
    let sessions = stack.proxy.count("GetSessionToken");
    tmux.type_text(MFA_CODE);
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("a fresh MFA session", |s| {
        s.contains("Re-authenticated primary") && !s.contains("Re-authenticate primary ")
    });
    assert_eq!(stack.proxy.count("GetSessionToken"), sessions + 1);
    let header = s
        .lines()
        .find(|l| l.contains("primary") && l.contains("MFA session"))
        .unwrap_or_else(|| panic!("no session line:\n{s}"));
    let left = header
        .split("MFA session ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_default();
    assert!(
        left.ends_with('h') || left.contains(':'),
        "a fresh countdown on the session line, not {left:?}: {header:?}\n{s}"
    );
    quit_picker(&tmux);
}

#[test]
fn r_rotates_a_90_day_old_key_from_the_picker_and_the_age_resets() {
    require_tmux!();
    let stack = Stack::start();
    import_into_vault(&stack);
    stack.sb.date_vault_key("primary", 95);

    let tmux = Tmux::start(stack.sb.root(), &stack.sb.aws_env());
    // The rotation child inherits the picker's environment: the passphrase
    // comes from there, so no prompt is needed in the test.
    tmux.line(&format!(
        "ROLEPICK_VAULT_PASSPHRASE='{VAULT_PASS}' ROLEPICK_VAULT_SCRYPT_LOG_N=10 ROLEPICK_ROTATE_VERIFY_TIMEOUT=10 {}",
        picker_cmd()
    ));
    let s = tmux.wait_for("the picker with the key age", |s| {
        is_picker(s) && s.contains("key 95d")
    });
    assert!(s.contains("R rotate key"), "offered in the footer:\n{s}");
    tmux.keys(&["R"]);
    tmux.wait_for("the confirmation", |s| {
        s.contains("Rotate the key of source primary now?")
    });
    tmux.type_text("y");
    // The result and the re-read ages arrive as separate messages: wait for both.
    let s = tmux.wait_for(
        "the picker after the rotation, with the new key's age",
        |s| {
            is_picker(s)
                && s.contains("Rotated the access key of source primary")
                && s.contains("key 0d")
        },
    );
    assert!(!s.contains("R rotate key"), "no longer offered:\n{s}");
    assert_eq!(stack.proxy.count("CreateAccessKey"), 1);
    assert_eq!(stack.proxy.count("DeleteAccessKey"), 1);
    quit_picker(&tmux);
}

/// Run by `panic_restores_the_terminal` inside tmux (it re-runs this test
/// binary): takes over the terminal like the picker, then panics.
#[test]
#[ignore = "helper: run by panic_restores_the_terminal in a pseudo-terminal"]
fn helper_panics_in_raw_mode() {
    if std::env::var_os("ROLEPICK_E2E_PANIC_HELPER").is_none() {
        return;
    }
    let mut guard = rolepick::tui::terminal::TerminalGuard::enter(true).expect("enter raw mode");
    guard
        .terminal
        .draw(|f| f.render_widget(ratatui::widgets::Paragraph::new("about to panic"), f.area()))
        .expect("draw");
    std::thread::sleep(Duration::from_millis(300));
    panic!("deliberate panic while the terminal is raw");
}

#[test]
fn panic_restores_the_terminal() {
    require_tmux!();
    let dir = tempfile::tempdir().expect("temp dir");
    let env = [("PATH".into(), std::env::var_os("PATH").unwrap_or_default())];
    let tmux = Tmux::start(dir.path(), &env);
    let before = tmux.stty("stty.before");
    let exe = std::env::current_exe().expect("test binary path");
    tmux.line(&format!(
        "ROLEPICK_E2E_PANIC_HELPER=1 {} --exact picker_e2e::helper_panics_in_raw_mode --ignored --nocapture --test-threads=1; echo helper-exit-$?",
        exe.display()
    ));
    // The command line itself says `helper-exit-$?`: wait for the echo's
    // own line, or the screen may be read before the helper has run.
    let s = tmux.wait_for("the helper's exit", |s| {
        s.lines().any(|l| l.starts_with("helper-exit-"))
    });
    assert!(
        s.contains("deliberate panic while the terminal is raw"),
        "the panic message is readable on the normal screen:\n{s}"
    );
    let after = tmux.stty("stty.after");
    assert_eq!(before, after, "stty settings restored after a panic");
}

/// After `/`, a paste of 5,000 characters (bracketed or not) is taken at
/// once, capped with a note, and the next key is handled without another
/// key press (crossterm's edge-triggered reader left input unread until
/// the next key: crossterm issue 813).
#[test]
fn a_large_paste_in_the_filter_does_not_stall_the_picker() {
    require_tmux!();
    let stack = Stack::start();
    let tmux = Tmux::start(stack.sb.root(), &stack.sb.aws_env());
    let before = tmux.stty("stty.before");
    open_picker(&tmux);
    let paste = format!("dev{}", "x".repeat(4997));
    for bracketed in [false, true] {
        tmux.type_text("/");
        tmux.paste(&paste, bracketed);
        let s = tmux.wait_for("the paste in the filter", |s| {
            s.contains("/ devxxxxxxxx") && !s.contains("777788889999")
        });
        assert!(!s.contains("rolepick: "), "no stray text:\n{s}");
        // One key, no more: Esc clears the filter, so every byte of the
        // paste has been read.
        tmux.keys(&["Escape"]);
        let s = tmux.wait_for("Esc handled right after the paste", |s| {
            is_picker(s) && !s.contains("/ dev") && s.contains("777788889999")
        });
        assert!(
            s.contains("keeps its first 200 characters"),
            "the cap is told:\n{s}"
        );
    }
    quit_picker(&tmux);
    let after = tmux.stty("stty.after");
    assert_eq!(before, after, "stty settings restored after the pastes");
}

#[test]
fn sigquit_restores_the_terminal_like_sigterm() {
    require_tmux!();
    let stack = Stack::start();
    let tmux = Tmux::start(stack.sb.root(), &stack.sb.aws_env());
    let before = tmux.stty("stty.before");
    open_picker(&tmux);
    let pid = tmux.picker_pid();
    let ok = Command::new("kill")
        .args(["-QUIT", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
    let s = tmux.wait_for("the picker's exit", |s| s.contains("picker-exit-131"));
    assert!(!s.contains("roles in"), "off the alternate screen:\n{s}");
    let after = tmux.stty("stty.after");
    assert_eq!(before, after, "stty settings restored after SIGQUIT");
}

/// `kill -TSTP` stops the picker with the terminal given back (the shell
/// works, in line mode); `fg` brings it back redrawn, taking keys at once.
#[test]
fn sigtstp_gives_the_terminal_back_and_fg_resumes_the_picker() {
    require_tmux!();
    let stack = Stack::start();
    let tmux = Tmux::start(stack.sb.root(), &stack.sb.aws_env());
    let before = tmux.stty("stty.before");
    tmux.line("clear");
    // No `; echo` after it: a shell moves on past a stopped job in a list.
    tmux.line(env!("CARGO_BIN_EXE_rolepick"));
    tmux.wait_for("the picker", is_picker);
    let pid = tmux.picker_pid();
    let ok = Command::new("kill")
        .args(["-TSTP", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
    tmux.wait_for("the shell's prompt on the normal screen", |s| {
        !s.contains("roles in") && s.trim_end().ends_with("e2e$")
    });
    let stopped = tmux.stty("stty.stopped");
    assert_eq!(before, stopped, "line mode while the picker is stopped");
    tmux.line("fg");
    tmux.wait_for("the picker redrawn", is_picker);
    // Keys work at once (no Enter needed): filter, then clear, then quit.
    tmux.type_text("/readonly");
    tmux.wait_for("the filter", |s| {
        s.contains("/ readonly") && !s.contains("444455556666")
    });
    tmux.keys(&["Escape"]);
    tmux.keys(&["q"]);
    tmux.wait_for("the shell again", |s| {
        !s.contains("roles in") && s.trim_end().ends_with("e2e$")
    });
    tmux.line("echo status-$?");
    tmux.wait_for("the picker's status", |s| s.contains("status-0"));
    let after = tmux.stty("stty.after");
    assert_eq!(before, after, "stty settings restored after stop and fg");
}

/// A warning written while the picker owns the screen (here: waiting for
/// the source's lock, held by another process) goes to the status line,
/// not over the screen.
#[test]
fn a_lock_wait_warning_shows_in_the_status_line_not_over_the_screen() {
    require_tmux!();
    let stack = Stack::start();
    // An MFA session (and the lock file) first, so that opening admin in the
    // picker needs no code, only the lock and an AssumeRole.
    let out = stack
        .sb
        .cmd()
        .args(["exec", "dev", "--mfa-code", MFA_CODE, "--", "true"])
        .output()
        .expect("run rolepick exec");
    assert!(out.status.success(), "{}", crate::support::show(&out));
    let lock_path = fs::read_dir(&stack.sb.cache)
        .expect("cache dir")
        .map(|e| e.expect("entry").path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("primary") && n.ends_with(".lock"))
        })
        .expect("the source's lock file");
    // Another process holds it (flock(2), as rolepick takes it); `-o`: only
    // flock itself, not its `sleep`, so that ending its group lets go.
    let mut holder = Command::new("flock")
        .arg("-o")
        .arg(&lock_path)
        .args(["sleep", "600"])
        .process_group(0)
        .spawn()
        .expect("run flock (util-linux)");
    let tmux = Tmux::start(stack.sb.root(), &stack.sb.aws_env());
    open_picker(&tmux);
    tmux.type_text("/admin");
    tmux.wait_for("the filter", |s| !s.contains("444455556666"));
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("the lock wait in the status line", |s| {
        is_picker(s) && s.contains("waiting for another rolepick to finish signing in")
    });
    assert!(
        !s.contains("rolepick: warning"),
        "no stray text over the picker:\n{s}"
    );
    let status_line = s
        .lines()
        .find(|l| l.contains("waiting for another rolepick"))
        .unwrap_or_default();
    assert!(
        status_line
            .trim_start()
            .starts_with(|c: char| !c.is_ascii_alphanumeric()),
        "a status line (spinner or mark first): {status_line:?}"
    );
    // The other process lets go: the shell opens.
    let _ = rustix::process::kill_process_group(
        rustix::process::Pid::from_child(&holder),
        rustix::process::Signal::TERM,
    );
    let _ = holder.wait();
    tmux.wait_for("the subshell", |s| {
        s.contains("rolepick: shell for admin") && s.contains("e2e$")
    });
    tmux.line("exit");
    tmux.wait_for("the picker", |s| {
        is_picker(s) && countdown_on(s, "admin").is_some()
    });
    quit_picker(&tmux);
}

/// The Identity Center sandbox for the picker: moto, the stand-in, a HOME
/// with session `corp` and profile `sso-dev`, and a `$BROWSER` that records
/// its URL (in `log`) and approves only once `go` exists (within 60 s), so
/// that the modal can be seen first; the picker's shell in tmux.
struct SsoPicker {
    _moto: crate::support::Moto,
    standin: crate::support::sso::Standin,
    home: crate::support::sso::SsoHome,
    log: PathBuf,
    go: PathBuf,
    env: Vec<(std::ffi::OsString, std::ffi::OsString)>,
    tmux: Tmux,
}

impl SsoPicker {
    /// None (after [`crate::support::missing_prerequisite`]) without tmux or the aws CLI.
    fn start() -> Option<SsoPicker> {
        use crate::support::sso::{SsoHome, Standin};
        use std::os::unix::fs::PermissionsExt;
        if !have_tmux() {
            crate::support::missing_prerequisite("tmux");
            return None;
        }
        if Command::new("aws").arg("--version").output().is_err() {
            crate::support::missing_prerequisite("the aws CLI");
            return None;
        }
        let moto = crate::support::Moto::start();
        let standin = Standin::start(Some(&moto.endpoint()), &[]);
        let home = SsoHome::new(&moto.endpoint(), standin.endpoint());
        let (browser, log, go) = (
            home.root().join("browser"),
            home.root().join("browser.log"),
            home.root().join("go"),
        );
        fs::write(
            &browser,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\nn=0\nwhile [ ! -e '{}' ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n+1)); done\nexec '{}' \"$@\"\n",
                log.display(),
                go.display(),
                crate::support::sso::browser().display()
            ),
        )
        .unwrap();
        fs::set_permissions(&browser, fs::Permissions::from_mode(0o755)).unwrap();
        let mut env: Vec<_> = home
            .env()
            .into_iter()
            .filter(|(k, _)| k != "BROWSER")
            .collect();
        env.push(("BROWSER".into(), browser.into()));
        env.push(("ROLEPICK_CACHE_DIR".into(), home.rolepick_cache().into()));
        env.push(("XDG_CONFIG_HOME".into(), home.root().join("xdg").into()));
        let tmux = Tmux::start(home.root(), &env);
        Some(SsoPicker {
            _moto: moto,
            standin,
            home,
            log,
            go,
            env,
            tmux,
        })
    }

    /// Opens `sso-dev` in the picker; the sign-in modal and its user code.
    #[track_caller]
    fn sign_in_modal(&self) -> (String, String) {
        use crate::support::sso::{PROFILE, SESSION};
        let s = open_picker(&self.tmux);
        assert!(
            s.contains(&format!("{SESSION}  not signed in")),
            "the session in the header:\n{s}"
        );
        self.tmux.type_text(&format!("/{PROFILE}"));
        self.tmux.keys(&["Enter"]);
        let s = self.tmux.wait_for("the sign-in modal", |s| {
            s.contains(&format!("IAM Identity Center sign-in: {SESSION}")) && s.contains("Code ")
        });
        let code = s
            .lines()
            .find_map(|l| l.split("Code").nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .expect("the user code in the modal")
            .to_string();
        (s, code)
    }

    /// The URL the browser was opened on (waits for it).
    fn opened(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let l = fs::read_to_string(&self.log).unwrap_or_default();
            if !l.is_empty() || Instant::now() > deadline {
                return l;
            }
            sleep(Duration::from_millis(100));
        }
    }
}

/// IAM Identity Center in the picker, end to end against the stand-in and
/// moto: Enter on the SSO role with no token opens the sign-in modal with
/// the code (the same one the browser was given), the `$BROWSER` script
/// approves once told to, and the subshell has the SSO role's credentials.
#[test]
fn picker_sso_sign_in_modal_then_the_subshell_has_the_sso_role() {
    use crate::support::sso::{ACCOUNT, PROFILE, ROLE, SESSION};
    let Some(e) = SsoPicker::start() else {
        return;
    };
    let tmux = &e.tmux;
    let (s, code) = e.sign_in_modal();
    assert!(s.contains("Esc cancel") && s.contains('▀'), "{s}");
    let opened = e.opened();
    assert!(
        opened.contains(&format!("user_code={code}")),
        "the browser was opened on the code shown ({code}): {opened:?}"
    );
    // Issue #25: the URL was wrapped in the middle of the user code, and a
    // copy of it failed; it is whole on one line of the terminal.
    let url = opened.lines().next().unwrap_or_default().trim();
    assert!(
        s.lines().any(|l| l.contains(url)),
        "{url:?} whole on one line:\n{s}"
    );
    fs::write(&e.go, "").unwrap();
    let s = tmux.wait_for("the subshell banner", |s| {
        s.contains(&format!("rolepick: shell for {PROFILE}")) && s.contains("e2e$")
    });
    // Issue #25: the banner spoke of an MFA session and a new code. The
    // endpoint keeps the role fresh while the token lasts (8 h here, the
    // role's credentials 1 h), then the browser sign-in comes back; the
    // shell's AWS_CREDENTIAL_EXPIRATION and `rolepick prompt` say so too.
    let banner = s.replace('\n', "");
    assert!(
        banner.contains("the IAM Identity Center sign-in expires")
            && banner.contains("then rolepick opens the browser sign-in again")
            && banner.contains(&format!("{ROLE} in account {ACCOUNT}")),
        "{s}"
    );
    assert!(
        !banner.contains("MFA") && !banner.contains("new code"),
        "{s}"
    );
    tmux.line(&format!(
        "clear; echo \"exp=$AWS_CREDENTIAL_EXPIRATION\"; {} prompt --format 'left={{left}}'",
        env!("CARGO_BIN_EXE_rolepick")
    ));
    let s = tmux.wait_for("the expiry", |s| {
        s.lines().any(|l| l.starts_with("exp=")) && s.lines().any(|l| l.starts_with("left="))
    });
    let exp = s
        .lines()
        .find_map(|l| l.strip_prefix("exp="))
        .and_then(|t| humantime::parse_rfc3339(t.trim()).ok())
        .unwrap_or_else(|| panic!("AWS_CREDENTIAL_EXPIRATION:\n{s}"));
    let ahead = exp
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    assert!(
        ahead > Duration::from_secs(7 * 3600),
        "the token's end (8 h), not the role credentials' (1 h):\n{s}"
    );
    let left = s
        .lines()
        .find_map(|l| l.strip_prefix("left="))
        .unwrap_or("");
    assert!(left.starts_with("7h") || left.starts_with("8h"), "{s}");
    tmux.line("aws sts get-caller-identity --query Arn --output text");
    let arn = format!("arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_{ROLE}_");
    tmux.wait_for("the SSO role's identity", |s| s.contains(&arn));
    tmux.line("exit");
    let s = tmux.wait_for("the picker again", |s| {
        is_picker(s) && s.contains(&format!("Back from {PROFILE}"))
    });
    assert!(
        s.contains(&format!("{SESSION}  SSO token")),
        "the token's countdown in the header:\n{s}"
    );
    assert!(
        countdown_on(&s, PROFILE).is_some(),
        "the role's countdown:\n{s}"
    );
    assert!(e
        .home
        .token_dir()
        .read_dir()
        .is_ok_and(|mut d| d.next().is_some()));
    quit_picker(tmux);
}

/// `Esc` in the sign-in modal closes it and stops rolepick polling the
/// OIDC endpoint for the token (no thread left polling); approving later
/// writes no token and opens no shell.
#[test]
fn picker_sso_esc_cancels_the_sign_in_and_polling_stops() {
    let Some(e) = SsoPicker::start() else {
        return;
    };
    let tmux = &e.tmux;
    e.sign_in_modal();
    let polls = |e: &SsoPicker| e.standin.count("CreateToken");
    let deadline = Instant::now() + Duration::from_secs(30);
    while polls(&e) == 0 && Instant::now() < deadline {
        sleep(Duration::from_millis(100));
    }
    assert!(polls(&e) > 0, "rolepick polls while the modal is up");
    tmux.keys(&["Escape"]);
    tmux.wait_for("the modal closed", |s| {
        s.contains("Sign-in cancelled") && !s.contains("IAM Identity Center sign-in")
    });
    sleep(Duration::from_millis(500));
    let after = polls(&e);
    sleep(Duration::from_secs(3)); // three polling intervals of the stand-in
    assert_eq!(polls(&e), after, "polling stopped with the modal");
    fs::write(&e.go, "").unwrap();
    sleep(Duration::from_secs(1));
    assert!(
        e.home
            .token_dir()
            .read_dir()
            .map_or(true, |mut d| d.next().is_none()),
        "no token written after the cancel"
    );
    let s = tmux.screen();
    assert!(is_picker(&s) && !s.contains("rolepick: shell"), "{s}");
    quit_picker(tmux);
}

/// Discovery in the picker: with a token (from `rolepick sso login`) and no
/// listing cached, the picker lists the accounts in the background and
/// their roles appear with no key; `s` lists them again. `r` on the SSO
/// role drops the token and signs in afresh (a new device authorization).
#[test]
fn picker_sso_lists_accounts_in_the_background_s_lists_again_and_r_signs_in_again() {
    use crate::support::sso::{PROFILE, SESSION};
    let Some(e) = SsoPicker::start() else {
        return;
    };
    let tmux = &e.tmux;
    fs::write(&e.go, "").unwrap(); // the browser approves at once
    let out = Command::new(env!("CARGO_BIN_EXE_rolepick"))
        .env_clear()
        .envs(e.env.clone())
        .current_dir(e.home.root())
        .args(["sso", "login", SESSION])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::support::show(&out));
    assert_eq!(e.standin.count("StartDeviceAuthorization"), 1);
    assert_eq!(e.standin.count("ListAccounts"), 0);

    tmux.line(&picker_cmd());
    tmux.wait_for("the discovered roles, with no key pressed", |s| {
        is_picker(s) && s.contains("account-0000/AdministratorAccess")
    });
    assert_eq!(e.standin.count("ListAccounts"), 1);
    tmux.keys(&["s"]);
    tmux.wait_for("the listing done", |s| {
        s.contains("Listed the IAM Identity Center accounts")
    });
    assert_eq!(e.standin.count("ListAccounts"), 2, "s lists again");

    // A role found by the listing opens like any other.
    tmux.type_text("/account-0000/Adm");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the discovered role's subshell", |s| {
        s.contains("rolepick: shell for account-0000/AdministratorAccess") && s.contains("e2e$")
    });
    tmux.line("aws sts get-caller-identity --query Arn --output text");
    tmux.wait_for("the discovered role's identity", |s| {
        s.contains("arn:aws:sts::100000000000:assumed-role/AWSReservedSSO_AdministratorAccess_")
    });
    tmux.line("exit");
    tmux.wait_for("the picker again", |s| {
        is_picker(s) && s.contains("Back from account-0000/AdministratorAccess")
    });
    tmux.keys(&["Escape"]); // clears the filter

    // Open the SSO role (its token is good: no sign-in), come back, `r`.
    tmux.type_text(&format!("/{PROFILE}"));
    tmux.keys(&["Enter"]);
    tmux.wait_for("the subshell banner", |s| {
        s.contains(&format!("rolepick: shell for {PROFILE}")) && s.contains("e2e$")
    });
    assert_eq!(e.standin.count("StartDeviceAuthorization"), 1, "no sign-in");
    tmux.line("exit");
    tmux.wait_for("the picker again", |s| {
        is_picker(s) && s.contains(&format!("Back from {PROFILE}"))
    });
    tmux.keys(&["r"]);
    tmux.wait_for("signed in again", |s| {
        s.contains(&format!("Re-authenticated {SESSION}"))
    });
    assert_eq!(
        e.standin.count("StartDeviceAuthorization"),
        2,
        "r started a new sign-in"
    );
    quit_picker(tmux);
}
