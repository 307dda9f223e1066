//! `rolepick completions SHELL`: a completion script on stdout; and the
//! hidden `rolepick __complete-profiles` those scripts call.

pub mod scripts;

use crate::cli::{CompletionsArgs, Global};
use crate::error::Error;
use std::io::Write;

fn out(text: &str) -> Result<u8, Error> {
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map(|()| 0)
        .map_err(|e| Error::Other(format!("cannot write to stdout: {e}")))
}

pub fn run(args: &CompletionsArgs) -> Result<u8, Error> {
    out(&crate::cmd::completions::scripts::script(args.shell))
}

/// Profile names for a completion: no AWS call, no key, no unlock.
pub fn profiles(global: &Global) -> Result<u8, Error> {
    let engine = crate::engine::Engine::load(&global.into())?;
    out(&crate::cmd::completions::scripts::profile_lines(
        engine.model(),
    ))
}
