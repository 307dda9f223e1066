//! One file per subcommand; the only code that writes to stdout.

pub mod completions;
pub mod console;
pub mod credential_process;
pub mod env;
pub mod exec;
pub mod list;
pub mod man;
pub mod mfa;
pub mod person;
pub mod prompt;
pub mod rotate;
pub mod setup;
pub mod sso;
pub mod tui;
pub mod vault;

use crate::cli::Global;
use crate::engine::{Engine, LoadOptions};
use crate::error::Error;

pub fn load(global: &Global) -> Result<Engine, Error> {
    Engine::load(&LoadOptions {
        config_path: global.config.clone(),
        verbose: global.verbose,
    })
}

/// [`load`] for work on one profile (see [`Engine::load_for`]).
pub fn load_for(global: &Global, profile: &str) -> Result<Engine, Error> {
    Engine::load_for(
        &LoadOptions {
            config_path: global.config.clone(),
            verbose: global.verbose,
        },
        profile,
    )
}

/// Refuses to start inside a rolepick shell unless `--nest`.
pub fn nesting_guard(nest: bool) -> Result<(), Error> {
    match std::env::var("ROLEPICK_PROFILE") {
        Ok(p) if !p.is_empty() && !nest => Err(Error::Usage(format!(
            "already inside a rolepick shell for profile {p:?} (ROLEPICK_PROFILE is set). Exit that shell first, or pass --nest to start another one inside it."
        ))),
        _ => Ok(()),
    }
}
