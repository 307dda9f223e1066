//! The only place that spawns processes: the environment a child gets, the
//! child itself (a command or `$SHELL`), `mfa_process` commands, and the
//! web browser (`rolepick console`).

use crate::aws::{rfc3339, Credentials};
use crate::error::Error;
use crate::model::Profile;
use std::ffi::{OsStr, OsString};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
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
    /// rolepick's loopback endpoint (`crate::credserver`): the container
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
        Error::Spawn(
            "BROWSER names no command; set it, or run `rolepick console PROFILE --print`".into(),
        )
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
            "cannot open a browser with {whence} ({:?}): {}. Set BROWSER to your browser's command, or run `rolepick console PROFILE --print` and open the URL yourself.",
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

/// A live rolepick shell, registered so the picker can mark its role: a
/// file `<cache dir>/shells/<pid of rolepick>` holding the profile name on
/// its first line and, for a shell on the endpoint, when its credentials
/// run out (RFC 3339) on the second, kept current as the endpoint gets new
/// MFA sessions (`rolepick prompt` reads it through
/// [`SHELL_STATE_VAR`]). Removed when this is dropped. A file whose process
/// is gone (rolepick was killed) is ignored and cleaned up by
/// [`live_shells`].
pub struct LiveShell {
    /// `shells/`, checked and held open: the file is only ever replaced
    /// in it (temp file + rename), never opened through a symlink.
    dir: crate::fsutil::PrivateDir,
    name: String,
    path: PathBuf,
    profile: String,
    /// What the file says now (it is rewritten only when this changes).
    until: std::sync::Mutex<Option<SystemTime>>,
}

/// The variable that gives a shell on the endpoint the path of its
/// [`LiveShell`] file.
pub const SHELL_STATE_VAR: &str = "ROLEPICK_SHELL_STATE";

fn shells_dir(cache_dir: &Path) -> PathBuf {
    cache_dir.join("shells")
}

impl LiveShell {
    /// Registers a shell for `profile`; `None` (and no error) if the cache
    /// directory cannot take it: the mark in the picker is a nicety. The
    /// cache directory and its `shells/` must be private directories of the
    /// user (see [`crate::fsutil`]); one that is not is refused with a note.
    pub fn register(cache: &crate::cache::Cache, profile: &str) -> Option<LiveShell> {
        let dir = cache
            .private_dir()
            .and_then(|d| d.subdir("shells", "the live-shell directory"));
        let dir = match dir {
            Ok(d) => d,
            Err(e) => {
                crate::diag::warn(&format!("the picker will not mark this shell: {e}"));
                return None;
            }
        };
        let name = std::process::id().to_string();
        if let Err(e) = dir.write_atomic(&name, profile.as_bytes()) {
            crate::diag::debug(&e.to_string());
            return None;
        }
        Some(LiveShell {
            path: dir.path().join(&name),
            dir,
            name,
            profile: profile.to_string(),
            until: std::sync::Mutex::new(None),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records when the shell's credentials run out (replacing the file
    /// whole, so a reader never sees half of it); no write if unchanged.
    pub fn set_until(&self, until: SystemTime) {
        let mut said = self
            .until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *said == Some(until) {
            return;
        }
        *said = Some(until);
        let text = format!("{}\n{}\n", self.profile, rfc3339(until));
        if let Err(e) = self.dir.write_atomic(&self.name, text.as_bytes()) {
            crate::diag::debug(&format!("cannot update {}: {e}", self.path.display()));
        }
    }
}

/// When the shell whose [`LiveShell`] file is `path` stops getting
/// credentials, if the file says.
pub fn shell_state_until(path: &Path) -> Option<SystemTime> {
    let text = std::fs::read_to_string(path).ok()?;
    // Written by `set_until` with `rfc3339`, so read back strictly.
    humantime::parse_rfc3339(text.lines().nth(1)?.trim()).ok()
}

impl Drop for LiveShell {
    fn drop(&mut self) {
        self.dir.remove(&self.name);
    }
}

/// Profiles with a live rolepick shell (from any rolepick process of this
/// user), with how many.
pub fn live_shells(cache_dir: &Path) -> std::collections::HashMap<String, usize> {
    use std::os::unix::fs::MetadataExt;
    let mut out = std::collections::HashMap::new();
    let dir = shells_dir(cache_dir);
    // Only a private `shells/` of the user's is read (and cleaned up).
    match std::fs::symlink_metadata(&dir) {
        Ok(m) if crate::fsutil::judge(m.uid(), m.mode()).is_ok() => {}
        _ => return out,
    }
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return out;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
            .and_then(rustix::process::Pid::from_raw)
        else {
            continue;
        };
        let alive = match rustix::process::test_kill_process(pid) {
            Ok(()) => true,
            Err(e) => e == rustix::io::Errno::PERM,
        };
        if !alive {
            let _ = std::fs::remove_file(e.path());
            continue;
        }
        if let crate::fsutil::Private::File(mut f) = crate::fsutil::open_private(&e.path()) {
            let mut text = String::new();
            if std::io::Read::read_to_string(&mut f, &mut text).is_ok() {
                let profile = text.lines().next().unwrap_or_default().trim();
                *out.entry(profile.to_string()).or_insert(0) += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::os::unix::fs::{symlink, DirBuilderExt, PermissionsExt};

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

    fn cache_dir(tmp: &Path) -> PathBuf {
        let dir = tmp.join("cache");
        std::fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
        dir
    }

    #[test]
    fn planted_symlinks_in_an_open_shells_dir_overwrite_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = cache_dir(tmp.path());
        let shells = cache.join("shells");
        std::fs::create_dir(&shells).unwrap();
        std::fs::set_permissions(&shells, std::fs::Permissions::from_mode(0o777)).unwrap();
        let victim = tmp.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        symlink(&victim, shells.join(std::process::id().to_string())).unwrap();
        let live = LiveShell::register(&crate::cache::Cache::at(cache.clone()), "prod-admin");
        assert!(live.is_none(), "a shells/ dir others can write is refused");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(
            std::fs::metadata(&shells).unwrap().permissions().mode() & 0o7777,
            0o777,
            "and left as it was"
        );
    }

    #[test]
    fn a_planted_symlink_for_our_pid_in_shells_is_replaced_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = cache_dir(tmp.path());
        let shells = cache.join("shells");
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&shells)
            .unwrap();
        let victim = tmp.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let ours = shells.join(std::process::id().to_string());
        symlink(&victim, &ours).unwrap();
        let live = LiveShell::register(&crate::cache::Cache::at(cache.clone()), "prod-admin")
            .expect("registered");
        live.set_until(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(2_000_000_000));
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(std::fs::symlink_metadata(&ours).unwrap().is_file());
        assert_eq!(live_shells(&cache).get("prod-admin"), Some(&1));
        drop(live);
        assert!(!ours.exists());
    }
}
