//! `rolepick sso login|logout|sync`: IAM Identity Center sessions. Each
//! calls one engine function and says what happened on stderr.

use crate::cli::{Global, SsoCmd};
use crate::engine::Discover;
use crate::error::Error;
use std::sync::Arc;

fn say(msg: &str) {
    eprintln!("rolepick: {msg}");
}

pub fn run(cmd: &SsoCmd, global: &Global) -> Result<u8, Error> {
    let engine = crate::engine::Engine::load(&global.into())?;
    match cmd {
        SsoCmd::Login(a) => {
            let engine = engine.with_sign_in(Some(Arc::new(
                crate::sso::cli_signin::TerminalSignIn::new(a.no_browser),
            )));
            let (session, signed_in) = engine.sso_login(a.session.as_deref())?;
            if signed_in {
                say(&format!(
                    "signed in to IAM Identity Center session {session:?}"
                ));
            } else {
                say(&format!(
                    "already signed in to IAM Identity Center session {session:?} (token valid or refreshed); `rolepick sso logout {session}` signs out"
                ));
            }
        }
        SsoCmd::Logout(a) => {
            let (session, removed) = engine.sso_logout(a.session.as_deref())?;
            say(&format!(
                "signed out of IAM Identity Center session {session:?}; token and {removed} cached role credential(s) removed"
            ));
        }
        SsoCmd::Sync(a) => {
            let mut engine = engine;
            for r in engine.discover(a.session.as_deref(), Discover::Now)? {
                say(&format!(
                    "session {:?}: {} accounts, {} roles",
                    r.session, r.accounts, r.roles
                ));
            }
        }
    }
    Ok(0)
}
