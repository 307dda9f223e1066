use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // `rolepick prompt` runs at every shell prompt: skip building the whole
    // clap command tree for its two plain forms (anything else, `--help`
    // included, goes through clap as usual).
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).take(4).collect();
    let fast = match args.as_slice() {
        [p] if p == "prompt" => Some(None),
        [p, f, v] if p == "prompt" && f == "--format" => v.to_str().map(Some),
        _ => None,
    };
    let result = match fast {
        Some(format) => rolepick::cmd::prompt::run(&rolepick::cli::PromptArgs {
            format: format
                .unwrap_or(rolepick::cli::DEFAULT_PROMPT_FORMAT)
                .to_string(),
        }),
        None => rolepick::run(rolepick::cli::Cli::parse()),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("rolepick: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
