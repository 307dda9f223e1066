//! rolepick is two programs built from this crate. `rolepick`
//! (`src/bin/rolepick.rs`) is small: it serves the warm path of `exec`,
//! `env` and `credential-process` itself ([`crate::warm`]), and `prompt`,
//! and becomes the full program for anything else. `rolepick-full`
//! (`src/main.rs`) is everything: every subcommand, the picker, the cold
//! path, the AWS SDK. A warm `exec` so maps and relocates a binary a tenth
//! the size, which is most of its cost.
//!
//! This leaf says where the full program is: beside the small one (cargo's
//! target directory, `cargo install`, a tarball), else in
//! `../libexec/rolepick/` from it (the Debian package). The small program
//! is found through `/proc/self/exe`, else (no `/proc`: a container, a
//! hardened mount) through its `argv[0]`, searched in `PATH` when it has
//! no slash; failing those, the full program is looked for in the libexec
//! directory fixed at build time ([`crate::warm::program::LIBEXEC_DIR`]). Only those places, all
//! as trusted as the small program's own directory.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The full program's file name.
pub const FULL: &str = "rolepick-full";

/// Where the full program is installed, fixed at build time:
/// `ROLEPICK_LIBEXEC_DIR` when building, else `/usr/libexec/rolepick`
/// (the Debian package's place); see build.rs.
pub const LIBEXEC_DIR: &str = env!("ROLEPICK_LIBEXEC_DIR");

/// The full program for the small one at `front`, if it is installed.
pub fn full_beside(front: &Path) -> Option<PathBuf> {
    let dir = front.parent()?;
    [dir.join(FULL), dir.join("../libexec/rolepick").join(FULL)]
        .into_iter()
        .find(|p| p.is_file())
}

/// The small program's file as `argv0` names it: a path when it has a
/// slash, else the first executable file of that name in `path` (as the
/// shell found it).
fn from_argv0(argv0: &OsStr, path: Option<&OsStr>) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    if argv0.is_empty() {
        return None;
    }
    if argv0.as_bytes().contains(&b'/') {
        return Some(PathBuf::from(argv0));
    }
    std::env::split_paths(path?)
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| d.join(argv0))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// The full program, for the small one that is `exe` (`/proc/self/exe`,
/// None without `/proc`) and was started as `argv0` with `path` as `PATH`:
/// beside `exe`, else beside what `argv0` names (as named, then with its
/// links resolved), else in `libexec`. None: not installed.
pub fn find_full(
    exe: Option<&Path>,
    argv0: &OsStr,
    path: Option<&OsStr>,
    libexec: &Path,
) -> Option<PathBuf> {
    if let Some(full) = exe.and_then(full_beside) {
        return Some(full);
    }
    if let Some(named) = from_argv0(argv0, path) {
        let resolved = std::fs::canonicalize(&named).ok();
        if let Some(full) = std::iter::once(named)
            .chain(resolved)
            .find_map(|p| full_beside(&p))
        {
            return Some(full);
        }
    }
    Some(libexec.join(FULL)).filter(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn program(at: &Path) {
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::fs::write(at, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(at, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn without_proc_the_full_program_is_found_through_argv0_path_or_libexec() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let none = d.join("nowhere");
        // A tarball: both programs in one directory.
        program(&d.join("t/bin/rolepick"));
        program(&d.join("t/bin/rolepick-full"));
        let full = d.join("t/bin/rolepick-full");
        let argv0 = d.join("t/bin/rolepick");
        // /proc/self/exe first.
        assert_eq!(
            find_full(Some(&argv0), "x".as_ref(), None, &none),
            Some(full.clone())
        );
        // argv[0] with a slash, as it is.
        assert_eq!(
            find_full(None, argv0.as_os_str(), None, &none),
            Some(full.clone())
        );
        // argv[0] without one, searched in PATH (a directory without it first,
        // and a non-executable file of that name skipped).
        std::fs::create_dir_all(d.join("empty")).unwrap();
        std::fs::create_dir_all(d.join("plain")).unwrap();
        std::fs::write(d.join("plain/rolepick"), "").unwrap();
        let path =
            std::env::join_paths([d.join("empty"), d.join("plain"), d.join("t/bin")]).unwrap();
        assert_eq!(
            find_full(None, "rolepick".as_ref(), Some(&path), &none),
            Some(full.clone())
        );
        // A symlink to the small program elsewhere: its target's directory.
        std::fs::create_dir_all(d.join("links")).unwrap();
        std::os::unix::fs::symlink(&argv0, d.join("links/rolepick")).unwrap();
        let path = std::env::join_paths([d.join("links")]).unwrap();
        let found = find_full(None, "rolepick".as_ref(), Some(&path), &none).unwrap();
        assert_eq!(found.canonicalize().unwrap(), full.canonicalize().unwrap());
        // The Debian package's layout, through argv[0].
        program(&d.join("usr/bin/rolepick"));
        program(&d.join("usr/libexec/rolepick/rolepick-full"));
        let found = find_full(None, d.join("usr/bin/rolepick").as_os_str(), None, &none).unwrap();
        assert_eq!(
            found.canonicalize().unwrap(),
            d.join("usr/libexec/rolepick/rolepick-full")
                .canonicalize()
                .unwrap()
        );
        // Nothing else: the build's libexec directory.
        let libexec = d.join("usr/libexec/rolepick");
        assert_eq!(
            find_full(
                None,
                "rolepick".as_ref(),
                Some(&d.join("empty").into_os_string()),
                &libexec
            ),
            Some(libexec.join(FULL))
        );
        assert_eq!(
            find_full(None, "".as_ref(), None, &libexec),
            Some(libexec.join(FULL))
        );
        assert_eq!(find_full(None, "rolepick".as_ref(), None, &none), None);
    }
}
