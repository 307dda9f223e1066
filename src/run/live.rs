//! The registry of live rolepick shells: which profiles have a subshell
//! open (the picker marks them) and, for a shell on the credential endpoint,
//! until when its credentials last (`rolepick prompt` reads it).

use crate::aws::rfc3339;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A live rolepick shell, registered so the picker can mark its role: a
/// file `<cache dir>/shells/<pid of rolepick>` holding the profile name on
/// its first line and, for a shell on the endpoint, when its credentials
/// run out (RFC 3339) on the second, kept current as the endpoint gets new
/// MFA sessions (`rolepick prompt` reads it through
/// [`SHELL_STATE_VAR`]). Removed when this is dropped. A file whose process
/// is gone (rolepick was killed) is ignored and cleaned up by
/// [`live_shells`].
pub struct LiveShell {
    /// `shells/`, checked and held open: the file is only ever replaced
    /// in it (temp file + rename), never opened through a symlink.
    dir: crate::fsutil::PrivateDir,
    name: String,
    path: PathBuf,
    profile: String,
    /// What the file says now (it is rewritten only when this changes).
    until: std::sync::Mutex<Option<SystemTime>>,
}

/// Refuses to start inside a rolepick shell (`ROLEPICK_PROFILE` is set)
/// unless `nest` (`--nest`).
pub fn nesting_guard(nest: bool) -> Result<(), crate::error::Error> {
    match std::env::var("ROLEPICK_PROFILE") {
        Ok(p) if !p.is_empty() && !nest => Err(crate::error::Error::Usage(format!(
            "already inside a rolepick shell for profile {p:?} (ROLEPICK_PROFILE is set). Exit that shell first, or pass --nest to start another one inside it."
        ))),
        _ => Ok(()),
    }
}

/// The variable that gives a shell on the endpoint the path of its
/// [`LiveShell`] file.
pub const SHELL_STATE_VAR: &str = "ROLEPICK_SHELL_STATE";

fn shells_dir(cache_dir: &Path) -> PathBuf {
    cache_dir.join("shells")
}

impl LiveShell {
    /// Registers a shell for `profile`; `None` (and no error) if the cache
    /// directory cannot take it: the mark in the picker is a nicety. The
    /// cache directory and its `shells/` must be private directories of the
    /// user (see [`crate::fsutil`]); one that is not is refused with a note.
    pub fn register(cache: &crate::cache::Cache, profile: &str) -> Option<LiveShell> {
        let dir = cache
            .private_dir()
            .and_then(|d| d.subdir("shells", "the live-shell directory"));
        let dir = match dir {
            Ok(d) => d,
            Err(e) => {
                crate::diag::warn(&format!("the picker will not mark this shell: {e}"));
                return None;
            }
        };
        let name = std::process::id().to_string();
        if let Err(e) = dir.write_atomic(&name, profile.as_bytes()) {
            crate::diag::debug(&e.to_string());
            return None;
        }
        Some(LiveShell {
            path: dir.path().join(&name),
            dir,
            name,
            profile: profile.to_string(),
            until: std::sync::Mutex::new(None),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records when the shell's credentials run out (replacing the file
    /// whole, so a reader never sees half of it); no write if unchanged.
    pub fn set_until(&self, until: SystemTime) {
        let mut said = self
            .until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *said == Some(until) {
            return;
        }
        *said = Some(until);
        let text = format!("{}\n{}\n", self.profile, rfc3339(until));
        if let Err(e) = self.dir.write_atomic(&self.name, text.as_bytes()) {
            crate::diag::debug(&format!("cannot update {}: {e}", self.path.display()));
        }
    }
}

/// When the shell whose [`LiveShell`] file is `path` stops getting
/// credentials, if the file says.
pub fn shell_state_until(path: &Path) -> Option<SystemTime> {
    let text = std::fs::read_to_string(path).ok()?;
    // Written by `set_until` with `rfc3339`, so read back strictly.
    humantime::parse_rfc3339(text.lines().nth(1)?.trim()).ok()
}

impl Drop for LiveShell {
    fn drop(&mut self) {
        self.dir.remove(&self.name);
    }
}

/// Profiles with a live rolepick shell (from any rolepick process of this
/// user), with how many.
pub fn live_shells(cache_dir: &Path) -> std::collections::HashMap<String, usize> {
    use std::os::unix::fs::MetadataExt;
    let mut out = std::collections::HashMap::new();
    let dir = shells_dir(cache_dir);
    // Only a private `shells/` of the user's is read (and cleaned up).
    match std::fs::symlink_metadata(&dir) {
        Ok(m) if crate::fsutil::judge(m.uid(), m.mode()).is_ok() => {}
        _ => return out,
    }
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return out;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
            .and_then(rustix::process::Pid::from_raw)
        else {
            continue;
        };
        let alive = match rustix::process::test_kill_process(pid) {
            Ok(()) => true,
            Err(e) => e == rustix::io::Errno::PERM,
        };
        if !alive {
            let _ = std::fs::remove_file(e.path());
            continue;
        }
        if let crate::fsutil::Private::File(mut f) = crate::fsutil::open_private(&e.path()) {
            let mut text = String::new();
            if std::io::Read::read_to_string(&mut f, &mut text).is_ok() {
                let profile = text.lines().next().unwrap_or_default().trim();
                *out.entry(profile.to_string()).or_insert(0) += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, DirBuilderExt, PermissionsExt};

    fn cache_dir(tmp: &Path) -> PathBuf {
        let dir = tmp.join("cache");
        std::fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
        dir
    }

    #[test]
    fn planted_symlinks_in_an_open_shells_dir_overwrite_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = cache_dir(tmp.path());
        let shells = cache.join("shells");
        std::fs::create_dir(&shells).unwrap();
        std::fs::set_permissions(&shells, std::fs::Permissions::from_mode(0o777)).unwrap();
        let victim = tmp.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        symlink(&victim, shells.join(std::process::id().to_string())).unwrap();
        let live = LiveShell::register(&crate::cache::Cache::at(cache.clone()), "prod-admin");
        assert!(live.is_none(), "a shells/ dir others can write is refused");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(
            std::fs::metadata(&shells).unwrap().permissions().mode() & 0o7777,
            0o777,
            "and left as it was"
        );
    }

    #[test]
    fn a_planted_symlink_for_our_pid_in_shells_is_replaced_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = cache_dir(tmp.path());
        let shells = cache.join("shells");
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&shells)
            .unwrap();
        let victim = tmp.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let ours = shells.join(std::process::id().to_string());
        symlink(&victim, &ours).unwrap();
        let live = LiveShell::register(&crate::cache::Cache::at(cache.clone()), "prod-admin")
            .expect("registered");
        live.set_until(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(2_000_000_000));
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(std::fs::symlink_metadata(&ours).unwrap().is_file());
        assert_eq!(live_shells(&cache).get("prod-admin"), Some(&1));
        drop(live);
        assert!(!ours.exists());
    }
}
