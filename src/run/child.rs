//! Running a child with credentials: `rolepick exec`, and how any child
//! (also the picker's subshells) gets them: static variables, or rolepick's
//! loopback endpoint ([`crate::run::credserver`]) for the child's lifetime.

use crate::aws::{rfc3339, Credentials};
use crate::cli::ExecArgs;
use crate::engine::{Engine, MfaPrompt, Refresh};
use crate::error::Error;
use crate::model::{Profile, ProfileKind, SourceKind, SubshellCredentials};
use crate::run::credserver::{self, EngineProvider, Shadowing};
use crate::run::live::{self, LiveShell};
use crate::run::tty::TerminalPerson;
use crate::shell::{self, Handoff};
use std::ffi::OsString;
use std::time::SystemTime;

/// `rolepick exec`: credentials for `args.profile` (asking through `mfa`
/// when a code is needed), then the command (or the user's shell) with
/// them: rolepick becomes a command on static variables; a shell, or any
/// child on the endpoint, is waited for.
pub fn exec(engine: Engine, args: &ExecArgs, mfa: &dyn MfaPrompt) -> Result<u8, Error> {
    let creds = engine.credentials(&args.profile, mfa, Refresh::IfNeeded)?;
    let profile = engine.profile(&args.profile)?;
    crate::admin::rotate::remind_if_old(&engine, &profile.source);
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
        banner(
            &profile.name,
            Renewal::of(&engine, profile),
            plan.server,
            until,
            None,
        )
    });
    let hint = Renewal::of(&engine, profile).hint(&profile.name, false);
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
    /// The role's ARN, or what the profile is (see [`what`]).
    pub what: &'a str,
    /// The time left, as the picker counts it down.
    pub left: &'a str,
}

/// What a profile gives, for the picker's banner: the role's ARN, the
/// Identity Center role and account, or the source's MFA session.
pub fn what(profile: &Profile) -> String {
    match &profile.kind {
        ProfileKind::Role(r) => r.role_arn.clone(),
        ProfileKind::Sso {
            account_id,
            role_name,
        } => format!("{role_name} in account {account_id}, IAM Identity Center"),
        ProfileKind::Session => "MFA session".to_string(),
    }
}

/// How a shell's credentials are renewed once the source's session (what
/// the endpoint renews them from) ends: one arm per kind of source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    /// An IAM user key with an MFA device: a new MFA session, for a code.
    MfaCode,
    /// An IAM user key without MFA: the key itself, nothing to ask.
    Key,
    /// An IAM Identity Center sign-in: its token, then the browser sign-in.
    SsoSignIn,
}

impl Renewal {
    /// The renewal of the source `profile` stands on.
    pub fn of(engine: &Engine, profile: &Profile) -> Renewal {
        // Exhaustive on purpose: a new kind of source says its own truth.
        match engine.model().source(&profile.source).map(|s| &s.kind) {
            Some(SourceKind::Sso(_)) => Renewal::SsoSignIn,
            Some(SourceKind::IamUser(_)) | None if profile.mfa_serial.is_some() => Renewal::MfaCode,
            Some(SourceKind::IamUser(_)) | None => Renewal::Key,
        }
    }

    /// What to do when rolepick cannot renew by itself (said with the
    /// need); `picker`: the shell was opened from the picker.
    pub fn hint(self, profile: &str, picker: bool) -> String {
        let what = match self {
            Renewal::MfaCode => "type a new code",
            Renewal::SsoSignIn => "sign in again",
            Renewal::Key => "get new credentials",
        };
        if picker {
            let back = match self {
                Renewal::MfaCode => "the picker asks for a new code at once",
                Renewal::SsoSignIn | Renewal::Key => "open the role again",
            };
            format!(
                "Leave the shell (`exit`): {back}. Or run `rolepick exec --nest {profile} -- true` in the shell."
            )
        } else {
            format!(
                "To {what}, run `rolepick exec --nest {profile} -- true` in this shell (or leave it and run `rolepick exec {profile}` again); AWS calls then work again."
            )
        }
    }

    /// On the endpoint: until when and how (`until`: the session's end,
    /// `left`: " (59:12 left)" or "").
    fn kept_fresh(self, until: &str, left: &str) -> String {
        match self {
            Renewal::MfaCode => format!(
                "credentials kept fresh by rolepick; the MFA session expires {until}{left}, then rolepick asks for a new code"
            ),
            Renewal::SsoSignIn => format!(
                "credentials kept fresh by rolepick; the IAM Identity Center sign-in expires {until}{left}, then rolepick opens the browser sign-in again"
            ),
            Renewal::Key => format!(
                "credentials kept fresh by rolepick from the source's key; these expire {until}{left}"
            ),
        }
    }
}

/// The line said when a shell starts: for whom, until when its
/// credentials (on the endpoint: the source's session, as `renewal` says)
/// last, and how to leave (`exit`; from the picker, back to it).
pub fn banner(
    profile: &str,
    renewal: Renewal,
    server: bool,
    until: SystemTime,
    picker: Option<&FromPicker<'_>>,
) -> String {
    let until = rfc3339(until);
    let left = picker.map_or_else(String::new, |p| format!(" ({} left)", p.left));
    let state = if server {
        renewal.kept_fresh(&until, &left)
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
        let mfa = Renewal::MfaCode;
        assert_eq!(
            banner("dev", mfa, false, t, None),
            "rolepick: shell for dev (credentials expire 2027-01-15T08:00:00Z); exit to leave"
        );
        assert_eq!(
            banner("dev", mfa, true, t, None),
            "rolepick: shell for dev (credentials kept fresh by rolepick; the MFA session expires 2027-01-15T08:00:00Z, then rolepick asks for a new code); exit to leave"
        );
        let picker = FromPicker {
            what: "arn:aws:iam::1:role/dev",
            left: "59:12",
        };
        assert_eq!(
            banner("dev", mfa, false, t, Some(&picker)),
            "rolepick: shell for dev (arn:aws:iam::1:role/dev); credentials expire 2027-01-15T08:00:00Z (59:12 left). `exit` returns to the picker."
        );
        assert_eq!(
            banner("dev", mfa, true, t, Some(&picker)),
            "rolepick: shell for dev (arn:aws:iam::1:role/dev); credentials kept fresh by rolepick; the MFA session expires 2027-01-15T08:00:00Z (59:12 left), then rolepick asks for a new code. `exit` returns to the picker."
        );
    }

    /// Issue #25: an Identity Center role's shell spoke of an MFA session
    /// and a new code; it has neither.
    #[test]
    fn an_identity_center_shell_banner_speaks_of_its_sign_in_not_of_mfa() {
        let t = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let picker = FromPicker {
            what: "AdministratorAccess in account 100000000000, IAM Identity Center",
            left: "7h 59m",
        };
        let b = banner("sso-admin", Renewal::SsoSignIn, true, t, Some(&picker));
        assert_eq!(
            b,
            "rolepick: shell for sso-admin (AdministratorAccess in account 100000000000, IAM Identity Center); credentials kept fresh by rolepick; the IAM Identity Center sign-in expires 2027-01-15T08:00:00Z (7h 59m left), then rolepick opens the browser sign-in again. `exit` returns to the picker."
        );
        assert!(!b.contains("MFA") && !b.contains("code"), "{b}");
        let b = banner("sso-admin", Renewal::SsoSignIn, true, t, None);
        assert!(b.contains("the IAM Identity Center sign-in expires 2027-01-15T08:00:00Z, then rolepick opens the browser sign-in again"), "{b}");
        // Static variables: the same for every kind.
        assert_eq!(
            banner("sso-admin", Renewal::SsoSignIn, false, t, None),
            banner("sso-admin", Renewal::MfaCode, false, t, None)
        );
        let b = banner("ci", Renewal::Key, true, t, None);
        assert!(!b.contains("MFA") && !b.contains("code"), "{b}");
    }

    #[test]
    fn what_to_do_when_rolepick_cannot_renew_is_each_kinds_own() {
        assert_eq!(
            Renewal::MfaCode.hint("dev", false),
            "To type a new code, run `rolepick exec --nest dev -- true` in this shell (or leave it and run `rolepick exec dev` again); AWS calls then work again."
        );
        assert_eq!(
            Renewal::MfaCode.hint("dev", true),
            "Leave the shell (`exit`): the picker asks for a new code at once. Or run `rolepick exec --nest dev -- true` in the shell."
        );
        for picker in [false, true] {
            let h = Renewal::SsoSignIn.hint("sso-admin", picker);
            assert!(!h.contains("code"), "{h}");
            assert!(
                h.contains("`rolepick exec --nest sso-admin -- true`"),
                "{h}"
            );
        }
    }

    #[test]
    fn the_picker_banner_names_what_each_kind_of_profile_gives() {
        use crate::app::fixture;
        let p = fixture::sso_role(
            "sso-admin",
            "demo-sso",
            "100000000000",
            "demo",
            "AdministratorAccess",
        );
        assert_eq!(
            what(&p),
            "AdministratorAccess in account 100000000000, IAM Identity Center"
        );
        let p = fixture::role("dev", "primary", "444455556666", "dev", "developer");
        assert_eq!(what(&p), "arn:aws:iam::444455556666:role/developer");
    }
}
