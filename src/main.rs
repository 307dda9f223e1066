use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = rolepick::cli::Cli::parse();
    match rolepick::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("rolepick: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
