//! `rolepick-full`: every subcommand and the picker. Users run `rolepick`
//! (src/bin/rolepick.rs), which serves a warm `exec` itself and becomes
//! this program for everything else (see `rolepick::program`).

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    match rolepick::run(rolepick::cli::Cli::parse()) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("rolepick: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
