//! Reads `~/.aws/config`, `~/.aws/credentials` and rolepick's `config.toml`
//! and merges them into one [`Model`](crate::model::Model). Pure functions over file contents
//! (`from_texts`) plus a thin loader that reads the files (`load`).

pub mod ini;
pub mod rolepick_toml;
pub mod snapshot;

use crate::diag;
use crate::error::Error;
use crate::model::{
    arn_account, Account, Model, Origin, Parent, Profile, ProfileKind, RoleSpec, Settings, Source,
};
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
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path, &e)),
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
}

/// [`load`], also saying what it read (None when some identity could not
/// be told: then nothing is snapshotted).
pub fn load_full(paths: &Paths) -> Result<(Model, Option<Snapshotted>), Error> {
    let ids = snapshot::config_ids(paths);
    let config = read_optional(&paths.aws_config)?;
    // The credentials file holds secrets: only the section names and which
    // of them hold a key are kept; the text is wiped after parsing.
    let credentials = read_optional(&paths.aws_credentials)?.map(zeroize::Zeroizing::new);
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
    let in_vault: BTreeSet<String> = loc.read_index().sources.into_keys().collect();
    let model = build(
        paths,
        config.as_deref(),
        credentials.as_ref().map(|c| c.as_str()),
        toml,
        &in_vault,
        &index_file,
    )?;
    let read = match (ids, index_id) {
        (Some(ids), Some(index_id)) => Some(Snapshotted {
            ids,
            index_file,
            index_id,
        }),
        _ => None,
    };
    Ok((model, read))
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
        &BTreeSet::new(),
        Path::new("vault"),
    )
}

/// `in_vault`: sources whose key is in the vault (from its index).
fn build<'a>(
    paths: &'a Paths,
    config: Option<&'a str>,
    credentials: Option<&'a str>,
    toml: Option<rolepick_toml::Parsed>,
    in_vault: &BTreeSet<String>,
    index_file: &Path,
) -> Result<Model, Error> {
    let mut raws: Raws<'a> = BTreeMap::new();
    if let Some(text) = config {
        for s in ini::parse(&paths.aws_config, text)? {
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

    for name in in_vault {
        let origin = Origin {
            file: index_file.to_path_buf(),
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
    aws_profiles(&raws, &settings, &mut model);
    if let Some(t) = toml {
        merge_toml(t, &raws, &key_holders, &mut model)?;
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

fn aws_profiles(raws: &Raws<'_>, settings: &Settings, model: &mut Model) {
    for (name, raw) in raws {
        if raw.get("role_arn").is_some() {
            continue;
        }
        let name = name.to_string();
        let origin = origin_of(raw, Path::new("~/.aws/config"));
        if raw.has_key {
            let mfa_serial = raw.get("mfa_serial").map(str::to_string);
            model.sources.insert(
                name.clone(),
                Source {
                    name: name.clone(),
                    mfa_serial: mfa_serial.clone(),
                    mfa_process: raw.get("mfa_process").map(str::to_string),
                    region: raw.get("region").map(str::to_string),
                    session_duration: settings.session_duration,
                    credentials_profile: name.clone(),
                    origin: origin.clone(),
                },
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
        } else if let Some(kind) = [
            "sso_session",
            "sso_start_url",
            "credential_process",
            "web_identity_token_file",
        ]
        .into_iter()
        .find(|k| raw.get(k).is_some())
        {
            model.broken.insert(
                name.clone(),
                format!(
                    "profile {name:?} ({origin}) uses {kind}, which rolepick does not handle. Use the aws CLI for it, or give rolepick a profile with role_arn and source_profile."
                ),
            );
        }
    }
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
                let source_region = raws.get(root.as_str()).and_then(|r| r.get("region"));
                let duration_seconds = match raw.get("duration_seconds").map(str::parse::<u32>) {
                    None => None,
                    Some(Ok(d)) => Some(d),
                    Some(Err(_)) => {
                        let (v, o) = raw
                            .prop("duration_seconds")
                            .map(|p| {
                                (
                                    p.value,
                                    Origin {
                                        file: p.file.to_path_buf(),
                                        line: p.line,
                                    },
                                )
                            })
                            .unwrap_or_else(|| ("", origin.clone()));
                        model.broken.insert(
                            name.clone(),
                            format!("profile {name:?}: duration_seconds = {v:?} ({o}) is not a number of seconds. Use e.g. `duration_seconds = 3600`."),
                        );
                        continue;
                    }
                };
                model.profiles.push(Profile {
                    name: name.clone(),
                    source: root,
                    region: raw
                        .get("region")
                        .or(source_region)
                        .map(str::to_string)
                        .or_else(|| settings.default_region.clone()),
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
            let why = if raw.get("credential_source").is_some() {
                "uses credential_source, which rolepick does not handle"
            } else {
                "has role_arn but no source_profile"
            };
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
        model.profiles.push(Profile {
            name: src.name.clone(),
            source: src.name.clone(),
            region: src
                .region
                .clone()
                .or_else(|| model.settings.default_region.clone()),
            kind: ProfileKind::Session,
            account: Account {
                id: src
                    .mfa_serial
                    .as_deref()
                    .and_then(arn_account)
                    .map(str::to_string),
                ..Account::default()
            },
            mfa_serial: src.mfa_serial.clone(),
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
