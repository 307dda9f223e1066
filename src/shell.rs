//! The only place that spawns processes: the environment a child gets, the
//! child itself (a command or `$SHELL`), and `mfa_process` commands.

use crate::aws::{rfc3339, Credentials};
use crate::error::Error;
use crate::model::Profile;
use std::ffi::{OsStr, OsString};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

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
    "ROLEPICK_VAULT_PASSPHRASE",
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

/// Environment for a child: `base` minus [`REMOVED_VARS`] (and the region
/// when the profile sets one), plus the credentials, region and
/// `ROLEPICK_PROFILE`.
pub fn child_env(
    profile: &Profile,
    region: Option<&str>,
    creds: &Credentials,
    base: impl IntoIterator<Item = (OsString, OsString)>,
) -> Vec<(OsString, OsString)> {
    let ours = credential_vars(profile, region, creds);
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

fn spawn_error(prog: &OsStr, e: &std::io::Error) -> Error {
    let p = prog.to_string_lossy();
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::Spawn(format!(
            "cannot run {p:?}: command not found. Check the name and your PATH."
        ))
    } else {
        Error::Spawn(format!("cannot run {p:?}: {e}"))
    }
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
