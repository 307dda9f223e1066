//! How the CLI gets an MFA code: `--mfa-code CODE`, `--mfa-code -` (stdin),
//! or a prompt on the controlling terminal (`/dev/tty`).

use crate::cli::MfaArgs;
use crate::engine::{validate_mfa_code, MfaPrompt};
use crate::error::Error;
use crate::model::Source;
use crate::secret::SecretString;
use crate::vault::Unlock;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

/// Asks for a secret on the terminal with echo off.
pub fn ask_secret(prompt: &str) -> Result<SecretString, Error> {
    rpassword::prompt_password(prompt)
        .map(SecretString::new)
        .map_err(|e| {
            Error::Usage(format!(
                "cannot ask on the terminal ({e}). Run rolepick from a terminal, or set passphrase_command in config.toml (ROLEPICK_VAULT_PASSPHRASE for automation)."
            ))
        })
}

pub enum CliMfa {
    Given(String),
    Stdin,
    Terminal,
}

impl CliMfa {
    /// Validates a given code up front, before any AWS call.
    pub fn from_args(a: &MfaArgs) -> Result<CliMfa, Error> {
        match a.mfa_code.as_deref() {
            None => Ok(CliMfa::Terminal),
            Some("-") => Ok(CliMfa::Stdin),
            Some(c) => Ok(CliMfa::Given(validate_mfa_code(c)?.to_string())),
        }
    }
}

impl Unlock for CliMfa {
    fn passphrase(&self, vault: &Path) -> Result<SecretString, Error> {
        ask_secret(&format!(
            "Passphrase for the rolepick vault {}: ",
            vault.display()
        ))
    }
}

impl MfaPrompt for CliMfa {
    fn code(&self, source: &Source, serial: &str) -> Result<String, Error> {
        match self {
            CliMfa::Given(c) => Ok(c.clone()),
            CliMfa::Stdin => {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).map_err(|e| {
                    Error::Usage(format!("cannot read the MFA code from stdin: {e}"))
                })?;
                if line.trim().is_empty() {
                    return Err(Error::Usage(
                        "--mfa-code - was given but stdin had no code. Pipe the 6-digit code in, or pass it with --mfa-code CODE.".into(),
                    ));
                }
                Ok(line.trim().to_string())
            }
            CliMfa::Terminal => {
                let no_tty = |e: std::io::Error| {
                    Error::Usage(format!(
                        "an MFA code for {serial} (source {:?}) is needed, but there is no terminal to ask on ({e}). Pass --mfa-code CODE, --mfa-code - to read it from stdin, or set mfa_process.",
                        source.name
                    ))
                };
                let mut tty = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open("/dev/tty")
                    .map_err(no_tty)?;
                write!(tty, "MFA code for {serial} (source {}): ", source.name).map_err(no_tty)?;
                tty.flush().map_err(no_tty)?;
                let mut line = String::new();
                BufReader::new(tty).read_line(&mut line).map_err(no_tty)?;
                Ok(line.trim().to_string())
            }
        }
    }
}
