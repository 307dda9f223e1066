//! The only place that spawns processes: the environment a child gets, the
//! child itself (a command or `$SHELL`), `mfa_process` commands, and the
//! web browser (`rolepick console`).

use crate::aws::{rfc3339, Credentials};
use crate::error::Error;
use crate::model::Profile;
use std::ffi::{OsStr, OsString};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::SystemTime;

/// Variables removed from every child: profile selectors and any inherited
/// credentials, which would otherwise win over (or mix with) ours.
pub const REMOVED_VARS: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "ROLEPICK_PROFILE",
    "ROLEPICK_SHELL_STATE",
    "ROLEPICK_VAULT_PASSPHRASE",
    "ROLEPICK_VAULT_NEW_PASSPHRASE",
];

/// The variables rolepick sets for `profile`, in a fixed order.
pub fn credential_vars(
    profile: &Profile,
    region: Option<&str>,
    creds: &Credentials,
) -> Vec<(&'static str, String)> {
    let mut v = vec![
        ("AWS_ACCESS_KEY_ID", creds.access_key_id.clone()),
        (
            "AWS_SECRET_ACCESS_KEY",
            creds.secret_access_key.expose().to_string(),
        ),
        (
            "AWS_SESSION_TOKEN",
            creds.session_token.expose().to_string(),
        ),
    ];
    if let Some(r) = region.or(profile.region.as_deref()) {
        v.push(("AWS_REGION", r.to_string()));
        v.push(("AWS_DEFAULT_REGION", r.to_string()));
    }
    v.push(("AWS_CREDENTIAL_EXPIRATION", rfc3339(creds.expiration)));
    v
}

/// How a child gets its credentials.
pub enum Handoff<'a> {
    /// Static `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`.
    Static(&'a Credentials),
    /// rolepick's loopback endpoint (`crate::run::credserver`): the container
    /// credentials variables. `expiration` is when the shell stops getting
    /// credentials without a new MFA code (the session's expiry).
    Endpoint {
        url: &'a str,
        token: &'a str,
        expiration: SystemTime,
        /// Extra variables, e.g. `AWS_SHARED_CREDENTIALS_FILE=/dev/null`
        /// when the user's `[default]` keys would shadow the endpoint.
        extra: Vec<(&'static str, String)>,
    },
}

/// The variables for a child that uses the endpoint, in a fixed order.
pub fn endpoint_vars(
    profile: &Profile,
    region: Option<&str>,
    handoff: &Handoff<'_>,
) -> Vec<(&'static str, String)> {
    let (url, token, expiration, extra) = match handoff {
        Handoff::Static(c) => return credential_vars(profile, region, c),
        Handoff::Endpoint {
            url,
            token,
            expiration,
            extra,
        } => (url, token, expiration, extra),
    };
    let mut v = vec![
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", (*url).to_string()),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", (*token).to_string()),
    ];
    if let Some(r) = region.or(profile.region.as_deref()) {
        v.push(("AWS_REGION", r.to_string()));
        v.push(("AWS_DEFAULT_REGION", r.to_string()));
    }
    v.push(("AWS_CREDENTIAL_EXPIRATION", rfc3339(*expiration)));
    v.extend(extra.iter().cloned());
    v
}

/// Environment for a child: `base` minus [`REMOVED_VARS`] (and the region
/// when the profile sets one), plus the credentials, region and
/// `ROLEPICK_PROFILE`.
pub fn child_env(
    profile: &Profile,
    region: Option<&str>,
    creds: &Credentials,
    base: impl IntoIterator<Item = (OsString, OsString)>,
) -> Vec<(OsString, OsString)> {
    child_env_with(profile, region, &Handoff::Static(creds), base)
}

/// [`child_env`] for any [`Handoff`].
pub fn child_env_with(
    profile: &Profile,
    region: Option<&str>,
    handoff: &Handoff<'_>,
    base: impl IntoIterator<Item = (OsString, OsString)>,
) -> Vec<(OsString, OsString)> {
    let ours = endpoint_vars(profile, region, handoff);
    let mut env: Vec<(OsString, OsString)> = base
        .into_iter()
        .filter(|(k, _)| {
            let k = k.to_string_lossy();
            !REMOVED_VARS.contains(&k.as_ref()) && !ours.iter().any(|(o, _)| *o == k)
        })
        .collect();
    env.extend(ours.into_iter().map(|(k, v)| (k.into(), v.into())));
    env.push(("ROLEPICK_PROFILE".into(), profile.name.clone().into()));
    env
}

/// The user's shell: `$SHELL`, else `/bin/sh`.
pub fn user_shell() -> OsString {
    std::env::var_os("SHELL")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/bin/sh".into())
}

/// Runs `cmd` (or the user's shell when empty) with exactly `env` and waits.
/// Returns its exit status; a death by signal N becomes 128+N. While it
/// runs, rolepick ignores SIGINT/SIGQUIT (the child gets them from the
/// terminal) and passes SIGTERM/SIGHUP on.
pub fn run(
    cmd: &[OsString],
    env: &[(OsString, OsString)],
    banner: Option<&str>,
) -> Result<u8, Error> {
    let (prog, args): (OsString, &[OsString]) = match cmd.split_first() {
        Some((p, a)) => (p.clone(), a),
        None => (user_shell(), &[]),
    };
    let mut command = Command::new(&prog);
    command
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)));
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGQUIT, SIGTERM, SIGHUP])
        .map_err(|e| Error::Other(format!("cannot set up signal handling: {e}")))?;
    if let Some(b) = banner {
        eprintln!("{b}");
    }
    let mut child = command.spawn().map_err(|e| spawn_error(&prog, &e))?;
    let pid = rustix::process::Pid::from_child(&child);
    let handle = signals.handle();
    let forwarder = std::thread::spawn(move || {
        for sig in signals.forever() {
            let fwd = match sig {
                SIGTERM => rustix::process::Signal::TERM,
                SIGHUP => rustix::process::Signal::HUP,
                _ => continue,
            };
            let _ = rustix::process::kill_process(pid, fwd);
        }
    });
    let status = child
        .wait()
        .map_err(|e| Error::Other(format!("waiting for {}: {e}", prog.to_string_lossy())));
    handle.close();
    let _ = forwarder.join();
    let status = status?;
    Ok(match (status.code(), status.signal()) {
        (Some(c), _) => u8::try_from(c & 0xff).unwrap_or(1),
        (None, Some(s)) => u8::try_from(128 + s).unwrap_or(255),
        (None, None) => 1,
    })
}

/// The error for a command that could not be started, with the exit status
/// a shell gives: 127 when it is not found, 126 when it is found but cannot
/// be executed (no execute permission, a directory, a bad binary).
pub fn spawn_error(prog: &OsStr, e: &std::io::Error) -> Error {
    let p = prog.to_string_lossy();
    match e.kind() {
        std::io::ErrorKind::NotFound => Error::Spawn(format!(
            "cannot run {p:?}: command not found. Check the name and your PATH."
        )),
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::IsADirectory => {
            Error::NotExecutable(format!(
                "cannot run {p:?}: {e}. It exists but cannot be executed: check its execute permission (chmod +x) or name the program to run it with."
            ))
        }
        _ if e.raw_os_error() == Some(rustix::io::Errno::NOEXEC.raw_os_error()) => {
            Error::NotExecutable(format!(
                "cannot run {p:?}: {e}. It is not a program this system can run."
            ))
        }
        _ => Error::NotExecutable(format!("cannot run {p:?}: {e}")),
    }
}

/// The command that opens `target` in a web browser: `$BROWSER` when set
/// (its first `:`-separated entry, split at spaces; `%s` in it is replaced
/// by `target`, else `target` is appended), else the platform's opener
/// (`open` on macOS, `xdg-open` elsewhere).
pub fn browser_command(browser: Option<&OsStr>, target: &str) -> Vec<OsString> {
    let entry = browser
        .and_then(OsStr::to_str)
        .and_then(|b| b.split(':').map(str::trim).find(|e| !e.is_empty()));
    let Some(entry) = entry else {
        let opener = if cfg!(target_os = "macos") {
            "open"
        } else {
            "xdg-open"
        };
        return vec![opener.into(), target.into()];
    };
    let mut argv: Vec<OsString> = Vec::new();
    let mut placed = false;
    for word in entry.split_whitespace() {
        if word.contains("%s") {
            placed = true;
            argv.push(word.replace("%s", target).into());
        } else {
            argv.push(word.into());
        }
    }
    if !placed {
        argv.push(target.into());
    }
    argv
}

/// Starts the browser (see [`browser_command`]) on `target` and returns
/// without waiting for it. `quiet`: no terminal for it (the picker owns
/// the screen); else it shares rolepick's (a terminal browser works). It
/// gets rolepick's environment minus [`REMOVED_VARS`].
pub fn open_browser(target: &str, quiet: bool) -> Result<std::process::Child, Error> {
    let browser = std::env::var_os("BROWSER").filter(|b| !b.is_empty());
    let argv = browser_command(browser.as_deref(), target);
    let (prog, args) = argv.split_first().ok_or_else(|| {
        Error::Spawn("BROWSER names no command; set it to your browser's command".into())
    })?;
    let mut command = Command::new(prog);
    command.args(args);
    for v in REMOVED_VARS {
        command.env_remove(v);
    }
    if quiet {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
    }
    command.spawn().map_err(|e| {
        let whence = if browser.is_some() {
            "$BROWSER"
        } else {
            "the platform's opener"
        };
        Error::Spawn(format!(
            "cannot open a browser with {whence} ({:?}): {}; set BROWSER to your browser's command",
            prog.to_string_lossy(),
            if e.kind() == std::io::ErrorKind::NotFound {
                "command not found".to_string()
            } else {
                e.to_string()
            }
        ))
    })
}

/// Becomes `cmd` (execve), run with exactly `env`: no fork, no wait. The
/// command keeps rolepick's pid, its standard streams and terminal, and
/// gets its signals (Ctrl-C, Ctrl-Z) directly; its exit status, or its
/// death by a signal, is what the caller sees. Every file rolepick opened
/// is close-on-exec, so none leaks into it. Returns only when the command
/// cannot be started (127 not found, 126 not runnable).
pub fn exec(cmd: &[OsString], env: &[(OsString, OsString)]) -> Error {
    use std::os::unix::process::CommandExt;
    let Some((prog, args)) = cmd.split_first() else {
        return Error::Usage("no command to run".into());
    };
    let e = Command::new(prog)
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .exec();
    spawn_error(prog, &e)
}

/// Runs `command` with `sh -c` and returns its trimmed stdout
/// (for `mfa_process`). Its stderr and stdin are the terminal's.
pub fn capture(command: &str) -> Result<String, String> {
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::inherit())
        .stderr(Stdio::inherit())
        .stdout(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{command:?} exited with {}", out.status));
    }
    String::from_utf8(out.stdout)
        .map(|s| s.trim().to_string())
        .map_err(|_| format!("{command:?} printed something that is not text"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    fn argv(browser: Option<&str>) -> Vec<String> {
        browser_command(
            browser.map(OsStr::new),
            "file:///run/user/1000/rolepick/p.html",
        )
        .into_iter()
        .map(|a: OsString| a.into_string().unwrap())
        .collect()
    }

    #[test]
    fn browser_gets_the_page_appended_or_in_place_of_percent_s() {
        let page = "file:///run/user/1000/rolepick/p.html";
        assert_eq!(argv(Some("firefox")), ["firefox", page]);
        assert_eq!(
            argv(Some("firefox --new-window")),
            ["firefox", "--new-window", page]
        );
        assert_eq!(
            argv(Some("chromium --app=%s --incognito")),
            [
                "chromium".to_string(),
                format!("--app={page}"),
                "--incognito".to_string()
            ]
        );
        // The first entry of a `:`-separated list.
        assert_eq!(argv(Some(" :w3m:lynx")), ["w3m", page]);
    }

    #[test]
    fn without_browser_the_platform_opener_is_used() {
        let opener = if cfg!(target_os = "macos") {
            "open"
        } else {
            "xdg-open"
        };
        assert_eq!(argv(None)[0], opener);
        assert_eq!(argv(Some(":"))[0], opener);
        assert_eq!(argv(None).len(), 2);
    }
}
