//! `rolepick` with no subcommand: the picker.

use std::io::IsTerminal;

use crate::cli::Global;
use crate::engine::Engine;
use crate::error::Error;

pub fn run(global: &Global, nest: bool, env_creds: bool) -> Result<u8, Error> {
    crate::run::live::nesting_guard(nest)?;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "the picker needs a terminal. Use `rolepick list` to see profiles and `rolepick exec PROFILE` to run with one.".into(),
        ));
    }
    // An Identity Center sign-in must not write over the picker's screen.
    let engine = Engine::load(&global.into())?.with_sign_in(Some(std::sync::Arc::new(
        crate::sso::cli_signin::TerminalSignIn::quiet(),
    )));
    crate::picker::service::run(engine, global.config.clone(), env_creds)
}
