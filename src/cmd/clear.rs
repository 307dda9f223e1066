//! `rolepick clear [PROFILE [--session] | --all]`: forgets cached
//! credentials and says what it removed (on stderr, like every message).

use crate::cli::{ClearArgs, Global};
use crate::engine::{Clear, Engine};
use crate::error::Error;

pub fn run(args: &ClearArgs, global: &Global) -> Result<u8, Error> {
    let what = match (&args.profile, args.all) {
        (Some(name), false) => Clear::Profile {
            name: name.clone(),
            session: args.session,
        },
        // clap requires one of the two, and not both.
        _ => Clear::All,
    };
    let engine = Engine::load(&global.into())?;
    let done = engine.clear(&what)?;
    let plural = |n: usize, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    let said = match (&what, &done.session_of) {
        (Clear::All, _) => format!(
            "removed {} and {} from the cache",
            plural(done.roles, "cached role credential"),
            plural(done.sessions, "MFA session")
        ),
        (Clear::Profile { name, .. }, session) => {
            let mut parts = Vec::new();
            if done.roles > 0 {
                parts.push(format!("the cached role credentials of profile {name:?}"));
            }
            if let Some(source) = session {
                parts.push(format!(
                    "the MFA session of source {source:?} (every role of {source:?} asks for a new code next time)"
                ));
            }
            if parts.is_empty() {
                format!("nothing cached for profile {name:?}; nothing removed")
            } else {
                format!("removed {}", parts.join(" and "))
            }
        }
    };
    eprintln!("rolepick: {said}");
    Ok(0)
}
