//! `rolepick credential-process PROFILE`: the `credential_process` JSON
//! (Version 1) that AWS SDKs and the CLI read. Prints secrets by design.

use crate::aws::{rfc3339, Credentials};
use crate::cli::{Global, ProfileArgs};
use crate::engine::Refresh;
use crate::error::Error;
use crate::run::tty::CliMfa;
use std::io::Write;

pub fn run(args: &ProfileArgs, global: &Global) -> Result<u8, Error> {
    let mfa = CliMfa::from_args(&args.mfa)?;
    let engine = crate::engine::Engine::load_for(&global.into(), &args.profile)?;
    let c = engine.credentials(&args.profile, &mfa, Refresh::IfNeeded)?;
    print(&c)
}

/// Prints `c` as the `credential_process` JSON (also the small program's,
/// on the warm path).
pub fn print(c: &Credentials) -> Result<u8, Error> {
    let doc = serde_json::json!({
        "Version": 1,
        "AccessKeyId": c.access_key_id,
        "SecretAccessKey": c.secret_access_key.expose(),
        "SessionToken": c.session_token.expose(),
        "Expiration": rfc3339(c.expiration),
    });
    let text = zeroize::Zeroizing::new(doc.to_string());
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", text.as_str())
        .map_err(|e| Error::Other(format!("cannot write to stdout: {e}")))?;
    Ok(0)
}
