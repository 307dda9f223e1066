//! rolepick's own `config.toml`: sources (IAM users + MFA device), accounts
//! and their roles, for people who prefer one file to `~/.aws/config`.
//! Strict: unknown keys are errors, reported with file and line.

use crate::error::Error;
use crate::model::{Account, Origin, Parent, Profile, ProfileKind, RoleSpec, Settings, Source};
use crate::vault::store::Backend;
use crate::vault::VaultSettings;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    settings: SettingsToml,
    #[serde(default)]
    source: Vec<SourceToml>,
    #[serde(default)]
    account: Vec<AccountToml>,
    #[serde(default)]
    vault: VaultToml,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct VaultToml {
    #[serde(default)]
    backend: Backend,
    path: Option<String>,
    passphrase_command: Option<String>,
}

/// `~/x` -> `$HOME/x`; relative paths are taken from the config file's dir.
fn expand(path: &str, config: &Path) -> PathBuf {
    if let Some(rest) = path.strip_prefix("~/") {
        if let Some(home) = std::env::var_os("HOME") {
            return PathBuf::from(home).join(rest);
        }
    }
    let p = PathBuf::from(path);
    if p.is_relative() {
        config.parent().map_or(p.clone(), |d| d.join(&p))
    } else {
        p
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SettingsToml {
    #[serde(default, deserialize_with = "duration")]
    session_duration: Option<Duration>,
    #[serde(default, deserialize_with = "duration")]
    refresh_before: Option<Duration>,
    default_region: Option<String>,
    subshell_credentials: Option<crate::model::SubshellCredentials>,
    #[serde(default, deserialize_with = "duration")]
    sso_discovery_ttl: Option<Duration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceToml {
    name: Spanned<String>,
    mfa_serial: Option<String>,
    mfa_process: Option<String>,
    region: Option<String>,
    #[serde(default, deserialize_with = "duration")]
    session_duration: Option<Duration>,
    credentials_profile: Option<String>,
    /// An Identity Center source: the start URL, its region and scopes.
    sso_start_url: Option<String>,
    sso_region: Option<String>,
    sso_registration_scopes: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountToml {
    name: Spanned<String>,
    id: String,
    region: Option<String>,
    source: Option<String>,
    group: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    roles: Vec<Spanned<RoleToml>>,
}

/// A role: either just its name (`"admin"`) or a table with options.
#[derive(Default)]
struct RoleToml {
    name: String,
    profile: Option<String>,
    duration_seconds: Option<u32>,
    external_id: Option<String>,
    session_name: Option<String>,
    region: Option<String>,
    arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleTable {
    name: String,
    profile: Option<String>,
    duration_seconds: Option<u32>,
    external_id: Option<String>,
    session_name: Option<String>,
    region: Option<String>,
    arn: Option<String>,
}

impl<'de> Deserialize<'de> for RoleToml {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RoleToml;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"a role name ("admin") or a table ({ name = "admin", duration_seconds = 3600 })"#)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RoleToml, E> {
                Ok(RoleToml {
                    name: v.to_string(),
                    ..RoleToml::default()
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<RoleToml, A::Error> {
                let t = RoleTable::deserialize(de::value::MapAccessDeserializer::new(m))?;
                Ok(RoleToml {
                    name: t.name,
                    profile: t.profile,
                    duration_seconds: t.duration_seconds,
                    external_id: t.external_id,
                    session_name: t.session_name,
                    region: t.region,
                    arn: t.arn,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// `"12h"`, `"90m"` (humantime) or a number of seconds.
fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = Option<Duration>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(r#"a duration such as "12h" or "30m", or a number of seconds"#)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            u64::try_from(v)
                .map(|s| Some(Duration::from_secs(s)))
                .map_err(|_| E::custom(format!("duration {v} is negative")))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            humantime::parse_duration(v).map(Some).map_err(|e| {
                E::custom(format!(
                    "invalid duration {v:?}: {e} (use e.g. \"12h\", \"30m\")"
                ))
            })
        }
    }
    d.deserialize_any(V)
}

/// What config.toml contributes to the model.
pub struct Parsed {
    pub settings: Settings,
    /// Where `refresh_before` is set, when it is.
    pub refresh_before_at: Option<Origin>,
    pub sources: Vec<Source>,
    pub profiles: Vec<Profile>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

/// Line of `key` in the table holding byte `offset` of `text` (the table's
/// header line when the key is not found: a value from elsewhere).
fn key_line(text: &str, offset: usize, key: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let at = line_of(text, offset).saturating_sub(1);
    let is_header = |l: &str| l.trim_start().starts_with('[');
    let start = (0..=at.min(lines.len().saturating_sub(1)))
        .rev()
        .find(|&i| lines.get(i).is_some_and(|l| is_header(l)))
        .unwrap_or(0);
    let is_key = |l: &str| {
        l.trim_start()
            .strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='))
    };
    lines
        .iter()
        .enumerate()
        .skip(start)
        .take_while(|(i, l)| *i == start || !is_header(l))
        .find(|(_, l)| is_key(l))
        .map_or(start + 1, |(i, _)| i + 1)
}

/// An Identity Center `[[source]]` (it has `sso_start_url`): the start URL
/// and region checked, no IAM-user option beside them.
#[allow(clippy::too_many_arguments)]
fn sso_source(
    path: &Path,
    text: &str,
    at: usize,
    name: String,
    url: String,
    region: Option<String>,
    scopes: Option<Vec<String>>,
    origin: Origin,
    iam_options: &[(&str, bool)],
) -> Result<Source, Error> {
    if let Some((key, _)) = iam_options.iter().find(|(_, set)| *set) {
        return Err(Error::Config(format!(
            "{}:{}: {key} in source {name:?}, which is an IAM Identity Center source (it has sso_start_url). Remove {key}: Identity Center sources take sso_start_url, sso_region and sso_registration_scopes.",
            path.display(),
            key_line(text, at, key)
        )));
    }
    check_opt(
        path,
        key_line(text, at, "sso_start_url"),
        "sso_start_url",
        Some(&url),
        crate::model::is_start_url,
        crate::model::START_URL_SHAPE,
    )?;
    let Some(region) = region else {
        return Err(Error::Config(format!(
            "{}:{}: source {name:?} has sso_start_url but no sso_region. Add `sso_region = \"us-east-1\"` (the region of your IAM Identity Center).",
            path.display(),
            origin.line
        )));
    };
    check_region(
        path,
        key_line(text, at, "sso_region"),
        "sso_region",
        Some(&region),
    )?;
    let scopes = scopes.unwrap_or_default();
    for sc in &scopes {
        check_opt(
            path,
            key_line(text, at, "sso_registration_scopes"),
            "sso_registration_scopes",
            Some(sc),
            crate::model::is_scope,
            "an OAuth scope (such as sso:account:access)",
        )?;
    }
    Ok(Source {
        region: Some(region.clone()),
        kind: crate::model::SourceKind::Sso(crate::model::SsoSession {
            cache_id: name.clone(),
            start_url: url,
            region,
            scopes,
        }),
        name,
        origin,
    })
}

/// The lifetimes `sts:GetSessionToken` allows for an IAM user's session.
pub const SESSION_SECS: std::ops::RangeInclusive<u64> = 900..=129_600;

/// A value of the wrong shape in config.toml, at its line.
fn bad_value(path: &Path, line: usize, key: &str, value: &str, shape: &str) -> Error {
    Error::Config(format!(
        "{}:{line}: {key} = {value:?} is not {shape}. Fix that line (see config.example.toml).",
        path.display()
    ))
}

fn check_session_duration(path: &Path, line: usize, d: Option<Duration>) -> Result<(), Error> {
    match d {
        Some(d) if !SESSION_SECS.contains(&d.as_secs()) => Err(Error::Config(format!(
            "{}:{line}: session_duration = {}s is outside what AWS allows for an MFA session (GetSessionToken: {} to {} seconds, 15m to 36h). Use e.g. session_duration = \"12h\".",
            path.display(),
            d.as_secs(),
            SESSION_SECS.start(),
            SESSION_SECS.end()
        ))),
        _ => Ok(()),
    }
}

fn check_opt(
    path: &Path,
    line: usize,
    key: &str,
    value: Option<&str>,
    ok: fn(&str) -> bool,
    shape: &str,
) -> Result<(), Error> {
    match value {
        Some(v) if !ok(v) => Err(bad_value(path, line, key, v, shape)),
        _ => Ok(()),
    }
}

/// `key = value` at `line`, when set, must be shaped like a region name.
fn check_region(path: &Path, line: usize, key: &str, value: Option<&str>) -> Result<(), Error> {
    check_opt(
        path,
        line,
        key,
        value,
        crate::model::is_region_name,
        "a region name (such as us-east-1 or eu-west-3)",
    )
}

pub fn parse(path: &Path, text: &str) -> Result<Parsed, Error> {
    let file: File = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |s| line_of(text, s.start));
        Error::Config(format!(
            "malformed {}:{line}: {}. See config.example.toml for the format.",
            path.display(),
            e.message().trim_end_matches('\n')
        ))
    })?;
    let origin = |offset: usize| Origin {
        file: path.to_path_buf(),
        line: line_of(text, offset),
    };
    let settings_at = text.find("[settings]").unwrap_or(0);
    check_session_duration(
        path,
        key_line(text, settings_at, "session_duration"),
        file.settings.session_duration,
    )?;
    check_region(
        path,
        key_line(text, settings_at, "default_region"),
        "default_region",
        file.settings.default_region.as_deref(),
    )?;
    let refresh_before_at = file.settings.refresh_before.map(|_| Origin {
        file: path.to_path_buf(),
        line: key_line(text, settings_at, "refresh_before"),
    });
    let defaults = Settings::default();
    let settings = Settings {
        session_duration: file
            .settings
            .session_duration
            .unwrap_or(defaults.session_duration),
        refresh_before: file
            .settings
            .refresh_before
            .unwrap_or(defaults.refresh_before),
        default_region: file.settings.default_region,
        subshell_credentials: file.settings.subshell_credentials.unwrap_or_default(),
        sso_discovery_ttl: file
            .settings
            .sso_discovery_ttl
            .unwrap_or(defaults.sso_discovery_ttl),
        vault: VaultSettings {
            backend: file.vault.backend,
            path: file.vault.path.as_deref().map(|p| expand(p, path)),
            passphrase_command: file.vault.passphrase_command,
        },
    };
    let mut sources = Vec::new();
    for s in file.source {
        let at = s.name.span().start;
        let o = origin(at);
        check_session_duration(
            path,
            key_line(text, at, "session_duration"),
            s.session_duration,
        )?;
        check_opt(
            path,
            key_line(text, at, "mfa_serial"),
            "mfa_serial",
            s.mfa_serial.as_deref(),
            crate::model::is_mfa_serial,
            crate::model::MFA_SERIAL_SHAPE,
        )?;
        check_region(
            path,
            key_line(text, at, "region"),
            "region",
            s.region.as_deref(),
        )?;
        let name = s.name.into_inner();
        if let Some(url) = s.sso_start_url {
            sources.push(sso_source(
                path,
                text,
                at,
                name,
                url,
                s.sso_region,
                s.sso_registration_scopes,
                o,
                &[
                    ("mfa_serial", s.mfa_serial.is_some()),
                    ("mfa_process", s.mfa_process.is_some()),
                    ("session_duration", s.session_duration.is_some()),
                    ("credentials_profile", s.credentials_profile.is_some()),
                    ("region", s.region.is_some()),
                ],
            )?);
            continue;
        }
        for (key, set) in [
            ("sso_region", s.sso_region.is_some()),
            (
                "sso_registration_scopes",
                s.sso_registration_scopes.is_some(),
            ),
        ] {
            if set {
                return Err(Error::Config(format!(
                    "{}:{}: {key} in source {name:?}, which has no sso_start_url. Add `sso_start_url = \"https://...\"` to make it an IAM Identity Center source, or remove {key}.",
                    path.display(),
                    key_line(text, at, key)
                )));
            }
        }
        sources.push(Source::iam(
            &name,
            crate::model::IamUser {
                credentials_profile: s.credentials_profile.unwrap_or_else(|| name.clone()),
                mfa_serial: s.mfa_serial,
                mfa_process: s.mfa_process,
                session_duration: s.session_duration.unwrap_or(settings.session_duration),
            },
            s.region,
            o,
        ));
    }
    let mut profiles = Vec::new();
    for a in file.account {
        let account_at = a.name.span().start;
        let ao = origin(account_at);
        let account_name = a.name.into_inner();
        if a.id.len() != 12 || !a.id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::Config(format!(
                "account {account_name:?} ({ao}): id {:?} is not a 12-digit AWS account id.",
                a.id
            )));
        }
        let source = match (&a.source, sources.as_slice()) {
            (Some(s), _) => s.clone(),
            (None, [only]) => only.name.clone(),
            (None, _) => {
                return Err(Error::Config(format!(
                    "account {account_name:?} ({ao}) does not say which source to use. Add `source = \"NAME\"` naming one of the [[source]] entries."
                )))
            }
        };
        let src = sources.iter().find(|s| s.name == source);
        check_region(
            path,
            key_line(text, account_at, "region"),
            "region",
            a.region.as_deref(),
        )?;
        for r in a.roles {
            let ro = origin(r.span().start);
            let r = r.into_inner();
            check_opt(
                path,
                ro.line,
                "arn",
                r.arn.as_deref(),
                crate::model::is_role_arn,
                &format!("an IAM role ARN ({})", crate::model::ROLE_ARN_SHAPE),
            )?;
            check_region(path, ro.line, "region", r.region.as_deref())?;
            if let Some(d) = r.duration_seconds.filter(|d| !super::ROLE_SECS.contains(d)) {
                return Err(Error::Config(format!(
                    "{}: duration_seconds = {d} of role {:?} is outside what AWS allows for a role session ({} to {}). Use e.g. duration_seconds = 3600.",
                    ro,
                    r.name,
                    super::ROLE_SECS.start(),
                    super::ROLE_SECS.end()
                )));
            }
            if src.is_some_and(|s| s.sso().is_some()) {
                let iam_only = [
                    ("arn", r.arn.is_some()),
                    ("duration_seconds", r.duration_seconds.is_some()),
                    ("external_id", r.external_id.is_some()),
                    ("session_name", r.session_name.is_some()),
                ];
                if let Some((key, _)) = iam_only.iter().find(|(_, set)| *set) {
                    return Err(Error::Config(format!(
                        "{ro}: {key} of role {:?} in account {account_name:?}, whose source {source:?} is an IAM Identity Center session: the portal decides its role credentials. Remove {key}.",
                        r.name
                    )));
                }
                if !crate::model::is_sso_role_name(&r.name) {
                    return Err(bad_value(
                        path,
                        ro.line,
                        "name",
                        &r.name,
                        "a permission set (role) name (letters, digits and +=,.@_-)",
                    ));
                }
                profiles.push(Profile {
                    name: r
                        .profile
                        .unwrap_or_else(|| format!("{account_name}-{}", r.name)),
                    source: source.clone(),
                    region: r
                        .region
                        .or_else(|| a.region.clone())
                        .or_else(|| settings.default_region.clone())
                        .or_else(|| src.and_then(|s| s.region.clone())),
                    kind: ProfileKind::Sso {
                        account_id: a.id.clone(),
                        role_name: r.name,
                    },
                    account: Account {
                        id: Some(a.id.clone()),
                        name: Some(account_name.clone()),
                        group: a.group.clone(),
                        tags: a.tags.clone(),
                    },
                    mfa_serial: None,
                    origin: ro,
                });
                continue;
            }
            let role_arn_default = format!("arn:aws:iam::{}:role/{}", a.id, r.name);
            if r.arn.is_none() && !crate::model::is_role_arn(&role_arn_default) {
                return Err(bad_value(
                    path,
                    ro.line,
                    "name",
                    &r.name,
                    "an IAM role name (letters, digits and +=,.@_-)",
                ));
            }
            let role_arn = r
                .arn
                .clone()
                .unwrap_or_else(|| format!("arn:aws:iam::{}:role/{}", a.id, r.name));
            profiles.push(Profile {
                name: r
                    .profile
                    .unwrap_or_else(|| format!("{account_name}-{}", r.name)),
                source: source.clone(),
                region: r
                    .region
                    .or_else(|| a.region.clone())
                    .or_else(|| src.and_then(|s| s.region.clone()))
                    .or_else(|| settings.default_region.clone()),
                kind: ProfileKind::Role(RoleSpec {
                    role_arn,
                    external_id: r.external_id,
                    session_name: r.session_name,
                    duration_seconds: r.duration_seconds,
                    parent: Parent::Source,
                }),
                account: Account {
                    id: Some(a.id.clone()),
                    name: Some(account_name.clone()),
                    group: a.group.clone(),
                    tags: a.tags.clone(),
                },
                mfa_serial: src.and_then(|s| s.mfa_serial().map(str::to_string)),
                origin: ro,
            });
        }
    }
    Ok(Parsed {
        settings,
        refresh_before_at,
        sources,
        profiles,
    })
}
