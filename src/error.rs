//! The library's error type. Each variant says what kind of failure it is and
//! carries what a caller needs to act on it (the vault whose passphrase was
//! wrong, the MFA device whose code is needed, the AWS call and error code);
//! its Display is one finished, user-facing message (what went wrong,
//! quoting the value, file:line where there is one, and what to do), and the
//! variant decides the exit code.

use std::path::{Path, PathBuf};

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
    /// Malformed or inconsistent configuration (the message names file:line).
    #[error("{0}")]
    Config(String),
    /// Bad command-line use: unknown profile, invalid MFA code format, nesting.
    #[error("{0}")]
    Usage(String),
    /// An MFA code is needed and this caller has nobody to ask (exit 2).
    #[error("an MFA code for {serial} (source {source_name:?}) is needed")]
    MfaCodeNeeded { source_name: String, serial: String },
    /// The vault passphrase is needed and this caller has nobody to ask (exit 2).
    #[error(
        "the vault {} is locked and there is no way to ask for its passphrase here. Set passphrase_command in config.toml, or ROLEPICK_VAULT_PASSPHRASE (for automation only).",
        vault.display()
    )]
    PassphraseNeeded { vault: PathBuf },
    /// The vault passphrase was wrong; nothing was changed (exit 5).
    #[error("wrong passphrase for the vault {}; nothing was changed. Try again.", vault.display())]
    WrongPassphrase { vault: PathBuf },
    /// AWS rejected the MFA code of device `serial` (the user may retry with a new one).
    #[error("{message}")]
    MfaRejected { serial: String, message: String },
    /// AWS refused `call` (`sts:AssumeRole`, `iam:CreateAccessKey`, ...)
    /// with error `code`: bad key, access denied, role cannot be assumed.
    #[error("{message}")]
    Refused {
        call: String,
        code: String,
        message: String,
    },
    /// A credential that does not work, found out by rolepick rather than
    /// refused by an AWS call: a key IAM does not list, a token the
    /// Identity Center cache holds for another start URL.
    #[error("{0}")]
    Auth(String),
    /// `call` got no usable answer: unreachable, throttled after every
    /// retry, or a reply that could not be read.
    #[error("{message}")]
    Unreachable { call: String, message: String },
    /// The child command was not found (exit 127, like a shell).
    #[error("{0}")]
    Spawn(String),
    /// The child command exists but cannot be executed (exit 126, like a shell).
    #[error("{0}")]
    NotExecutable(String),
    /// Anything else (I/O on our own files, a child that cannot start).
    #[error("{0}")]
    Other(String),
    /// `error` with a note after it (what was kept, what to run next); the
    /// exit code is `error`'s.
    #[error("{error}\n{note}")]
    Noted { error: Box<Error>, note: String },
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_)
            | Error::Usage(_)
            | Error::MfaCodeNeeded { .. }
            | Error::PassphraseNeeded { .. } => exit::USAGE,
            Error::MfaRejected { .. } | Error::Refused { .. } | Error::Auth(_) => exit::AUTH,
            Error::Unreachable { .. } => exit::NETWORK,
            Error::WrongPassphrase { .. } => exit::PASSPHRASE,
            Error::Spawn(_) => exit::NOT_FOUND,
            Error::NotExecutable(_) => exit::NOT_EXECUTABLE,
            Error::Other(_) => exit::OTHER,
            Error::Noted { error, .. } => error.exit_code(),
        }
    }

    /// The error under any [`Error::Noted`] wrapping.
    pub fn root(&self) -> &Error {
        match self {
            Error::Noted { error, .. } => error.root(),
            other => other,
        }
    }

    /// `self` with `note` on a line after it, keeping the exit code.
    #[must_use]
    pub fn noted(self, note: &str) -> Error {
        Error::Noted {
            error: Box::new(self),
            note: note.to_string(),
        }
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

/// `word` as one word for a POSIX shell, for a command a message tells
/// the user to run: as it is when it needs no quoting, else single-quoted.
pub fn shell_word(word: &str) -> std::borrow::Cow<'_, str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-.,:/@%+".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        std::borrow::Cow::Borrowed(word)
    } else {
        std::borrow::Cow::Owned(format!("'{}'", word.replace('\'', r"'\''")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shell_word_is_quoted_only_when_it_needs_it() {
        assert_eq!(shell_word("prod-admin_1.x"), "prod-admin_1.x");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("it's;$(x)"), r"'it'\''s;$(x)'");
        assert_eq!(shell_word("~a"), "'~a'");
        assert_eq!(shell_word("=a"), "'=a'");
    }

    #[test]
    fn a_long_value_is_quoted_as_a_short_escaped_prefix() {
        assert_eq!(quote_short("12a456"), "\"12a456\"");
        let huge = format!("\u{1b}]0;x\u{7}{}", "9".repeat(10_000_000));
        let q = quote_short(&huge);
        assert!(q.len() < 100, "{} bytes", q.len());
        assert!(q.starts_with("\"\\u{1b}]0;x\\u{7}999"), "{q}");
        assert!(q.ends_with("(10000006 characters)"), "{q}");
    }

    #[test]
    fn an_aws_refusal_keeps_the_call_and_code_and_exits_3() {
        use crate::aws::sts::StsError;
        let e = Error::aws(
            "sts:AssumeRole",
            StsError::Service {
                code: "AccessDenied".into(),
                message: "not allowed".into(),
            },
        );
        assert!(
            matches!(&e, Error::Refused { call, code, .. } if call == "sts:AssumeRole" && code == "AccessDenied"),
            "{e:?}"
        );
        assert_eq!(e.exit_code(), exit::AUTH);
        assert_eq!(
            e.to_string(),
            "AWS refused sts:AssumeRole: AccessDenied: not allowed"
        );
        for no_answer in [
            StsError::Throttled {
                code: "Throttling".into(),
                message: "slow down".into(),
            },
            StsError::Unreachable {
                endpoint: "http://127.0.0.1:9".into(),
                detail: "connection refused".into(),
            },
        ] {
            let e = Error::aws("sts:GetSessionToken", no_answer);
            assert!(matches!(&e, Error::Unreachable { call, .. } if call == "sts:GetSessionToken"));
            assert_eq!(e.exit_code(), exit::NETWORK);
        }
    }

    #[test]
    fn a_note_goes_after_the_message_and_keeps_the_exit_code_and_kind() {
        let e = Error::WrongPassphrase {
            vault: "/v/vault.age".into(),
        }
        .noted("the old key still works");
        assert_eq!(e.exit_code(), exit::PASSPHRASE);
        assert!(matches!(e.root(), Error::WrongPassphrase { .. }));
        assert_eq!(
            e.to_string(),
            "wrong passphrase for the vault /v/vault.age; nothing was changed. Try again.\nthe old key still works"
        );
    }

    #[test]
    fn what_nobody_could_be_asked_for_is_a_usage_error_naming_it() {
        let code = Error::MfaCodeNeeded {
            source_name: "work".into(),
            serial: "arn:aws:iam::111122223333:mfa/jane".into(),
        };
        assert_eq!(code.exit_code(), exit::USAGE);
        assert_eq!(
            code.to_string(),
            "an MFA code for arn:aws:iam::111122223333:mfa/jane (source \"work\") is needed"
        );
        let pass = Error::PassphraseNeeded {
            vault: "/v/vault.age".into(),
        };
        assert_eq!(pass.exit_code(), exit::USAGE);
        assert!(
            pass.to_string().contains("/v/vault.age is locked"),
            "{pass}"
        );
    }
}
