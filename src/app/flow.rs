//! The passphrase → MFA code → fetch flow as one type. Opening a role
//! (`Enter`), re-authenticating (`r`) or opening the console (`o`) starts a
//! [`Flow`]; each step carries what is known at that point (which profile
//! and why, which vault, the passphrase once given, the code once typed,
//! the request in flight), and `update` moves it from step to step with a
//! `match`. The modals are drawn from its asking steps (and the Identity
//! Center sign-in, which waits for the browser) and the spinner from its
//! request. One flow at a time: starting another abandons the first,
//! whose answer is then stale and dropped.

use std::path::PathBuf;
use std::time::SystemTime;

use crate::secret::SecretString;

/// How hard to refresh; mirrors the engine's `Refresh` so the core does not
/// depend on the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// Cached credentials if still good, else new ones.
    IfNeeded,
    /// A new MFA session and new role credentials.
    Session,
}

/// Why a credential request was made: what to do when it succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Open a subshell for the role afterwards.
    Open,
    /// `r`: re-authenticate only.
    Reauth,
    /// `o`: open the AWS console for the role in a browser afterwards.
    Console,
}

/// Longest vault passphrase the modal takes, in bytes. The input buffer is
/// allocated this big up front so it never moves while typed into.
pub const PASSPHRASE_CAPACITY: usize = 1024;

/// Asking the vault passphrase (its modal is open): comes before the code
/// when the source's long-lived key is in a vault only a typed passphrase opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassphraseStep {
    pub profile: String,
    pub source: String,
    /// The vault file, shown so the user knows what they unlock.
    pub vault: PathBuf,
    /// What has been typed. Drawn masked, never in clear; redacted in `Debug`.
    pub input: SecretString,
    /// Why the last passphrase did not work.
    pub error: Option<String>,
    pub refresh: Refresh,
    pub intent: Intent,
    /// Request id of the submitted passphrase, while it is being tried
    /// (alone, or in the fetch when no code is needed).
    pub submitted: Option<u64>,
}

/// Asking the MFA code (its modal is open), the vault passphrase already
/// given when one was needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeStep {
    pub profile: String,
    pub source: String,
    pub serial: String,
    pub code: String,
    /// Why the last code did not work.
    pub error: Option<String>,
    /// Why the modal opened by itself (the MFA session ran out while a
    /// shell ran), shown above the code.
    pub note: Option<String>,
    pub refresh: Refresh,
    pub intent: Intent,
    /// Request id of the submitted code, while it is being checked.
    pub submitted: Option<u64>,
    /// The vault passphrase from the passphrase step, sent with the code.
    pub passphrase: Option<SecretString>,
}

/// A request in flight with no modal open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub req_id: u64,
    pub profile: String,
    pub intent: Intent,
    pub refresh: Refresh,
}

/// An IAM Identity Center sign-in under way for the request (its modal is
/// open): the device flow's code to compare in the browser, the URL, and
/// when the code runs out. Approval in the browser answers the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInStep {
    pub req_id: u64,
    pub profile: String,
    /// The Identity Center session (the role's source).
    pub source: String,
    pub intent: Intent,
    pub refresh: Refresh,
    pub user_code: String,
    /// `verificationUriComplete`: the URL with the code filled in.
    pub uri: String,
    pub expires_at: SystemTime,
}

/// Where the flow for one profile is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flow {
    /// The vault passphrase is asked, or being tried.
    Passphrase(PassphraseStep),
    /// The MFA code is asked, or being checked with the credentials fetch.
    Code(CodeStep),
    /// Credentials are being fetched; nothing needed typing (a valid
    /// session, or a code from a command).
    Fetching(Request),
    /// The role's credentials are good; the AWS console is being opened.
    Console(Request),
    /// The request waits for an Identity Center sign-in in the browser.
    SignIn(SignInStep),
}

/// A request in flight, as the status line shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending<'a> {
    pub req_id: u64,
    pub profile: &'a str,
    pub intent: Intent,
}

impl Flow {
    pub fn profile(&self) -> &str {
        match self {
            Flow::Passphrase(s) => &s.profile,
            Flow::Code(s) => &s.profile,
            Flow::Fetching(r) | Flow::Console(r) => &r.profile,
            Flow::SignIn(s) => &s.profile,
        }
    }

    pub fn intent(&self) -> Intent {
        match self {
            Flow::Passphrase(s) => s.intent,
            Flow::Code(s) => s.intent,
            Flow::Fetching(r) | Flow::Console(r) => r.intent,
            Flow::SignIn(s) => s.intent,
        }
    }

    pub fn refresh(&self) -> Refresh {
        match self {
            Flow::Passphrase(s) => s.refresh,
            Flow::Code(s) => s.refresh,
            Flow::Fetching(r) | Flow::Console(r) => r.refresh,
            Flow::SignIn(s) => s.refresh,
        }
    }

    /// Id of the request in flight, if any.
    pub fn request(&self) -> Option<u64> {
        match self {
            Flow::Passphrase(s) => s.submitted,
            Flow::Code(s) => s.submitted,
            Flow::Fetching(r) | Flow::Console(r) => Some(r.req_id),
            Flow::SignIn(s) => Some(s.req_id),
        }
    }

    /// The request in flight, if any.
    pub fn pending(&self) -> Option<Pending<'_>> {
        Some(Pending {
            req_id: self.request()?,
            profile: self.profile(),
            intent: self.intent(),
        })
    }

    /// True while a modal asks the user to type something.
    pub fn is_asking(&self) -> bool {
        matches!(self, Flow::Passphrase(_) | Flow::Code(_))
    }
}
