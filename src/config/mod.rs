//! Reads `~/.aws/config`, `~/.aws/credentials` and rolepick's `config.toml`
//! and merges them into one [`Model`](crate::model::Model). Pure functions over file contents
//! (`from_texts`) plus a thin loader that reads the files (`load`).

use crate::ini;
pub mod rolepick_toml;
pub mod snapshot;
pub mod writer;

use crate::diag;
use crate::error::Error;
use crate::model::{
    arn_account, Account, IamUser, Model, Origin, Parent, Profile, ProfileKind, RoleSpec, Settings,
    Source, SourceKind, SsoSession,
};
use crate::vault::SettingsExt as _;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Set in subshells whose `AWS_SHARED_CREDENTIALS_FILE` rolepick pointed at
/// `/dev/null` (so SDKs use its endpoint): the real file, for a rolepick
/// run inside that shell.
pub const CREDENTIALS_FILE_VAR: &str = "ROLEPICK_SHARED_CREDENTIALS_FILE";

/// Where the three configuration files are.
#[derive(Debug, Clone)]
pub struct Paths {
    pub aws_config: PathBuf,
    pub aws_credentials: PathBuf,
    pub rolepick: PathBuf,
    /// The rolepick file was named explicitly (`--config`, `ROLEPICK_CONFIG`):
    /// then it must exist.
    pub rolepick_explicit: bool,
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()))
        .unwrap_or_else(|| PathBuf::from("/"))
}

fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

impl Paths {
    /// Standard locations, honouring `AWS_CONFIG_FILE`,
    /// `AWS_SHARED_CREDENTIALS_FILE`, `--config` and `ROLEPICK_CONFIG`.
    pub fn discover(explicit: Option<&Path>) -> Paths {
        let home = home();
        let explicit = explicit
            .map(Path::to_path_buf)
            .or_else(|| env_path("ROLEPICK_CONFIG"));
        let rolepick_explicit = explicit.is_some();
        let rolepick = explicit.unwrap_or_else(|| {
            env_path("XDG_CONFIG_HOME")
                .map(|d| d.join("rolepick"))
                .or_else(|| {
                    directories::ProjectDirs::from("", "", "rolepick")
                        .map(|d| d.config_dir().to_path_buf())
                })
                .unwrap_or_else(|| home.join(".config/rolepick"))
                .join("config.toml")
        });
        Paths {
            aws_config: env_path("AWS_CONFIG_FILE").unwrap_or_else(|| home.join(".aws/config")),
            aws_credentials: env_path(CREDENTIALS_FILE_VAR)
                .or_else(|| env_path("AWS_SHARED_CREDENTIALS_FILE"))
                .unwrap_or_else(|| home.join(".aws/credentials")),
            rolepick,
            rolepick_explicit,
        }
    }
}

fn read_optional(path: &Path) -> Result<Option<String>, Error> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", path, &e)),
    };
    match String::from_utf8(bytes) {
        Ok(t) => Ok(Some(t)),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            // The credentials file holds secrets: wiped when `b` drops.
            let b = zeroize::Zeroizing::new(e.into_bytes());
            let line = b[..at].iter().filter(|c| **c == b'\n').count() + 1;
            Err(Error::Config(format!(
                "{}:{line}: the file is not UTF-8 text (byte {} of the file cannot be read as UTF-8). Save it as UTF-8, or fix that line.",
                path.display(),
                at + 1
            )))
        }
    }
}

/// Reads and merges all configuration files.
pub fn load(paths: &Paths) -> Result<Model, Error> {
    load_full(paths).map(|(model, _)| model)
}

/// What a full parse read, each identity taken before the file was read
/// (so a change during the parse shows as a difference next time): the
/// key of a [`snapshot`] of its result.
#[derive(Debug, Clone)]
pub struct Snapshotted {
    /// AWS config, AWS credentials and rolepick config files.
    pub ids: [snapshot::FileId; 3],
    pub index_file: PathBuf,
    pub index_id: snapshot::FileId,
    /// The vault file: whether it exists decides what a lost index means.
    pub vault_file: PathBuf,
    pub vault_id: snapshot::FileId,
}

/// [`load`], also saying what it read (None when some identity could not
/// be told: then nothing is snapshotted).
pub fn load_full(paths: &Paths) -> Result<(Model, Option<Snapshotted>), Error> {
    let ids = snapshot::config_ids(paths);
    let config = read_optional(&paths.aws_config)?;
    // The credentials file holds secrets: only the section names and which
    // of them hold a key are kept; the text is wiped after parsing.
    let credentials = read_optional(&paths.aws_credentials)?.map(zeroize::Zeroizing::new);
    if let Some(text) = &credentials {
        guard_credentials(paths, ids.map(|i| i[1]), text)?;
    }
    let toml_text = read_optional(&paths.rolepick)?;
    if toml_text.is_none() && paths.rolepick_explicit {
        return Err(Error::Config(format!(
            "config file {} does not exist. Create it (see config.example.toml) or drop --config / ROLEPICK_CONFIG.",
            paths.rolepick.display()
        )));
    }
    let toml = match toml_text.as_deref() {
        Some(text) => Some(rolepick_toml::parse(&paths.rolepick, text)?),
        None => None,
    };
    let loc = toml
        .as_ref()
        .map(|t| t.settings.vault.location())
        .unwrap_or_else(|| crate::vault::store::Location::discover(None));
    let index_file = loc.index_file();
    let index_id = snapshot::FileId::of(&index_file);
    let vault_id = snapshot::FileId::of(&loc.file);
    let backend = toml
        .as_ref()
        .map_or(crate::vault::store::Backend::File, |t| {
            t.settings.vault.backend
        });
    let (in_vault, unindexed) = match loc.try_read_index() {
        Some(index) => (index.sources.into_keys().collect(), false),
        None => {
            // No usable index: the vault may hold any source's key, and
            // only unlocking it (which rebuilds the index) tells which.
            let lost = match backend {
                crate::vault::store::Backend::File => loc.exists(),
                crate::vault::store::Backend::Keyring => true,
                crate::vault::store::Backend::CredentialsFile => false,
            };
            (BTreeSet::new(), lost)
        }
    };
    let model = build(
        paths,
        config.as_deref(),
        credentials.as_ref().map(|c| c.as_str()),
        toml,
        &VaultKnows {
            sources: in_vault,
            unindexed,
            file: if backend == crate::vault::store::Backend::File {
                loc.file.clone()
            } else {
                loc.index_file()
            },
        },
    )?;
    let read = match (ids, index_id, vault_id) {
        (Some(ids), Some(index_id), Some(vault_id)) => Some(Snapshotted {
            ids,
            index_file,
            index_id,
            vault_file: loc.file.clone(),
            vault_id,
        }),
        _ => None,
    };
    Ok((model, read))
}

/// The credentials-file guard, for every command that reads the
/// configuration: a credentials file that holds a long-lived key (a key
/// id without a session token) and that other users can read is refused,
/// with the `chmod 600` that fixes it; one its group can read is warned
/// about. The mode comes from the stat the snapshot's key already took
/// (`id`), so the warm path pays nothing for it: a `chmod` changes the
/// key, and the next run parses (and so checks) again.
fn guard_credentials(paths: &Paths, id: Option<snapshot::FileId>, text: &str) -> Result<(), Error> {
    let path = &paths.aws_credentials;
    let Ok(sections) = ini::parse(path, text) else {
        return Ok(()); // `build` reports where, with the line
    };
    let long_lived = sections
        .iter()
        .any(|s| s.get("aws_access_key_id").is_some() && s.get("aws_session_token").is_none());
    if !long_lived {
        return Ok(());
    }
    let mode = match id.filter(|i| i.exists) {
        Some(i) => i.mode,
        None => {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(path)
                .map_err(|e| Error::io("read", path, &e))?
                .mode()
        }
    };
    crate::vault::keys::check_mode(path, mode)
}

/// What the vault's index says about which sources have a key in it.
struct VaultKnows {
    /// Sources the index lists.
    sources: BTreeSet<String>,
    /// The index is lost (missing or damaged) while keys may be in the
    /// vault: every source a profile names without a key elsewhere is taken
    /// to be in the vault, to be checked when it is unlocked.
    unindexed: bool,
    /// Named as the origin of such sources.
    file: PathBuf,
}

/// One property of a raw profile, borrowed from the file text.
#[derive(Debug)]
struct Prop<'a> {
    key: Cow<'a, str>,
    value: &'a str,
    file: &'a Path,
    line: usize,
}

/// One profile as the AWS files describe it, both files merged. Borrows
/// from the file texts: a config with thousands of profiles is read on
/// every run, so nothing is copied that is not kept.
#[derive(Debug, Default)]
struct RawProfile<'a> {
    origin: Option<Origin>,
    /// Config-file properties first; credentials-file ones only where the
    /// config file has none.
    props: Vec<Prop<'a>>,
    has_key: bool,
}

impl RawProfile<'_> {
    fn prop(&self, key: &str) -> Option<&Prop<'_>> {
        self.props
            .iter()
            .rev()
            .find(|p| p.key == key && !p.value.is_empty())
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.prop(key).map(|p| p.value)
    }
}

type Raws<'a> = BTreeMap<Cow<'a, str>, RawProfile<'a>>;

/// Builds the model from file contents (None = file absent).
pub fn from_texts(
    paths: &Paths,
    config: Option<&str>,
    credentials: Option<&str>,
    rolepick: Option<&str>,
) -> Result<Model, Error> {
    let toml = match rolepick {
        Some(text) => Some(rolepick_toml::parse(&paths.rolepick, text)?),
        None => None,
    };
    build(
        paths,
        config,
        credentials,
        toml,
        &VaultKnows {
            sources: BTreeSet::new(),
            unindexed: false,
            file: PathBuf::from("vault"),
        },
    )
}

/// `vault`: sources whose key is in the vault (from its index).
fn build<'a>(
    paths: &'a Paths,
    config: Option<&'a str>,
    credentials: Option<&'a str>,
    toml: Option<rolepick_toml::Parsed>,
    vault: &VaultKnows,
) -> Result<Model, Error> {
    let mut raws: Raws<'a> = BTreeMap::new();
    // `[sso-session NAME]` sections, by name, kept as raw properties.
    let mut sessions: Raws<'a> = BTreeMap::new();
    if let Some(text) = config {
        for s in ini::parse(&paths.aws_config, text)? {
            if let Some(n) = s.header.strip_prefix("sso-session ") {
                let raw = sessions
                    .entry(Cow::Owned(n.trim().to_string()))
                    .or_default();
                raw.origin.get_or_insert(Origin {
                    file: paths.aws_config.clone(),
                    line: s.line,
                });
                for e in s.entries {
                    raw.props.push(Prop {
                        key: e.key,
                        value: e.value,
                        file: &paths.aws_config,
                        line: e.line,
                    });
                }
                continue;
            }
            let name: Cow<'a, str> = match s.header {
                Cow::Borrowed(h) if h == "default" => Cow::Borrowed(h),
                Cow::Borrowed(h) => match h.strip_prefix("profile ") {
                    Some(n) => Cow::Borrowed(n.trim()),
                    None => continue, // sso-session, services, plugins: not profiles
                },
                Cow::Owned(h) => match h.strip_prefix("profile ") {
                    Some(n) => Cow::Owned(n.trim().to_string()),
                    None if h == "default" => Cow::Owned(h),
                    None => continue,
                },
            };
            let origin = Origin {
                file: paths.aws_config.clone(),
                line: s.line,
            };
            let raw = raws.entry(name).or_default();
            raw.props.reserve(s.entries.len());
            raw.origin.get_or_insert(origin);
            for e in s.entries {
                if e.key == "aws_access_key_id" {
                    raw.has_key = true;
                }
                if e.key == "aws_secret_access_key" || e.key == "aws_session_token" {
                    continue;
                }
                raw.props.push(Prop {
                    key: e.key,
                    value: e.value,
                    file: &paths.aws_config,
                    line: e.line,
                });
            }
        }
    }
    let mut key_holders: BTreeMap<String, Origin> = BTreeMap::new();
    if let Some(text) = credentials {
        for s in ini::parse(&paths.aws_credentials, text)? {
            let has_key = s.get("aws_access_key_id").is_some();
            let origin = Origin {
                file: paths.aws_credentials.clone(),
                line: s.line,
            };
            if has_key {
                key_holders.insert(s.header.to_string(), origin.clone());
            }
            let raw = raws.entry(s.header).or_default();
            raw.has_key |= has_key;
            if raw.origin.is_none() {
                raw.origin = Some(origin);
            }
            for e in s.entries {
                if matches!(
                    e.key.as_ref(),
                    "aws_access_key_id" | "aws_secret_access_key" | "aws_session_token"
                ) || raw.props.iter().any(|p| p.key == e.key)
                {
                    continue;
                }
                raw.props.insert(
                    0,
                    Prop {
                        key: e.key,
                        value: e.value,
                        file: &paths.aws_credentials,
                        line: e.line,
                    },
                );
            }
        }
    }

    let mut in_vault = vault.sources.clone();
    if vault.unindexed {
        in_vault.extend(
            raws.values()
                .filter_map(|r| r.get("source_profile"))
                .filter(|n| {
                    raws.get(*n)
                        .is_none_or(|r| !r.has_key && r.get("role_arn").is_none() && !is_sso_raw(r))
                })
                .map(str::to_string)
                .collect::<Vec<_>>(),
        );
    }
    for name in &in_vault {
        let origin = Origin {
            file: vault.file.clone(),
            line: 0,
        };
        let raw = raws.entry(Cow::Owned(name.clone())).or_default();
        raw.has_key = true;
        if raw.origin.is_none() {
            raw.origin = Some(origin.clone());
            key_holders.insert(name.clone(), origin);
        }
    }
    let mut model = Model::default();
    if let Some(t) = &toml {
        model.settings = t.settings.clone();
    }
    let settings = model.settings.clone();
    aws_profiles(&raws, &sessions, &settings, &mut model);
    let refresh_before_at = toml.as_ref().and_then(|t| t.refresh_before_at.clone());
    if let Some(t) = toml {
        merge_toml(t, &raws, &key_holders, &mut model)?;
    }
    if let Some(at) = refresh_before_at {
        warn_refresh_before_too_long(&model, &at);
    }
    // A key-only profile's account is its user's: the account of the MFA
    // device its roles use.
    let needs_account: BTreeSet<String> = model
        .profiles
        .iter()
        .filter(|p| p.kind == ProfileKind::Session && p.account.id.is_none())
        .map(|p| p.source.clone())
        .collect();
    for source in needs_account {
        let id = model
            .profiles
            .iter()
            .filter(|p| p.source == source)
            .find_map(|p| arn_account(p.mfa_serial.as_deref()?))
            .map(str::to_string);
        for p in &mut model.profiles {
            if p.kind == ProfileKind::Session && p.source == source && p.account.id.is_none() {
                p.account.id.clone_from(&id);
            }
        }
    }
    model.profiles.sort_by(|a, b| {
        let ka = (a.account.name.as_ref().or(a.account.id.as_ref()), &a.name);
        let kb = (b.account.name.as_ref().or(b.account.id.as_ref()), &b.name);
        ka.cmp(&kb)
    });
    model.reindex();
    Ok(model)
}

fn origin_of(raw: &RawProfile, fallback: &Path) -> Origin {
    raw.origin.clone().unwrap_or(Origin {
        file: fallback.to_path_buf(),
        line: 0,
    })
}

fn aws_profiles(raws: &Raws<'_>, sessions: &Raws<'_>, settings: &Settings, model: &mut Model) {
    let mut sso_profiles = Vec::new();
    for (name, raw) in raws {
        if raw.get("role_arn").is_some() {
            continue;
        }
        let name = name.to_string();
        let origin = origin_of(raw, Path::new("~/.aws/config"));
        if raw.has_key {
            if let Err(why) = check_source_values(&name, raw) {
                model.broken.insert(name, why);
                continue;
            }
            let mfa_serial = raw.get("mfa_serial").map(str::to_string);
            model.sources.insert(
                name.clone(),
                Source::iam(
                    &name,
                    IamUser {
                        mfa_serial: mfa_serial.clone(),
                        mfa_process: raw.get("mfa_process").map(str::to_string),
                        session_duration: settings.session_duration,
                        credentials_profile: name.clone(),
                    },
                    raw.get("region").map(str::to_string),
                    origin.clone(),
                ),
            );
            model.profiles.push(Profile {
                name: name.clone(),
                source: name.clone(),
                region: raw
                    .get("region")
                    .map(str::to_string)
                    .or_else(|| settings.default_region.clone()),
                kind: ProfileKind::Session,
                account: Account {
                    id: mfa_serial
                        .as_deref()
                        .and_then(arn_account)
                        .map(str::to_string),
                    ..Account::default()
                },
                mfa_serial,
                origin,
            });
        } else if let Some(sp) = raw.prop("source_profile") {
            model.broken.insert(
                name.clone(),
                format!(
                    "profile {name:?} ({origin}) has source_profile = {:?} ({}:{}) but no role_arn, so there is no role to assume. Add `role_arn = {}` under it, or remove source_profile.",
                    sp.value,
                    sp.file.display(),
                    sp.line,
                    crate::model::ROLE_ARN_SHAPE
                ),
            );
        } else if is_sso_raw(raw) {
            sso_profiles.push((name, raw));
        } else if let Some(of) = raw
            .get("credential_process")
            .and_then(rolepicks_own_process)
        {
            // `credential_process = rolepick credential-process admin`:
            // rolepick's own profile `admin`, seen by other tools.
            diag::debug(&format!(
                "profile {name:?} ({origin}) is rolepick's own credential_process for {of:?}; use {of:?} with rolepick"
            ));
        } else if let Some(kind) = ["credential_process", "web_identity_token_file"]
            .into_iter()
            .find(|k| raw.get(k).is_some())
        {
            model
                .broken
                .insert(name.clone(), not_rolepicks(&name, &origin, kind));
        }
    }
    for (name, raw) in sso_profiles {
        match sso_profile(&name, raw, sessions, settings) {
            Err(why) => {
                model.broken.insert(name, why);
            }
            Ok(None) => {}
            Ok(Some((src, profile))) => {
                match model.sources.get(&src.name) {
                    Some(s) if s.sso().is_none() => {
                        model.broken.insert(
                            name.clone(),
                            format!(
                                "profile {name:?} ({}) uses IAM Identity Center session {:?}, but a profile of that name holds an access key ({}). Rename the [sso-session] section (and sso_session) or that profile.",
                                profile.origin, src.name, s.origin
                            ),
                        );
                        continue;
                    }
                    Some(_) => {}
                    None => {
                        model.sources.insert(src.name.clone(), src);
                    }
                }
                model.profiles.push(profile);
            }
        }
    }
    // A chain's end (an IAM-user key holder or an Identity Center role):
    // its region, for the roles chained from it that set none.
    let end_regions: std::collections::HashMap<&str, Option<&str>> = model
        .profiles
        .iter()
        .map(|p| (p.name.as_str(), p.region.as_deref()))
        .collect();
    let mut chained: Vec<Profile> = Vec::new();
    for (name, raw) in raws {
        let Some(role_arn) = raw.get("role_arn") else {
            continue;
        };
        let name = &name.to_string();
        let origin = origin_of(raw, Path::new("~/.aws/config"));
        match resolve_chain(name, raws) {
            Err(msg) => {
                model.broken.insert(name.clone(), msg);
            }
            Ok((parent, root)) => {
                let region = chain_region(name, raws, &end_regions)
                    .or_else(|| settings.default_region.clone());
                let duration_seconds = match check_role_values(name, raw) {
                    Ok(d) => d,
                    Err(why) => {
                        model.broken.insert(name.clone(), why);
                        continue;
                    }
                };
                chained.push(Profile {
                    name: name.clone(),
                    source: root,
                    region,
                    kind: ProfileKind::Role(RoleSpec {
                        role_arn: role_arn.to_string(),
                        external_id: raw.get("external_id").map(str::to_string),
                        session_name: raw.get("role_session_name").map(str::to_string),
                        duration_seconds,
                        parent,
                    }),
                    account: Account {
                        id: arn_account(role_arn).map(str::to_string),
                        ..Account::default()
                    },
                    mfa_serial: raw.get("mfa_serial").map(str::to_string),
                    origin,
                });
            }
        }
    }
    model.profiles.extend(chained);
    drop_dependents_of_broken(model);
}

/// The region of role profile `name` (whose chain [`resolve_chain`] found
/// sound): its own `region`, else the nearest one up its `source_profile`
/// chain, else the region of the chain's end as that profile resolves it
/// (`end_regions`: an IAM-user key holder's, or an Identity Center role's,
/// which falls back to its session's `sso_region`). The same rule for every
/// kind of source. None when nothing in the chain names one.
fn chain_region(
    name: &str,
    raws: &Raws<'_>,
    end_regions: &std::collections::HashMap<&str, Option<&str>>,
) -> Option<String> {
    let mut cur = name;
    // resolve_chain refused loops; the bound is only a guard.
    for _ in 0..=raws.len() {
        let raw = raws.get(cur)?;
        if let Some(r) = raw.get("region") {
            return Some(r.to_string());
        }
        if cur != name && raw.get("role_arn").is_none() {
            return end_regions.get(cur).copied().flatten().map(str::to_string);
        }
        cur = raw.get("source_profile")?;
    }
    None
}

/// AssumeRole's lifetime when `duration_seconds` does not say.
const DEFAULT_ROLE_SECS: u64 = 3600;

/// `refresh_before` as long as a profile's credentials live means a new
/// AssumeRole (or MFA session) on every run: said once, at load.
fn warn_refresh_before_too_long(model: &Model, at: &Origin) {
    let before = model.settings.refresh_before;
    let lifetime = |p: &Profile| match &p.kind {
        ProfileKind::Role(r) => {
            std::time::Duration::from_secs(r.duration_seconds.map_or(DEFAULT_ROLE_SECS, u64::from))
        }
        ProfileKind::Sso { .. } => std::time::Duration::from_secs(DEFAULT_ROLE_SECS),
        ProfileKind::Session => model
            .sources
            .get(&p.source)
            .and_then(Source::iam_user)
            .map_or(model.settings.session_duration, |u| u.session_duration),
    };
    let short: Vec<(&str, std::time::Duration)> = model
        .profiles
        .iter()
        .map(|p| (p.name.as_str(), lifetime(p)))
        .filter(|(_, l)| before >= *l)
        .collect();
    if let Some((name, life)) = short.first() {
        let others = match short.len() - 1 {
            0 => String::new(),
            1 => " (and 1 other profile)".to_string(),
            n => format!(" (and {n} other profiles)"),
        };
        diag::warn(&format!(
            "refresh_before = {} ({at}) is not shorter than the {} credentials of profile {name:?}{others}: they would be renewed on every run. Lower refresh_before (the default is 5m) or raise duration_seconds.",
            humantime::format_duration(before),
            humantime::format_duration(*life),
        ));
    }
}

/// A profile whose source or parent profile is not usable is not usable
/// either; says which one and why.
fn drop_dependents_of_broken(model: &mut Model) {
    loop {
        let bad: Vec<(String, String)> = model
            .profiles
            .iter()
            .filter_map(|p| {
                let parent = match &p.kind {
                    ProfileKind::Role(RoleSpec {
                        parent: Parent::Profile(x),
                        ..
                    }) => Some(x),
                    _ => None,
                };
                [Some(&p.source), parent]
                    .into_iter()
                    .flatten()
                    .find(|d| **d != p.name && model.broken.contains_key(d.as_str()))
                    .map(|d| {
                        (
                            p.name.clone(),
                            format!(
                                "profile {:?} gets its credentials from profile {d:?}, which is not usable: {}",
                                p.name, model.broken[d.as_str()]
                            ),
                        )
                    })
            })
            .collect();
        if bad.is_empty() {
            return;
        }
        for (name, why) in bad {
            model.profiles.retain(|p| p.name != name);
            model.sources.remove(&name);
            model.broken.insert(name, why);
        }
    }
}

/// `key`'s value in `raw` when it has the right shape; else a message
/// quoting it at its file:line and saying what is expected.
fn checked<'r>(
    name: &str,
    raw: &'r RawProfile<'_>,
    key: &str,
    ok: fn(&str) -> bool,
    shape: &str,
) -> Result<Option<&'r str>, String> {
    let Some(p) = raw.prop(key) else {
        return Ok(None);
    };
    if ok(p.value) {
        Ok(Some(p.value))
    } else {
        Err(format!(
            "profile {name:?}: {key} = {:?} ({}:{}) is not {shape}. Fix that line.",
            p.value,
            p.file.display(),
            p.line
        ))
    }
}

const REGION_SHAPE: &str = "a region name (such as us-east-1 or eu-west-3)";

/// Longest and shortest role session AWS allows (`duration_seconds`).
pub const ROLE_SECS: std::ops::RangeInclusive<u32> = 900..=43_200;

fn check_source_values(name: &str, raw: &RawProfile<'_>) -> Result<(), String> {
    checked(
        name,
        raw,
        "mfa_serial",
        crate::model::is_mfa_serial,
        crate::model::MFA_SERIAL_SHAPE,
    )?;
    checked(
        name,
        raw,
        "region",
        crate::model::is_region_name,
        REGION_SHAPE,
    )?;
    Ok(())
}

/// Checks a role profile's own values; returns its `duration_seconds`.
fn check_role_values(name: &str, raw: &RawProfile<'_>) -> Result<Option<u32>, String> {
    checked(
        name,
        raw,
        "role_arn",
        crate::model::is_role_arn,
        &format!("an IAM role ARN ({})", crate::model::ROLE_ARN_SHAPE),
    )?;
    check_source_values(name, raw)?;
    let Some(p) = raw.prop("duration_seconds") else {
        return Ok(None);
    };
    match p.value.parse::<u32>() {
        Ok(d) if ROLE_SECS.contains(&d) => Ok(Some(d)),
        Ok(d) => Err(format!(
            "profile {name:?}: duration_seconds = {d} ({}:{}) is outside what AWS allows for a role session ({} to {}). Use e.g. `duration_seconds = 3600`; the role's own maximum may be lower still.",
            p.file.display(),
            p.line,
            ROLE_SECS.start(),
            ROLE_SECS.end()
        )),
        Err(_) => Err(format!(
            "profile {name:?}: duration_seconds = {:?} ({}:{}) is not a number of seconds. Use e.g. `duration_seconds = 3600`.",
            p.value,
            p.file.display(),
            p.line
        )),
    }
}

/// Whether a profile of the AWS config is an IAM Identity Center one.
fn is_sso_raw(raw: &RawProfile<'_>) -> bool {
    [
        "sso_session",
        "sso_start_url",
        "sso_account_id",
        "sso_role_name",
    ]
    .iter()
    .any(|k| raw.get(k).is_some())
}

/// `key = value` of `[sso-session NAME]` when it has the right shape.
fn session_value<'r>(
    session: &str,
    raw: &'r RawProfile<'_>,
    key: &str,
    ok: fn(&str) -> bool,
    shape: &str,
) -> Result<&'r str, String> {
    let origin = origin_of(raw, Path::new("~/.aws/config"));
    let Some(p) = raw.prop(key) else {
        return Err(format!(
            "[sso-session {session}] ({origin}) has no {key}. Add `{key} = ...` ({shape}) under it."
        ));
    };
    if ok(p.value) {
        Ok(p.value)
    } else {
        Err(format!(
            "[sso-session {session}]: {key} = {} ({}:{}) is not {shape}. Fix that line.",
            crate::error::quote_short(p.value),
            p.file.display(),
            p.line
        ))
    }
}

/// `sso_registration_scopes = a, b` (comma-separated).
fn scopes_of(label: &str, raw: &RawProfile<'_>) -> Result<Vec<String>, String> {
    let Some(p) = raw.prop("sso_registration_scopes") else {
        return Ok(Vec::new());
    };
    let scopes: Vec<String> = p
        .value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    match scopes.iter().find(|s| !crate::model::is_scope(s)) {
        Some(_) => Err(format!(
            "{label}: sso_registration_scopes = {} ({}:{}) is not a comma-separated list of OAuth scopes (such as sso:account:access). Fix that line.",
            crate::error::quote_short(p.value),
            p.file.display(),
            p.line
        )),
        None => Ok(scopes),
    }
}

/// An Identity Center profile (`sso_session` or the legacy inline
/// `sso_start_url` + `sso_region`) with its session as a source; None for a
/// profile that names no role (one only for `aws sso login`).
fn sso_profile(
    name: &str,
    raw: &RawProfile<'_>,
    sessions: &Raws<'_>,
    settings: &Settings,
) -> Result<Option<(Source, Profile)>, String> {
    let origin = origin_of(raw, Path::new("~/.aws/config"));
    let (source_name, session, source_origin) = if let Some(sp) = raw.prop("sso_session") {
        let Some(sraw) = sessions.get(sp.value) else {
            return Err(format!(
                "profile {name:?}: sso_session = {} ({}:{}) names no [sso-session {}] section. Add that section (with sso_start_url and sso_region) or fix the name.",
                crate::error::quote_short(sp.value),
                sp.file.display(),
                sp.line,
                sp.value
            ));
        };
        let s = sp.value;
        let start_url = session_value(
            s,
            sraw,
            "sso_start_url",
            crate::model::is_start_url,
            crate::model::START_URL_SHAPE,
        )?;
        let region = session_value(
            s,
            sraw,
            "sso_region",
            crate::model::is_region_name,
            REGION_SHAPE,
        )?;
        let session = SsoSession {
            cache_id: s.to_string(),
            start_url: start_url.to_string(),
            region: region.to_string(),
            scopes: scopes_of(&format!("[sso-session {s}]"), sraw)?,
        };
        (
            s.to_string(),
            session,
            origin_of(sraw, Path::new("~/.aws/config")),
        )
    } else {
        let label = format!("profile {name:?} ({origin})");
        let url = checked(
            name,
            raw,
            "sso_start_url",
            crate::model::is_start_url,
            crate::model::START_URL_SHAPE,
        )?
        .ok_or_else(|| {
            format!("{label} has sso_account_id or sso_role_name but neither sso_session nor sso_start_url. Add `sso_session = NAME` naming an [sso-session NAME] section.")
        })?;
        let region = checked(
            name,
            raw,
            "sso_region",
            crate::model::is_region_name,
            REGION_SHAPE,
        )?
        .ok_or_else(|| {
            format!("{label} has sso_start_url but no sso_region. Add `sso_region = ...` (the region of your IAM Identity Center).")
        })?;
        let session = SsoSession {
            cache_id: url.to_string(),
            start_url: url.to_string(),
            region: region.to_string(),
            scopes: scopes_of(&label, raw)?,
        };
        (url.to_string(), session, origin.clone())
    };
    let account = checked(
        name,
        raw,
        "sso_account_id",
        crate::model::is_account_id,
        "a 12-digit AWS account id",
    )?;
    let role = checked(
        name,
        raw,
        "sso_role_name",
        crate::model::is_sso_role_name,
        "a permission set (role) name (letters, digits and +=,.@_-)",
    )?;
    checked(
        name,
        raw,
        "region",
        crate::model::is_region_name,
        REGION_SHAPE,
    )?;
    let (account_id, role_name) = match (account, role) {
        (Some(a), Some(r)) => (a, r),
        (None, None) => return Ok(None),
        (Some(_), None) => {
            return Err(format!(
                "profile {name:?} ({origin}) has sso_account_id but no sso_role_name. Add `sso_role_name = ROLE` (the permission set to use)."
            ))
        }
        (None, Some(_)) => {
            return Err(format!(
                "profile {name:?} ({origin}) has sso_role_name but no sso_account_id. Add `sso_account_id = 123456789012`."
            ))
        }
    };
    let source = Source {
        name: source_name.clone(),
        region: Some(session.region.clone()),
        origin: source_origin,
        kind: SourceKind::Sso(session.clone()),
    };
    let profile = Profile {
        name: name.to_string(),
        source: source_name,
        region: raw
            .get("region")
            .map(str::to_string)
            .or_else(|| settings.default_region.clone())
            .or(Some(session.region)),
        kind: ProfileKind::Sso {
            account_id: account_id.to_string(),
            role_name: role_name.to_string(),
        },
        account: Account {
            id: Some(account_id.to_string()),
            ..Account::default()
        },
        mfa_serial: None,
        origin,
    };
    Ok(Some((source, profile)))
}

/// Ends the reason a profile is not usable when its credentials are not
/// rolepick's to get (`credential_process`, `web_identity_token_file`,
/// `credential_source`): `list` names such profiles once, quietly, and
/// warns only about profiles that are wrong.
pub const NOT_ROLEPICKS: &str =
    "rolepick leaves such profiles to the AWS CLI and SDKs: use them there, or give rolepick a profile with role_arn and source_profile.";

/// Whether `why` (a reason in [`Model::broken`]) says the profile is not
/// rolepick's to handle rather than wrong.
pub fn is_not_rolepicks(why: &str) -> bool {
    why.ends_with(NOT_ROLEPICKS)
}

fn not_rolepicks(name: &str, origin: &Origin, kind: &str) -> String {
    format!("profile {name:?} ({origin}) uses {kind}; {NOT_ROLEPICKS}")
}

/// The profile a `credential_process` command asks rolepick for, when the
/// command is rolepick's own (`rolepick credential-process NAME`, by any
/// path, global options allowed); None for any other command.
fn rolepicks_own_process(command: &str) -> Option<&str> {
    let mut words = command
        .split_whitespace()
        .map(|w| w.trim_matches(|c| c == '"' || c == '\''));
    let program = words.next()?;
    let base = program.rsplit('/').next().unwrap_or(program);
    if !matches!(base, "rolepick" | "rolepick-full") {
        return None;
    }
    let mut words = words.skip_while(|w| *w != "credential-process");
    words.next()?;
    words.find(|w| !w.starts_with('-'))
}

/// Follows `source_profile` from role profile `name` to the key holder.
/// Returns the direct parent and the root source name.
fn resolve_chain(name: &str, raws: &Raws<'_>) -> Result<(Parent, String), String> {
    let mut chain: Vec<&str> = vec![name];
    let mut cur = name;
    loop {
        let raw = &raws[cur];
        // Built only for an error message.
        let origin = || origin_of(raw, Path::new("~/.aws/config"));
        let Some(next) = raw.get("source_profile") else {
            if let Some(kind) = ["credential_source", "web_identity_token_file"]
                .into_iter()
                .find(|k| raw.get(k).is_some())
            {
                return Err(not_rolepicks(cur, &origin(), kind));
            }
            let why = "has role_arn but no source_profile";
            return Err(format!(
                "profile {cur:?} ({}) {why}. Add `source_profile = NAME` naming the profile that holds your access key.",
                origin()
            ));
        };
        if chain.contains(&next) {
            chain.push(next);
            return Err(format!(
                "source_profile loop: {} ({}). Point one of them at the profile that holds your access key.",
                chain.join(" -> "),
                origin()
            ));
        }
        let Some(next_raw) = raws.get(next) else {
            return Err(format!(
                "profile {cur:?} ({}) names source_profile = {next:?}, which is not defined in the config or credentials file. Define [profile {next}] or fix the name.",
                origin()
            ));
        };
        chain.push(next);
        if next_raw.get("role_arn").is_none() && !next_raw.has_key && is_sso_raw(next_raw) {
            // An Identity Center role: its credentials are the parent's.
            let source = next_raw
                .get("sso_session")
                .or_else(|| next_raw.get("sso_start_url"))
                .unwrap_or(next);
            return Ok((Parent::Profile(next.to_string()), source.to_string()));
        }
        if next_raw.get("role_arn").is_none() {
            if !next_raw.has_key {
                return Err(format!(
                    "profile {cur:?} ({}) gets credentials from source_profile {next:?}, which has no access key: none under [{next}] in the credentials file, none in rolepick's vault. Store it with `rolepick vault add {next}`, or add aws_access_key_id and aws_secret_access_key under [{next}] in the credentials file.",
                    origin()
                ));
            }
            let parent = if chain.len() == 2 {
                Parent::Source
            } else {
                Parent::Profile(chain[1].to_string())
            };
            return Ok((parent, next.to_string()));
        }
        cur = next;
    }
}

fn merge_toml(
    t: rolepick_toml::Parsed,
    raws: &Raws<'_>,
    key_holders: &BTreeMap<String, Origin>,
    model: &mut Model,
) -> Result<(), Error> {
    // Every name from config.toml must be new, except a source whose key
    // lives in the credentials file under the same name.
    let clash = |name: &str, toml_origin: &Origin, model: &Model| -> Option<Error> {
        let existing = model
            .profiles
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.origin.clone())
            .or_else(|| {
                model
                    .broken
                    .get(name)
                    .map(|_| origin_of(&raws[name], Path::new("?")))
            })?;
        Some(Error::Config(format!(
            "profile {name:?} is defined twice: {existing} and {toml_origin}. Rename one of them, or remove it from one file."
        )))
    };
    for src in t.sources {
        let is_plain_key_holder = key_holders.contains_key(&src.name)
            && raws.get(src.name.as_str()).is_some_and(|r| {
                r.origin
                    .as_ref()
                    .is_some_and(|o| key_holders.get(&src.name) == Some(o))
            });
        if is_plain_key_holder {
            // The credentials-file entry is this source's key: not a clash.
            model.sources.remove(&src.name);
            model.profiles.retain(|p| p.name != src.name);
        } else if let Some(e) = clash(&src.name, &src.origin, model) {
            return Err(e);
        }
        if src.sso().is_some() {
            model.sources.insert(src.name.clone(), src);
            continue;
        }
        model.profiles.push(Profile {
            name: src.name.clone(),
            source: src.name.clone(),
            region: src
                .region
                .clone()
                .or_else(|| model.settings.default_region.clone()),
            kind: ProfileKind::Session,
            account: Account {
                id: src.mfa_serial().and_then(arn_account).map(str::to_string),
                ..Account::default()
            },
            mfa_serial: src.mfa_serial().map(str::to_string),
            origin: src.origin.clone(),
        });
        model.sources.insert(src.name.clone(), src);
    }
    for p in t.profiles {
        if let Some(e) = clash(&p.name, &p.origin, model) {
            return Err(e);
        }
        model.profiles.push(p);
    }
    // Roles named by config.toml must have a source.
    for p in &model.profiles {
        if !model.sources.contains_key(&p.source) {
            return Err(Error::Config(format!(
                "profile {:?} ({}) uses source {:?}, which is not defined. Add a [[source]] with that name to {}.",
                p.name,
                p.origin,
                p.source,
                p.origin.file.display()
            )));
        }
    }
    diag::debug(&format!("merged {} profiles", model.profiles.len()));
    Ok(())
}

#[cfg(test)]
mod tests;
