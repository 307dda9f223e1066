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

pub fn run(args: &PromptArgs) -> Result<u8, Error> {
    let Some(profile) = std::env::var("ROLEPICK_PROFILE")
        .ok()
        .filter(|p| !p.is_empty())
    else {
        return Ok(0); // not in a rolepick shell: print nothing
    };
    let from_state = std::env::var_os(crate::live::SHELL_STATE_VAR)
        .and_then(|p| crate::live::shell_state_until(std::path::Path::new(&p)));
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
