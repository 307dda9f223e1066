//! Looking up a source's long-lived key. Stores are tried in order (the
//! encrypted vault first, once it exists; then the shared credentials file);
//! the first that has the key wins. The key is read only when a new MFA
//! session (or a role straight from the key) is needed.

use super::secret::{LongLivedKey, SecretString};
use crate::config::ini;
use crate::diag;
use crate::error::Error;
use crate::model::Source;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

pub trait KeyStore: Send + Sync {
    /// Short name for `-v` output ("credentials file", "vault").
    fn name(&self) -> String;
    /// The key of `source`, or `None` when this store does not hold it.
    fn lookup(&self, source: &Source) -> Result<Option<LongLivedKey>, Error>;
}

/// `~/.aws/credentials` (or `AWS_SHARED_CREDENTIALS_FILE`).
pub struct CredentialsFile {
    pub path: PathBuf,
}

/// Refuses a file others can read; warns when the group can.
pub fn check_private(path: &Path) -> Result<(), Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io("read", path, &e))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o007 != 0 {
        return Err(Error::Config(format!(
            "{} is readable by other users (mode {mode:04o}) and holds your long-lived AWS key; rolepick will not use it. Fix it with: chmod 600 {}",
            path.display(),
            path.display()
        )));
    }
    if mode & 0o070 != 0 {
        diag::warn(&format!(
            "{} is readable by its group (mode {mode:04o}); run: chmod 600 {}",
            path.display(),
            path.display()
        ));
    }
    Ok(())
}

impl KeyStore for CredentialsFile {
    fn name(&self) -> String {
        format!("credentials file {}", self.path.display())
    }

    fn lookup(&self, source: &Source) -> Result<Option<LongLivedKey>, Error> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => Zeroizing::new(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("read", &self.path, &e)),
        };
        let sections = ini::parse(&self.path, &text)?;
        let Some(section) = sections
            .iter()
            .find(|s| s.header == source.credentials_profile)
        else {
            return Ok(None);
        };
        let Some(id) = section.get("aws_access_key_id") else {
            return Ok(None);
        };
        check_private(&self.path)?;
        let Some(secret) = section.get("aws_secret_access_key") else {
            return Err(Error::Config(format!(
                "{}:{}: [{}] has aws_access_key_id but no aws_secret_access_key. Add the secret, or move the key into rolepick's vault.",
                self.path.display(),
                section.line,
                section.header
            )));
        };
        Ok(Some(LongLivedKey {
            access_key_id: id.value.clone(),
            secret_access_key: SecretString::new(secret.value.clone()),
        }))
    }
}

/// Tries each store in turn.
pub fn find_key(stores: &[Box<dyn KeyStore>], source: &Source) -> Result<LongLivedKey, Error> {
    for s in stores {
        if let Some(k) = s.lookup(source)? {
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
        "no access key for source {:?} (looked in: {}). Add aws_access_key_id and aws_secret_access_key under [{}] in your credentials file.",
        source.name,
        looked.join(", "),
        source.credentials_profile
    )))
}
