//! `rolepick console PROFILE`: opens the AWS console as the role in a
//! browser, or prints the sign-in URL (`--print`).

use crate::cli::{ConsoleArgs, Global};
use crate::console::{self, Target, PAGE_LIFETIME};
use crate::error::Error;
use crate::terminal::CliMfa;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub fn run(args: &ConsoleArgs, global: &Global) -> Result<u8, Error> {
    let mfa = CliMfa::from_args(&args.mfa)?;
    let engine = crate::engine::Engine::load(&global.into())?;
    let target = Target {
        profile: &args.profile,
        destination: args.destination.as_deref(),
        region: args.region.as_deref(),
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
    // From here a signal must not leave the page behind: it ends the wait.
    let signal = Arc::new(AtomicUsize::new(0));
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register_usize(sig, Arc::clone(&signal), sig as usize)
            .map_err(|e| Error::Other(format!("cannot set up signal handling: {e}")))?;
    }
    let mut opened = console::open_in_browser(&engine.cache().private_dir()?, &url, false)?;
    drop(url);
    opened.settle()?;
    eprintln!(
        "rolepick: opened the AWS console for {} in your browser; its one-time sign-in page is removed in {} s",
        args.profile,
        PAGE_LIFETIME.as_secs()
    );
    opened.finish(&|| signal.load(Ordering::SeqCst) != 0);
    Ok(match signal.load(Ordering::SeqCst) {
        0 => 0,
        n => u8::try_from(128 + n).unwrap_or(1),
    })
}
