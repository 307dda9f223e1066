//! Running a child with credentials: `rolepick exec`, and how any child
//! (also the picker's subshells) gets them: static variables, or rolepick's
//! loopback endpoint ([`crate::credserver`]) for the child's lifetime.

use crate::aws::{rfc3339, Credentials};
use crate::cli::ExecArgs;
use crate::credserver::{self, EngineProvider, Shadowing};
use crate::engine::{Engine, MfaPrompt, Refresh};
use crate::error::Error;
use crate::live::{self, LiveShell};
use crate::model::{Profile, SubshellCredentials};
use crate::shell::{self, Handoff};
use crate::terminal::TerminalPerson;
use std::ffi::OsString;
use std::time::SystemTime;

/// `rolepick exec`: credentials for `args.profile` (asking through `mfa`
/// when a code is needed), then the command (or the user's shell) with
/// them: rolepick becomes a command on static variables; a shell, or any
/// child on the endpoint, is waited for.
pub fn exec(engine: Engine, args: &ExecArgs, mfa: &dyn MfaPrompt) -> Result<u8, Error> {
    let creds = engine.credentials(&args.profile, mfa, Refresh::IfNeeded)?;
    let profile = engine.profile(&args.profile)?;
    crate::rotate::remind_if_old(&engine, &profile.source);
    let interactive = args.command.is_empty();
    let want_server = if args.server {
        true
    } else if args.env_creds || !interactive {
        false
    } else {
        engine.model().settings.subshell_credentials == SubshellCredentials::Server
    };
    let mut plan = plan(&engine, want_server);
    plan.region = args.region.clone();
    let live = interactive
        .then(|| LiveShell::register(engine.cache(), &profile.name))
        .flatten();
    let banner = interactive.then(|| {
        let until = if plan.server {
            engine.session_end(profile, &creds)
        } else {
            creds.expiration
        };
        banner(&profile.name, plan.server, until, None)
    });
    let hint = format!(
        "To type a new code, run `rolepick exec --nest {0} -- true` in this shell (or leave it and run `rolepick exec {0}` again); AWS calls then work again.",
        profile.name
    );
    if !plan.server {
        // Static variables: nothing to serve, so no helper thread either
        // (this is the warm path scripts take on every call).
        let env = shell::child_env(profile, plan.region.as_deref(), &creds, std::env::vars_os());
        drop(creds);
        if interactive {
            return shell::run(&args.command, &env, banner.as_deref());
        }
        // Nothing of rolepick has to outlive this point: the reminder is
        // said, the cache written, the source's lock released (with the
        // cold path); no shell is registered for a command. So rolepick
        // becomes the command instead of waiting for it.
        drop(live);
        drop(engine);
        return Err(shell::exec(&args.command, &env));
    }
    run_child(
        &engine,
        ChildSpec {
            profile,
            creds,
            plan: &plan,
            command: &args.command,
            banner: banner.as_deref(),
            hint,
            unanswered: None,
            live: live.as_ref(),
        },
    )
}

/// A shell the picker opens, for its banner.
pub struct FromPicker<'a> {
    /// The role's ARN, or "MFA session".
    pub what: &'a str,
    /// The time left, as the picker counts it down.
    pub left: &'a str,
}

/// The line said when a shell starts: for whom, until when its
/// credentials (on the endpoint: its MFA session) last, and how to leave
/// (`exit`; from the picker, back to it).
pub fn banner(
    profile: &str,
    server: bool,
    until: SystemTime,
    picker: Option<&FromPicker<'_>>,
) -> String {
    let until = rfc3339(until);
    let left = picker.map_or_else(String::new, |p| format!(" ({} left)", p.left));
    let state = if server {
        format!("credentials kept fresh by rolepick; the MFA session expires {until}{left}, then rolepick asks for a new code")
    } else {
        format!("credentials expire {until}{left}")
    };
    match picker {
        None => format!("rolepick: shell for {profile} ({state}); exit to leave"),
        Some(p) => format!(
            "rolepick: shell for {profile} ({}); {state}. `exit` returns to the picker.",
            p.what
        ),
    }
}

/// How a child will get credentials, decided before it starts.
pub struct Plan {
    /// Use the endpoint (else static variables).
    pub server: bool,
    /// Variables that keep the user's `[default]` keys from shadowing it.
    pub extra: Vec<(&'static str, String)>,
    /// The child's region (`--region`), over the profile's.
    pub region: Option<String>,
}

/// The endpoint if wanted and nothing in the user's files would silently
/// win over it; says on stderr what it changed and why.
pub fn plan(engine: &Engine, want_server: bool) -> Plan {
    if !want_server {
        return Plan {
            server: false,
            extra: Vec::new(),
            region: None,
        };
    }
    let paths = engine.paths();
    let shadow = Shadowing::detect(paths);
    if shadow.config_file {
        eprintln!(
            "rolepick: [default] in {} yields credentials, which AWS SDKs would use before rolepick's endpoint; this shell gets static credentials instead (they expire with the role session).",
            paths.aws_config.display()
        );
        return Plan {
            server: false,
            extra: Vec::new(),
            region: None,
        };
    }
    let mut extra = Vec::new();
    if shadow.credentials_file {
        eprintln!(
            "rolepick: [default] in {} has keys, which AWS SDKs would use before rolepick's endpoint; this shell gets AWS_SHARED_CREDENTIALS_FILE=/dev/null (use --env-creds to keep the file).",
            paths.aws_credentials.display()
        );
        extra.push(("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_string()));
        // rolepick itself, run inside that shell, still finds the real file.
        extra.push((
            crate::config::CREDENTIALS_FILE_VAR,
            paths.aws_credentials.display().to_string(),
        ));
    }
    Plan {
        server: true,
        extra,
        region: None,
    }
}

/// A child to run for a profile, and how it gets its credentials.
pub struct ChildSpec<'a> {
    pub profile: &'a Profile,
    /// The profile's credentials now (dropped before the child starts).
    pub creds: Credentials,
    pub plan: &'a Plan,
    /// The command; empty for the user's shell.
    pub command: &'a [OsString],
    /// Said on stderr before a shell starts.
    pub banner: Option<&'a str>,
    /// What to do when rolepick cannot ask for a new code (said with the need).
    pub hint: String,
    /// Hears of a need the terminal could not answer (the user skipped, or
    /// there was no terminal to ask on).
    pub unanswered: Option<&'a (dyn Fn(&str) + Sync)>,
    /// The shell's entry in the registry of live shells.
    pub live: Option<&'a LiveShell>,
}

/// Runs `spec.command` (or the user's shell) for `spec.profile` as
/// `spec.plan` says: with an endpoint serving fresh credentials while it
/// runs, or static variables. When the MFA session runs out, the endpoint
/// asks for a new code on the terminal while the command waits; if it
/// cannot (or the user skips), `spec.unanswered` hears of it.
pub fn run_child(engine: &Engine, spec: ChildSpec<'_>) -> Result<u8, Error> {
    let ChildSpec {
        profile,
        creds,
        plan,
        command: cmd,
        banner,
        hint,
        unanswered,
        live,
    } = spec;
    if !plan.server {
        let env = shell::child_env(profile, plan.region.as_deref(), &creds, std::env::vars_os());
        drop(creds);
        return shell::run(cmd, &env, banner);
    }
    let expiration = engine.session_end(profile, &creds);
    drop(creds);
    let mut extra = plan.extra.clone();
    if let Some(live) = live {
        // `rolepick prompt` follows new sessions through this file; the
        // shell's AWS_CREDENTIAL_EXPIRATION cannot change once it runs.
        live.set_until(expiration);
        extra.push((live::SHELL_STATE_VAR, live.path().display().to_string()));
    }
    let person = TerminalPerson::new(engine, &profile.name, hint.clone(), unanswered, live);
    let provider = EngineProvider::new(engine, &profile.name, hint, &person);
    credserver::serve(&provider, |ep| {
        let handoff = Handoff::Endpoint {
            url: &ep.url,
            token: ep.token.expose(),
            expiration,
            extra,
        };
        let env = shell::child_env_with(
            profile,
            plan.region.as_deref(),
            &handoff,
            std::env::vars_os(),
        );
        shell::run(cmd, &env, banner)
    })?
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn the_shell_banner_says_until_when_and_how_to_leave() {
        let t = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert_eq!(
            banner("dev", false, t, None),
            "rolepick: shell for dev (credentials expire 2027-01-15T08:00:00Z); exit to leave"
        );
        assert_eq!(
            banner("dev", true, t, None),
            "rolepick: shell for dev (credentials kept fresh by rolepick; the MFA session expires 2027-01-15T08:00:00Z, then rolepick asks for a new code); exit to leave"
        );
        let picker = FromPicker {
            what: "arn:aws:iam::1:role/dev",
            left: "59:12",
        };
        assert_eq!(
            banner("dev", false, t, Some(&picker)),
            "rolepick: shell for dev (arn:aws:iam::1:role/dev); credentials expire 2027-01-15T08:00:00Z (59:12 left). `exit` returns to the picker."
        );
        assert_eq!(
            banner("dev", true, t, Some(&picker)),
            "rolepick: shell for dev (arn:aws:iam::1:role/dev); credentials kept fresh by rolepick; the MFA session expires 2027-01-15T08:00:00Z (59:12 left), then rolepick asks for a new code. `exit` returns to the picker."
        );
    }
}
