//! `rolepick prompt`: the active profile and time left, for a shell prompt.
//! Reads `ROLEPICK_PROFILE` and `AWS_CREDENTIAL_EXPIRATION`, and in a shell
//! on the credential endpoint its one-line state file
//! (`ROLEPICK_SHELL_STATE`), whose time follows new MFA sessions that the
//! shell's environment cannot: no config, no cache, no network, so it costs
//! little more than starting the binary.

use crate::cli::PromptArgs;
use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::timefmt;
use std::io::Write;

/// The format of `args` when they are one of `prompt`'s two plain forms
/// (`prompt`, `prompt --format FMT`), which the small program serves
/// without clap; None for anything else (`--help` included), and for a
/// value clap would take as an option (`--format -v`, `--format --`): the
/// full program refuses those as clap does.
pub fn plain_form(args: &[std::ffi::OsString]) -> Option<String> {
    match args {
        [p] if p == "prompt" => Some(crate::cli::DEFAULT_PROMPT_FORMAT.to_string()),
        [p, f, v] if p == "prompt" && f == "--format" => v
            .to_str()
            .filter(|v| !v.starts_with('-'))
            .map(str::to_string),
        _ => None,
    }
}

pub fn run(args: &PromptArgs) -> Result<u8, Error> {
    let Some(profile) = std::env::var("ROLEPICK_PROFILE")
        .ok()
        .filter(|p| !p.is_empty())
    else {
        return Ok(0); // not in a rolepick shell: print nothing
    };
    let from_state = std::env::var_os(crate::run::live::SHELL_STATE_VAR)
        .and_then(|p| crate::run::live::shell_state_until(std::path::Path::new(&p)));
    let expiry = from_state.or_else(|| {
        std::env::var("AWS_CREDENTIAL_EXPIRATION")
            .ok()
            .and_then(|s| humantime::parse_rfc3339_weak(s.trim_end_matches('Z')).ok())
    });
    let line = timefmt::prompt_line(&args.format, &profile, expiry, SystemClock.now());
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    Ok(0)
}
