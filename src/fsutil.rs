//! File safety, in one place: every file rolepick writes goes through here.
//!
//! * [`PrivateDir`](crate::fsutil::PrivateDir): a directory checked to be a directory of the current
//!   user that neither its group nor others can write, held open so that
//!   every later step works on that very directory (`openat`, `renameat`),
//!   not on a path someone could swap. A missing one is created 0700; an
//!   existing one that fails the check is refused, never `chmod`ed: rolepick
//!   never changes the mode of a directory it did not create.
//! * Files are created 0600 from the start with `O_CREAT|O_EXCL|O_NOFOLLOW`
//!   (a planted symlink makes the create fail instead of being followed),
//!   and replaced whole through a temp file: write, fsync, rename, fsync
//!   the directory. A rename replaces a symlink, never its target.
//! * Lock files are opened with `O_NOFOLLOW`: a symlink in a lock's place
//!   (dangling or not) is removed, never followed, so it cannot make
//!   rolepick create or lock its target.
//! * Reading: [`open_private`](crate::fsutil::open_private) opens a file only if it is a regular file of
//!   the user that nobody else can read, without following a symlink.

use crate::diag;
use crate::error::Error;
use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

/// The current user's uid.
pub fn uid() -> u32 {
    rustix::process::getuid().as_raw()
}

/// Whether a mode lets the group or others create, rename or delete entries.
pub fn writable_by_others(mode: u32) -> bool {
    mode & 0o022 != 0
}

/// Why a directory is not fit for rolepick's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unfit {
    /// A symbolic link where rolepick does not follow one.
    Symlink,
    NotADirectory,
    /// Owned by another user.
    NotOurs {
        owner: u32,
    },
    /// The group or others can write in it (`mode` with the file-type bits off).
    OpenToOthers {
        mode: u32,
    },
}

impl std::fmt::Display for Unfit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unfit::Symlink => write!(
                f,
                "is a symbolic link, which rolepick does not follow there"
            ),
            Unfit::NotADirectory => write!(f, "is not a directory"),
            Unfit::NotOurs { owner } => write!(f, "belongs to another user (uid {owner})"),
            Unfit::OpenToOthers { mode } => {
                write!(f, "can be written by other users (mode {mode:04o})")
            }
        }
    }
}

/// Judges a directory by its owner and mode (`st_mode`, type bits included).
pub fn judge(owner: u32, st_mode: u32) -> Result<(), Unfit> {
    if st_mode & 0o170_000 != 0o040_000 {
        return Err(Unfit::NotADirectory);
    }
    if owner != uid() {
        return Err(Unfit::NotOurs { owner });
    }
    if writable_by_others(st_mode) {
        return Err(Unfit::OpenToOthers {
            mode: st_mode & 0o7777,
        });
    }
    Ok(())
}

/// The error for a directory rolepick will not write in (exit 2: the user
/// has to pick or fix a directory).
pub fn refusal(what: &str, path: &Path, unfit: Unfit) -> Error {
    Error::Config(format!(
        "{what} {} {unfit}; rolepick will not write there (and never changes the mode of a directory it did not create). Use a directory that you own and only you can write, e.g. one made with `mkdir -m 700`.",
        path.display()
    ))
}

/// Whether links are followed to reach a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// The user's own symlinks on the way are honoured (the directory
    /// reached is checked all the same).
    Follow,
    /// A symlink as the last component is refused: for a directory in a
    /// place others could have planted one.
    Refuse,
}

/// A directory of the current user that nobody else can write, held open.
#[derive(Debug)]
pub struct PrivateDir {
    path: PathBuf,
    fd: OwnedFd,
}

fn dir_flags(links: Links) -> OFlags {
    let f = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    match links {
        Links::Follow => f,
        Links::Refuse => f | OFlags::NOFOLLOW,
    }
}

fn io_err(e: Errno) -> std::io::Error {
    std::io::Error::from_raw_os_error(e.raw_os_error())
}

/// A single path component rolepick names a file with.
fn check_name(name: &OsStr) -> Result<(), Error> {
    let b = name.as_bytes();
    if b.is_empty() || b == b"." || b == b".." || b.contains(&b'/') || b.contains(&0) {
        return Err(Error::Other(format!(
            "internal error: {name:?} is not a file name"
        )));
    }
    Ok(())
}

impl PrivateDir {
    /// Opens `path`, creating it (and missing parents) 0700 when it does
    /// not exist, and checks it. `what` names it in messages ("the cache
    /// directory").
    pub fn ensure(path: &Path, links: Links, what: &str) -> Result<PrivateDir, Error> {
        let flags = dir_flags(links);
        let fd = match rustix::fs::open(path, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(path)
                    .map_err(|e| Error::io(&format!("create {what}"), path, &e))?;
                rustix::fs::open(path, flags, Mode::empty())
                    .map_err(|e| Error::io(&format!("open {what}"), path, &io_err(e)))?
            }
            Err(Errno::LOOP | Errno::NOTDIR) => {
                let unfit = match std::fs::symlink_metadata(path) {
                    Ok(m) if m.file_type().is_symlink() => Unfit::Symlink,
                    _ => Unfit::NotADirectory,
                };
                return Err(refusal(what, path, unfit));
            }
            Err(e) => return Err(Error::io(&format!("open {what}"), path, &io_err(e))),
        };
        Self::checked(path.to_path_buf(), fd, what)
    }

    fn checked(path: PathBuf, fd: OwnedFd, what: &str) -> Result<PrivateDir, Error> {
        let st = rustix::fs::fstat(&fd)
            .map_err(|e| Error::io(&format!("read {what}"), &path, &io_err(e)))?;
        judge(st.st_uid, st.st_mode).map_err(|u| refusal(what, &path, u))?;
        Ok(PrivateDir { path, fd })
    }

    /// The subdirectory `name`, created 0700 if missing, held to the same
    /// rules; a symlink in its place is refused.
    pub fn subdir(&self, name: &str, what: &str) -> Result<PrivateDir, Error> {
        sub_at(&self.fd, &self.path, name, what)
    }

    /// rolepick's own subdirectory `name` of a directory that others may
    /// write (say `/tmp`, mode 1777): created 0700 if missing, never
    /// through a symlink, and refused unless it is then a private directory
    /// of the user. `parent` itself is only opened, never judged or changed.
    pub fn ensure_in_shared(parent: &Path, name: &str, what: &str) -> Result<PrivateDir, Error> {
        let fd = rustix::fs::open(parent, dir_flags(Links::Follow), Mode::empty())
            .map_err(|e| Error::io(&format!("open the parent of {what}"), parent, &io_err(e)))?;
        sub_at(&fd, parent, name, what)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Replaces (or creates) `name` with `data`: a new 0600 temp file in
    /// this directory, fsync, rename over `name`, fsync the directory. A
    /// symlink at `name` is replaced, never followed.
    pub fn write_atomic(&self, name: impl AsRef<OsStr>, data: &[u8]) -> Result<(), Error> {
        self.write_atomic_stamped(name, data, None)
    }

    /// [`write_atomic`](Self::write_atomic), with the file's modification
    /// time set to `modified` before it takes `name`'s place.
    pub fn write_atomic_stamped(
        &self,
        name: impl AsRef<OsStr>,
        data: &[u8],
        modified: Option<SystemTime>,
    ) -> Result<(), Error> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = name.as_ref();
        check_name(name)?;
        let nonce = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut tmp = OsString::from(".");
        tmp.push(name);
        tmp.push(format!(".{}.{nonce}.tmp", std::process::id()));
        let tmp = tmp.as_os_str();
        let result = (|| -> std::io::Result<()> {
            let mut f = self.create_new(tmp)?;
            f.write_all(data)?;
            if let Some(t) = modified {
                f.set_modified(t)?;
            }
            f.sync_all()?;
            drop(f);
            rustix::fs::renameat(&self.fd, tmp, &self.fd, name).map_err(io_err)?;
            rustix::fs::fsync(&self.fd).map_err(io_err)
        })();
        result.map_err(|e| {
            let _ = rustix::fs::unlinkat(&self.fd, tmp, AtFlags::empty());
            Error::io("write", &self.path.join(name), &e)
        })
    }

    /// Creates `name` 0600 for writing; fails if anything (a symlink
    /// included) is there already.
    pub fn create_new(&self, name: impl AsRef<OsStr>) -> std::io::Result<File> {
        let fd = rustix::fs::openat(
            &self.fd,
            name.as_ref(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(io_err)?;
        Ok(File::from(fd))
    }

    /// Removes `name` (a symlink itself, never its target); missing is fine.
    pub fn remove(&self, name: &str) {
        let _ = rustix::fs::unlinkat(&self.fd, name, AtFlags::empty());
    }

    /// Takes an exclusive lock on the file `name` (created 0600 if missing),
    /// released when the returned file is dropped; says so when it has to
    /// wait for `doing`. A symlink in the lock's place is removed, not
    /// followed.
    pub fn lock(&self, name: &str, doing: &str) -> Result<File, Error> {
        check_name(name.as_ref())?;
        let path = self.path.join(name);
        let open = || {
            rustix::fs::openat(
                &self.fd,
                name,
                // NONBLOCK: a FIFO in the lock's place must not hang the open.
                OFlags::RDWR
                    | OFlags::CREATE
                    | OFlags::NOFOLLOW
                    | OFlags::CLOEXEC
                    | OFlags::NONBLOCK,
                Mode::from_raw_mode(0o600),
            )
        };
        let fd = match open() {
            Err(Errno::LOOP) => {
                diag::warn(&format!(
                    "removed the symbolic link {} (rolepick does not follow links in its own directories)",
                    path.display()
                ));
                rustix::fs::unlinkat(&self.fd, name, AtFlags::empty())
                    .and_then(|()| open())
                    .map_err(|e| Error::io("open the lock file", &path, &io_err(e)))?
            }
            r => r.map_err(|e| Error::io("open the lock file", &path, &io_err(e)))?,
        };
        let st = rustix::fs::fstat(&fd)
            .map_err(|e| Error::io("open the lock file", &path, &io_err(e)))?;
        if st.st_mode & 0o170_000 != 0o100_000 || st.st_uid != uid() {
            return Err(Error::Config(format!(
                "the lock file {} is not a regular file of yours; remove it.",
                path.display()
            )));
        }
        let f = File::from(fd);
        match f.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                diag::warn(&format!(
                    "waiting for another rolepick to finish {doing}..."
                ));
                f.lock().map_err(|e| Error::io("lock", &path, &e))?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io("lock", &path, &e)),
        }
        Ok(f)
    }
}

fn sub_at(
    parent: &OwnedFd,
    parent_path: &Path,
    name: &str,
    what: &str,
) -> Result<PrivateDir, Error> {
    check_name(name.as_ref())?;
    let path = parent_path.join(name);
    match rustix::fs::mkdirat(parent, name, Mode::from_raw_mode(0o700)) {
        Ok(()) | Err(Errno::EXIST) => {}
        Err(e) => return Err(Error::io(&format!("create {what}"), &path, &io_err(e))),
    }
    let fd = match rustix::fs::openat(parent, name, dir_flags(Links::Refuse), Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::LOOP | Errno::NOTDIR) => {
            let unfit = match rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) if st.st_mode & 0o170_000 == 0o120_000 => Unfit::Symlink,
                _ => Unfit::NotADirectory,
            };
            return Err(refusal(what, &path, unfit));
        }
        Err(e) => return Err(Error::io(&format!("open {what}"), &path, &io_err(e))),
    };
    PrivateDir::checked(path, fd, what)
}

/// A file opened by [`open_private`], or why not.
#[derive(Debug)]
pub enum Private {
    File(File),
    Missing,
    /// Not used: a symlink, not a regular file, another user's, readable by
    /// others, or unreadable. Says which, for a warning.
    Refused(String),
}

/// Opens `path` for reading if it is a regular file of the current user
/// that neither the group nor others can read or write. Never follows a
/// symlink, never blocks on a FIFO.
pub fn open_private(path: &Path) -> Private {
    let fd = match rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Private::Missing,
        Err(Errno::LOOP) => return Private::Refused("it is a symbolic link".into()),
        Err(e) => return Private::Refused(io_err(e).to_string()),
    };
    let f = File::from(fd);
    let Ok(meta) = f.metadata() else {
        return Private::Refused("it cannot be read".into());
    };
    let mode = meta.mode() & 0o7777;
    if !meta.is_file() || meta.uid() != uid() || mode & 0o077 != 0 {
        return Private::Refused(format!(
            "it is not a private file of yours (mode {mode:04o}, owner uid {})",
            meta.uid()
        ));
    }
    Private::File(f)
}

/// Writes `data` to a new file at `path` the user named (e.g. `--qr-png`),
/// created 0600 and never over anything already there, a symlink included.
pub fn write_new(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let fd = rustix::fs::open(
        path,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )
    .map_err(io_err)?;
    let mut f = File::from(fd);
    f.write_all(data)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().mode() & 0o7777
    }

    fn chmod(p: &Path, m: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    }

    #[test]
    fn a_missing_directory_is_created_0700_with_files_0600() {
        let tmp = tempfile::tempdir().unwrap();
        let d = PrivateDir::ensure(&tmp.path().join("a/b"), Links::Refuse, "the dir").unwrap();
        assert_eq!(mode(d.path()), 0o700);
        d.write_atomic("f", b"one").unwrap();
        d.write_atomic("f", b"two").unwrap();
        assert_eq!(std::fs::read(d.path().join("f")).unwrap(), b"two");
        assert_eq!(mode(&d.path().join("f")), 0o600);
        let names: Vec<_> = std::fs::read_dir(d.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "no temp file left behind");
    }

    #[test]
    fn a_directory_open_to_others_is_refused_and_keeps_its_mode() {
        let tmp = tempfile::tempdir().unwrap();
        for m in [0o1777, 0o2775, 0o777, 0o770] {
            let dir = tmp.path().join(format!("d{m:o}"));
            std::fs::create_dir(&dir).unwrap();
            chmod(&dir, m);
            let e = PrivateDir::ensure(&dir, Links::Follow, "the dir").unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(
                e.to_string()
                    .contains(&format!("can be written by other users (mode {m:04o})")),
                "{e}"
            );
            assert_eq!(
                mode(&dir),
                m,
                "the mode of a directory not ours is never changed"
            );
        }
    }

    #[test]
    fn a_directory_only_we_can_write_is_used_as_it_is() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        std::fs::create_dir(&dir).unwrap();
        chmod(&dir, 0o755);
        PrivateDir::ensure(&dir, Links::Follow, "the dir").unwrap();
        assert_eq!(mode(&dir), 0o755);
    }

    #[test]
    fn a_symlinked_directory_is_refused_where_links_are_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let link = tmp.path().join("link");
        symlink(&real, &link).unwrap();
        let e = PrivateDir::ensure(&link, Links::Refuse, "the dir").unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        PrivateDir::ensure(&link, Links::Follow, "the dir").unwrap();
        let parent = PrivateDir::ensure(tmp.path(), Links::Follow, "the dir").unwrap();
        let e = parent.subdir("link", "the subdir").unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
    }

    #[test]
    fn an_atomic_write_replaces_a_planted_symlink_not_its_target() {
        let tmp = tempfile::tempdir().unwrap();
        let victim = tmp.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let d = PrivateDir::ensure(&tmp.path().join("d"), Links::Refuse, "the dir").unwrap();
        symlink(&victim, d.path().join("f")).unwrap();
        d.write_atomic("f", b"ours").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(std::fs::read_to_string(d.path().join("f")).unwrap(), "ours");
        assert!(!std::fs::symlink_metadata(d.path().join("f"))
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn create_new_never_follows_or_replaces() {
        let tmp = tempfile::tempdir().unwrap();
        let d = PrivateDir::ensure(&tmp.path().join("d"), Links::Refuse, "the dir").unwrap();
        let target = tmp.path().join("target");
        symlink(&target, d.path().join("dangling")).unwrap();
        assert!(d.create_new("dangling").is_err());
        assert!(!target.exists());
        assert!(write_new(&d.path().join("dangling"), b"x").is_err());
        assert!(!target.exists());
    }

    #[test]
    fn a_dangling_lock_symlink_does_not_create_its_target() {
        let tmp = tempfile::tempdir().unwrap();
        let d = PrivateDir::ensure(&tmp.path().join("d"), Links::Refuse, "the dir").unwrap();
        let target = tmp.path().join("created-by-the-link");
        symlink(&target, d.path().join("x.lock")).unwrap();
        let lock = d.lock("x.lock", "testing").unwrap();
        drop(lock);
        assert!(!target.exists());
        let m = std::fs::symlink_metadata(d.path().join("x.lock")).unwrap();
        assert!(m.is_file());
        assert_eq!(m.mode() & 0o777, 0o600);
    }

    #[test]
    fn open_private_refuses_links_and_files_others_can_read() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("f");
        std::fs::write(&f, "x").unwrap();
        chmod(&f, 0o600);
        assert!(matches!(open_private(&f), Private::File(_)));
        chmod(&f, 0o640);
        assert!(matches!(open_private(&f), Private::Refused(m) if m.contains("0640")));
        chmod(&f, 0o600);
        let l = tmp.path().join("l");
        symlink(&f, &l).unwrap();
        assert!(matches!(open_private(&l), Private::Refused(m) if m.contains("symbolic link")));
        assert!(matches!(
            open_private(&tmp.path().join("none")),
            Private::Missing
        ));
    }
}
