//! The warm path of `rolepick exec PROFILE -- CMD`, on its own, for the
//! small `rolepick` program ([`crate::program`]): the asked profile from the
//! configuration's snapshot, its cached credentials while fresh, the key-age
//! reminder, then rolepick becomes CMD. Anything it cannot answer exactly as
//! the full program would (no valid snapshot, no fresh credentials, an
//! option it does not know, a shell, `--server`, `-v`) is left to the full
//! program, which then runs with the same arguments and environment.
//!
//! It shares every step with the full `exec` ([`crate::child::exec`]): the
//! same snapshot reader, cache, freshness rule, reminder and child
//! environment, so the answer is the same; only the AWS SDK, the vault's
//! key stores, clap and the picker stay out of the small program.

use crate::cache::Cache;
use crate::clock::{Clock, SystemClock};
use crate::config::Paths;
use crate::engine;
use crate::error::Error;
use crate::shell;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

/// An `exec` the warm path may serve: `exec [--config P] [--region R]
/// [--env-creds] [--nest] PROFILE -- CMD...` (options in any order, each
/// at most once).
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    pub profile: String,
    pub config: Option<PathBuf>,
    pub region: Option<String>,
    pub nest: bool,
    pub command: Vec<OsString>,
}

/// `args` (without the program name) as a warm-path `exec`; None for
/// anything else, including what clap would refuse (the full program says
/// why).
pub fn parse(args: &[OsString]) -> Option<Request> {
    let (first, rest) = args.split_first()?;
    if first != "exec" {
        return None;
    }
    let dash = rest.iter().position(|a| a == "--")?;
    let (opts, command) = (&rest[..dash], &rest[dash + 1..]);
    if command.is_empty() {
        return None; // the user's shell: the full program waits for it
    }
    let mut req = Request {
        profile: String::new(),
        config: None,
        region: None,
        nest: false,
        command: command.to_vec(),
    };
    let (mut profile, mut env_creds) = (None, false);
    let mut it = opts.iter();
    while let Some(arg) = it.next() {
        let arg = arg.to_str()?;
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v)),
            _ => (arg, None),
        };
        let mut value = || -> Option<String> {
            let v = match inline {
                Some(v) => v.to_string(),
                None => it.next()?.to_str()?.to_string(),
            };
            (!v.is_empty() && !v.starts_with('-')).then_some(v)
        };
        match name {
            "--config" if req.config.is_none() => req.config = Some(PathBuf::from(value()?)),
            "--region" if req.region.is_none() => {
                req.region = Some(crate::cli::parse_region(&value()?).ok()?);
            }
            "--nest" if inline.is_none() && !req.nest => req.nest = true,
            "--env-creds" if inline.is_none() && !env_creds => env_creds = true,
            p if !p.starts_with('-') && inline.is_none() && profile.is_none() => {
                profile = Some(p.to_string());
            }
            _ => return None,
        }
    }
    req.profile = profile?;
    Some(req)
}

/// Serves `req` if its credentials are cached and fresh, becoming its
/// command: returns only why that failed. None: not warm, nothing said or
/// written; the full program is to take it.
pub fn exec(req: &Request) -> Option<Error> {
    // What the full program refuses or asks about, it says.
    if !req.nest && std::env::var_os("ROLEPICK_PROFILE").is_some_and(|p| !p.is_empty()) {
        return None;
    }
    if std::env::var_os("ROLEPICK_CONFIG").is_some_and(|p| p.is_empty()) {
        return None;
    }
    let paths = Paths::discover(req.config.as_deref());
    let cache = Cache::discover();
    let (mut model, notes) = engine::snapshot_model(&paths, &cache, Some(&req.profile))?;
    crate::sso_discovery::merge(&mut model, &cache);
    let now = SystemClock.now();
    let profile = model.profile(&req.profile)?;
    let creds = engine::cached_credentials(&cache, profile)
        .filter(|c| engine::is_fresh_at(&model.settings, now, c))?;
    // Warm: from here on this is the full program's `exec`.
    for n in &notes {
        n.replay();
    }
    crate::rotate::remind_if_old_at(&cache, &model.settings.vault, now, &profile.source);
    let env = shell::child_env(profile, req.region.as_deref(), &creds, std::env::vars_os());
    drop(creds);
    Some(shell::exec(&req.command, &env))
}

/// Replaces this process with the full program (`argv[0]` kept, the same
/// arguments and environment); returns only why it could not.
pub fn become_full(argv0: &OsStr, args: &[OsString]) -> Error {
    use std::os::unix::process::CommandExt;
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return Error::Other(format!("cannot find rolepick's own binary: {e}")),
    };
    let Some(full) = crate::program::full_beside(&exe) else {
        return Error::Other(format!(
            "{} is missing: it is found beside {} or in ../libexec/rolepick/ from there. Reinstall rolepick (its two programs, rolepick and {}, belong together).",
            crate::program::FULL,
            exe.display(),
            crate::program::FULL
        ));
    };
    let e = std::process::Command::new(&full)
        .arg0(argv0)
        .args(args)
        .exec();
    Error::Other(format!("cannot run {}: {e}", full.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<OsString> {
        s.iter().map(OsString::from).collect()
    }

    #[test]
    fn takes_the_forms_of_exec_with_a_command() {
        let r = parse(&args(&["exec", "admin", "--", "aws", "s3", "ls"])).unwrap();
        assert_eq!(r.profile, "admin");
        assert_eq!(r.command, args(&["aws", "s3", "ls"]));
        assert_eq!((r.config, r.region, r.nest), (None, None, false));
        let r = parse(&args(&[
            "exec",
            "--region=eu-west-3",
            "--nest",
            "admin",
            "--config",
            "/c.toml",
            "--env-creds",
            "--",
            "true",
        ]))
        .unwrap();
        assert_eq!(r.region.as_deref(), Some("eu-west-3"));
        assert_eq!(r.config, Some(PathBuf::from("/c.toml")));
        assert!(r.nest);
        // Arguments after `--` are the command's, options or not.
        let r = parse(&args(&["exec", "p", "--", "--server", "-v"])).unwrap();
        assert_eq!(r.command, args(&["--server", "-v"]));
    }

    #[test]
    fn leaves_everything_else_to_the_full_program() {
        for a in [
            &["exec", "admin"][..],                       // a shell
            &["exec", "admin", "--"],                     // a shell
            &["exec", "--server", "admin", "--", "true"], // the endpoint
            &["exec", "-v", "admin", "--", "true"],       // verbose
            &["-v", "exec", "admin", "--", "true"],       // global option first
            &["exec", "--mfa-code", "123456", "a", "--", "true"],
            &["exec", "a", "b", "--", "true"], // clap: unexpected argument
            &["exec", "--nest", "--nest", "a", "--", "true"], // clap: used twice
            &["exec", "--region", "nowhere", "a", "--", "true"], // not a region
            &["exec", "--region", "a", "--", "true"], // not a region either
            &["exec", "--config", "", "a", "--", "true"],
            &["exec", "--nest=yes", "a", "--", "true"],
            &["exec", "--", "true"], // no profile
            &["exec", "--help", "a", "--", "true"],
            &["list"],
            &["env", "a"],
            &[],
        ] {
            assert_eq!(parse(&args(a)), None, "{a:?}");
        }
    }
}
