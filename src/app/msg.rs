//! Everything that can happen to the picker, as plain data: keys and mouse
//! from the terminal, clock ticks, results of credential requests and of
//! subshells. `update` turns a `Msg` into state changes and [`Effect`]s.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::SystemTime;

use crossterm::event::{KeyEvent, MouseEvent};

use crate::app::state::Refresh;
use crate::secret::SecretString;

/// Credentials were obtained; when they and the source's session expire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub expires: SystemTime,
    pub session_expires: Option<SystemTime>,
}

/// What kind of failure a credential request met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    /// The MFA code was wrong or already used.
    MfaRejected,
    /// An MFA code is needed and none was given.
    MfaRequired,
    /// The vault passphrase was wrong; nothing was changed.
    PassphraseRejected,
    /// The long-lived key is in the vault `vault`, and no passphrase was given.
    PassphraseRequired {
        vault: PathBuf,
    },
    Other,
}

/// A credential request failed; `message` is the engine's user-facing text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

/// Expiry stamps as the cache knows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expiries {
    /// By profile.
    pub roles: HashMap<String, SystemTime>,
    /// By source.
    pub sessions: HashMap<String, SystemTime>,
    /// Sources whose long-lived key is in a vault the user must unlock with
    /// a typed passphrase, and that vault's file.
    pub vaults: HashMap<String, PathBuf>,
    /// Age in days of each source's long-lived key, as the vault index
    /// dates it (no unlock needed); sources not in the vault are absent.
    pub key_ages: HashMap<String, i64>,
    /// Sources whose key is in the vault but created on a day rolepick was
    /// not told (shown as `key ?`).
    pub unknown_key_ages: std::collections::HashSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    /// Once a second (faster while a request is in flight). The only way time moves.
    Tick {
        now: SystemTime,
    },
    Resize {
        width: u16,
        height: u16,
    },
    CredsDone {
        req_id: u64,
        profile: String,
        result: Result<Fetched, Failure>,
    },
    /// The engine started an IAM Identity Center sign-in for request
    /// `req_id` (no token could be refreshed): the device flow's user code,
    /// the URL to approve it at (the code filled in), and when the code
    /// runs out. The sign-in modal opens; the answer comes as `CredsDone`.
    SignInStarted {
        req_id: u64,
        user_code: String,
        uri: String,
        expires_at: SystemTime,
    },
    /// The vault passphrase typed in the modal was tried.
    PassphraseChecked {
        req_id: u64,
        result: Result<(), Failure>,
    },
    /// A subshell ended: its exit status, or why it could not start.
    ShellExited {
        profile: String,
        result: Result<u8, String>,
    },
    /// The cache was re-read (after a subshell, which may have refreshed it).
    Expiries(Expiries),
    /// Profiles with a live rolepick shell, with how many.
    LiveShells(HashMap<String, usize>),
    /// Something to tell the user (e.g. the MFA session ran out while a
    /// shell used the credential endpoint), about `profile`'s shell if any.
    Notice {
        profile: Option<String>,
        text: String,
    },
    /// The AWS console was opened in a browser for `profile` (what to say),
    /// or why not.
    ConsoleOpened {
        req_id: u64,
        profile: String,
        result: Result<String, String>,
    },
    /// `rolepick rotate SOURCE` ended: its exit status, or why it could not start.
    Rotated {
        source: String,
        result: Result<u8, String>,
    },
    /// SIGTERM/SIGHUP/SIGINT/SIGQUIT (the number): leave now.
    Terminate {
        signal: i32,
    },
    /// SIGTSTP (`kill -TSTP`, or a job-control stop): give the terminal
    /// back, stop, and take it again with a full redraw once continued.
    /// Handled by the runtime; `update` ignores it.
    Suspend,
    /// The accounts and roles of the IAM Identity Center sessions were
    /// listed again (in the background when the cached list was stale, or
    /// because the user asked): the new model, `None` when nothing changed,
    /// or why not.
    Discovered {
        result: Result<Option<Box<crate::model::Model>>, String>,
        /// The user asked (`s`): say how it went even when nothing changed.
        asked: bool,
    },
    /// Pasted text (bracketed paste), taken whole.
    Paste(String),
    /// Warnings and `-v` notes written while the picker owned the screen
    /// (lock waits, retries, store notes): shown in the status line.
    Diag(Vec<String>),
}

/// I/O for the runtime to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Get credentials on a worker thread; answer with `Msg::CredsDone`.
    FetchCredentials {
        req_id: u64,
        profile: String,
        mfa_code: Option<String>,
        /// The vault passphrase, when the long-lived key must be unlocked.
        passphrase: Option<SecretString>,
        refresh: Refresh,
    },
    /// Stop request `req_id` (the sign-in modal was closed): the engine's
    /// wait for the browser ends, and its answer, if any, is stale.
    CancelRequest {
        req_id: u64,
    },
    /// Try the vault passphrase on a worker thread (before asking for an
    /// MFA code); answer with `Msg::PassphraseChecked`.
    CheckPassphrase {
        req_id: u64,
        passphrase: SecretString,
    },
    /// Run a subshell with the profile's (valid) credentials; answer with `Msg::ShellExited`.
    OpenShell {
        profile: String,
    },
    /// Open the AWS console for the role (whose credentials are cached and
    /// fresh) in a browser, on a worker thread; answer with `Msg::ConsoleOpened`.
    OpenConsole {
        req_id: u64,
        profile: String,
    },
    /// Run `rolepick rotate SOURCE` with the terminal handed over, like a
    /// subshell; answer with `Msg::Rotated`.
    RotateKey {
        source: String,
    },
    /// List the accounts and roles of every Identity Center session now,
    /// on a worker thread, never signing in; answer with `Msg::Discovered`.
    Discover,
    Quit,
}
