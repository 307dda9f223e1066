//! Every account and role an IAM Identity Center sign-in can reach
//! (ListAccounts + ListAccountRoles, through [`crate::aws::sso::Portal`]),
//! kept in rolepick's private cache directory
//! (`sso-accounts-<sha1 of the session>.json`, no secret in it) and turned
//! into runnable profiles without any per-role configuration.
//!
//! A discovered role is named `<account name>/<role name>`, each part made
//! shell-safe: every character other than ASCII letters, digits and
//! `.`, `_`, `+`, `=`, `@`, `-` becomes `-` (so `My Account` becomes
//! `My-Account`), and a leading `-` becomes `_` (never taken for an option). When two accounts would get the same name, or a profile
//! the user wrote already has it, the account id is added:
//! `<account name>-<account id>/<role name>`. A role the user configured
//! (same session, account and role) is not listed twice: the user's
//! profile wins, and gets the account's name.

use crate::cache::Cache;
use crate::fsutil::Private;
use crate::model::{Account, Model, Origin, Profile, ProfileKind, SsoSession};
use crate::sso::cache::cache_key;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::io::Read;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const VERSION: u32 = 1;

/// One account as the portal listed it, with its roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveredAccount {
    pub account_id: String,
    pub account_name: String,
    pub roles: Vec<String>,
}

/// What the portal listed for one session, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovered {
    version: u32,
    /// The start URL it was listed for: a different one means stale.
    pub start_url: String,
    /// Seconds since the epoch.
    pub fetched_at: u64,
    pub accounts: Vec<DiscoveredAccount>,
}

impl Discovered {
    pub fn new(start_url: &str, at: SystemTime, accounts: Vec<DiscoveredAccount>) -> Discovered {
        Discovered {
            version: VERSION,
            start_url: start_url.to_string(),
            fetched_at: at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            accounts,
        }
    }

    /// Younger than `ttl` at `now` (a date in the future is not).
    pub fn is_fresh(&self, now: SystemTime, ttl: Duration) -> bool {
        let at = UNIX_EPOCH + Duration::from_secs(self.fetched_at);
        now.duration_since(at).is_ok_and(|age| age < ttl)
    }

    pub fn roles(&self) -> usize {
        self.accounts.iter().map(|a| a.roles.len()).sum()
    }
}

/// The cache file of `session`.
pub fn file_name(session: &SsoSession) -> String {
    format!("sso-accounts-{}.json", cache_key(&session.cache_id))
}

/// What the cache holds for `session` (None: nothing usable), quietly.
pub fn read(cache: &Cache, session: &SsoSession) -> Option<Discovered> {
    read_checked(cache, session).ok().flatten()
}

/// [`read`], but a listing that is there and cannot be used (damaged,
/// readable by others, not a file of ours) is said, with the command that
/// rebuilds it: without it the discovered roles are unknown profiles.
fn read_warning(cache: &Cache, session: &SsoSession) -> Option<Discovered> {
    match read_checked(cache, session) {
        Ok(d) => d,
        Err(why) => {
            crate::diag::warn(&format!(
                "the account listing of IAM Identity Center session {:?} ({}) is unusable: {why}; its discovered roles are left out. Run `rolepick sso sync {}` to rebuild it.",
                session.cache_id,
                cache.dir().join(file_name(session)).display(),
                session.cache_id
            ));
            None
        }
    }
}

/// [`read`] without the warning: `Ok(None)` when there is no listing or it
/// is for another start URL or format (stale, not damaged); `Err(why)` when
/// one is there and cannot be used.
fn read_checked(cache: &Cache, session: &SsoSession) -> Result<Option<Discovered>, String> {
    let mut f = match cache.open_checked(&file_name(session)) {
        Private::File(f) => f,
        Private::Missing => return Ok(None),
        Private::Refused(why) => return Err(why),
    };
    let mut text = String::new();
    f.read_to_string(&mut text)
        .map_err(|e| format!("it cannot be read ({e})"))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("it is damaged ({e})"))?;
    if v.get("version").and_then(serde_json::Value::as_u64) != Some(u64::from(VERSION)) {
        // Written by another version of rolepick: stale, listed again.
        return Ok(None);
    }
    let d: Discovered = serde_json::from_value(v).map_err(|e| format!("it is damaged ({e})"))?;
    Ok((d.start_url == session.start_url).then_some(d))
}

pub fn write(
    cache: &Cache,
    session: &SsoSession,
    d: &Discovered,
) -> Result<(), crate::error::Error> {
    let json = serde_json::to_vec_pretty(d)
        .map_err(|e| crate::error::Error::Other(format!("cannot encode the account list: {e}")))?;
    cache.write_private(&file_name(session), &json)
}

/// `s` with every character but ASCII letters, digits and `._+=@-`
/// replaced by `-`, and a leading `-` by `_` (so the name is never taken
/// for an option); never empty.
pub fn shell_safe(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._+=@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with('-') {
        out.replace_range(..out.len().min(1), "_");
    }
    out
}

/// Adds the roles discovered for every Identity Center source of `model`
/// (from the cache) as profiles; gives the user's own SSO profiles their
/// account's name. Quiet about an unusable listing (the warm path, which
/// says nothing unless it serves the request); see [`merge_or_warn`].
pub fn merge(model: &mut Model, cache: &Cache) {
    merge_with(model, cache, read);
}

/// [`merge`], saying which listing could not be used and how to rebuild it.
pub fn merge_or_warn(model: &mut Model, cache: &Cache) {
    merge_with(model, cache, read_warning);
}

fn merge_with(
    model: &mut Model,
    cache: &Cache,
    read: fn(&Cache, &SsoSession) -> Option<Discovered>,
) {
    let sessions: Vec<(String, SsoSession, Origin)> = model
        .sources
        .values()
        .filter_map(|s| Some((s.name.clone(), s.sso()?.clone(), s.origin.clone())))
        .collect();
    if sessions.is_empty() {
        return;
    }
    let mut added = false;
    for (source, session, _) in sessions {
        let Some(d) = read(cache, &session) else {
            continue;
        };
        // Discovered profiles name the listing as their origin.
        let origin = Origin {
            file: cache.dir().join(file_name(&session)),
            line: 0,
        };
        added |= merge_one(model, &source, &session, &origin, &d);
    }
    if added {
        model.profiles.sort_by(|a, b| {
            let ka = (a.account.name.as_ref().or(a.account.id.as_ref()), &a.name);
            let kb = (b.account.name.as_ref().or(b.account.id.as_ref()), &b.name);
            ka.cmp(&kb)
        });
        model.reindex();
    }
}

fn merge_one(
    model: &mut Model,
    source: &str,
    session: &SsoSession,
    origin: &Origin,
    d: &Discovered,
) -> bool {
    // The user's own profiles for this session: (account, role).
    let mut configured: HashSet<(String, String)> = HashSet::new();
    for p in &mut model.profiles {
        if p.source != source {
            continue;
        }
        if let ProfileKind::Sso {
            account_id,
            role_name,
        } = &p.kind
        {
            configured.insert((account_id.clone(), role_name.clone()));
            if p.account.name.is_none() {
                p.account.name = d
                    .accounts
                    .iter()
                    .find(|a| &a.account_id == account_id)
                    .map(|a| a.account_name.clone());
            }
        }
    }
    let mut names: HashSet<String> = model
        .profiles
        .iter()
        .map(|p| p.name.clone())
        .chain(model.broken.keys().cloned())
        .collect();
    // Account names shared by several accounts get the id everywhere.
    let mut seen: HashSet<String> = HashSet::new();
    let mut shared: HashSet<String> = HashSet::new();
    for a in &d.accounts {
        let n = shell_safe(&a.account_name);
        if !seen.insert(n.clone()) {
            shared.insert(n);
        }
    }
    let region = model
        .settings
        .default_region
        .clone()
        .unwrap_or_else(|| session.region.clone());
    let mut added = false;
    let mut accounts: Vec<&DiscoveredAccount> = d.accounts.iter().collect();
    accounts.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    for a in accounts {
        let account = shell_safe(&a.account_name);
        for role in &a.roles {
            if configured.contains(&(a.account_id.clone(), role.clone())) {
                continue;
            }
            let short = format!("{account}/{}", shell_safe(role));
            let name = if shared.contains(&account) || names.contains(&short) {
                format!("{account}-{}/{}", a.account_id, shell_safe(role))
            } else {
                short
            };
            if !names.insert(name.clone()) {
                continue;
            }
            model.profiles.push(Profile {
                name,
                source: source.to_string(),
                region: Some(region.clone()),
                kind: ProfileKind::Sso {
                    account_id: a.account_id.clone(),
                    role_name: role.clone(),
                },
                account: Account {
                    id: Some(a.account_id.clone()),
                    name: Some(a.account_name.clone()),
                    ..Account::default()
                },
                mfa_serial: None,
                origin: origin.clone(),
            });
            added = true;
        }
    }
    added
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Source, SourceKind};

    fn session() -> SsoSession {
        SsoSession {
            cache_id: "corp".into(),
            start_url: "https://d-1.awsapps.com/start".into(),
            region: "eu-west-1".into(),
            scopes: vec![],
        }
    }

    fn model_with(profiles: Vec<Profile>) -> Model {
        let mut m = Model::default();
        let origin = Origin {
            file: "config".into(),
            line: 1,
        };
        m.sources.insert(
            "corp".into(),
            Source {
                name: "corp".into(),
                region: Some("eu-west-1".into()),
                origin,
                kind: SourceKind::Sso(session()),
            },
        );
        m.profiles = profiles;
        m
    }

    fn acct(id: &str, name: &str, roles: &[&str]) -> DiscoveredAccount {
        DiscoveredAccount {
            account_id: id.into(),
            account_name: name.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn discovered_roles_are_named_account_slash_role_made_shell_safe() {
        let mut m = model_with(vec![]);
        let d = Discovered::new(
            &session().start_url,
            UNIX_EPOCH,
            vec![
                acct("111111111111", "My Prod; rm -rf", &["Admin"]),
                acct("222222222222", "dup", &["Read"]),
                acct("333333333333", "dup", &["Read"]),
                acct("444444444444", "-rf", &["Admin"]),
            ],
        );
        merge_one(
            &mut m,
            "corp",
            &session(),
            &Origin {
                file: "x".into(),
                line: 0,
            },
            &d,
        );
        let names: Vec<&str> = m.profiles.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "My-Prod--rm--rf/Admin",
                "dup-222222222222/Read",
                "dup-333333333333/Read",
                "_rf/Admin"
            ]
        );
    }

    #[test]
    fn a_role_the_user_configured_is_not_listed_twice_and_gets_the_account_name() {
        let mine = Profile {
            name: "prod".into(),
            source: "corp".into(),
            region: None,
            kind: ProfileKind::Sso {
                account_id: "111111111111".into(),
                role_name: "Admin".into(),
            },
            account: Account {
                id: Some("111111111111".into()),
                ..Account::default()
            },
            mfa_serial: None,
            origin: Origin {
                file: "config".into(),
                line: 3,
            },
        };
        let mut m = model_with(vec![mine]);
        let d = Discovered::new(
            &session().start_url,
            UNIX_EPOCH,
            vec![acct("111111111111", "prod-acct", &["Admin", "Read"])],
        );
        merge_one(
            &mut m,
            "corp",
            &session(),
            &Origin {
                file: "x".into(),
                line: 0,
            },
            &d,
        );
        let names: Vec<&str> = m.profiles.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["prod", "prod-acct/Read"]);
        assert_eq!(m.profiles[0].account.name.as_deref(), Some("prod-acct"));
    }

    #[test]
    fn a_listing_is_fresh_for_its_ttl_only() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let d = Discovered::new("u", t0, vec![]);
        let ttl = Duration::from_secs(3600);
        assert!(d.is_fresh(t0 + Duration::from_secs(3599), ttl));
        assert!(!d.is_fresh(t0 + Duration::from_secs(3600), ttl));
        assert!(!d.is_fresh(t0 - Duration::from_secs(10), ttl));
    }
}
