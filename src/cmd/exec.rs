//! `rolepick exec PROFILE [-- CMD...]`.

use crate::cli::{ExecArgs, Global};
use crate::engine::Engine;
use crate::error::Error;
use crate::terminal::CliMfa;

pub fn run(args: &ExecArgs, global: &Global) -> Result<u8, Error> {
    crate::live::nesting_guard(args.nest)?;
    let mfa = CliMfa::from_args(&args.mfa)?;
    let engine = Engine::load_for(&global.into(), &args.profile)?;
    crate::child::exec(engine, args, &mfa)
}
