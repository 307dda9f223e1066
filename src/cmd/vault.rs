//! `rolepick vault add|import|list|remove|passwd`.

use crate::admin::vault::{self as vault_admin, Listed};
use crate::cli::{Global, ListArgs, VaultCmd};
use crate::diag;
use crate::engine::Engine;
use crate::error::Error;
use crate::model::key_age::{self, Urgency, WARN_DAYS};
use std::io::Write;

pub fn run(cmd: &VaultCmd, global: &Global) -> Result<u8, Error> {
    let engine = Engine::load(&global.into())?;
    match cmd {
        VaultCmd::Add(a) => vault_admin::add(&engine, a),
        VaultCmd::Import(a) => vault_admin::import(&engine, a),
        VaultCmd::List(a) => list(&vault_admin::list(&engine)?, a),
        VaultCmd::Remove(a) => vault_admin::remove(&engine, a),
        VaultCmd::Passwd => vault_admin::passwd(&engine),
    }
}

fn out(text: &str) -> Result<(), Error> {
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(|e| Error::Other(format!("cannot write to stdout: {e}")))
}

fn list(rows: &[Listed], args: &ListArgs) -> Result<u8, Error> {
    let status = |d: Option<i64>| match d.map(key_age::urgency) {
        Some(Urgency::Now) => "ROTATE NOW (90+ days)",
        Some(Urgency::Soon) => "rotate soon (80+ days)",
        Some(Urgency::Fine) => "ok",
        None => "age unknown",
    };
    if args.json {
        let v: Vec<_> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "source": r.source,
                    "backend": r.backend,
                    "access_key_id": r.access_key_id,
                    "user_arn": r.user_arn,
                    "added": r.added,
                    "age_days": r.age_days,
                    "status": status(r.age_days),
                    "rotation": r.rotation,
                    "previous_access_key_id": r.previous,
                })
            })
            .collect();
        out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&v).unwrap_or_default()
        ))?;
    } else if rows.is_empty() {
        eprintln!("rolepick: the vault holds no keys. Add one with `rolepick vault add SOURCE` or `rolepick vault import PROFILE`.");
    } else {
        let mut s = format!(
            "{:<12} {:<22} {:<9} {:<8} {:<24} {}\n",
            "SOURCE", "ACCESS KEY ID", "BACKEND", "AGE", "STATUS", "IAM USER"
        );
        for r in rows {
            s.push_str(&format!(
                "{:<12} {:<22} {:<9} {:<8} {:<24} {}\n",
                r.source,
                r.access_key_id,
                r.backend,
                r.age_days.map_or("?".into(), |d| format!("{d}d")),
                r.rotation.as_ref().map_or_else(
                    || status(r.age_days).to_string(),
                    |st| format!("rotating ({st})")
                ),
                r.user_arn.as_deref().unwrap_or("-")
            ));
        }
        out(&s)?;
        for r in rows {
            if r.rotation.is_some() {
                diag::warn(&format!(
                    "a rotation of source {:?} is unfinished; run `rolepick rotate {} --resume` to finish it.",
                    r.source, r.source
                ));
            }
        }
        let unknown: Vec<&str> = rows
            .iter()
            .filter(|r| r.age_days.is_none())
            .map(|r| r.source.as_str())
            .collect();
        if !unknown.is_empty() {
            diag::warn(&format!(
                "the age of the key of {} is unknown (imported without its creation date), so no rotation reminder comes. Rotate it (`rolepick rotate {}`), or store it again with --created YYYY-MM-DD.",
                unknown
                    .iter()
                    .map(|s| format!("source {s:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                unknown[0]
            ));
        }
        for r in rows {
            if r.age_days.is_some_and(|d| d >= WARN_DAYS) {
                diag::warn(&format!(
                    "the key of source {:?} is {} days old; rotate it (keys should be rotated at least every 90 days).",
                    r.source,
                    r.age_days.unwrap_or_default()
                ));
            }
        }
    }
    Ok(0)
}
