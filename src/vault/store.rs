//! The vault: long-lived keys at rest.
//!
//! * `file` backend: one age file (scrypt passphrase) holding a JSON
//!   document of key records; 0600 in the data dir. Every write happens
//!   under `vault.lock`: decrypt the current file, change it, encrypt to a
//!   temp file in the same dir, fsync, rename. A file that cannot be
//!   decrypted or parsed is never overwritten.
//! * `keyring` backend: one OS keychain entry per source (service
//!   `rolepick`).
//! * An index (`vault-index.json`, 0600, no secrets) lists which sources
//!   have a key in the vault, with the key id, the IAM user, the day the
//!   key was created (empty when unknown) and any unfinished rotation, so
//!   that the config, `list` and `vault list` know them without unlocking
//!   anything.

use crate::diag;
use crate::error::Error;
use crate::fsutil::{Links, PrivateDir};
use crate::secret::{LongLivedKey, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

const VERSION: u32 = 1;
/// scrypt work factor (N = 2^18: about a second, 256 MiB, on a laptop).
pub const DEFAULT_LOG_N: u8 = 18;

/// One stored key, as serialised inside the encrypted document.
#[derive(Serialize, Deserialize, Clone, Zeroize, ZeroizeOnDrop, Default)]
pub struct KeyRecord {
    pub access_key_id: String,
    pub secret_access_key: String,
    #[serde(default)]
    pub user_arn: Option<String>,
    /// RFC 3339 date the key was created (in IAM; for a key from before
    /// rolepick knew that, when it was stored); empty when unknown (a key
    /// imported without IAM's date or `--created`).
    #[serde(default)]
    pub added: String,
    /// The key being replaced during a rotation, kept until it is done.
    #[serde(default)]
    #[zeroize(skip)] // a KeyRecord wipes itself on drop
    pub previous: Option<Box<KeyRecord>>,
    /// How far a rotation of this key has got; `None` when none is under way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[zeroize(skip)] // no secrets: IAM user name and key ids
    pub rotation: Option<Rotation>,
}

/// The stages of `rolepick rotate`, recorded in the vault before each IAM
/// change so that an interrupted rotation can be finished.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "stage", rename_all = "kebab-case")]
pub enum Rotation {
    /// About to call `CreateAccessKey`: `current` is still the only key and
    /// `known` lists the user's key ids before the call, so a key created
    /// by a call whose answer was lost (its secret never stored) can be told
    /// apart and deleted.
    Creating { user: String, known: Vec<String> },
    /// `current` is the new key, not yet accepted by AWS; `previous` is the
    /// old key, and the one to sign in with until the new one is verified.
    Created { user: String },
    /// The new key (`current`) works; the old one (`previous`) is still to
    /// be deleted in IAM.
    Verified { user: String },
}

impl Rotation {
    pub fn user(&self) -> &str {
        match self {
            Rotation::Creating { user, .. }
            | Rotation::Created { user }
            | Rotation::Verified { user } => user,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Rotation::Creating { .. } => "creating",
            Rotation::Created { .. } => "created",
            Rotation::Verified { .. } => "verified",
        }
    }
}

impl std::fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRecord")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"[redacted]")
            .field("user_arn", &self.user_arn)
            .field("added", &self.added)
            .field("rotation", &self.rotation)
            .finish_non_exhaustive()
    }
}

impl KeyRecord {
    /// A new record for `key`, `added` at (RFC 3339), with no rotation going on.
    pub fn new(key: &LongLivedKey, user_arn: Option<String>, added: String) -> KeyRecord {
        KeyRecord {
            access_key_id: key.access_key_id.clone(),
            secret_access_key: key.secret_access_key.expose().to_string(),
            user_arn,
            added,
            previous: None,
            rotation: None,
        }
    }

    pub fn key(&self) -> LongLivedKey {
        LongLivedKey {
            access_key_id: self.access_key_id.clone(),
            secret_access_key: SecretString::new(self.secret_access_key.clone()),
        }
    }

    /// The key to sign in with: `current`, except while a rotation has
    /// created a new key that AWS has not accepted yet (then the old one).
    pub fn usable(&self) -> &KeyRecord {
        match (&self.rotation, &self.previous) {
            (Some(Rotation::Created { .. }), Some(prev)) => prev,
            _ => self,
        }
    }

    pub fn usable_key(&self) -> LongLivedKey {
        self.usable().key()
    }
}

/// The decrypted vault document (each record wipes itself on drop).
#[derive(Serialize, Deserialize, Default)]
pub struct Document {
    pub version: u32,
    pub sources: BTreeMap<String, KeyRecord>,
}

/// Non-secret facts about one stored key: enough for `vault list` and the
/// key-age reminders without unlocking anything.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub backend: String,
    pub user_arn: Option<String>,
    /// As [`KeyRecord::added`]: empty when the key's age is unknown.
    #[serde(default)]
    pub added: String,
    /// The access key id (not a secret; absent in indexes written before
    /// rolepick recorded it, then `vault list` unlocks once to add it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// Stage of an unfinished rotation ([`Rotation::name`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<String>,
    /// The key id an unfinished rotation replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
}

impl IndexEntry {
    /// The entry for `rec` in `backend`.
    pub fn of(backend: Backend, rec: &KeyRecord) -> IndexEntry {
        IndexEntry {
            backend: backend.name().into(),
            user_arn: rec.user_arn.clone(),
            added: rec.added.clone(),
            access_key_id: Some(rec.access_key_id.clone()),
            rotation: rec.rotation.as_ref().map(|r| r.name().to_string()),
            previous: rec.previous.as_ref().map(|p| p.access_key_id.clone()),
        }
    }

    /// Whether the key's creation date is known (else its age shows as `?`).
    pub fn age_known(&self) -> bool {
        !self.added.is_empty()
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct Index {
    pub sources: BTreeMap<String, IndexEntry>,
}

/// Whole days since `added` (RFC 3339); `None` when it is unknown (empty)
/// or cannot be parsed.
pub fn age_days(added: &str, now: std::time::SystemTime) -> Option<i64> {
    let t = humantime::parse_rfc3339(added).ok()?;
    Some(-crate::clock::secs_until(now, t) / 86_400)
}

impl IndexEntry {
    pub fn age_days(&self, now: std::time::SystemTime) -> Option<i64> {
        age_days(&self.added, now)
    }
}

pub use crate::model::Backend;

/// Where the vault lives.
#[derive(Debug, Clone)]
pub struct Location {
    pub dir: PathBuf,
    pub file: PathBuf,
}

impl Location {
    /// `path` from config, else `$ROLEPICK_VAULT_FILE`, else
    /// `<data dir>/vault.age`.
    pub fn discover(path: Option<&Path>) -> Location {
        let file = path
            .map(Path::to_path_buf)
            .or_else(|| {
                std::env::var_os("ROLEPICK_VAULT_FILE")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(|| {
                std::env::var_os("XDG_DATA_HOME")
                    .filter(|v| !v.is_empty())
                    .map(|d| PathBuf::from(d).join("rolepick"))
                    .or_else(|| {
                        directories::ProjectDirs::from("", "", "rolepick")
                            .map(|d| d.data_dir().to_path_buf())
                    })
                    .unwrap_or_else(|| PathBuf::from(".rolepick"))
                    .join("vault.age")
            });
        let dir = file
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Location { dir, file }
    }

    pub fn index_file(&self) -> PathBuf {
        self.dir.join("vault-index.json")
    }

    /// The vault's directory, checked (created 0700 if missing; one that
    /// others can write is refused, never `chmod`ed).
    fn private_dir(&self) -> Result<PrivateDir, Error> {
        PrivateDir::ensure(&self.dir, Links::Follow, "the vault directory")
    }

    /// Exclusive writer lock, released on drop.
    pub fn lock(&self) -> Result<File, Error> {
        self.private_dir()?.lock("vault.lock", "writing the vault")
    }

    pub fn exists(&self) -> bool {
        self.file.exists()
    }

    /// The index; empty when there is none. A damaged index is rebuilt on
    /// the next unlock or write and ignored meanwhile.
    pub fn read_index(&self) -> Index {
        self.try_read_index().unwrap_or_default()
    }

    /// The index, or `None` when it is missing or damaged (said once).
    pub fn try_read_index(&self) -> Option<Index> {
        let b = std::fs::read(self.index_file()).ok()?;
        serde_json::from_slice(&b)
            .map_err(|_| {
                diag::warn(&format!(
                    "ignoring damaged vault index {}; it is rebuilt the next time the vault is unlocked",
                    self.index_file().display()
                ));
            })
            .ok()
    }

    /// True when a vault file exists but its index is missing or damaged:
    /// then only unlocking the vault tells which sources it holds, and no
    /// source may be taken to be absent from it.
    pub fn index_lost(&self) -> bool {
        self.exists() && self.try_read_index().is_none()
    }

    /// Rebuilds the file backend's index entries from the opened `doc` when
    /// the index does not list exactly its sources (it was lost, damaged or
    /// left behind). Best effort: the index is a convenience.
    pub fn reindex_if_stale(&self, doc: &Document) {
        // The sources and their key ids (absent in an index written before
        // rolepick recorded them); the rest is written with every change.
        let listed: Vec<(String, Option<String>)> = self
            .read_index()
            .sources
            .into_iter()
            .filter(|(_, e)| e.backend == Backend::File.name())
            .map(|(n, e)| (n, e.access_key_id))
            .collect();
        let wanted = doc
            .sources
            .iter()
            .map(|(n, r)| (n.clone(), Some(r.access_key_id.clone())));
        if listed.into_iter().eq(wanted) {
            return;
        }
        let Ok(_lock) = self.lock() else { return };
        match index_from(self, doc) {
            Ok(()) => diag::debug(&format!(
                "rebuilt the vault index {} from the vault",
                self.index_file().display()
            )),
            Err(e) => diag::debug(&format!("cannot rebuild the vault index: {e}")),
        }
    }

    pub fn write_index(&self, index: &Index) -> Result<(), Error> {
        let dir = self.private_dir()?;
        let json = serde_json::to_vec_pretty(index).map_err(|e| Error::Other(e.to_string()))?;
        dir.write_atomic("vault-index.json", &json)
    }
}

fn work_factor() -> u8 {
    std::env::var("ROLEPICK_VAULT_SCRYPT_LOG_N")
        .ok()
        .and_then(|v| v.parse::<u8>().ok())
        .filter(|n| (10..=22).contains(n))
        .unwrap_or(DEFAULT_LOG_N)
}

fn age_secret(p: &SecretString) -> age::secrecy::SecretString {
    age::secrecy::SecretString::from(p.expose().to_string())
}

/// Decrypts the vault file with `passphrase`.
pub fn open(loc: &Location, passphrase: &SecretString) -> Result<Document, Error> {
    let ct = std::fs::read(&loc.file).map_err(|e| Error::io("read the vault", &loc.file, &e))?;
    let identity = age::scrypt::Identity::new(age_secret(passphrase));
    let pt = Zeroizing::new(age::decrypt(&identity, &ct).map_err(|e| decrypt_error(loc, &e))?);
    let doc: Document = serde_json::from_slice(&pt).map_err(|e| {
        Error::Other(format!(
            "the vault {} decrypts but its contents cannot be parsed ({e}). rolepick will not overwrite it: restore it from a backup, or move it aside (mv {} {}.broken) and add your key again.",
            loc.file.display(),
            loc.file.display(),
            loc.file.display()
        ))
    })?;
    if doc.version != VERSION {
        return Err(Error::Other(format!(
            "the vault {} has format version {}, which this rolepick does not know. Upgrade rolepick.",
            loc.file.display(),
            doc.version
        )));
    }
    Ok(doc)
}

fn decrypt_error(loc: &Location, e: &age::DecryptError) -> Error {
    use age::DecryptError as D;
    match e {
        D::DecryptionFailed | D::KeyDecryptionFailed | D::NoMatchingKeys => {
            Error::WrongPassphrase {
                vault: loc.file.clone(),
            }
        }
        other => Error::Other(format!(
            "the vault {} cannot be read ({other}). rolepick will not overwrite it: restore it from a backup, or move it aside (mv {} {}.broken) and add your key again.",
            loc.file.display(),
            loc.file.display(),
            loc.file.display()
        )),
    }
}

/// Encrypts `doc` and atomically replaces the vault file. Call with the
/// lock held.
pub fn save(loc: &Location, doc: &Document, passphrase: &SecretString) -> Result<(), Error> {
    let dir = loc.private_dir()?;
    let json = Zeroizing::new(serde_json::to_vec(doc).map_err(|e| Error::Other(e.to_string()))?);
    let mut recipient = age::scrypt::Recipient::new(age_secret(passphrase));
    recipient.set_work_factor(work_factor());
    let ct = age::encrypt(&recipient, &json)
        .map_err(|e| Error::Other(format!("cannot encrypt the vault: {e}")))?;
    let name = loc.file.file_name().unwrap_or("vault.age".as_ref());
    dir.write_atomic(name, &ct)
}

/// Rebuilds the index entries of the file backend from `doc`, keeping
/// other backends' entries.
pub fn index_from(loc: &Location, doc: &Document) -> Result<(), Error> {
    let mut index = loc.read_index();
    index
        .sources
        .retain(|_, e| e.backend != Backend::File.name());
    for (name, rec) in &doc.sources {
        index
            .sources
            .insert(name.clone(), IndexEntry::of(Backend::File, rec));
    }
    loc.write_index(&index)
}

// --- keyring backend ---------------------------------------------------------

const KEYRING_SERVICE: &str = "rolepick";

/// Runs `f` on its own thread: the keyring's Secret Service client brings
/// its own async runtime, which must not nest inside ours.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join()).unwrap_or_else(|p| std::panic::resume_unwind(p))
}

fn keyring_error(e: &keyring::Error) -> Error {
    Error::Other(format!(
        "the OS keychain is not available ({e}). On Linux it needs a running Secret Service (gnome-keyring, KeePassXC); otherwise set `[vault] backend = \"file\"` in config.toml."
    ))
}

/// The keychain entry for `source`, refused when it is not backed by the
/// OS's own store: a build without a native backend gets keyring's
/// in-memory mock, and a key "stored" there would be gone at exit.
fn entry(source: &str) -> Result<keyring::Entry, Error> {
    let entry = keyring::Entry::new(KEYRING_SERVICE, source).map_err(|e| keyring_error(&e))?;
    if entry.get_credential().is::<keyring::mock::MockCredential>() {
        return Err(Error::Other(
            "this build of rolepick has no OS keychain for this platform (only an in-memory stand-in that forgets keys at exit), so the keyring backend cannot keep a key. Set `[vault] backend = \"file\"` in config.toml.".into(),
        ));
    }
    Ok(entry)
}

pub fn keyring_get(source: &str) -> Result<Option<KeyRecord>, Error> {
    off_runtime(|| {
        let entry = entry(source)?;
        match entry.get_password() {
            Ok(p) => {
                let p = Zeroizing::new(p);
                serde_json::from_str(&p).map(Some).map_err(|e| {
                    Error::Other(format!(
                        "the keychain entry rolepick/{source} cannot be parsed ({e}); remove it with `rolepick vault remove {source}` and add the key again."
                    ))
                })
            }
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(&e)),
        }
    })
}

pub fn keyring_set(source: &str, rec: &KeyRecord) -> Result<(), Error> {
    let json = Zeroizing::new(serde_json::to_string(rec).map_err(|e| Error::Other(e.to_string()))?);
    off_runtime(|| {
        entry(source)?
            .set_password(&json)
            .map_err(|e| keyring_error(&e))
    })
}

pub fn keyring_delete(source: &str) -> Result<bool, Error> {
    off_runtime(|| match entry(source)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(e) => Err(keyring_error(&e)),
    })
}

// --- one source's record, whichever backend holds it --------------------------

/// Read-modify-write access to one source's record in the backend that
/// holds it. Take `loc.lock()` first and keep it for the whole change.
pub enum Slot {
    File {
        loc: Location,
        passphrase: SecretString,
    },
    Keyring {
        loc: Location,
    },
}

impl Slot {
    pub fn backend(&self) -> Backend {
        match self {
            Slot::File { .. } => Backend::File,
            Slot::Keyring { .. } => Backend::Keyring,
        }
    }

    /// Where the key lives, for messages.
    pub fn describe(&self) -> String {
        match self {
            Slot::File { loc, .. } => format!("the vault {}", loc.file.display()),
            Slot::Keyring { .. } => "the OS keychain".into(),
        }
    }

    pub fn get(&self, source: &str) -> Result<Option<KeyRecord>, Error> {
        match self {
            Slot::File { loc, passphrase } => {
                let doc = open(loc, passphrase)?;
                Ok(doc.sources.get(source).cloned())
            }
            Slot::Keyring { .. } => keyring_get(source),
        }
    }

    /// Writes `rec` for `source`, reads it back and compares, and updates
    /// the index.
    pub fn put(&self, source: &str, rec: &KeyRecord) -> Result<(), Error> {
        match self {
            Slot::File { loc, passphrase } => {
                let doc = open(loc, passphrase)?;
                put_in(loc, passphrase, doc, source, rec)
            }
            Slot::Keyring { loc } => {
                keyring_set(source, rec)?;
                if !same_record(keyring_get(source)?.as_ref(), rec) {
                    return Err(Error::Other(
                        "the key read back from the OS keychain differs from the one written."
                            .into(),
                    ));
                }
                index_keyring(loc, source, rec)
            }
        }
    }
}

/// Whether `back`, read back after writing `rec`, is what was written.
fn same_record(back: Option<&KeyRecord>, rec: &KeyRecord) -> bool {
    back.is_some_and(|b| {
        b.access_key_id == rec.access_key_id
            && b.secret_access_key == rec.secret_access_key
            && b.rotation == rec.rotation
            && b.previous.as_ref().map(|p| &p.access_key_id)
                == rec.previous.as_ref().map(|p| &p.access_key_id)
    })
}

/// [`Slot::put`] for the file vault, into `doc`: the vault's document as
/// the caller has just opened it (so it is not decrypted again), or a new
/// vault's. Writes, reads back and compares, and updates the index.
pub fn put_in(
    loc: &Location,
    passphrase: &SecretString,
    mut doc: Document,
    source: &str,
    rec: &KeyRecord,
) -> Result<(), Error> {
    doc.sources.insert(source.to_string(), rec.clone());
    save(loc, &doc, passphrase)?;
    let back = open(loc, passphrase)?;
    if !same_record(back.sources.get(source), rec) {
        return Err(Error::Other(format!(
            "the key read back from {} differs from the one written.",
            loc.file.display()
        )));
    }
    index_from(loc, &back)
}

/// Records in the plaintext index that `source`'s key (`rec`) is in the
/// OS keychain.
pub fn index_keyring(loc: &Location, source: &str, rec: &KeyRecord) -> Result<(), Error> {
    let mut index = loc.read_index();
    index
        .sources
        .insert(source.to_string(), IndexEntry::of(Backend::Keyring, rec));
    loc.write_index(&index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str) -> KeyRecord {
        KeyRecord {
            access_key_id: id.into(),
            secret_access_key: format!("secret-of-{id}"),
            user_arn: None,
            added: "2026-01-01T00:00:00Z".into(),
            previous: None,
            rotation: None,
        }
    }

    #[test]
    fn a_keychain_that_forgets_at_exit_is_refused_not_used() {
        // What a build without the platform's native backend gets by default.
        keyring::set_default_credential_builder(keyring::mock::default_credential_builder());
        let set = keyring_set("primary", &rec("AKIAMOCK"))
            .unwrap_err()
            .to_string();
        assert!(set.contains("no OS keychain"), "{set}");
        assert!(set.contains("backend = \"file\""), "{set}");
        assert!(keyring_get("primary").is_err());
        assert!(keyring_delete("primary").is_err());
    }

    #[test]
    fn a_record_written_before_rotation_existed_still_parses() {
        let old = r#"{"access_key_id":"AKIAOLD","secret_access_key":"s","user_arn":null,"added":"2026-01-01T00:00:00Z"}"#;
        let r: KeyRecord = serde_json::from_str(old).unwrap();
        assert!(r.rotation.is_none() && r.previous.is_none());
        assert!(!serde_json::to_string(&r).unwrap().contains("rotation"));
    }

    #[test]
    fn the_old_key_signs_in_until_the_new_one_is_verified() {
        let mut r = rec("AKIANEW");
        r.previous = Some(Box::new(rec("AKIAOLD")));
        r.rotation = Some(Rotation::Created { user: "u".into() });
        assert_eq!(r.usable_key().access_key_id, "AKIAOLD");
        let back: KeyRecord = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back.rotation, r.rotation);
        r.rotation = Some(Rotation::Verified { user: "u".into() });
        assert_eq!(r.usable_key().access_key_id, "AKIANEW");
        r.rotation = Some(Rotation::Creating {
            user: "u".into(),
            known: vec!["AKIANEW".into()],
        });
        assert_eq!(r.usable_key().access_key_id, "AKIANEW");
    }

    #[test]
    fn age_is_counted_in_whole_days() {
        let t = humantime::parse_rfc3339("2026-04-11T00:00:01Z").unwrap();
        assert_eq!(age_days("2026-01-01T00:00:00Z", t), Some(100));
        assert_eq!(age_days("not a date", t), None);
    }
}
