//! `rolepick exec PROFILE [-- CMD...]`.

use super::mfa::CliMfa;
use crate::aws::rfc3339;
use crate::cli::{ExecArgs, Global};
use crate::engine::Refresh;
use crate::error::Error;
use crate::shell;

pub fn run(args: &ExecArgs, global: &Global) -> Result<u8, Error> {
    super::nesting_guard(args.nest)?;
    let mfa = CliMfa::from_args(&args.mfa)?;
    let engine = super::load(global)?;
    let creds = engine.credentials(&args.profile, &mfa, Refresh::IfNeeded)?;
    let profile = engine.profile(&args.profile)?;
    crate::rotate::remind_if_old(&engine, &profile.source);
    let env = shell::child_env(profile, None, &creds, std::env::vars_os());
    let banner = args.command.is_empty().then(|| {
        format!(
            "rolepick: shell for {} (credentials expire {}); exit to leave",
            profile.name,
            rfc3339(creds.expiration)
        )
    });
    drop(creds);
    shell::run(&args.command, &env, banner.as_deref())
}
