//! How the engine asks the user for things it cannot know: an MFA code, the
//! vault passphrase. The CLI asks on the terminal; the picker in a modal.

use crate::error::Error;
use crate::model::Source;
use crate::vault::secret::SecretString;
use crate::vault::store::Document;
use std::path::Path;

pub trait MfaPrompt: Send + Sync {
    /// The current code of MFA device `serial` for `source`.
    fn code(&self, source: &Source, serial: &str) -> Result<String, Error>;

    /// The vault file at `vault`, already decrypted by the caller moments
    /// ago (the picker tries a typed passphrase before asking for the code),
    /// so that it is not decrypted (and its passphrase stretched) twice.
    fn unlocked_vault(&self, _vault: &Path) -> Option<&Document> {
        None
    }

    /// The passphrase of the vault file at `vault`.
    fn passphrase(&self, vault: &Path) -> Result<SecretString, Error> {
        Err(Error::Usage(format!(
            "the vault {} is locked and there is no way to ask for its passphrase here. Set passphrase_command in config.toml, or ROLEPICK_VAULT_PASSPHRASE (for automation only).",
            vault.display()
        )))
    }
}

/// A code the caller already has (the picker's modal, `--mfa-code`).
pub struct GivenCode(pub String);

impl MfaPrompt for GivenCode {
    fn code(&self, _: &Source, _: &str) -> Result<String, Error> {
        Ok(self.0.clone())
    }
}

/// Secrets the caller already has: an MFA code and/or a vault passphrase.
#[derive(Default)]
pub struct Given {
    pub code: Option<String>,
    pub passphrase: Option<SecretString>,
}

impl MfaPrompt for Given {
    fn code(&self, source: &Source, serial: &str) -> Result<String, Error> {
        self.code.clone().ok_or_else(|| {
            Error::Usage(format!(
                "an MFA code for {serial} (source {:?}) is needed",
                source.name
            ))
        })
    }

    fn passphrase(&self, vault: &Path) -> Result<SecretString, Error> {
        match &self.passphrase {
            Some(p) => Ok(p.clone()),
            None => GivenCode(String::new()).passphrase(vault),
        }
    }
}
