//! The library's error type. Every variant carries one finished, user-facing
//! message (what went wrong, quoting the value, file:line where there is one,
//! and what to do); the variant decides the exit code.

use std::path::Path;

/// Exit codes, documented in `rolepick --help`.
pub mod exit {
    pub const OTHER: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const AUTH: u8 = 3;
    pub const NETWORK: u8 = 4;
    pub const PASSPHRASE: u8 = 5;
    pub const NOT_EXECUTABLE: u8 = 126;
    pub const NOT_FOUND: u8 = 127;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Malformed or inconsistent configuration.
    #[error("{0}")]
    Config(String),
    /// Bad command-line use: unknown profile, invalid MFA code format, nesting.
    #[error("{0}")]
    Usage(String),
    /// The MFA code was rejected by AWS (the user may retry with a new one).
    #[error("{0}")]
    MfaRejected(String),
    /// AWS refused: bad key, access denied, role cannot be assumed, duration.
    #[error("{0}")]
    Auth(String),
    /// AWS could not be reached or kept throttling.
    #[error("{0}")]
    Network(String),
    /// The vault passphrase was wrong; nothing was changed (exit 5).
    #[error("{0}")]
    Passphrase(String),
    /// The child command was not found (exit 127, like a shell).
    #[error("{0}")]
    Spawn(String),
    /// The child command exists but cannot be executed (exit 126, like a shell).
    #[error("{0}")]
    NotExecutable(String),
    /// Anything else (I/O on our own files, a child that cannot start).
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) | Error::Usage(_) => exit::USAGE,
            Error::MfaRejected(_) | Error::Auth(_) => exit::AUTH,
            Error::Network(_) => exit::NETWORK,
            Error::Passphrase(_) => exit::PASSPHRASE,
            Error::Spawn(_) => exit::NOT_FOUND,
            Error::NotExecutable(_) => exit::NOT_EXECUTABLE,
            Error::Other(_) => exit::OTHER,
        }
    }

    pub fn is_mfa_rejected(&self) -> bool {
        matches!(self, Error::MfaRejected(_))
    }

    /// An I/O failure on `path`, phrased for a user.
    pub fn io(what: &str, path: &Path, e: &std::io::Error) -> Error {
        Error::Other(format!("cannot {what} {}: {e}", path.display()))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Longest part of a user-given value quoted in a message.
pub const QUOTE_MAX: usize = 40;

/// `value` quoted and escaped for a message, cut to its first
/// [`QUOTE_MAX`] characters (saying how long it was) so that a huge value
/// never floods the terminal.
pub fn quote_short(value: &str) -> String {
    match value.char_indices().nth(QUOTE_MAX) {
        None => format!("{value:?}"),
        Some((cut, _)) => format!(
            "{:?}… ({} characters)",
            &value[..cut],
            value.chars().count()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_value_is_quoted_as_a_short_escaped_prefix() {
        assert_eq!(quote_short("12a456"), "\"12a456\"");
        let huge = format!("\u{1b}]0;x\u{7}{}", "9".repeat(10_000_000));
        let q = quote_short(&huge);
        assert!(q.len() < 100, "{} bytes", q.len());
        assert!(q.starts_with("\"\\u{1b}]0;x\\u{7}999"), "{q}");
        assert!(q.ends_with("(10000006 characters)"), "{q}");
    }
}
