//! Where long-lived keys live. `store` the encrypted file vault, the OS keychain backend and the index;
//! `keys` the lookup of a source's key across the stores in order.

pub mod keys;
pub mod store;

use crate::error::Error;
use crate::secret::SecretString;
use std::path::Path;
use store::Location;

pub use crate::model::VaultSettings;

/// What the vault reads from its settings (kept here so that `model` stays plain data).
pub trait SettingsExt {
    /// Where the vault file and its index are.
    fn location(&self) -> Location;
    /// Whether the passphrase comes without asking the user.
    fn passphrase_is_automatic(&self) -> bool;
}

impl SettingsExt for VaultSettings {
    fn location(&self) -> Location {
        Location::discover(self.path.as_deref())
    }

    fn passphrase_is_automatic(&self) -> bool {
        self.passphrase_command.is_some() || env_passphrase().is_some()
    }
}

/// How the vault gets its passphrase from a person: a terminal prompt, the
/// picker's modal, or a value the caller already has.
pub trait Unlock: Send + Sync {
    /// The vault file at `vault`, already decrypted by the caller moments
    /// ago (the picker tries a typed passphrase before asking for the code),
    /// so that it is not decrypted (and its passphrase stretched) twice.
    fn unlocked_vault(&self, _vault: &Path) -> Option<&store::Document> {
        None
    }

    /// The passphrase of the vault file at `vault`.
    fn passphrase(&self, vault: &Path) -> Result<SecretString, Error> {
        Err(Error::PassphraseNeeded {
            vault: vault.to_path_buf(),
        })
    }

    /// Whether a person typed the passphrase at a prompt that can ask
    /// again after a mistyped one (the CLI's terminal prompt).
    fn asks_again(&self) -> bool {
        false
    }
}

/// How many times a person at the terminal may type a passphrase or a code.
pub const TRIES: usize = 3;

/// Opens the file vault: its document and the passphrase that opened it.
/// A mistyped passphrase is asked again (up to [`TRIES`] times) when a
/// person types it at the terminal; one from the environment or
/// `passphrase_command` is tried once.
pub fn open(
    loc: &Location,
    settings: &VaultSettings,
    prompt: &dyn Unlock,
) -> Result<(store::Document, SecretString), Error> {
    let automatic = settings.passphrase_is_automatic();
    let tries = if !automatic && prompt.asks_again() {
        TRIES
    } else {
        1
    };
    let mut n = 1;
    loop {
        let pass = passphrase(loc, settings, prompt)?;
        match store::open(loc, &pass) {
            Ok(doc) => return Ok((doc, pass)),
            Err(Error::WrongPassphrase { .. }) if n < tries => {
                eprintln!("rolepick: wrong passphrase; try again ({n} of {tries}).");
                n += 1;
            }
            Err(e) => return Err(e),
        }
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
    prompt: &dyn Unlock,
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
