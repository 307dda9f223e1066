//! `rolepick setup`.

use crate::cli::{Global, SetupArgs};
use crate::engine::Engine;
use crate::error::Error;

pub fn run(args: &SetupArgs, global: &Global) -> Result<u8, Error> {
    let engine = Engine::load(&global.into())?;
    crate::admin::setup::run(&engine, args, &mut std::io::stdout())
}
