//! `rolepick rotate SOURCE [--dry-run] [--resume] [--delete-other]`.

use crate::admin::rotate::{plan, rotate, Options};
use crate::cli::{Global, RotateArgs};
use crate::error::Error;
use crate::run::tty::CliMfa;
use std::io::Write;

pub fn run(args: &RotateArgs, global: &Global) -> Result<u8, Error> {
    let mfa = CliMfa::from_args(&args.mfa)?;
    let engine = crate::engine::Engine::load(&global.into())?;
    if args.dry_run {
        let mut text = String::from("rolepick rotate would:\n");
        for line in plan(&engine, &args.source)? {
            text.push_str("  ");
            text.push_str(&line);
            text.push('\n');
        }
        return std::io::stdout()
            .write_all(text.as_bytes())
            .map(|()| 0)
            .map_err(|e| Error::Other(format!("cannot write to stdout: {e}")));
    }
    let opts = Options {
        delete_other: args.delete_other,
        verify_timeout: Options::verify_timeout_from_env(),
    };
    let Some(done) = rotate(&engine, &args.source, &mfa, opts, args.resume)? else {
        eprintln!(
            "rolepick: no rotation of source {:?} is in progress; nothing to resume. `rolepick rotate {}` starts one.",
            args.source, args.source
        );
        return Ok(0);
    };
    eprintln!(
        "rolepick: rotated the key of source {:?} ({}): {} -> {}. The old key is deleted in IAM and gone from the vault; the next `exec` asks for a new MFA session.",
        done.source, done.user_arn, done.old_key_id, done.new_key_id
    );
    Ok(0)
}
