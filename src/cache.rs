//! The temporary-credential cache: MFA sessions (`session-<source>.json`)
//! and role credentials (`role-<profile>.json`). Never the long-lived key.
//!
//! Every write goes through [`crate::fsutil`]: files are created 0600 in a
//! checked directory (created 0700 when missing), written to a temp file,
//! fsynced and renamed; nothing is opened through a symlink. A cache
//! directory that others can write (say `ROLEPICK_CACHE_DIR=/tmp`) is never
//! written to, nor `chmod`ed: the cache goes into rolepick's own private
//! subdirectory `rolepick-<uid>` in it. One of another user, or a symlink
//! in a directory others can write, is refused (exit 2). A file that is
//! corrupt, a symlink, not ours, or readable by others is ignored with a
//! warning. `<source>.lock` serialises the cold path so that concurrent
//! `rolepick` runs share one MFA session.

use crate::aws::{rfc3339, Credentials};
use crate::diag;
use crate::error::Error;
use crate::fsutil::{self, uid, Links, Private, PrivateDir, Unfit};
use crate::model::{Profile, ProfileKind};
use crate::secret::SecretString;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::SystemTime;
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
    /// Where the environment (or the default) points.
    configured: PathBuf,
    /// Where the files go, decided on first use (one `lstat`).
    place: OnceLock<Place>,
}

/// Where the cache lives, given what is at the configured path.
#[derive(Debug, Clone)]
enum Place {
    /// The configured directory itself (created 0700 if missing); `Follow`
    /// when it is a symlink the user made in a directory only they write.
    Dir(PathBuf, Links),
    /// The configured directory can be written by others (`/tmp`, a
    /// group-shared 2775 directory): rolepick's own private subdirectory
    /// `rolepick-<uid>` in it.
    Sub(PathBuf),
    /// Not usable; the message says why and what to do.
    Refused(String),
}

/// rolepick's subdirectory of a cache directory that others can write.
fn shared_subdir_name() -> String {
    format!("rolepick-{}", uid())
}

const WHAT: &str = "the cache directory";

impl Place {
    fn resolve(configured: &Path) -> Place {
        let refused = |unfit| Place::Refused(fsutil::refusal(WHAT, configured, unfit).to_string());
        let mut links = Links::Refuse;
        let meta = match std::fs::symlink_metadata(configured) {
            // Created 0700 on the first write.
            Err(_) => return Place::Dir(configured.to_path_buf(), links),
            Ok(m) if m.file_type().is_symlink() => {
                // The user's own link is followed; one in a directory others
                // can write could have been planted, and is not.
                let parent_open = configured
                    .parent()
                    .and_then(|p| std::fs::metadata(p).ok())
                    .is_none_or(|m| fsutil::writable_by_others(m.mode()));
                if parent_open {
                    return refused(Unfit::Symlink);
                }
                links = Links::Follow;
                match std::fs::metadata(configured) {
                    Ok(m) => m,
                    Err(_) => return Place::Dir(configured.to_path_buf(), links),
                }
            }
            Ok(m) => m,
        };
        if meta.is_dir() && fsutil::writable_by_others(meta.mode()) {
            let sub = configured.join(shared_subdir_name());
            return match std::fs::symlink_metadata(&sub) {
                Err(_) => Place::Sub(sub),
                Ok(m) if m.file_type().is_symlink() => {
                    Place::Refused(fsutil::refusal(WHAT, &sub, Unfit::Symlink).to_string())
                }
                Ok(m) => match fsutil::judge(m.uid(), m.mode()) {
                    Ok(()) => Place::Sub(sub),
                    Err(u) => Place::Refused(fsutil::refusal(WHAT, &sub, u).to_string()),
                },
            };
        }
        match fsutil::judge(meta.uid(), meta.mode()) {
            Ok(()) => Place::Dir(configured.to_path_buf(), links),
            Err(u) => refused(u),
        }
    }
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
    let readable = readable_prefix(name);
    let digest = Sha1::digest(name.as_bytes());
    // Hex by hand: `list` names the cache file of every profile, and a
    // `format!` per byte was a fifth of its time with 10,000 profiles.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut stem = readable;
    stem.reserve(13);
    stem.push('-');
    for b in &digest[..6] {
        stem.push(char::from(HEX[usize::from(b >> 4)]));
        stem.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    stem
}

/// File name of the `kind` entry (`role`, `session`) of `name`.
fn entry_name(kind: &str, name: &str) -> String {
    format!("{kind}-{}.json", file_stem(name))
}

/// The readable part of [`file_stem`]: file-name-safe, capped.
fn readable_prefix(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(STEM_PREFIX_MAX)
        .collect()
}

/// The role entries in the cache directory, to ask about many profiles at
/// once (the picker's first frame, `list`): a profile whose readable prefix
/// no entry has is answered without hashing its name.
pub struct RoleFiles {
    names: std::collections::HashSet<std::ffi::OsString>,
    prefixes: std::collections::HashSet<String>,
}

impl RoleFiles {
    /// Whether the cache holds a role entry for `profile` (fresh or not).
    pub fn has(&self, profile: &str) -> bool {
        self.prefixes.contains(&readable_prefix(profile))
            && self
                .names
                .contains(std::ffi::OsStr::new(&entry_name("role", profile)))
    }
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
        ProfileKind::Sso {
            account_id,
            role_name,
        } => format!("sso|{}|{account_id}|{role_name}", p.source),
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
        Cache::at(dir)
    }

    pub fn at(dir: PathBuf) -> Cache {
        Cache {
            configured: dir,
            place: OnceLock::new(),
        }
    }

    fn place(&self) -> &Place {
        self.place.get_or_init(|| {
            let place = Place::resolve(&self.configured);
            if let Place::Sub(sub) = &place {
                diag::debug(&format!(
                    "{} can be written by other users; using rolepick's private {} in it",
                    self.configured.display(),
                    sub.display()
                ));
            }
            place
        })
    }

    /// Where the cache files are: the configured directory, or rolepick's
    /// private subdirectory of it when others can write the configured one.
    pub fn dir(&self) -> &Path {
        match self.place() {
            Place::Dir(p, _) | Place::Sub(p) => p,
            Place::Refused(_) => &self.configured,
        }
    }

    /// The cache directory, opened and checked (created 0700 if missing):
    /// everything written into the cache goes through it.
    pub fn private_dir(&self) -> Result<PrivateDir, Error> {
        match self.place() {
            Place::Dir(p, links) => PrivateDir::ensure(p, *links, WHAT),
            Place::Sub(_) => {
                PrivateDir::ensure_in_shared(&self.configured, &shared_subdir_name(), WHAT)
            }
            Place::Refused(m) => Err(Error::Config(m.clone())),
        }
    }

    fn usable(&self) -> bool {
        !matches!(self.place(), Place::Refused(_))
    }

    /// Names of the files in the cache directory (empty when there is none):
    /// one directory read instead of one failed open per profile.
    pub fn file_names(&self) -> std::collections::HashSet<std::ffi::OsString> {
        if !self.usable() {
            return std::collections::HashSet::new();
        }
        std::fs::read_dir(self.dir())
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.file_name())).collect())
            .unwrap_or_default()
    }

    /// The role entries present now.
    pub fn role_files(&self) -> RoleFiles {
        let names = self.file_names();
        let prefixes = names
            .iter()
            .filter_map(|n| {
                let stem = n.to_str()?.strip_prefix("role-")?.strip_suffix(".json")?;
                Some(stem.rsplit_once('-')?.0.to_string())
            })
            .collect();
        RoleFiles { names, prefixes }
    }

    fn path(&self, kind: &str, name: &str) -> PathBuf {
        self.dir().join(entry_name(kind, name))
    }

    fn read(&self, kind: &str, name: &str, binding: &str) -> Option<Credentials> {
        if !self.usable() {
            return None;
        }
        let path = self.path(kind, name);
        let mut f = match fsutil::open_private(&path) {
            Private::File(f) => f,
            Private::Missing => return None,
            Private::Refused(why) => {
                diag::warn(&format!("ignoring cache file {}: {why}", path.display()));
                return None;
            }
        };
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
        let dir = self.private_dir()?;
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
        dir.write_atomic(file_name(&self.path(kind, name)), &json)
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
        if self.usable() {
            let _ = std::fs::remove_file(self.path("session", source));
        }
    }

    /// Removes the cached role credentials of `profile`; whether there were any.
    pub fn remove_role(&self, profile: &str) -> bool {
        self.usable() && std::fs::remove_file(self.path("role", profile)).is_ok()
    }

    /// Removes one cache entry file through the checked directory (a
    /// symlink in its place is removed itself, never followed); whether
    /// there was one. A cache directory that does not exist is not made.
    fn clear_entry(&self, name: &str) -> Result<bool, Error> {
        if !self.usable() || std::fs::symlink_metadata(self.dir()).is_err() {
            return Ok(false);
        }
        let dir = self.private_dir()?;
        let path = dir.path().join(name);
        if std::fs::symlink_metadata(&path).is_err() {
            return Ok(false);
        }
        dir.remove(name);
        Ok(std::fs::symlink_metadata(&path).is_err())
    }

    /// `rolepick clear PROFILE`: removes `profile`'s cached role
    /// credentials; whether there were any.
    pub fn clear_role(&self, profile: &str) -> Result<bool, Error> {
        self.clear_entry(&entry_name("role", profile))
    }

    /// `rolepick clear`: removes `source`'s cached MFA session; whether
    /// there was one.
    pub fn clear_session(&self, source: &str) -> Result<bool, Error> {
        self.clear_entry(&entry_name("session", source))
    }

    /// `rolepick clear --all`: removes every cached role credential and MFA
    /// session still in the cache (other files, such as locks, the
    /// configuration's snapshot and Identity Center listings, stay).
    /// Returns how many of each were removed.
    pub fn clear_credentials(&self) -> Result<(usize, usize), Error> {
        let (mut roles, mut sessions) = (0, 0);
        for n in self.file_names() {
            let Some(n) = n.to_str().filter(|n| n.ends_with(".json")) else {
                continue;
            };
            let count = if n.starts_with("role-") {
                &mut roles
            } else if n.starts_with("session-") {
                &mut sessions
            } else {
                continue;
            };
            if self.clear_entry(n)? {
                *count += 1;
            }
        }
        Ok((roles, sessions))
    }

    pub fn read_role(&self, p: &Profile) -> Option<Credentials> {
        self.read("role", &p.name, &role_binding(p))
    }

    pub fn write_role(&self, p: &Profile, c: &Credentials) -> Result<(), Error> {
        self.write("role", &p.name, &role_binding(p), c)
    }

    /// Exclusive lock for `source`'s cold path; released on drop.
    pub fn lock(&self, source: &str) -> Result<File, Error> {
        self.private_dir()?.lock(
            &format!("{}.lock", file_stem(source)),
            &format!("signing in source {source:?}"),
        )
    }

    /// When the stamp file `name` in the cache was last touched, if it is a
    /// regular file (a symlink in its place does not count).
    pub fn stamped(&self, name: &str) -> Option<SystemTime> {
        if !self.usable() {
            return None;
        }
        let m = std::fs::symlink_metadata(self.dir().join(name)).ok()?;
        m.is_file().then(|| m.modified().ok()).flatten()
    }

    /// Replaces the stamp file `name` with an empty one dated `when`.
    pub fn stamp(&self, name: &str, when: SystemTime) -> Result<(), Error> {
        self.private_dir()?
            .write_atomic_stamped(name, b"", Some(when))
    }

    /// Removes the stamp file `name`, if there is one.
    pub fn unstamp(&self, name: &str) {
        if self.stamped(name).is_some() {
            if let Ok(dir) = self.private_dir() {
                dir.remove(name);
            }
        }
    }

    /// Opens `name` in the cache directory for reading if it is a private
    /// regular file of this user (not following a symlink); None otherwise.
    pub fn open_private(&self, name: &str) -> Option<File> {
        if !self.usable() {
            return None;
        }
        match fsutil::open_private(&self.dir().join(name)) {
            Private::File(f) => Some(f),
            Private::Missing | Private::Refused(_) => None,
        }
    }

    /// [`Cache::open_private`] saying why a file that is there was refused
    /// (Missing when the cache directory itself is not usable).
    pub fn open_checked(&self, name: &str) -> Private {
        if !self.usable() {
            return Private::Missing;
        }
        fsutil::open_private(&self.dir().join(name))
    }

    /// Writes `name` in the (checked, private) cache directory atomically,
    /// 0600.
    pub fn write_private(&self, name: &str, data: &[u8]) -> Result<(), Error> {
        self.private_dir()?.write_atomic(name, data)
    }
}

/// The last component of a path this module built in the cache directory.
fn file_name(path: &Path) -> std::ffi::OsString {
    path.file_name().map(Into::into).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Account, Origin, Parent, RoleSpec};
    use std::os::unix::fs::PermissionsExt;
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
    fn role_files_knows_which_profiles_have_an_entry() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::at(tmp.path().join("c"));
        let long = "x".repeat(300);
        let names = ["prod/admin", "прод", long.as_str()];
        for name in names {
            let mut p = profile("arn:aws:iam::111122223333:role/admin");
            p.name = name.into();
            cache.write_role(&p, &creds()).unwrap();
        }
        cache.write_session("prod_admin", None, &creds()).unwrap();
        let files = cache.role_files();
        for name in names {
            assert!(files.has(name), "{name}");
        }
        // Same readable prefix, another name; a session entry is not a role's.
        let longer = format!("{long}y");
        for other in ["prod_admin", "тест", longer.as_str(), "dev"] {
            assert!(!files.has(other), "{other}");
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

    fn chmod(p: &Path, m: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    }

    fn full_mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().mode() & 0o7777
    }

    #[test]
    fn a_cache_dir_others_can_write_keeps_its_mode_and_gets_a_private_subdir() {
        let tmp = tempfile::tempdir().unwrap();
        for m in [0o1777, 0o2775] {
            let dir = tmp.path().join(format!("shared-{m:o}"));
            std::fs::create_dir(&dir).unwrap();
            chmod(&dir, m);
            std::fs::write(dir.join("someone-elses-file"), "x").unwrap();
            let cache = Cache::at(dir.clone());
            let p = profile("arn:aws:iam::111122223333:role/a");
            cache.write_role(&p, &creds()).unwrap();
            drop(cache.lock("primary").unwrap());
            assert_eq!(
                full_mode(&dir),
                m,
                "a directory rolepick did not create keeps its mode"
            );
            let sub = dir.join(format!("rolepick-{}", uid()));
            assert_eq!(cache.dir(), sub);
            // (A setgid parent passes its setgid bit on: 2700.)
            assert_eq!(full_mode(&sub) & 0o777, 0o700);
            assert_eq!(
                full_mode(&sub.join(entry_name("role", "team/admin"))),
                0o600
            );
            assert!(Cache::at(dir.clone()).read_role(&p).is_some());
        }
    }

    #[test]
    fn a_cache_dir_only_we_can_write_is_used_as_it_is() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("c");
        std::fs::create_dir(&dir).unwrap();
        chmod(&dir, 0o755);
        let cache = Cache::at(dir.clone());
        cache
            .write_role(&profile("arn:aws:iam::111122223333:role/a"), &creds())
            .unwrap();
        assert_eq!(cache.dir(), dir);
        assert_eq!(full_mode(&dir), 0o755);
    }

    #[test]
    fn a_private_subdir_open_to_others_is_refused_and_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("shared");
        std::fs::create_dir(&dir).unwrap();
        chmod(&dir, 0o1777);
        let sub = dir.join(format!("rolepick-{}", uid()));
        std::fs::create_dir(&sub).unwrap();
        chmod(&sub, 0o777);
        let cache = Cache::at(dir.clone());
        let e = cache
            .write_role(&profile("arn:aws:iam::111122223333:role/a"), &creds())
            .unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("mode 0777"), "{e}");
        assert_eq!(full_mode(&sub), 0o777);
        assert_eq!(std::fs::read_dir(&sub).unwrap().count(), 0);
    }

    #[test]
    fn a_planted_symlink_as_the_private_subdir_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("shared");
        let elsewhere = tmp.path().join("elsewhere");
        std::fs::create_dir(&dir).unwrap();
        std::fs::create_dir(&elsewhere).unwrap();
        chmod(&dir, 0o1777);
        std::os::unix::fs::symlink(&elsewhere, dir.join(format!("rolepick-{}", uid()))).unwrap();
        let cache = Cache::at(dir);
        let e = cache.lock("primary").unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
    }

    #[test]
    fn a_symlink_to_the_cache_dir_is_followed_only_where_nobody_else_could_plant_it() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        std::fs::create_dir(&real).unwrap();
        chmod(&real, 0o700);
        // The user's own link, in a directory only they write: followed.
        let mine = tmp.path().join("mine");
        std::os::unix::fs::symlink(&real, &mine).unwrap();
        let p = profile("arn:aws:iam::111122223333:role/a");
        Cache::at(mine).write_role(&p, &creds()).unwrap();
        assert!(real.join(entry_name("role", "team/admin")).exists());
        // The same link in a directory others can write: refused.
        let shared = tmp.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        chmod(&shared, 0o1777);
        let planted = shared.join("rolepick-cache");
        std::os::unix::fs::symlink(&real, &planted).unwrap();
        let e = Cache::at(planted).write_role(&p, &creds()).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("symbolic link"), "{e}");
    }

    #[test]
    fn a_dangling_lock_symlink_does_not_create_its_target() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::at(tmp.path().join("c"));
        cache
            .write_role(&profile("arn:aws:iam::111122223333:role/a"), &creds())
            .unwrap();
        let target = tmp.path().join("made-through-the-link");
        std::os::unix::fs::symlink(&target, cache.dir().join("primary.lock")).unwrap();
        drop(cache.lock("primary").unwrap());
        assert!(!target.exists(), "the lock's symlink was followed");
    }

    #[test]
    fn a_planted_symlink_as_a_cache_file_is_replaced_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let victim = tmp.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let cache = Cache::at(tmp.path().join("c"));
        let p = profile("arn:aws:iam::111122223333:role/admin");
        cache.write_role(&p, &creds()).unwrap();
        let file = cache.path("role", &p.name);
        std::fs::remove_file(&file).unwrap();
        std::os::unix::fs::symlink(&victim, &file).unwrap();
        assert!(cache.read_role(&p).is_none());
        cache.write_role(&p, &creds()).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(cache.read_role(&p).is_some());
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
