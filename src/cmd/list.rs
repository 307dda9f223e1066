//! `rolepick list [--json]`: every profile, never a secret.

use crate::aws::rfc3339;
use crate::cli::{Global, ListArgs};
use crate::clock::secs_until;
use crate::diag;
use crate::engine::Engine;
use crate::error::Error;
use crate::model::key_age::{self, Urgency, WARN_DAYS};
use crate::model::ProfileKind;
use crate::timefmt;
use crate::vault::SettingsExt as _;
use std::borrow::Cow;
use std::io::Write;
use std::time::SystemTime;

struct Row<'a> {
    profile: &'a str,
    account_id: Option<&'a str>,
    account_name: Option<&'a str>,
    role: Option<&'a str>,
    role_arn: Option<&'a str>,
    source: &'a str,
    region: Option<&'a str>,
    mfa_serial: Option<&'a str>,
    expires: Option<SystemTime>,
}

fn rows(engine: &Engine) -> Vec<Row<'_>> {
    let mut expiries = engine.cached_expiries();
    engine
        .model()
        .profiles
        .iter()
        .map(|p| {
            let role = match &p.kind {
                ProfileKind::Role(r) => Some(r),
                ProfileKind::Session | ProfileKind::Sso { .. } => None,
            };
            Row {
                profile: &p.name,
                account_id: p.account.id.as_deref(),
                account_name: p.account.name.as_deref(),
                role: p.role_name(),
                role_arn: role.map(|r| r.role_arn.as_str()),
                source: &p.source,
                region: p.region.as_deref(),
                mfa_serial: p.mfa_serial.as_deref(),
                expires: expiries.remove(&p.name),
            }
        })
        .collect()
}

pub fn run(args: &ListArgs, global: &Global) -> Result<u8, Error> {
    let mut engine = crate::engine::Engine::load(&global.into())?;
    // Accounts and roles of Identity Center sessions: from the cache while
    // fresh, else from the portal when a token needs no sign-in.
    engine.discover(None, crate::engine::Discover::IfStale)?;
    let mut not_ours = Vec::new();
    for (name, why) in &engine.model().broken {
        if crate::config::is_not_rolepicks(why) {
            not_ours.push(format!("{:?}", printable(name)));
        } else {
            diag::warn(&format!("profile {name:?} is not usable: {why}"));
        }
    }
    if !not_ours.is_empty() {
        // Said once, as a note: nothing is wrong with these profiles.
        eprintln!(
            "rolepick: not listed, as their credentials are the AWS CLI's to get (credential_process, web_identity_token_file, credential_source): {}",
            not_ours.join(", ")
        );
    }
    let now = engine.now();
    let rows = rows(&engine);
    // Key ages from the vault index: no unlock, no key read.
    let index = engine.model().settings.vault.location().read_index();
    let key_age = |source: &str| index.sources.get(source).and_then(|e| e.age_days(now));
    let in_vault = |source: &str| index.sources.contains_key(source);
    let mut out = String::new();
    if args.json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "profile": r.profile,
                    "account_id": r.account_id,
                    "account_name": r.account_name,
                    "role": r.role,
                    "role_arn": r.role_arn,
                    "source": r.source,
                    "region": r.region,
                    "mfa_serial": r.mfa_serial,
                    "expires": r.expires.map(rfc3339),
                    "expires_in_seconds": r.expires.map(|e| secs_until(now, e).max(0)),
                    "key_age_days": key_age(r.source),
                })
            })
            .collect();
        out = serde_json::to_string_pretty(&v).unwrap_or_default();
        out.push('\n');
    } else if rows.is_empty() {
        diag::warn(&format!(
            "no profiles configured. `rolepick setup` creates an IAM user with MFA, roles and their profiles from an admin key; or add profiles to {} or {} yourself (see config.example.toml).",
            engine.paths().aws_config.display(),
            engine.paths().rolepick.display()
        ));
    } else {
        let table: Vec<[Cow<'_, str>; 7]> = rows
            .iter()
            .map(|r| {
                let account: Cow<'_, str> = match (r.account_name, r.account_id) {
                    (Some(n), Some(i)) => format!("{n} ({i})").into(),
                    (None, Some(i)) => i.into(),
                    (Some(n), None) => n.into(),
                    (None, None) => "-".into(),
                };
                let account = match printable(&account) {
                    Cow::Borrowed(_) => account,
                    Cow::Owned(escaped) => escaped.into(),
                };
                [
                    printable(r.profile),
                    account,
                    printable(r.role.unwrap_or("(session)")),
                    printable(r.source),
                    printable(r.region.unwrap_or("-")),
                    r.expires
                        .map_or_else(|| "-".into(), |e| timefmt::remaining(now, e).into()),
                    match (key_age(r.source), in_vault(r.source)) {
                        (Some(d), _) => key_age_text(d).into(),
                        // In the vault, created on a day rolepick was not told.
                        (None, true) => "?".into(),
                        (None, false) => "-".into(),
                    },
                ]
            })
            .collect();
        let header = [
            "PROFILE", "ACCOUNT", "ROLE", "SOURCE", "REGION", "EXPIRES", "KEY AGE",
        ];
        let mut widths = header.map(str::len);
        for row in &table {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        if let Some(limit) = width_limit() {
            fit(&mut widths, limit);
        }
        // Cells padded by hand: with 10,000 profiles a `format!` per cell
        // was a large part of `list`'s time.
        let mut line = |cells: [&str; 7]| {
            for (i, c) in cells.iter().enumerate() {
                let n = c.chars().count();
                if n > widths[i] {
                    // Cut to the column, the cut said by `…`.
                    out.extend(c.chars().take(widths[i].saturating_sub(1)));
                    out.push('…');
                } else {
                    out.push_str(c);
                }
                if i + 1 < cells.len() {
                    let pad = widths[i].saturating_sub(n) + 2;
                    out.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push('\n');
        };
        line(header);
        for row in &table {
            line(row.each_ref().map(|c| c.as_ref()));
        }
    }
    std::io::stdout()
        .write_all(out.as_bytes())
        .map_err(|e| Error::Other(format!("cannot write to stdout: {e}")))?;
    if !args.json {
        let mut sources: Vec<&str> = rows.iter().map(|r| r.source).collect();
        sources.sort_unstable();
        sources.dedup();
        for s in sources {
            if let Some(d) = key_age(s).filter(|d| *d >= WARN_DAYS) {
                diag::warn(&format!(
                    "the access key of source {s:?} is {d} days old; rotate it with `rolepick rotate {s}`."
                ));
            }
        }
    }
    Ok(0)
}

/// How wide `list`'s table may be: `COLUMNS` when set, else the width of
/// the terminal on stdout; None (never cut) when stdout is not a terminal,
/// so that piped output stays whole (`--json` is for programs anyway).
fn width_limit() -> Option<usize> {
    use std::io::IsTerminal;
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return Some(n);
    }
    if !std::io::stdout().is_terminal() {
        return None;
    }
    crossterm::terminal::size()
        .ok()
        .map(|(w, _)| usize::from(w))
        .filter(|w| *w > 0)
}

/// Narrows `widths` (PROFILE, ACCOUNT, ROLE, SOURCE, REGION, EXPIRES, KEY
/// AGE, two spaces apart) to fit `limit`: the widest of SOURCE, ACCOUNT and
/// ROLE first, PROFILE (the name to type) only when they are down to
/// [`MIN_CUT`]; the short columns never. As narrow as that allows when
/// `limit` is smaller still.
fn fit(widths: &mut [usize; 7], limit: usize) {
    const SEP: usize = 2;
    let total = |w: &[usize; 7]| w.iter().sum::<usize>() + SEP * (w.len() - 1);
    while total(widths) > limit {
        let widest = [3, 1, 2]
            .into_iter()
            .filter(|&i| widths[i] > MIN_CUT)
            .max_by_key(|&i| widths[i]);
        match widest.or((widths[0] > MIN_CUT).then_some(0)) {
            Some(i) => widths[i] -= 1,
            None => break,
        }
    }
}

/// The narrowest a cut column gets.
const MIN_CUT: usize = 12;

/// `s` with its control characters escaped (`\u{1b}`), so that text from
/// the config (`ESC ] 0 ; ... BEL` in a profile name) cannot drive the
/// terminal; other text unchanged.
fn printable(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `12d`, `85d (rotate soon)`, `95d (ROTATE)`.
fn key_age_text(days: i64) -> String {
    match key_age::urgency(days) {
        Urgency::Now => format!("{days}d (ROTATE)"),
        Urgency::Soon => format!("{days}d (rotate soon)"),
        Urgency::Fine => format!("{days}d"),
    }
}

#[cfg(test)]
mod tests {
    use super::fit;

    #[test]
    fn fit_cuts_source_account_and_role_before_the_profile_name() {
        // 40 + 35 + 19 + 38 + 14 + 7 + 7 + 12 = 172 columns.
        let mut w = [40, 35, 19, 38, 14, 7, 7];
        fit(&mut w, 120);
        assert_eq!(w.iter().sum::<usize>() + 12, 120);
        assert_eq!(w[0], 40, "the profile name is whole");
        assert_eq!(&w[4..], &[14, 7, 7], "short columns are never cut");
        // Narrower than that allows: the profile too, down to the minimum.
        let mut w = [40, 35, 19, 38, 14, 7, 7];
        fit(&mut w, 60);
        assert_eq!(w, [12, 12, 12, 12, 14, 7, 7]);
        // Already fitting: unchanged.
        let mut w = [10, 12, 5, 7, 9, 7, 7];
        fit(&mut w, 120);
        assert_eq!(w, [10, 12, 5, 7, 9, 7, 7]);
    }
}
