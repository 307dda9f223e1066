//! `rolepick man`: the rolepick(1) manual page (roff) on stdout.

pub mod page;

use crate::error::Error;
use std::io::Write;

pub fn run() -> Result<u8, Error> {
    let page = crate::cmd::man::page::render();
    let mut out = std::io::stdout().lock();
    match out.write_all(page.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(0),
        // `rolepick man | head`: the reader had enough.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(Error::Other(format!("writing the man page to stdout: {e}"))),
    }
}
