//! How the engine asks the user for things it cannot know: an MFA code, the
//! vault passphrase. The CLI asks on the terminal; the picker in a modal.

use crate::error::Error;
use crate::model::Source;
use crate::secret::SecretString;
use crate::vault::Unlock;
use std::path::Path;

/// A person who can give an MFA code (and, through [`Unlock`], the vault passphrase).
pub trait MfaPrompt: Unlock {
    /// The current code of MFA device `serial` for `source`.
    fn code(&self, source: &Source, serial: &str) -> Result<String, Error>;
}

/// A code the caller already has (the picker's modal, `--mfa-code`).
pub struct GivenCode(pub String);

impl MfaPrompt for GivenCode {
    fn code(&self, _: &Source, _: &str) -> Result<String, Error> {
        Ok(self.0.clone())
    }
}

impl Unlock for GivenCode {}

/// Secrets the caller already has: an MFA code and/or a vault passphrase.
#[derive(Default)]
pub struct Given {
    pub code: Option<String>,
    pub passphrase: Option<SecretString>,
}

impl MfaPrompt for Given {
    fn code(&self, source: &Source, serial: &str) -> Result<String, Error> {
        self.code.clone().ok_or_else(|| Error::MfaCodeNeeded {
            source_name: source.name.clone(),
            serial: serial.to_string(),
        })
    }
}

impl Unlock for Given {
    fn passphrase(&self, vault: &Path) -> Result<SecretString, Error> {
        match &self.passphrase {
            Some(p) => Ok(p.clone()),
            None => GivenCode(String::new()).passphrase(vault),
        }
    }
}
