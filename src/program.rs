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
//! `../libexec/rolepick/` from it (the Debian package). Only those two
//! places, both as trusted as the small program's own directory.

use std::path::{Path, PathBuf};

/// The full program's file name.
pub const FULL: &str = "rolepick-full";

/// The full program for the small one at `front`, if it is installed.
pub fn full_beside(front: &Path) -> Option<PathBuf> {
    let dir = front.parent()?;
    [dir.join(FULL), dir.join("../libexec/rolepick").join(FULL)]
        .into_iter()
        .find(|p| p.is_file())
}
