//! The temporary-credential cache: MFA sessions (`session-<source>.json`)
//! and role credentials (`role-<profile>.json`). Never the long-lived key.
//!
//! Files are created 0600 in a 0700 directory, written to a temp file,
//! fsynced and renamed. A file that is corrupt, not ours, or readable by
//! others is ignored with a warning. `<source>.lock` serialises the cold
//! path so that concurrent `rolepick` runs share one MFA session.

use crate::aws::{rfc3339, Credentials};
use crate::diag;
use crate::error::Error;
use crate::model::{Profile, ProfileKind};
use crate::vault::secret::SecretString;
use serde::{Deserialize, Serialize};
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use zeroize::{Zeroize, ZeroizeOnDrop};

const VERSION: u32 = 1;

/// On-disk form. Secrets are plain `String`s only while (de)serialising,
/// and wiped on drop.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
struct Entry {
    version: u32,
    /// `session` or `role`.
    kind: String,
    /// Source name (session) or profile name (role).
    name: String,
    /// What the credentials were made for; a mismatch means "stale".
    binding: String,
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expiration: String,
}

#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

fn uid() -> u32 {
    rustix::process::getuid().as_raw()
}

/// Longest readable part of a cache file name (bytes, all ASCII).
const STEM_PREFIX_MAX: usize = 64;

/// File-name form of a profile or source name: a readable, capped,
/// file-name-safe prefix plus a short hash of the exact name, so that
/// distinct names (`a/b` and `a_b`, `прод` and `тест`, two long names
/// sharing their first 64 bytes) never share a file, and no name is too
/// long for the file system.
pub fn file_stem(name: &str) -> String {
    use sha1::{Digest, Sha1};
    let readable: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(STEM_PREFIX_MAX)
        .collect();
    let digest = Sha1::digest(name.as_bytes());
    let hash: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("{readable}-{hash}")
}

/// What role credentials are bound to: if any of it changes in the config,
/// the cached credentials no longer apply.
fn role_binding(p: &Profile) -> String {
    match &p.kind {
        ProfileKind::Role(r) => format!(
            "role|{}|{}|{}|{}|{:?}|{:?}",
            p.source,
            r.role_arn,
            r.external_id.as_deref().unwrap_or(""),
            r.session_name.as_deref().unwrap_or(""),
            r.parent,
            p.mfa_serial
        ),
        ProfileKind::Session => format!("session|{}", p.source),
    }
}

fn session_binding(source: &str, serial: Option<&str>) -> String {
    format!("session|{source}|{}", serial.unwrap_or(""))
}

impl Cache {
    /// `$ROLEPICK_CACHE_DIR`, else `$XDG_RUNTIME_DIR/rolepick`, else the
    /// user cache dir (`~/.cache/rolepick`).
    pub fn discover() -> Cache {
        let var = |v: &str| {
            std::env::var_os(v)
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
        };
        let dir = var("ROLEPICK_CACHE_DIR")
            .or_else(|| var("XDG_RUNTIME_DIR").map(|d| d.join("rolepick")))
            .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("rolepick")))
            .or_else(|| {
                directories::ProjectDirs::from("", "", "rolepick")
                    .map(|d| d.cache_dir().to_path_buf())
            })
            .unwrap_or_else(|| std::env::temp_dir().join(format!("rolepick-{}", uid())));
        Cache { dir }
    }

    pub fn at(dir: PathBuf) -> Cache {
        Cache { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates the directory 0700 if needed, and checks an existing one.
    fn ensure_dir(&self) -> Result<&Path, Error> {
        match std::fs::symlink_metadata(&self.dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(&self.dir)
                    .map_err(|e| Error::io("create the cache directory", &self.dir, &e))?;
                Ok(&self.dir)
            }
            Err(e) => Err(Error::io("read the cache directory", &self.dir, &e)),
            Ok(m) => {
                if !m.is_dir() || m.uid() != uid() {
                    return Err(Error::Other(format!(
                        "cache directory {} is not a directory owned by you; rolepick will not use it. Remove it or set ROLEPICK_CACHE_DIR.",
                        self.dir.display()
                    )));
                }
                if m.permissions().mode() & 0o077 != 0 {
                    std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))
                        .map_err(|e| Error::io("restrict", &self.dir, &e))?;
                    diag::warn(&format!(
                        "cache directory {} was open to others; set it to 0700",
                        self.dir.display()
                    ));
                }
                Ok(&self.dir)
            }
        }
    }

    /// Names of the files in the cache directory (empty when there is none):
    /// one directory read instead of one failed open per profile.
    pub fn file_names(&self) -> std::collections::HashSet<std::ffi::OsString> {
        std::fs::read_dir(&self.dir)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.file_name())).collect())
            .unwrap_or_default()
    }

    /// File name of the role entry of `profile`.
    pub fn role_file_name(&self, profile: &str) -> std::ffi::OsString {
        format!("role-{}.json", file_stem(profile)).into()
    }

    fn path(&self, kind: &str, name: &str) -> PathBuf {
        self.dir.join(format!("{kind}-{}.json", file_stem(name)))
    }

    fn read(&self, kind: &str, name: &str, binding: &str) -> Option<Credentials> {
        let path = self.path(kind, name);
        let mut f = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                diag::warn(&format!("ignoring cache file {}: {e}", path.display()));
                return None;
            }
        };
        let meta = f.metadata().ok()?;
        if !meta.is_file() || meta.uid() != uid() || meta.permissions().mode() & 0o077 != 0 {
            diag::warn(&format!(
                "ignoring cache file {}: it is not a private file of yours (mode {:04o}, owner uid {})",
                path.display(),
                meta.permissions().mode() & 0o7777,
                meta.uid()
            ));
            return None;
        }
        let mut text = zeroize::Zeroizing::new(String::new());
        if f.read_to_string(&mut text).is_err() {
            diag::warn(&format!(
                "ignoring unreadable cache file {}",
                path.display()
            ));
            return None;
        }
        let entry: Entry = match serde_json::from_str(&text) {
            Ok(e) => e,
            Err(e) => {
                diag::warn(&format!(
                    "ignoring corrupt cache file {} ({e}); it will be replaced",
                    path.display()
                ));
                return None;
            }
        };
        if entry.version != VERSION || entry.kind != kind || entry.name != name {
            diag::warn(&format!(
                "ignoring cache file {}: written for something else",
                path.display()
            ));
            return None;
        }
        let matches = match binding.strip_suffix('*') {
            Some(prefix) => entry.binding.starts_with(prefix),
            None => entry.binding == binding,
        };
        if !matches {
            diag::debug(&format!(
                "cache {} is for an older configuration; not used",
                path.display()
            ));
            return None;
        }
        let Ok(expiration) = humantime::parse_rfc3339(&entry.expiration) else {
            diag::warn(&format!(
                "ignoring corrupt cache file {} (bad expiration)",
                path.display()
            ));
            return None;
        };
        Some(Credentials {
            access_key_id: entry.access_key_id.clone(),
            secret_access_key: SecretString::new(entry.secret_access_key.clone()),
            session_token: SecretString::new(entry.session_token.clone()),
            expiration,
        })
    }

    fn write(&self, kind: &str, name: &str, binding: &str, c: &Credentials) -> Result<(), Error> {
        let dir = self.ensure_dir()?;
        let entry = Entry {
            version: VERSION,
            kind: kind.to_string(),
            name: name.to_string(),
            binding: binding.to_string(),
            access_key_id: c.access_key_id.clone(),
            secret_access_key: c.secret_access_key.expose().to_string(),
            session_token: c.session_token.expose().to_string(),
            expiration: rfc3339(c.expiration),
        };
        let json = zeroize::Zeroizing::new(
            serde_json::to_vec(&entry).map_err(|e| Error::Other(e.to_string()))?,
        );
        write_atomic(dir, &self.path(kind, name), &json)
    }

    /// The cached session of `source`. With `serial`, only a session made
    /// with that MFA device; without, any session (an MFA session serves
    /// where none is required).
    pub fn read_session(&self, source: &str, serial: Option<&str>) -> Option<Credentials> {
        match serial {
            Some(_) => self.read("session", source, &session_binding(source, serial)),
            None => self.read("session", source, &format!("session|{source}|*")),
        }
    }

    pub fn write_session(
        &self,
        source: &str,
        serial: Option<&str>,
        c: &Credentials,
    ) -> Result<(), Error> {
        self.write("session", source, &session_binding(source, serial), c)
    }

    pub fn remove_session(&self, source: &str) {
        let _ = std::fs::remove_file(self.path("session", source));
    }

    pub fn read_role(&self, p: &Profile) -> Option<Credentials> {
        self.read("role", &p.name, &role_binding(p))
    }

    pub fn write_role(&self, p: &Profile, c: &Credentials) -> Result<(), Error> {
        self.write("role", &p.name, &role_binding(p), c)
    }

    /// Exclusive lock for `source`'s cold path; released on drop.
    pub fn lock(&self, source: &str) -> Result<File, Error> {
        let dir = self.ensure_dir()?;
        lock_exclusive(
            &dir.join(format!("{}.lock", file_stem(source))),
            &format!("signing in source {source:?}"),
        )
    }
}

impl Cache {
    /// Opens `name` in the cache directory for reading if it is a private
    /// regular file of this user (not following a symlink); None otherwise.
    pub fn open_private(&self, name: &str) -> Option<File> {
        let path = self.dir.join(name);
        let f = OpenOptions::new()
            .read(true)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(&path)
            .ok()?;
        let m = f.metadata().ok()?;
        (m.is_file() && m.uid() == uid() && m.permissions().mode() & 0o077 == 0).then_some(f)
    }

    /// Writes `name` in the (checked, private) cache directory atomically,
    /// 0600.
    pub fn write_private(&self, name: &str, data: &[u8]) -> Result<(), Error> {
        let dir = self.ensure_dir()?;
        write_atomic(dir, &dir.join(name), data)
    }
}

/// Takes an exclusive lock on `path` (created 0600), released when the
/// returned file is dropped. Says so when it has to wait for `doing`.
pub fn lock_exclusive(path: &Path, doing: &str) -> Result<File, Error> {
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io("open the lock file", path, &e))?;
    match f.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            diag::warn(&format!(
                "waiting for another rolepick to finish {doing}..."
            ));
            f.lock().map_err(|e| Error::io("lock", path, &e))?;
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(Error::io("lock", path, &e)),
    }
    Ok(f)
}

/// Writes `data` to `target` via a 0600 temp file in `dir`, fsync, rename.
pub fn write_atomic(dir: &Path, target: &Path, data: &[u8]) -> Result<(), Error> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nonce = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(
        ".{}.{}.{nonce}.tmp",
        target
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("entry"),
        std::process::id()
    ));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, target)?;
        File::open(dir)?.sync_all()
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io("write", target, &e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Account, Origin, Parent, RoleSpec};
    use std::time::{Duration, SystemTime};

    fn creds() -> Credentials {
        Credentials {
            access_key_id: "ASIATEMP".into(),
            secret_access_key: SecretString::new("temp-secret".into()),
            session_token: SecretString::new("temp-token".into()),
            expiration: SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000),
        }
    }

    fn profile(arn: &str) -> Profile {
        Profile {
            name: "team/admin".into(),
            source: "primary".into(),
            region: None,
            kind: ProfileKind::Role(RoleSpec {
                role_arn: arn.into(),
                external_id: None,
                session_name: None,
                duration_seconds: None,
                parent: Parent::Source,
            }),
            account: Account::default(),
            mfa_serial: Some("arn:aws:iam::111122223333:mfa/primary".into()),
            origin: Origin {
                file: "x".into(),
                line: 1,
            },
        }
    }

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn role_entry_round_trips_in_private_files() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::at(tmp.path().join("c"));
        let p = profile("arn:aws:iam::111122223333:role/admin");
        cache.write_role(&p, &creds()).unwrap();
        let back = cache.read_role(&p).unwrap();
        assert_eq!(back.access_key_id, "ASIATEMP");
        assert_eq!(back.session_token.expose(), "temp-token");
        assert_eq!(back.expiration, creds().expiration);
        assert_eq!(mode(cache.dir()), 0o700);
        for f in std::fs::read_dir(cache.dir()).unwrap() {
            assert_eq!(mode(&f.unwrap().path()), 0o600);
        }
    }

    #[test]
    fn changed_role_arn_makes_the_entry_stale() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::at(tmp.path().join("c"));
        cache
            .write_role(&profile("arn:aws:iam::111122223333:role/admin"), &creds())
            .unwrap();
        assert!(cache
            .read_role(&profile("arn:aws:iam::111122223333:role/other"))
            .is_none());
    }

    #[test]
    fn corrupt_entry_is_ignored() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::at(tmp.path().join("c"));
        let p = profile("arn:aws:iam::111122223333:role/admin");
        cache.write_role(&p, &creds()).unwrap();
        let file = cache.path("role", &p.name);
        std::fs::write(&file, "{not json").unwrap();
        assert!(cache.read_role(&p).is_none());
    }

    #[test]
    fn entry_readable_by_others_is_ignored() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::at(tmp.path().join("c"));
        let p = profile("arn:aws:iam::111122223333:role/admin");
        cache.write_role(&p, &creds()).unwrap();
        let file = cache.path("role", &p.name);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(cache.read_role(&p).is_none());
    }

    #[test]
    fn session_without_serial_accepts_an_mfa_session() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::at(tmp.path().join("c"));
        cache
            .write_session("primary", Some("arn:mfa/primary"), &creds())
            .unwrap();
        assert!(cache.read_session("primary", None).is_some());
        assert!(cache
            .read_session("primary", Some("arn:mfa/primary"))
            .is_some());
        assert!(cache
            .read_session("primary", Some("arn:mfa/other"))
            .is_none());
        cache.write_session("primary", None, &creds()).unwrap();
        assert!(cache
            .read_session("primary", Some("arn:mfa/primary"))
            .is_none());
    }

    #[test]
    fn open_cache_dir_is_tightened() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("c");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let cache = Cache::at(dir.clone());
        cache
            .write_role(&profile("arn:aws:iam::111122223333:role/a"), &creds())
            .unwrap();
        assert_eq!(mode(&dir), 0o700);
    }

    #[test]
    fn distinct_names_get_distinct_files() {
        for (a, b) in [("прод", "тест"), ("a/b", "a_b"), ("../x", ".._x")] {
            assert_ne!(file_stem(a), file_stem(b), "{a:?} and {b:?} share a file");
        }
        let long_a = format!("{}a", "x".repeat(299));
        let long_b = format!("{}b", "x".repeat(299));
        assert_ne!(file_stem(&long_a), file_stem(&long_b));
    }

    #[test]
    fn file_names_are_readable_safe_and_bounded() {
        let s = file_stem("team/admin");
        assert!(s.starts_with("team_admin-"), "{s}");
        assert!(!file_stem("../x").contains('/'));
        let long = file_stem(&"прод-".repeat(100));
        assert!(long.len() <= STEM_PREFIX_MAX + 13, "{} bytes", long.len());
        assert!(long.is_ascii());
    }

    #[test]
    fn a_300_character_profile_name_is_cached() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::at(tmp.path().join("c"));
        let mut p = profile("arn:aws:iam::111122223333:role/admin");
        p.name = "p".repeat(300);
        cache.write_role(&p, &creds()).unwrap();
        assert!(cache.read_role(&p).is_some());
    }

    #[test]
    fn names_that_sanitize_alike_do_not_evict_each_other() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::at(tmp.path().join("c"));
        let mut a = profile("arn:aws:iam::111122223333:role/admin");
        a.name = "прод".into();
        let mut b = a.clone();
        b.name = "тест".into();
        cache.write_role(&a, &creds()).unwrap();
        cache.write_role(&b, &creds()).unwrap();
        assert!(cache.read_role(&a).is_some(), "тест evicted прод");
        assert!(cache.read_role(&b).is_some());
    }
}
