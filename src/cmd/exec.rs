//! `rolepick exec PROFILE [--duration D] [--no-session] [-- CMD...]`.

use crate::cli::{ExecArgs, Global};
use crate::engine::{Ask, Engine};
use crate::error::Error;
use crate::run::tty::CliMfa;

pub fn run(args: &ExecArgs, global: &Global) -> Result<u8, Error> {
    crate::run::live::nesting_guard(args.nest)?;
    let mfa = CliMfa::from_args(&args.mfa)?;
    let engine = Engine::load_for(&global.into(), &args.profile)?.with_ask(Ask {
        profile: args.profile.clone(),
        duration: args.duration,
        no_session: args.no_session,
    })?;
    crate::run::child::exec(engine, args, &mfa)
}
