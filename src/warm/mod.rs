//! The warm path of `rolepick exec PROFILE -- CMD` (and of `env` and
//! `credential-process`), on its own, for the small `rolepick` program
//! ([`crate::warm::program`]): the asked profile from the configuration's
//! snapshot, its cached credentials while fresh, the key-age reminder, then
//! rolepick becomes CMD (or prints, through the same `cmd` functions).
//! Anything it cannot answer exactly as the full program would (no valid
//! snapshot, no fresh credentials, an option it does not know, a shell,
//! `--server`, `-v`) is left to the full program, which then runs with the
//! same arguments and environment.
//!
//! It shares every step with the full `exec` ([`crate::run::child::exec`]): the
//! same snapshot reader, cache, freshness rule, reminder and child
//! environment, so the answer is the same; only the AWS SDK, the vault's
//! key stores, clap and the picker stay out of the small program.

pub mod program;

use crate::aws::Credentials;
use crate::cache::Cache;
use crate::cli::EnvFormat;
use crate::clock::{Clock, SystemClock};
use crate::config::Paths;
use crate::engine;
use crate::error::Error;
use crate::model::{Model, Profile};
use crate::shell;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

/// What the warm path may serve, for `profile`.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// `exec [--region R] [--env-creds] [--nest] PROFILE -- CMD...`
    Exec {
        region: Option<String>,
        nest: bool,
        command: Vec<OsString>,
    },
    /// `env [--format F] [--region R] PROFILE`
    Env {
        format: EnvFormat,
        region: Option<String>,
    },
    /// `credential-process PROFILE`
    CredentialProcess,
}

/// A command the warm path may serve (each also takes `--config P`;
/// options in any order, each at most once).
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    pub profile: String,
    pub config: Option<PathBuf>,
    pub command: Command,
}

/// `args` (without the program name) as a request the warm path may
/// serve; None for anything else, including what clap would refuse (the
/// full program says why).
pub fn parse(args: &[OsString]) -> Option<Request> {
    let (first, rest) = args.split_first()?;
    let sub = first.to_str()?;
    let (opts, command) = match sub {
        "exec" => {
            let dash = rest.iter().position(|a| a == "--")?;
            let command = &rest[dash + 1..];
            if command.is_empty() {
                return None; // the user's shell: the full program waits for it
            }
            (&rest[..dash], Some(command))
        }
        "env" | "credential-process" => (rest, None),
        _ => return None,
    };
    let (mut profile, mut config, mut region, mut format) = (None, None, None, None);
    let (mut nest, mut env_creds) = (false, false);
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
        match (sub, name) {
            (_, "--config") if config.is_none() => config = Some(PathBuf::from(value()?)),
            ("exec" | "env", "--region") if region.is_none() => {
                region = Some(crate::cli::parse_region(&value()?).ok()?);
            }
            ("env", "--format") if format.is_none() => {
                format = Some(match value()?.as_str() {
                    "sh" => EnvFormat::Sh,
                    "fish" => EnvFormat::Fish,
                    "json" => EnvFormat::Json,
                    "dotenv" => EnvFormat::Dotenv,
                    _ => return None,
                });
            }
            ("exec", "--nest") if inline.is_none() && !nest => nest = true,
            ("exec", "--env-creds") if inline.is_none() && !env_creds => env_creds = true,
            (_, p) if !p.starts_with('-') && inline.is_none() && profile.is_none() => {
                profile = Some(p.to_string());
            }
            _ => return None,
        }
    }
    let command = match (sub, command) {
        ("exec", Some(command)) => Command::Exec {
            region,
            nest,
            command: command.to_vec(),
        },
        ("env", None) => Command::Env {
            format: format.unwrap_or(EnvFormat::Sh),
            region,
        },
        ("credential-process", None) => Command::CredentialProcess,
        _ => return None,
    };
    Some(Request {
        profile: profile?,
        config,
        command,
    })
}

/// The asked profile's credentials, cached and fresh, with the model they
/// were found in.
pub struct Found {
    model: Model,
    name: String,
    pub creds: Credentials,
    cache: Cache,
    now: std::time::SystemTime,
}

impl Found {
    pub fn profile(&self) -> &Profile {
        // `find` looked the profile up in this model by this name.
        self.model
            .profile(&self.name)
            .expect("found in this model by this name")
    }
}

/// The fresh cached credentials of `req`'s profile, as the full program
/// would find them; once found, what finding them said (the snapshot's
/// notes, as the full program says them, a damaged cache entry) is said
/// and, for `exec`, the key-age reminder. None: not warm, nothing said or
/// written; the full program is to take it, and says what it finds, once
/// (also what it refuses: `exec` inside a rolepick shell without
/// `--nest`).
pub fn find(req: &Request) -> Option<Found> {
    let (found, notes) = crate::diag::held(|| find_quietly(req));
    let found = found?;
    for n in &notes {
        n.replay();
    }
    if let Command::Exec { .. } = req.command {
        crate::admin::rotate::remind_if_old_at(
            &found.cache,
            &found.model.settings.vault,
            found.now,
            &found.profile().source,
        );
    }
    Some(found)
}

/// [`find`] before anything is said or written.
fn find_quietly(req: &Request) -> Option<Found> {
    if let Command::Exec { nest, .. } = req.command {
        crate::run::live::nesting_guard(nest).ok()?;
    }
    if std::env::var_os("ROLEPICK_CONFIG").is_some_and(|p| p.is_empty()) {
        return None;
    }
    let paths = Paths::discover(req.config.as_deref());
    let cache = Cache::discover();
    let (mut model, notes) = engine::snapshot_model(&paths, &cache, Some(&req.profile))?;
    // Said (held) first, as the full program says them.
    for n in &notes {
        n.replay();
    }
    if model.profile(&req.profile).is_none() {
        // Perhaps a role discovered from an Identity Center session. A
        // profile of the configuration files needs no listing: merging
        // never renames it, and the account name it would add is in none of
        // what this path gives (variables, cache binding, JSON), so the
        // listing is not read for it however many roles it holds.
        crate::sso::discovery::merge(&mut model, &cache);
    }
    let now = SystemClock.now();
    let profile = model.profile(&req.profile)?;
    let creds = engine::cached_credentials(&cache, profile)
        .filter(|c| engine::is_fresh_at(&model.settings, now, c))?;
    Some(Found {
        name: req.profile.clone(),
        model,
        creds,
        cache,
        now,
    })
}

/// `exec`'s end: rolepick becomes `command` with `found`'s credentials in
/// its environment; returns only why it could not.
pub fn exec(found: Found, region: Option<&str>, command: &[OsString]) -> Error {
    let env = shell::child_env(found.profile(), region, &found.creds, std::env::vars_os());
    drop(found);
    shell::exec(command, &env)
}

/// Replaces this process with the full program (`argv[0]` kept, the same
/// arguments and environment); returns only why it could not. Found
/// without `/proc` too ([`crate::warm::program::find_full`]).
pub fn become_full(argv0: &OsStr, args: &[OsString]) -> Error {
    use crate::warm::program::{find_full, FULL, LIBEXEC_DIR};
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().ok();
    let path = std::env::var_os("PATH");
    let Some(full) = find_full(
        exe.as_deref(),
        argv0,
        path.as_deref(),
        std::path::Path::new(LIBEXEC_DIR),
    ) else {
        let me = exe.map_or_else(
            || crate::error::quote_short(&argv0.to_string_lossy()),
            |e| e.display().to_string(),
        );
        return Error::Other(format!(
            "{FULL} is missing: it is found beside {me} or in ../libexec/rolepick/ from there, else in {LIBEXEC_DIR}. Reinstall rolepick (its two programs, rolepick and {FULL}, belong together)."
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
        assert_eq!(r.config, None);
        assert_eq!(
            r.command,
            Command::Exec {
                region: None,
                nest: false,
                command: args(&["aws", "s3", "ls"])
            }
        );
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
        assert_eq!(r.config, Some(PathBuf::from("/c.toml")));
        assert_eq!(
            r.command,
            Command::Exec {
                region: Some("eu-west-3".into()),
                nest: true,
                command: args(&["true"])
            }
        );
        // Arguments after `--` are the command's, options or not.
        let r = parse(&args(&["exec", "p", "--", "--server", "-v"])).unwrap();
        assert!(
            matches!(r.command, Command::Exec { command, .. } if command == args(&["--server", "-v"]))
        );
    }

    #[test]
    fn takes_env_and_credential_process() {
        let r = parse(&args(&["env", "admin"])).unwrap();
        assert_eq!(
            r.command,
            Command::Env {
                format: EnvFormat::Sh,
                region: None
            }
        );
        let r = parse(&args(&[
            "env",
            "--format",
            "fish",
            "admin",
            "--region=us-east-2",
        ]))
        .unwrap();
        assert_eq!(
            r.command,
            Command::Env {
                format: EnvFormat::Fish,
                region: Some("us-east-2".into())
            }
        );
        let r = parse(&args(&["credential-process", "--config=/c.toml", "admin"])).unwrap();
        assert_eq!(r.command, Command::CredentialProcess);
        assert_eq!(
            (r.profile.as_str(), r.config),
            ("admin", Some(PathBuf::from("/c.toml")))
        );
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
            &["exec", "--duration", "1h", "a", "--", "true"], // rolepick-full's
            &["exec", "a", "--no-session", "--", "true"],
            &["clear", "a"],
            &["env", "a", "--format", "powershell"],
            &["env", "a", "--format", "sh", "--format", "sh"],
            &["env", "--nest", "a"],
            &["env", "a", "--", "x"],
            &["env"],
            &["credential-process", "a", "--region", "us-east-1"],
            &["credential-process", "a", "--mfa-code", "123456"],
            &["credential-process"],
            &["list"],
            &["console", "a"],
            &[],
        ] {
            assert_eq!(parse(&args(a)), None, "{a:?}");
        }
    }
}

/// The small program's parsers against clap's: for generated argument
/// vectors, whatever the small program accepts, clap accepts with the same
/// values (what it refuses, the full program says why).
#[cfg(test)]
mod against_clap {
    use super::*;
    use crate::cli::{Cli, Cmd};
    use clap::Parser;

    /// Real flags and values, their `=` forms, `--`, and what clap refuses.
    const TOKENS: &[&str] = &[
        "p",
        "q",
        "",
        "-",
        "--",
        "-v",
        "--verbose",
        "--help",
        "-h",
        "--version",
        "-x",
        "=",
        "a=b",
        "--config",
        "--config=/c.toml",
        "--config=",
        "--config=-c",
        "/c.toml",
        "--region",
        "--region=eu-west-3",
        "--region=",
        "us-east-1",
        "nowhere",
        "--format",
        "--format=fish",
        "--format=",
        "--format=json=x",
        "json",
        "sh",
        "dotenv",
        "powershell",
        "{profile}",
        "--nest",
        "--nest=1",
        "--env-creds",
        "--server",
        "--mfa-code",
        "123456",
        "exec",
        "env",
        "prompt",
    ];
    const SUBS: &[&str] = &["exec", "env", "credential-process", "prompt", "list", "-v"];

    /// A small seeded generator (xorshift64*): the same vectors every run.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
            from[usize::try_from(self.next() % from.len() as u64).unwrap()]
        }
    }

    fn vectors(seed: u64, n: usize) -> Vec<Vec<OsString>> {
        let mut rng = Rng(seed);
        (0..n)
            .map(|_| {
                let mut v = vec![OsString::from(rng.pick(SUBS))];
                for _ in 0..rng.next() % 7 {
                    v.push(rng.pick(TOKENS).into());
                }
                if rng.next().is_multiple_of(2) {
                    v.push("--".into());
                    for _ in 0..rng.next() % 3 {
                        v.push(rng.pick(TOKENS).into());
                    }
                }
                v
            })
            .collect()
    }

    fn clap(args: &[OsString]) -> Option<Cli> {
        let argv = std::iter::once(OsString::from("rolepick")).chain(args.iter().cloned());
        Cli::try_parse_from(argv).ok()
    }

    /// `--config` as clap sees it: the flag, else `ROLEPICK_CONFIG`.
    fn config(req: &Request) -> Option<PathBuf> {
        req.config
            .clone()
            .or_else(|| std::env::var_os("ROLEPICK_CONFIG").map(PathBuf::from))
    }

    fn agrees(args: &[OsString]) -> Result<(), String> {
        if let Some(req) = parse(args) {
            let cli = clap(args).ok_or("clap refuses it")?;
            if cli.global.verbose || cli.global.config != config(&req) {
                return Err(format!("clap reads {:?}", cli.global));
            }
            let same = match (&req.command, &cli.command) {
                (
                    Command::Exec {
                        region,
                        nest,
                        command,
                    },
                    Some(Cmd::Exec(a)),
                ) => {
                    a.profile == req.profile
                        && a.region == *region
                        && a.nest == *nest
                        && a.command == *command
                        && !a.server
                        && a.mfa.mfa_code.is_none()
                }
                (Command::Env { format, region }, Some(Cmd::Env(a))) => {
                    a.profile == req.profile
                        && a.format == *format
                        && a.region == *region
                        && a.mfa.mfa_code.is_none()
                }
                (Command::CredentialProcess, Some(Cmd::CredentialProcess(a))) => {
                    a.profile == req.profile && a.mfa.mfa_code.is_none()
                }
                _ => false,
            };
            if !same {
                return Err(format!("clap reads {:?}, rolepick {req:?}", cli.command));
            }
        }
        if let Some(format) = crate::cmd::prompt::plain_form(args) {
            match clap(args).ok_or("clap refuses it")?.command {
                Some(Cmd::Prompt(a)) if a.format == format => {}
                other => return Err(format!("clap reads {other:?}, rolepick {format:?}")),
            }
        }
        Ok(())
    }

    #[test]
    fn whatever_the_small_program_accepts_clap_accepts_with_the_same_values() {
        let mut accepted = 0;
        for args in vectors(0x5eed_0f20_24ab, 20_000) {
            if let Err(why) = agrees(&args) {
                panic!("{args:?}: {why}");
            }
            accepted += usize::from(parse(&args).is_some());
        }
        // The generator reaches the accepted forms, not only refusals.
        assert!(accepted > 100, "only {accepted} vectors accepted");
    }

    #[test]
    fn prompt_format_takes_no_option_as_its_value() {
        for v in ["-v", "--help", "--", "-x", "--format"] {
            let args: Vec<OsString> = ["prompt", "--format", v].map(OsString::from).to_vec();
            assert_eq!(agrees(&args), Ok(()), "{v}");
            assert!(clap(&args).is_none(), "clap takes {v}");
        }
    }
}
