//! `rolepick prompt`: the active profile and time left, for a shell prompt.
//! Reads `ROLEPICK_PROFILE` and `AWS_CREDENTIAL_EXPIRATION`, and in a shell
//! on the credential endpoint its one-line state file
//! (`ROLEPICK_SHELL_STATE`), whose time follows new MFA sessions that the
//! shell's environment cannot: no config, no cache, no network, so it costs
//! little more than starting the binary.

use crate::cli::PromptArgs;
use crate::clock::{secs_until, Clock, SystemClock};
use crate::error::Error;
use std::io::Write;
use std::time::SystemTime;

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
    let line = render(&args.format, &profile, expiry, SystemClock.now());
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    Ok(0)
}

/// `template` with `{profile}` and `{left}` filled in; `{left}` is empty
/// when the expiry is unknown (and the space before it is dropped).
pub fn render(
    template: &str,
    profile: &str,
    expiry: Option<SystemTime>,
    now: SystemTime,
) -> String {
    let filled = match expiry {
        Some(e) => template.replace("{left}", &left(secs_until(now, e))),
        None => template.replace(" {left}", "").replace("{left}", ""),
    };
    filled.replace("{profile}", profile)
}

/// `45s`, `42m`, `3h05m`, `expired`.
pub fn left(secs: i64) -> String {
    match secs {
        s if s <= 0 => "expired".into(),
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn time_left_is_compact() {
        assert_eq!(left(-5), "expired");
        assert_eq!(left(0), "expired");
        assert_eq!(left(45), "45s");
        assert_eq!(left(42 * 60 + 59), "42m");
        assert_eq!(left(3 * 3600 + 5 * 60), "3h05m");
    }

    #[test]
    fn template_fills_profile_and_left() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let exp = Some(now + Duration::from_secs(600));
        assert_eq!(render("{profile} {left}", "dev", exp, now), "dev 10m");
        assert_eq!(render("[{profile}|{left}]", "dev", exp, now), "[dev|10m]");
        assert_eq!(render("{profile} {left}", "dev", None, now), "dev");
        assert_eq!(render("[{profile} {left}] ", "dev", exp, now), "[dev 10m] ");
    }
}
