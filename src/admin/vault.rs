//! Managing the long-lived keys in the vault (`rolepick vault`, and the
//! key `rolepick setup` creates): add, import from ~/.aws/credentials,
//! list, remove, a new passphrase. Asks on the terminal ([`crate::run::tty`]);
//! writes through [`crate::vault::store`], which reads back what it wrote.

use crate::aws::rfc3339;
use crate::cli::{VaultAddArgs, VaultImportArgs, VaultRemoveArgs};
use crate::diag;
use crate::engine::{caller_identity, Engine};
use crate::error::Error;
use crate::fsutil::{Links, PrivateDir};
use crate::run::tty::{ask_secret, confirm, CliMfa};
use crate::secret::{LongLivedKey, SecretString};
use crate::vault::keys::CredentialsFile;
use crate::vault::store::{self, Backend, Document, KeyRecord, Location, Slot};
use crate::vault::SettingsExt as _;
use crate::vault::{passphrase, VaultSettings, TRIES};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

fn settings(engine: &Engine) -> &VaultSettings {
    &engine.model().settings.vault
}

/// A line typed on the terminal, for a key typed in.
pub(crate) fn read_tty_line(prompt: &str) -> Result<String, Error> {
    crate::run::tty::read_line(prompt).map_err(|e| {
        Error::Usage(format!(
            "cannot ask on the terminal ({e}). Pipe {{\"AccessKeyId\":..,\"SecretAccessKey\":..}} in with --stdin instead."
        ))
    })
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyJson {
    access_key_id: String,
    secret_access_key: String,
}

fn check_key_id(id: &str) -> Result<(), Error> {
    if id.starts_with("ASIA") {
        return Err(Error::Usage(format!(
            "{id:?} is a temporary access key (ASIA...); the vault holds your long-lived IAM user key (AKIA...)."
        )));
    }
    if id.len() < 16 || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::Usage(format!(
            "{id:?} does not look like an AWS access key id (e.g. AKIAIOSFODNN7EXAMPLE)."
        )));
    }
    Ok(())
}

fn read_key(args: &VaultAddArgs) -> Result<LongLivedKey, Error> {
    let (id, secret) = if args.stdin {
        let mut text = Zeroizing::new(String::new());
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Error::Usage(format!("cannot read stdin: {e}")))?;
        let KeyJson {
            access_key_id,
            secret_access_key,
        } = serde_json::from_str(&text).map_err(|e| {
            Error::Usage(format!(
                "stdin is not {{\"AccessKeyId\": \"...\", \"SecretAccessKey\": \"...\"}} ({:?} error at line {}, column {}).",
                e.classify(),
                e.line(),
                e.column()
            ))
        })?;
        (access_key_id, SecretString::new(secret_access_key))
    } else {
        let id = read_tty_line(&format!("Access key id for source {}: ", args.source))?;
        let secret = ask_secret("Secret access key (not shown): ")?;
        (id, secret)
    };
    let id = id.trim().to_string();
    check_key_id(&id)?;
    if secret.is_empty() {
        return Err(Error::Usage("the secret access key is empty.".into()));
    }
    Ok(LongLivedKey {
        access_key_id: id,
        secret_access_key: secret,
    })
}

fn source_region(engine: &Engine, source: &str) -> String {
    engine
        .model()
        .source(source)
        .and_then(|s| s.region.clone())
        .or_else(|| engine.model().settings.default_region.clone())
        .unwrap_or_else(|| "us-east-1".into())
}

/// `GetCallerIdentity` with the key; the IAM user ARN.
fn verify(engine: &Engine, source: &str, key: &LongLivedKey) -> Result<String, Error> {
    let id = caller_identity(key, &source_region(engine, source))?;
    if !id.arn.contains(":user/") {
        return Err(Error::Usage(format!(
            "access key {} belongs to {}, not to an IAM user; the vault holds an IAM user's long-lived key.",
            key.access_key_id, id.arn
        )));
    }
    diag::debug(&format!("key {} belongs to {}", key.access_key_id, id.arn));
    Ok(id.arn)
}

/// `--created YYYY-MM-DD` as RFC 3339 (midnight UTC), checked.
fn created_flag(day: &str, now: std::time::SystemTime) -> Result<String, Error> {
    let bad = || {
        Error::Usage(format!(
            "--created {:?} is not a past date as YYYY-MM-DD (the day the key was created: the IAM console shows it under the user's Security credentials, `aws iam list-access-keys` as CreateDate).",
            day.escape_debug().to_string()
        ))
    };
    let shaped = day.len() == 10
        && day.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shaped {
        return Err(bad());
    }
    let stamp = format!("{day}T00:00:00Z");
    let t = humantime::parse_rfc3339(&stamp).map_err(|_| bad())?;
    if t > now {
        return Err(bad());
    }
    Ok(stamp)
}

/// The day `key` was created, for its age: `--created`, else what IAM says
/// (`iam:ListAccessKeys` for the key's own user, signed with the key), else
/// unknown (empty), said with why and what to do.
fn key_created(
    source: &str,
    key: &LongLivedKey,
    user_arn: Option<&str>,
    created: Option<&str>,
) -> Result<String, Error> {
    if let Some(stamp) = created {
        return Ok(stamp.to_string());
    }
    let why = match user_arn.and_then(crate::aws::iam::user_name_of) {
        None => "the key was not checked with AWS (--no-verify)".to_string(),
        Some(user) => match iam_created(key, user) {
            Ok(Some(t)) => return Ok(rfc3339(t)),
            Ok(None) => format!(
                "iam:ListAccessKeys for {user} does not list key {}",
                key.access_key_id
            ),
            Err(e) => format!("IAM did not tell it: {e}"),
        },
    };
    diag::warn(&format!(
        "the creation date of key {} is unknown ({why}), so its age shows as `key ?` and no rotation reminder comes. Give it with --created YYYY-MM-DD (the IAM console shows it under the user's Security credentials), or rotate the key now: `rolepick rotate {source}`.",
        key.access_key_id
    ));
    Ok(String::new())
}

/// The creation date IAM reports for `key` of `user`, asked with the key.
fn iam_created(key: &LongLivedKey, user: &str) -> Result<Option<std::time::SystemTime>, Error> {
    let rt = crate::engine::runtime()?;
    let client = crate::aws::iam::client(&crate::aws::sts::Signer::key(key));
    let keys = rt
        .block_on(crate::aws::iam::list_access_keys(&client, user))
        .map_err(|e| Error::aws("iam:ListAccessKeys", e))?;
    Ok(keys
        .into_iter()
        .find(|k| k.access_key_id == key.access_key_id)
        .and_then(|k| k.created))
}

/// A passphrase for a new vault: automatic, or asked twice.
fn new_passphrase(loc: &Location, settings: &VaultSettings) -> Result<SecretString, Error> {
    if let Ok(p) = std::env::var("ROLEPICK_VAULT_NEW_PASSPHRASE") {
        if !p.is_empty() {
            return Ok(SecretString::new(p));
        }
    }
    if settings.passphrase_is_automatic() {
        return passphrase(loc, settings, &CliMfa::Terminal);
    }
    let mut n = 1;
    loop {
        let a = ask_secret(&format!(
            "New passphrase for the rolepick vault {}: ",
            loc.file.display()
        ))?;
        let problem = if a.expose().chars().count() < 8 {
            "the passphrase must have at least 8 characters."
        } else if ask_secret("Repeat the passphrase: ")? != a {
            "the two passphrases differ."
        } else {
            return Ok(a);
        };
        if n == TRIES {
            return Err(Error::Usage(format!(
                "{problem} Nothing was changed; run the command again."
            )));
        }
        eprintln!("rolepick: {problem} Try again ({n} of {TRIES}).");
        n += 1;
    }
}

/// Opens the vault for a change (lock held by the caller); a new vault
/// when there is none yet.
fn open_for_write(
    loc: &Location,
    settings: &VaultSettings,
) -> Result<(Document, SecretString), Error> {
    if loc.exists() {
        crate::vault::open(loc, settings, &CliMfa::Terminal)
    } else {
        let pass = new_passphrase(loc, settings)?;
        Ok((
            Document {
                version: 1,
                ..Document::default()
            },
            pass,
        ))
    }
}

/// Stores `rec` for `source` in the configured backend.
pub(crate) fn store_record(
    engine: &Engine,
    source: &str,
    rec: &KeyRecord,
    replace: bool,
) -> Result<(), Error> {
    let settings = settings(engine);
    let loc = settings.location();
    let exists_err = || {
        Error::Usage(format!(
            "the vault already holds a key for source {source:?}. Use --force to replace it, or `rolepick vault remove {source}` first."
        ))
    };
    match settings.backend {
        Backend::File => {
            let _lock = loc.lock()?;
            let (doc, pass) = open_for_write(&loc, settings)?;
            if let Some(old) = doc.sources.get(source) {
                if !replace && old.access_key_id != rec.access_key_id {
                    return Err(exists_err());
                }
            }
            store::put_in(&loc, &pass, doc, source, rec)
        }
        Backend::Keyring => {
            let _lock = loc.lock()?;
            if let Some(old) = store::keyring_get(source)? {
                if !replace && old.access_key_id != rec.access_key_id {
                    return Err(exists_err());
                }
            }
            Slot::Keyring { loc }.put(source, rec)
        }
        Backend::CredentialsFile => Err(Error::Config(
            "config.toml sets [vault] backend = \"credentials-file\": keys stay in ~/.aws/credentials. Choose backend = \"file\" or \"keyring\" to use the vault.".into(),
        )),
    }
}

/// `rolepick vault add`: a key typed in (or piped), checked with AWS
/// unless told not to, into the configured backend.
pub fn add(engine: &Engine, args: &VaultAddArgs) -> Result<u8, Error> {
    let created = args
        .created
        .as_deref()
        .map(|d| created_flag(d, engine.now()))
        .transpose()?;
    let key = read_key(args)?;
    let user_arn = if args.no_verify {
        None
    } else {
        Some(verify(engine, &args.source, &key)?)
    };
    let created = key_created(&args.source, &key, user_arn.as_deref(), created.as_deref())?;
    let rec = KeyRecord::new(&key, user_arn.clone(), created);
    store_record(engine, &args.source, &rec, args.force)?;
    if engine.model().source(&args.source).is_none() {
        diag::warn(&format!(
            "no profile or [[source]] is named {:?} yet; add one whose roles use it (see config.example.toml).",
            args.source
        ));
    }
    eprintln!(
        "rolepick: stored key {} for source {:?}{} in the {} vault",
        key.access_key_id,
        args.source,
        user_arn.map(|a| format!(" ({a})")).unwrap_or_default(),
        settings(engine).backend.name()
    );
    Ok(0)
}

/// `text` without the key lines of section `[profile]` (and without the
/// header when nothing else is left in it); every other byte unchanged.
pub fn strip_key(text: &str, profile: &str) -> String {
    let is_header = |l: &str| l.trim_start().starts_with('[');
    let header_name = |l: &str| {
        l.trim()
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .map(|h| h.trim().to_string())
    };
    let is_key_line = |l: &str| {
        l.split_once('=').is_some_and(|(k, _)| {
            matches!(
                k.trim().to_ascii_lowercase().as_str(),
                "aws_access_key_id"
                    | "aws_secret_access_key"
                    | "aws_session_token"
                    | "aws_security_token"
            )
        })
    };
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if is_header(l) && header_name(l).as_deref() == Some(profile) {
            let mut j = i + 1;
            while j < lines.len() && !is_header(lines[j]) {
                j += 1;
            }
            let body: Vec<&str> = lines[i + 1..j]
                .iter()
                .copied()
                .filter(|b| !is_key_line(b))
                .collect();
            let meaningful = body.iter().any(|b| {
                let t = b.trim();
                !t.is_empty() && !t.starts_with('#') && !t.starts_with(';')
            });
            if meaningful {
                out.push_str(l);
                body.iter().for_each(|b| out.push_str(b));
            } else {
                // Drop the header; keep blank lines/comments that separated sections.
                body.iter().for_each(|b| out.push_str(b));
            }
            i = j;
        } else {
            out.push_str(l);
            i += 1;
        }
    }
    out
}

fn backup_path(path: &Path) -> PathBuf {
    let base = format!("{}.rolepick-backup", path.display());
    let mut p = PathBuf::from(&base);
    let mut n = 1;
    while std::fs::symlink_metadata(&p).is_ok() {
        p = PathBuf::from(format!("{base}.{n}"));
        n += 1;
    }
    p
}

/// `rolepick vault import`: a profile's key moved from ~/.aws/credentials
/// into the vault (a private backup of the file first).
pub fn import(engine: &Engine, args: &VaultImportArgs) -> Result<u8, Error> {
    let created = args
        .created
        .as_deref()
        .map(|d| created_flag(d, engine.now()))
        .transpose()?;
    let creds_path = engine.paths().aws_credentials.clone();
    let file = CredentialsFile {
        path: creds_path.clone(),
    };
    let key = file.read_key(&args.profile)?.ok_or_else(|| {
        Error::Usage(format!(
            "no key under [{}] in {}. `rolepick vault list` shows what the vault holds.",
            args.profile,
            creds_path.display()
        ))
    })?;
    let user_arn = if args.no_verify {
        None
    } else {
        Some(verify(engine, &args.profile, &key)?)
    };
    let created = key_created(&args.profile, &key, user_arn.as_deref(), created.as_deref())?;
    let rec = KeyRecord::new(&key, user_arn, created);
    // The directory the credentials file is rewritten in, checked before
    // anything changes.
    let dir = PrivateDir::ensure(
        creds_path.parent().unwrap_or(Path::new(".")),
        Links::Follow,
        "the directory of the credentials file",
    )?;
    let creds_name = creds_path.file_name().unwrap_or_default();
    // 1. Into the vault (written, then read back and compared).
    store_record(engine, &args.profile, &rec, false)?;
    // 2. A private backup of the credentials file, then the file without the key.
    let original =
        Zeroizing::new(std::fs::read(&creds_path).map_err(|e| Error::io("read", &creds_path, &e))?);
    let text = String::from_utf8_lossy(&original).into_owned();
    let backup = backup_path(&creds_path);
    dir.create_new(backup.file_name().unwrap_or_default())
        .and_then(|mut f| {
            f.write_all(&original)?;
            f.sync_all()
        })
        .map_err(|e| Error::io("write the backup", &backup, &e))?;
    let stripped = Zeroizing::new(strip_key(&text, &args.profile));
    dir.write_atomic(creds_name, stripped.as_bytes())?;
    eprintln!(
        "rolepick: moved key {} of [{}] from {} into the {} vault",
        key.access_key_id,
        args.profile,
        creds_path.display(),
        settings(engine).backend.name()
    );
    // 3. The backup still holds the key in plaintext: drop it once confirmed.
    let drop_backup = args.yes
        || confirm(&format!(
            "Delete the backup {} (it still holds the key in plaintext)?",
            backup.display()
        ))
        .unwrap_or(false);
    if drop_backup {
        std::fs::remove_file(&backup).map_err(|e| Error::io("remove", &backup, &e))?;
    } else {
        eprintln!(
            "rolepick: the previous credentials file is kept at {} (mode 0600). Once `rolepick exec` works, delete it: rm {}",
            backup.display(),
            backup.display()
        );
    }
    Ok(0)
}

/// A key the vault holds, as `rolepick vault list` shows it.
pub struct Listed {
    pub source: String,
    pub backend: &'static str,
    pub access_key_id: String,
    pub user_arn: Option<String>,
    /// When the key was created (RFC 3339); `None` when unknown.
    pub added: Option<String>,
    pub age_days: Option<i64>,
    /// Stage of an unfinished rotation, and the key it replaces.
    pub rotation: Option<String>,
    pub previous: Option<String>,
}

impl Listed {
    fn of(source: String, e: &store::IndexEntry, now: std::time::SystemTime) -> Listed {
        let backend = if e.backend == Backend::Keyring.name() {
            Backend::Keyring
        } else {
            Backend::File
        };
        Listed {
            source,
            backend: backend.name(),
            access_key_id: e.access_key_id.clone().unwrap_or_default(),
            user_arn: e.user_arn.clone(),
            added: e.age_known().then(|| e.added.clone()),
            age_days: e.age_days(now),
            rotation: e.rotation.clone(),
            previous: e.previous.clone(),
        }
    }
}

/// Every key in the file vault and the OS keychain, from the vault index:
/// nothing is unlocked. Only an index that is missing, damaged or written
/// by an older rolepick (no key ids) has the file vault opened, once, to
/// rebuild it.
pub fn list(engine: &Engine) -> Result<Vec<Listed>, Error> {
    let settings = settings(engine);
    let loc = settings.location();
    let now = engine.now();
    let index = loc.try_read_index().unwrap_or_default();
    let incomplete = index.sources.values().any(|e| e.access_key_id.is_none());
    let index = if incomplete || loc.index_lost() {
        let mut index = loc.read_index();
        if loc.exists() {
            let (doc, _) = crate::vault::open(&loc, settings, &CliMfa::Terminal)?;
            loc.reindex_if_stale(&doc);
            index
                .sources
                .retain(|_, e| e.backend != Backend::File.name());
            for (name, r) in &doc.sources {
                index
                    .sources
                    .insert(name.clone(), store::IndexEntry::of(Backend::File, r));
            }
        }
        for (name, e) in &mut index.sources {
            if e.backend == Backend::Keyring.name() && e.access_key_id.is_none() {
                if let Some(r) = store::keyring_get(name)? {
                    *e = store::IndexEntry::of(Backend::Keyring, &r);
                    let _lock = loc.lock()?;
                    store::index_keyring(&loc, name, &r)?;
                }
            }
        }
        index
    } else {
        index
    };
    Ok(index
        .sources
        .iter()
        .map(|(name, e)| Listed::of(name.clone(), e, now))
        .collect())
}

/// `rolepick vault remove`, after asking unless `--yes`.
pub fn remove(engine: &Engine, args: &VaultRemoveArgs) -> Result<u8, Error> {
    let settings = settings(engine);
    let loc = settings.location();
    if !args.yes {
        match confirm(&format!(
            "Delete the key of source {:?} from the vault? Without it rolepick cannot sign in as that user.",
            args.source
        )) {
            Some(true) => {}
            Some(false) => {
                eprintln!("rolepick: nothing removed");
                return Ok(0);
            }
            None => {
                return Err(Error::Usage(
                    "no terminal to confirm on; pass --yes to remove without asking.".into(),
                ))
            }
        }
    }
    let _lock = loc.lock()?;
    let mut index = loc.read_index();
    let in_keyring = index
        .sources
        .get(&args.source)
        .is_some_and(|e| e.backend == Backend::Keyring.name());
    let removed = if in_keyring {
        let r = store::keyring_delete(&args.source)?;
        index.sources.remove(&args.source);
        loc.write_index(&index)?;
        r
    } else if loc.exists() {
        let (mut doc, pass) = crate::vault::open(&loc, settings, &CliMfa::Terminal)?;
        let r = doc.sources.remove(&args.source).is_some();
        if r {
            store::save(&loc, &doc, &pass)?;
            store::index_from(&loc, &doc)?;
        }
        r
    } else {
        false
    };
    if !removed {
        return Err(Error::Usage(format!(
            "the vault holds no key for source {:?}; `rolepick vault list` shows what it holds.",
            args.source
        )));
    }
    eprintln!("rolepick: removed the key of source {:?}", args.source);
    Ok(0)
}

/// `rolepick vault passwd`: the vault re-encrypted with a new passphrase.
pub fn passwd(engine: &Engine) -> Result<u8, Error> {
    let settings = settings(engine);
    let loc = settings.location();
    if !loc.exists() {
        return Err(Error::Usage(format!(
            "there is no vault at {} yet; `rolepick vault add SOURCE` creates it.",
            loc.file.display()
        )));
    }
    let _lock = loc.lock()?;
    let (doc, _) = crate::vault::open(&loc, settings, &CliMfa::Terminal)?;
    let new = match std::env::var("ROLEPICK_VAULT_NEW_PASSPHRASE") {
        Ok(p) if !p.is_empty() => SecretString::new(p),
        _ => new_passphrase(&loc, &VaultSettings::default())?,
    };
    store::save(&loc, &doc, &new)?;
    store::open(&loc, &new)?;
    eprintln!("rolepick: the vault passphrase is changed");
    if settings.passphrase_command.is_some() {
        diag::warn("passphrase_command still gives the old passphrase; update what it reads.");
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::strip_key;

    #[test]
    fn strip_key_keeps_every_other_byte() {
        let text = "# my creds\n[default]\naws_access_key_id = A\naws_secret_access_key = B\n\n[primary]\naws_access_key_id = AKIA1\naws_secret_access_key = S1\n\n[other]\nregion=x\r\naws_access_key_id = C\n";
        let out = strip_key(text, "primary");
        assert_eq!(
            out,
            "# my creds\n[default]\naws_access_key_id = A\naws_secret_access_key = B\n\n\n[other]\nregion=x\r\naws_access_key_id = C\n"
        );
    }

    #[test]
    fn strip_key_keeps_a_section_with_other_settings() {
        let text = "[primary]\nregion = us-east-1\naws_access_key_id = AKIA1\naws_secret_access_key = S1\n";
        assert_eq!(
            strip_key(text, "primary"),
            "[primary]\nregion = us-east-1\n"
        );
    }
}
