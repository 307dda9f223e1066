//! Adding profiles to ~/.aws/config (what `rolepick setup` writes): new
//! sections appended, every byte already there left as it is, the file
//! replaced atomically in a checked directory.

use crate::error::Error;
use crate::fsutil::{Links, PrivateDir};
use std::path::{Path, PathBuf};

/// The AWS config file as read before a change.
pub struct ConfigFile {
    pub path: PathBuf,
    text: String,
}

impl ConfigFile {
    /// The file at `path`; empty when there is none yet.
    pub fn read(path: &Path) -> Result<ConfigFile, Error> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::io("read", path, &e)),
        };
        Ok(ConfigFile {
            path: path.to_path_buf(),
            text,
        })
    }

    /// Whether the file has a section for profile `name` (`[profile name]`,
    /// or `[default]` for `default`).
    pub fn has_profile(&self, name: &str) -> bool {
        self.text.lines().any(|l| {
            let h = l.trim();
            h.strip_prefix('[')
                .and_then(|r| r.strip_suffix(']'))
                .is_some_and(|h| {
                    let h = h.trim();
                    h == format!("profile {name}") || (name == "default" && h == "default")
                })
        })
    }

    /// Replaces the file with its text and `sections` (each as
    /// [`profile_section`] makes it) after it, separated by blank lines.
    pub fn append(self, sections: &[String]) -> Result<(), Error> {
        let mut text = self.text;
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        for (i, s) in sections.iter().enumerate() {
            if i > 0 || !text.is_empty() {
                text.push('\n');
            }
            text.push_str(s);
        }
        let dir = PrivateDir::ensure(
            self.path.parent().unwrap_or(Path::new(".")),
            Links::Follow,
            "the directory of the AWS config file",
        )?;
        dir.write_atomic(self.path.file_name().unwrap_or_default(), text.as_bytes())
    }
}

/// `[profile name]` and its `key = value` lines.
pub fn profile_section(name: &str, settings: &[(&str, &str)]) -> String {
    let mut s = format!("[profile {name}]\n");
    for (k, v) in settings {
        s.push_str(&format!("{k} = {v}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appending_profiles_keeps_every_byte_and_separates_sections() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, "# mine\n[default]\nregion = eu-west-1").unwrap();
        let file = ConfigFile::read(&path).unwrap();
        assert!(file.has_profile("default"));
        assert!(!file.has_profile("dev"));
        file.append(&[
            profile_section("jane", &[("region", "us-east-1")]),
            profile_section("dev", &[("role_arn", "arn:aws:iam::1:role/dev")]),
        ])
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "# mine\n[default]\nregion = eu-west-1\n\n[profile jane]\nregion = us-east-1\n\n[profile dev]\nrole_arn = arn:aws:iam::1:role/dev\n"
        );
    }

    #[test]
    fn a_new_config_file_starts_with_its_first_section() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        let file = ConfigFile::read(&path).unwrap();
        file.append(&[profile_section("jane", &[("region", "us-east-1")])])
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "[profile jane]\nregion = us-east-1\n"
        );
    }
}
