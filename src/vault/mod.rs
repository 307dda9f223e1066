//! Where long-lived keys live. `secret` holds the zeroizing secret types;
//! `store` the encrypted file vault, the OS keychain backend and the index;
//! `keys` the lookup of a source's key across the stores in order.

pub mod keys;
pub mod secret;
pub mod store;

use crate::error::Error;
use crate::prompt::MfaPrompt;
use secret::SecretString;
use store::Location;

/// Vault settings (config.toml `[vault]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VaultSettings {
    pub backend: store::Backend,
    pub path: Option<std::path::PathBuf>,
    /// Command whose stdout is the vault passphrase.
    pub passphrase_command: Option<String>,
}

impl VaultSettings {
    pub fn location(&self) -> Location {
        Location::discover(self.path.as_deref())
    }

    /// Whether the passphrase comes without asking the user.
    pub fn passphrase_is_automatic(&self) -> bool {
        self.passphrase_command.is_some() || env_passphrase().is_some()
    }
}

fn env_passphrase() -> Option<SecretString> {
    std::env::var("ROLEPICK_VAULT_PASSPHRASE")
        .ok()
        .filter(|p| !p.is_empty())
        .map(SecretString::new)
}

/// The vault passphrase: `ROLEPICK_VAULT_PASSPHRASE` (automation only),
/// else `passphrase_command`, else asked through `prompt`.
pub fn passphrase(
    loc: &Location,
    settings: &VaultSettings,
    prompt: &dyn MfaPrompt,
) -> Result<SecretString, Error> {
    if let Some(p) = env_passphrase() {
        return Ok(p);
    }
    if let Some(cmd) = &settings.passphrase_command {
        let p = crate::shell::capture(cmd)
            .map_err(|e| Error::Usage(format!("passphrase_command of [vault] failed: {e}")))?;
        return Ok(SecretString::new(p));
    }
    prompt.passphrase(&loc.file)
}
