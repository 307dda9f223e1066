//! The person at the terminal: the one reader of lines from `/dev/tty`,
//! secrets asked with echo off, how the CLI gets an MFA code
//! (`--mfa-code CODE`, `--mfa-code -` for stdin, or the terminal), and the
//! person behind the credential endpoint of a shell or command rolepick
//! runs: when the MFA session runs out, the command that asked for
//! credentials waits while rolepick borrows the terminal
//! ([`crate::run::foreground`]), asks for a new code and refreshes.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::aws::Credentials;
use crate::cli::MfaArgs;
use crate::engine::{validate_mfa_code, Engine, MfaPrompt, Refresh};
use crate::error::Error;
use crate::model::Source;
use crate::run::credserver::{Client, Person};
use crate::run::foreground::{self, Borrowed, Typed};
use crate::run::live::LiveShell;
use crate::secret::SecretString;
use crate::vault::Unlock;

/// After the user skips a prompt, the retries of the same command (SDKs
/// retry a failed credentials request a few times) are not asked again.
const QUIET_AFTER_SKIP: Duration = Duration::from_secs(15);

pub struct TerminalPerson<'a> {
    engine: &'a Engine,
    profile: &'a str,
    /// What to do when rolepick cannot ask (said with the need).
    hint: String,
    /// Told the user (without asking) since credentials last flowed.
    told: AtomicBool,
    quiet_until: Mutex<Option<Instant>>,
    /// Called when a need goes unanswered (the picker shows it on return).
    unanswered: Option<&'a (dyn Fn(&str) + Sync)>,
    /// The shell's state file, told when its credentials now run out.
    live: Option<&'a LiveShell>,
}

impl<'a> TerminalPerson<'a> {
    pub fn new(
        engine: &'a Engine,
        profile: &'a str,
        hint: String,
        unanswered: Option<&'a (dyn Fn(&str) + Sync)>,
        live: Option<&'a LiveShell>,
    ) -> Self {
        TerminalPerson {
            engine,
            profile,
            hint,
            told: AtomicBool::new(false),
            quiet_until: Mutex::new(None),
            unanswered,
            live,
        }
    }

    fn give_up(&self, need: &str) {
        if let Some(f) = self.unanswered {
            f(need);
        }
    }
}

impl Person for TerminalPerson<'_> {
    fn refreshed(&self, c: &Credentials) {
        if let (Some(live), Ok(p)) = (self.live, self.engine.profile(self.profile)) {
            live.set_until(self.engine.session_end(p, c));
        }
        self.told.store(false, Ordering::SeqCst);
        *self
            .quiet_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    fn ask(&self, need: &str, client: &Client) -> bool {
        let mut quiet = self
            .quiet_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if quiet.is_some_and(|t| self.engine.instant() < t) {
            return false;
        }
        *quiet = None;
        // The process group of the command waiting for credentials: rolepick
        // takes the terminal from it, and from nobody else.
        let waiting = foreground::client_process_group(client.peer, client.local);
        let mut tty = match Borrowed::take(waiting) {
            Ok(t) => t,
            Err(_) => {
                if !self.told.swap(true, Ordering::SeqCst) {
                    foreground::tell(&format!("{need} {}", self.hint));
                    self.give_up(need);
                }
                return false;
            }
        };
        tty.say(&format!(
            "\n{need}\n(the AWS call waits while you type; an empty line skips)\n"
        ));
        for _ in 0..3 {
            let prompt = TtyPrompt {
                tty: Mutex::new(&mut tty),
                outcome: Mutex::new(None),
            };
            let got = self
                .engine
                .credentials(self.profile, &prompt, Refresh::IfNeeded);
            let outcome = prompt.outcome.into_inner().unwrap_or(None);
            match (got, outcome) {
                (Ok(c), _) => {
                    // (The endpoint's next fetch calls `refreshed`, which
                    // resets what was told and updates the state file.)
                    let until = self
                        .engine
                        .profile(self.profile)
                        .map_or(c.expiration, |p| self.engine.session_end(p, &c));
                    tty.say(&format!(
                        "rolepick: new MFA session until {}; {} has fresh credentials again.\n",
                        crate::aws::rfc3339(until),
                        self.profile
                    ));
                    return true;
                }
                (Err(_), Some(Stop::Cancelled)) => {
                    tty.say(&format!("rolepick: skipped. {}\n", self.hint));
                    *quiet = Some(self.engine.instant() + QUIET_AFTER_SKIP);
                    self.give_up(need);
                    return false;
                }
                (Err(_), Some(Stop::Lost)) => {
                    drop(tty);
                    foreground::tell(
                        "rolepick: the command stopped waiting for the code; rolepick asks again at the next AWS call.",
                    );
                    return false;
                }
                (Err(e), None) => {
                    tty.say(&format!("rolepick: {e}\n"));
                    // A rejected code or a mistyped passphrase: again.
                    if !matches!(
                        e.root(),
                        Error::MfaRejected { .. } | Error::WrongPassphrase { .. }
                    ) {
                        self.give_up(need);
                        return false;
                    }
                }
            }
        }
        self.give_up(need);
        false
    }
}

/// Why a [`TtyPrompt`] gave no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Cancelled,
    Lost,
}

/// Asks on a borrowed terminal.
struct TtyPrompt<'t> {
    tty: Mutex<&'t mut Borrowed>,
    outcome: Mutex<Option<Stop>>,
}

impl TtyPrompt<'_> {
    fn read(&self, prompt: &str, echo: bool) -> Result<String, Error> {
        let mut tty = self
            .tty
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let stop = match &mut tty.read_line(prompt, echo) {
            Typed::Line(l) => return Ok(std::mem::take(l)),
            Typed::Skipped => Stop::Cancelled,
            Typed::Lost => Stop::Lost,
        };
        *self
            .outcome
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(stop);
        Err(Error::Usage("no answer on the terminal".into()))
    }
}

impl TtyPrompt<'_> {
    fn say(&self, text: &str) {
        self.tty
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .say(text);
    }
}

impl MfaPrompt for TtyPrompt<'_> {
    fn code(&self, source: &Source, serial: &str) -> Result<String, Error> {
        loop {
            let code = self.read(
                &format!("MFA code for {serial} (source {}): ", source.name),
                true,
            )?;
            match validate_mfa_code(&code) {
                Ok(c) => return Ok(c.to_string()),
                // A typo is not worth an AWS call: say so and ask again.
                Err(e) => self.say(&format!("rolepick: {e}\n")),
            }
        }
    }
}

impl Unlock for TtyPrompt<'_> {
    fn passphrase(&self, vault: &Path) -> Result<SecretString, Error> {
        self.read(
            &format!("Passphrase for the rolepick vault {}: ", vault.display()),
            false,
        )
        .map(SecretString::new)
    }
}

/// Asks `prompt` on the controlling terminal (`/dev/tty`, whatever stdin
/// and stdout are) and reads one line, trimmed. The one reader of
/// `/dev/tty` lines with echo on.
pub fn read_line(prompt: &str) -> std::io::Result<String> {
    let mut tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")?;
    write!(tty, "{prompt}")?;
    tty.flush()?;
    let mut line = String::new();
    BufReader::new(tty).read_line(&mut line)?;
    Ok(line.trim().to_string())
}

/// Yes/no on the terminal; `None` when there is no terminal.
pub fn confirm(question: &str) -> Option<bool> {
    let line = read_line(&format!("{question} [y/N] ")).ok()?;
    Some(matches!(line.as_str(), "y" | "Y" | "yes"))
}

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

    fn asks_again(&self) -> bool {
        true
    }
}

/// A six-digit code asked on the terminal: a mistyped one (five digits, a
/// letter) is said and asked again, up to [`crate::vault::TRIES`] times.
/// `no_tty` turns "there is no terminal" into the caller's error (at once).
pub fn ask_code(prompt: &str, no_tty: impl Fn(std::io::Error) -> Error) -> Result<String, Error> {
    let tries = crate::vault::TRIES;
    let mut n = 1;
    loop {
        let line = read_line(prompt).map_err(&no_tty)?;
        match validate_mfa_code(&line) {
            Ok(c) => return Ok(c.to_string()),
            Err(e) if n == tries => return Err(e),
            Err(e) => eprintln!("rolepick: {e} Try again ({n} of {tries})."),
        }
        n += 1;
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
                ask_code(
                    &format!("MFA code for {serial} (source {}): ", source.name),
                    no_tty,
                )
            }
        }
    }
}
