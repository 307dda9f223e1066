//! Looking up a source's long-lived key. Stores are tried in order (the
//! vault backends first, then the shared credentials file); the first that
//! has the key wins. A key is looked up only when a new MFA session (or a
//! role straight from the key) is needed, never for cached credentials.

use super::store::{self, Backend, Location};
use super::Unlock;
use super::VaultSettings;
use crate::diag;
use crate::error::Error;
use crate::ini;
use crate::model::Source;
use crate::secret::{LongLivedKey, SecretString};
use crate::vault::SettingsExt as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

pub trait KeyStore: Send + Sync {
    /// Short name for `-v` output ("credentials file ...", "vault ...").
    fn name(&self) -> String;
    /// Whether this store holds `source`'s key, if it can tell without
    /// unlocking anything (None: it cannot tell).
    fn holds(&self, source: &Source) -> Option<bool>;
    /// The key of `source`, or `None` when this store does not hold it.
    fn lookup(&self, source: &Source, prompt: &dyn Unlock) -> Result<Option<LongLivedKey>, Error>;
}

/// `~/.aws/credentials` (or `AWS_SHARED_CREDENTIALS_FILE`).
pub struct CredentialsFile {
    pub path: PathBuf,
}

/// Refuses a file others can read; warns when the group can.
pub fn check_private(path: &Path) -> Result<(), Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io("read", path, &e))?;
    check_mode(path, meta.permissions().mode())
}

/// [`check_private`] of the file at `path` whose mode is `mode`. The
/// warning is the same words each time, so it is said once per run
/// (`diag` says a line once), whoever checks.
pub fn check_mode(path: &Path, mode: u32) -> Result<(), Error> {
    let mode = mode & 0o777;
    let fix = crate::error::shell_word(&path.to_string_lossy()).into_owned();
    if mode & 0o007 != 0 {
        return Err(Error::Config(format!(
            "{} is readable by other users (mode {mode:04o}) and holds your long-lived AWS key; rolepick will not use it. Fix it with: chmod 600 {fix}",
            path.display(),
        )));
    }
    if mode & 0o070 != 0 {
        diag::warn(&format!(
            "{} is readable by its group (mode {mode:04o}) and holds your long-lived AWS key; run: chmod 600 {fix}",
            path.display(),
        ));
    }
    Ok(())
}

impl CredentialsFile {
    /// The key under `[profile]`, after the permission check.
    pub fn read_key(&self, profile: &str) -> Result<Option<LongLivedKey>, Error> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => Zeroizing::new(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("read", &self.path, &e)),
        };
        let sections = ini::parse(&self.path, &text)?;
        let Some(section) = sections.iter().find(|s| s.header == profile) else {
            return Ok(None);
        };
        let Some(id) = section.get("aws_access_key_id") else {
            return Ok(None);
        };
        check_private(&self.path)?;
        let Some(secret) = section.get("aws_secret_access_key") else {
            return Err(Error::Config(format!(
                "{}:{}: [{}] has aws_access_key_id but no aws_secret_access_key. Add the secret, or store the key in rolepick's vault.",
                self.path.display(),
                section.line,
                section.header
            )));
        };
        Ok(Some(LongLivedKey {
            access_key_id: id.value.to_string(),
            secret_access_key: SecretString::new(secret.value.to_string()),
        }))
    }
}

impl KeyStore for CredentialsFile {
    fn name(&self) -> String {
        format!("credentials file {}", self.path.display())
    }

    fn holds(&self, _: &Source) -> Option<bool> {
        None
    }

    fn lookup(&self, source: &Source, _: &dyn Unlock) -> Result<Option<LongLivedKey>, Error> {
        self.read_key(source.credentials_profile())
    }
}

/// The age-encrypted vault file.
pub struct FileVault {
    pub settings: VaultSettings,
    pub loc: Location,
}

impl KeyStore for FileVault {
    fn name(&self) -> String {
        format!("vault {}", self.loc.file.display())
    }

    fn holds(&self, source: &Source) -> Option<bool> {
        if !self.loc.exists() {
            return Some(false);
        }
        let index = self.loc.try_read_index()?; // lost: only unlocking tells
        if index.sources.is_empty() {
            return None;
        }
        Some(
            index
                .sources
                .get(&source.name)
                .is_some_and(|e| e.backend == Backend::File.name()),
        )
    }

    fn lookup(&self, source: &Source, prompt: &dyn Unlock) -> Result<Option<LongLivedKey>, Error> {
        if self.holds(source) == Some(false) {
            return Ok(None);
        }
        if let Some(doc) = prompt.unlocked_vault(&self.loc.file) {
            self.loc.reindex_if_stale(doc);
            return Ok(doc
                .sources
                .get(&source.name)
                .map(store::KeyRecord::usable_key));
        }
        let (doc, _) = super::open(&self.loc, &self.settings, prompt)?;
        self.loc.reindex_if_stale(&doc);
        Ok(doc
            .sources
            .get(&source.name)
            .map(store::KeyRecord::usable_key))
    }
}

/// The OS keychain.
pub struct Keyring {
    pub loc: Location,
    /// The configured backend: with the index lost, the keychain itself is
    /// asked (it may hold keys the index no longer lists).
    pub preferred: bool,
}

impl KeyStore for Keyring {
    fn name(&self) -> String {
        "OS keychain".into()
    }

    fn holds(&self, source: &Source) -> Option<bool> {
        match self.loc.try_read_index() {
            Some(index) => Some(
                index
                    .sources
                    .get(&source.name)
                    .is_some_and(|e| e.backend == Backend::Keyring.name()),
            ),
            None if self.preferred => None,
            None => Some(false),
        }
    }

    fn lookup(&self, source: &Source, _: &dyn Unlock) -> Result<Option<LongLivedKey>, Error> {
        match self.holds(source) {
            Some(false) => Ok(None),
            Some(true) => Ok(store::keyring_get(&source.name)?.map(|r| r.usable_key())),
            None => {
                let Some(rec) = store::keyring_get(&source.name)? else {
                    return Ok(None);
                };
                // Put it back in the index, so that `list` and the config see it.
                if let Err(e) = store::index_keyring(&self.loc, &source.name, &rec) {
                    diag::debug(&format!("cannot rebuild the vault index: {e}"));
                }
                Ok(Some(rec.usable_key()))
            }
        }
    }
}

/// The stores for `settings`, in lookup order.
pub fn stores(settings: &VaultSettings, credentials: &Path) -> Vec<Box<dyn KeyStore>> {
    let loc = settings.location();
    let file: Box<dyn KeyStore> = Box::new(FileVault {
        settings: settings.clone(),
        loc: loc.clone(),
    });
    let keyring: Box<dyn KeyStore> = Box::new(Keyring {
        loc,
        preferred: settings.backend == Backend::Keyring,
    });
    let creds: Box<dyn KeyStore> = Box::new(CredentialsFile {
        path: credentials.to_path_buf(),
    });
    match settings.backend {
        Backend::File => vec![file, keyring, creds],
        Backend::Keyring => vec![keyring, file, creds],
        Backend::CredentialsFile => vec![creds],
    }
}

/// Tries each store in turn.
pub fn find_key(
    stores: &[Box<dyn KeyStore>],
    source: &Source,
    prompt: &dyn Unlock,
) -> Result<LongLivedKey, Error> {
    for s in stores {
        if let Some(k) = s.lookup(source, prompt)? {
            diag::debug(&format!(
                "using the key of source {:?} from the {}",
                source.name,
                s.name()
            ));
            return Ok(k);
        }
    }
    let looked: Vec<String> = stores.iter().map(|s| s.name()).collect();
    Err(Error::Config(format!(
        "no access key for source {:?} (looked in: {}). Store it with `rolepick vault add {}`, or add aws_access_key_id and aws_secret_access_key under [{}] in your credentials file.",
        source.name,
        looked.join(", "),
        source.name,
        source.credentials_profile()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Origin;
    use crate::vault::store::{Document, KeyRecord};

    /// Hands over an already opened vault; asking for the passphrase fails
    /// the test.
    struct Opened(PathBuf, Document);

    impl Unlock for Opened {
        fn unlocked_vault(&self, vault: &Path) -> Option<&Document> {
            (vault == self.0).then_some(&self.1)
        }
        fn passphrase(&self, _: &Path) -> Result<SecretString, Error> {
            panic!("the vault was decrypted a second time")
        }
    }

    #[test]
    fn an_opened_vault_gives_the_key_without_decrypting_again() {
        let dir = tempfile::tempdir().unwrap();
        let loc = Location {
            dir: dir.path().to_path_buf(),
            file: dir.path().join("vault.age"),
        };
        // Never decrypted: any bytes do.
        std::fs::write(&loc.file, b"age-encryption.org/v1 (not read)").unwrap();
        let mut doc = Document::default();
        doc.sources.insert(
            "primary".into(),
            KeyRecord {
                access_key_id: "AKIAOPENED0000000001".into(),
                secret_access_key: "opened-secret".into(),
                user_arn: None,
                added: "2026-01-01T00:00:00Z".into(),
                previous: None,
                rotation: None,
            },
        );
        let vault = FileVault {
            settings: VaultSettings::default(),
            loc: loc.clone(),
        };
        let source = Source::iam(
            "primary",
            crate::model::IamUser {
                mfa_serial: None,
                mfa_process: None,
                session_duration: std::time::Duration::from_secs(3600),
                credentials_profile: "primary".into(),
            },
            None,
            Origin {
                file: PathBuf::from("config.toml"),
                line: 1,
            },
        );
        let key = vault
            .lookup(&source, &Opened(loc.file.clone(), doc))
            .unwrap()
            .expect("the key");
        assert_eq!(key.access_key_id, "AKIAOPENED0000000001");
        assert_eq!(key.secret_access_key.expose(), "opened-secret");
        // Another vault file is not stood in for.
        let other = Opened(dir.path().join("other.age"), Document::default());
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            vault.lookup(&source, &other)
        }));
        assert!(r.is_err(), "a different file must be decrypted (asked)");
    }
}
