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
    pub const NOT_FOUND: u8 = 127;
    /// The command exists but cannot be run (not executable), as a shell says.
    pub const NOT_EXECUTABLE: u8 = 126;
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
    /// The child command could not be started (exit 127, like a shell).
    #[error("{0}")]
    Spawn(String),
    /// The child command exists but cannot be run (exit 126, like a shell).
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
