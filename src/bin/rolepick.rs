//! `rolepick`, the program users run. Small on purpose: it serves the
//! commands run most often itself, a warm `exec PROFILE -- CMD`, `env` and
//! `credential-process` (`rolepick::warm`) and `prompt`, and becomes
//! `rolepick-full` (every subcommand, the picker, the AWS SDK) for anything
//! else, with the same arguments and environment. See `rolepick::warm::program`.

use rolepick::cmd;
use rolepick::error::Error;
use rolepick::warm::{self, Command, Request};
use std::ffi::OsString;
use std::process::ExitCode;

/// `req` served from fresh cached credentials; None: not warm.
fn serve_warm(req: &Request) -> Option<Result<u8, Error>> {
    let found = warm::find(req)?;
    Some(match &req.command {
        Command::Exec {
            region, command, ..
        } => Err(warm::exec(found, region.as_deref(), command)),
        Command::Env { format, region } => {
            cmd::env::print(*format, found.profile(), region.as_deref(), &found.creds)
        }
        Command::CredentialProcess => cmd::credential_process::print(&found.creds),
    })
}

fn main() -> ExitCode {
    let mut argv = std::env::args_os();
    let argv0 = argv.next().unwrap_or_else(|| OsString::from("rolepick"));
    let args: Vec<OsString> = argv.collect();
    let result = if let Some(format) = cmd::prompt::plain_form(&args) {
        cmd::prompt::run(&rolepick::cli::PromptArgs { format })
    } else {
        warm::parse(&args)
            .and_then(|req| serve_warm(&req))
            .unwrap_or_else(|| Err(warm::become_full(&argv0, &args)))
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("rolepick: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
