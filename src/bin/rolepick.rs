//! `rolepick`, the program users run. Small on purpose: it serves the two
//! commands run most often itself, a warm `rolepick exec PROFILE -- CMD`
//! (`rolepick::warm`) and `rolepick prompt`, and becomes `rolepick-full`
//! (every subcommand, the picker, the AWS SDK) for anything else, with
//! the same arguments and environment. See `rolepick::program`.

use std::ffi::OsString;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut argv = std::env::args_os();
    let argv0 = argv.next().unwrap_or_else(|| OsString::from("rolepick"));
    let args: Vec<OsString> = argv.collect();
    let result = if let Some(format) = rolepick::cmd::prompt::plain_form(&args) {
        rolepick::cmd::prompt::run(&rolepick::cli::PromptArgs { format })
    } else {
        let warm = rolepick::warm::parse(&args).and_then(|r| rolepick::warm::exec(&r));
        Err(warm.unwrap_or_else(|| rolepick::warm::become_full(&argv0, &args)))
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("rolepick: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
