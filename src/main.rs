//! `rolepick-full`: every subcommand and the picker. Users run `rolepick`
//! (src/bin/rolepick.rs), which serves a warm `exec` itself and becomes
//! this program for everything else (see `rolepick::warm::program`).

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // What the completion scripts call on Tab: not a subcommand, so that
    // no completion or help offers it.
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let result = if args == [rolepick::cmd::completions::scripts::LIST_PROFILES] {
        rolepick::cmd::completions::profiles(&rolepick::cli::Global::default())
    } else {
        rolepick::run(rolepick::cli::Cli::parse())
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("rolepick: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
