//! `rolepick console PROFILE`: opens the AWS console as the role in a
//! browser, or prints the sign-in URL (`--print`).

use crate::admin::console::{self, Target};
use crate::cli::{ConsoleArgs, Global};
use crate::error::Error;
use crate::run::tty::CliMfa;
use std::io::Write;

pub fn run(args: &ConsoleArgs, global: &Global) -> Result<u8, Error> {
    let mfa = CliMfa::from_args(&args.mfa)?;
    let engine = crate::engine::Engine::load(&global.into())?;
    console::sweep_pages(engine.cache());
    let target = Target {
        profile: &args.profile,
        destination: args.destination.as_deref(),
        region: args.region.as_deref(),
        browser: !args.print,
    };
    let url = console::sign_in_url(&engine, &target, &mfa)?;
    if args.print {
        let line = zeroize::Zeroizing::new(format!("{}\n", url.expose()));
        std::io::stdout()
            .write_all(line.as_bytes())
            .and_then(|()| std::io::stdout().flush())
            .map_err(|e| Error::Other(format!("cannot write to stdout: {e}")))?;
        return Ok(0);
    }
    console::open_until_done(&engine, url, &args.profile)
}
