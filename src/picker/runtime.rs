//! Runs the picker: draws, waits for the next [`Msg`](crate::app::msg::Msg) (or makes a tick),
//! calls `update`, and performs the [`Effect`](crate::app::msg::Effect)s it returns: credential
//! fetches and console sign-ins on worker threads (through
//! [`CredentialService`](crate::picker::runtime::CredentialService), so tests use a fake and the engine is plugged in
//! by `cmd::picker`), subshells with the terminal handed over, and quitting.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossterm::event::MouseEventKind;

use crate::app::msg::{Effect, Expiries, Failure, Fetched, Msg};
use crate::app::state::{Refresh, State};
use crate::app::update::update;
use crate::clock::Clock;
use crate::model::Model;
use crate::secret::SecretString;
use crate::tui::events::Input;
use crate::tui::terminal::TerminalGuard;

/// What the picker learns of an IAM Identity Center sign-in the engine
/// started for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInShown {
    pub user_code: String,
    /// The URL with the code filled in.
    pub uri: String,
    /// When the device code runs out.
    pub expires_at: SystemTime,
}

/// How a request tells the picker it started a sign-in, and learns that
/// the user cancelled it.
pub struct RequestHooks {
    /// Called (on the request's thread) when a sign-in starts.
    pub on_sign_in: Arc<dyn Fn(SignInShown) + Send + Sync>,
    /// Set when the request is abandoned: stop waiting, answer anything.
    pub cancel: Arc<AtomicBool>,
}

/// What the picker needs from the credential engine. Blocking calls; the
/// runtime makes them off the UI thread (except `open_shell`, which owns the
/// terminal anyway).
pub trait CredentialService: Send + Sync {
    fn model(&self) -> &Model;
    /// Expiry of the profile's cached credentials, if cached.
    fn cached_expiry(&self, profile: &str) -> Option<SystemTime>;
    /// Expiries of every profile's cached credentials (a service may do
    /// this in one pass over its cache instead of one look-up a profile).
    fn cached_expiries(&self) -> HashMap<String, SystemTime> {
        self.model()
            .profiles
            .iter()
            .filter_map(|p| self.cached_expiry(&p.name).map(|e| (p.name.clone(), e)))
            .collect()
    }
    /// Expiry of the source's cached MFA session, if any.
    fn session_expiry(&self, source: &str) -> Option<SystemTime>;
    /// The vault file a passphrase typed by the user must unlock before
    /// `source`'s long-lived key can be used; `None` when no typed
    /// passphrase is needed (key elsewhere, or the passphrase comes from
    /// `passphrase_command` or the environment).
    fn vault_to_unlock(&self, source: &str) -> Option<PathBuf>;
    /// Tries the vault passphrase: `Ok` when it opens the vault, else a
    /// [`FailureKind::PassphraseRejected`](crate::app::msg::FailureKind) failure.
    fn check_passphrase(&self, passphrase: &SecretString) -> Result<(), Failure>;
    /// Cached-or-fresh credentials for `profile` (using `mfa_code` if a code
    /// is needed, `passphrase` if the vault must be unlocked), stored in the
    /// cache; returns their expiry.
    fn fetch(
        &self,
        profile: &str,
        mfa_code: Option<String>,
        passphrase: Option<SecretString>,
        refresh: Refresh,
    ) -> Result<Fetched, Failure>;
    /// [`CredentialService::fetch`], reporting an Identity Center sign-in
    /// through `hooks` and giving up when its cancel flag is set.
    fn fetch_with(
        &self,
        profile: &str,
        mfa_code: Option<String>,
        passphrase: Option<SecretString>,
        refresh: Refresh,
        hooks: &RequestHooks,
    ) -> Result<Fetched, Failure> {
        let _ = hooks;
        self.fetch(profile, mfa_code, passphrase, refresh)
    }
    /// Runs a subshell with the profile's credentials (never expired ones),
    /// waits for it and returns its exit status. The terminal is the shell's
    /// while this runs.
    fn open_shell(&self, profile: &str) -> Result<u8, String>;
    /// Profiles with a live rolepick shell (any process), with how many.
    fn live_shells(&self) -> HashMap<String, usize> {
        HashMap::new()
    }
    /// Something the last shell's credential endpoint had to say (the MFA
    /// session ran out while it ran), taken once.
    fn take_notice(&self) -> Option<String> {
        None
    }
    /// Age in days of `source`'s long-lived key, from the vault index (no
    /// unlock); `None` when the vault does not date it.
    fn key_age_days(&self, _source: &str) -> Option<i64> {
        None
    }
    /// Whether `source`'s key is in the vault with no known creation day.
    fn key_age_unknown(&self, _source: &str) -> bool {
        false
    }
    /// Opens the AWS console for `profile` (whose credentials are cached
    /// and fresh) in a browser that does not use the terminal; returns what
    /// to tell the user. Called off the UI thread.
    fn open_console(&self, profile: &str) -> Result<String, String> {
        Err(format!(
            "cannot open the AWS console for {profile} from here"
        ))
    }
    /// Lists the Identity Center accounts and roles again, never signing
    /// in: only when the cached list is stale (`now == false`) or at once.
    /// The new model when the list was listed afresh, `None` when nothing
    /// was (no session, or the cache is fresh). Called off the UI thread.
    fn discover(&self, now: bool) -> Result<Option<Model>, String> {
        let _ = now;
        Ok(None)
    }
    /// The picker is closing: finish what outlives a request (remove the
    /// console's one-time pages). Called once, after the last request.
    fn close(&self) {}
    /// Runs `rolepick rotate SOURCE` as a child process and waits; returns
    /// its exit status. The terminal is the child's while this runs.
    fn rotate(&self, source: &str) -> Result<u8, String> {
        Err(format!("cannot rotate the key of {source} from here"))
    }
}

/// Reads every expiry stamp the cache knows for the model.
pub fn expiries(svc: &dyn CredentialService) -> Expiries {
    let model = svc.model();
    let roles = svc.cached_expiries();
    let sessions = model
        .sources
        .keys()
        .filter_map(|s| svc.session_expiry(s).map(|e| (s.clone(), e)))
        .collect();
    Expiries {
        roles,
        sessions,
        vaults: vaults(svc),
        key_ages: key_ages(svc),
        unknown_key_ages: unknown_key_ages(svc),
    }
}

/// The sources whose key the vault holds without a creation day.
fn unknown_key_ages(svc: &dyn CredentialService) -> std::collections::HashSet<String> {
    svc.model()
        .sources
        .keys()
        .filter(|s| svc.key_age_unknown(s))
        .cloned()
        .collect()
}

/// The age in days of each source's key that the vault dates.
fn key_ages(svc: &dyn CredentialService) -> HashMap<String, i64> {
    svc.model()
        .sources
        .keys()
        .filter_map(|s| svc.key_age_days(s).map(|d| (s.clone(), d)))
        .collect()
}

/// The sources whose key is behind a typed vault passphrase, and the vault.
fn vaults(svc: &dyn CredentialService) -> HashMap<String, PathBuf> {
    svc.model()
        .sources
        .keys()
        .filter_map(|s| svc.vault_to_unlock(s).map(|v| (s.clone(), v)))
        .collect()
}

/// Where the picker is drawn; the real terminal or a test backend.
pub trait Screen {
    fn draw(&mut self, state: &State) -> io::Result<()>;
    fn size(&self) -> io::Result<(u16, u16)>;
    /// Hands the terminal to a subshell: stop reading input, leave raw mode
    /// and the alternate screen.
    fn suspend(&mut self) -> io::Result<()>;
    /// Takes the terminal back and forces a full redraw.
    fn resume(&mut self) -> io::Result<()>;
    /// Stops the process (job control) until it is continued; called
    /// between `suspend` and `resume`.
    fn stop(&mut self) {}
}

/// The real terminal plus its input thread.
pub struct Tty {
    guard: TerminalGuard,
    input: Input,
}

impl Screen for Tty {
    fn draw(&mut self, state: &State) -> io::Result<()> {
        self.guard
            .terminal
            .draw(|f| crate::ui::render(state, f))
            .map(|_| ())
    }
    fn size(&self) -> io::Result<(u16, u16)> {
        crossterm::terminal::size()
    }
    fn suspend(&mut self) -> io::Result<()> {
        self.input.pause();
        self.guard.suspend();
        // The normal screen is the user's again: warnings go to stderr.
        crate::diag::end_capture();
        Ok(())
    }
    fn resume(&mut self) -> io::Result<()> {
        let r = self.guard.resume();
        crate::diag::set_capture(true);
        self.input.resume();
        r
    }
    fn stop(&mut self) {
        Input::stop_process();
    }
}

impl Drop for Tty {
    fn drop(&mut self) {
        self.input.stop();
        // Restore before printing what was captured and not yet shown.
        self.guard.suspend();
        crate::diag::end_capture();
    }
}

/// Picker options decided at the edge.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// False when `NO_COLOR` is set.
    pub color: bool,
    /// Capture the mouse (wheel scrolling).
    pub mouse: bool,
}

/// How the picker ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// `q` or Ctrl-C.
    Quit,
    /// SIGTERM, SIGHUP, SIGINT or SIGQUIT, by number.
    Signal(i32),
}

impl Exit {
    /// Exit status, shell style: 128+N after signal N.
    pub fn status(self) -> u8 {
        match self {
            Exit::Quit => 0,
            Exit::Signal(n) => u8::try_from(128 + n).unwrap_or(1),
        }
    }
}

/// Runs the picker on the real terminal until the user quits.
pub fn run(
    svc: Arc<dyn CredentialService>,
    clock: Arc<dyn Clock>,
    opts: Options,
) -> anyhow::Result<Exit> {
    let mut state =
        State::new(svc.model(), HashMap::new(), HashMap::new(), clock.now()).with_color(opts.color);
    let (tx, rx) = mpsc::channel();
    // Sessions (one per source), vaults and key ages now, as the first
    // message, so Enter knows whether to ask for a passphrase or a code;
    // role expiries (one cache file per profile) after the first frame.
    let sessions = svc
        .model()
        .sources
        .keys()
        .filter_map(|s| svc.session_expiry(s).map(|e| (s.clone(), e)))
        .collect();
    let _ = tx.send(Msg::Expiries(Expiries {
        roles: HashMap::new(),
        sessions,
        vaults: vaults(svc.as_ref()),
        key_ages: key_ages(svc.as_ref()),
        unknown_key_ages: unknown_key_ages(svc.as_ref()),
    }));
    let guard = TerminalGuard::enter(opts.mouse)?;
    // On error, `guard` restores the terminal.
    let input = Input::start(&tx)?;
    // From here until `Tty` drops, warnings and `-v` notes (lock waits,
    // retries, store notes) go to the status line, not over the screen.
    crate::diag::set_capture(true);
    let (svc2, tx2) = (Arc::clone(&svc), tx.clone());
    thread::Builder::new()
        .name("rolepick-cache".into())
        .spawn(move || {
            let _ = tx2.send(Msg::Expiries(expiries(svc2.as_ref())));
            let _ = tx2.send(Msg::LiveShells(svc2.live_shells()));
        })?;
    // The rows came from the cached listing; a stale one is listed again
    // in the background (never a sign-in just for that).
    spawn_discover(Arc::clone(&svc), tx.clone(), false)?;
    let mut tty = Tty { guard, input };
    let exit = run_loop(&mut tty, &svc, clock.as_ref(), &mut state, &tx, &rx);
    drop(tty); // the terminal is the user's again while `close` waits
    svc.close();
    exit
}

/// Lists the Identity Center accounts on a worker thread; the answer comes
/// as `Msg::Discovered` (nothing when a background listing found nothing).
fn spawn_discover(svc: Arc<dyn CredentialService>, tx: Sender<Msg>, asked: bool) -> io::Result<()> {
    thread::Builder::new()
        .name("rolepick-discover".into())
        .spawn(move || {
            let result = svc.discover(asked).map(|m| m.map(Box::new));
            if asked || !matches!(result, Ok(None)) {
                let _ = tx.send(Msg::Discovered { result, asked });
            }
        })
        .map(|_| ())
}

/// How often the picker re-reads which roles have a live shell.
const LIVE_SHELLS_EVERY: Duration = Duration::from_secs(3);

/// How long until the next tick: the next wall-clock second (so countdowns
/// change together), or the next spinner frame while a request is in flight.
fn until_tick(now: SystemTime, busy: bool) -> Duration {
    let sub = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_millis());
    let ms = if busy { 100 - sub % 100 } else { 1000 - sub };
    Duration::from_millis(u64::from(ms.max(1)))
}

/// The event loop, on any [`Screen`]. Returns when an `Effect::Quit` comes
/// out of `update` or every sender is gone.
///
/// Every change to `state` is a [`Msg`] given to `update`, and every
/// [`Effect`] it returns is performed. Messages the loop makes itself (the
/// size and time after a child had the terminal, a rotation's outcome,
/// captured warnings) go through `queue`, ahead of the channel, so they
/// are applied before anything else and before the next frame.
pub fn run_loop(
    screen: &mut dyn Screen,
    svc: &Arc<dyn CredentialService>,
    clock: &dyn Clock,
    state: &mut State,
    tx: &Sender<Msg>,
    rx: &Receiver<Msg>,
) -> anyhow::Result<Exit> {
    let mut exit = Exit::Quit;
    let (w, h) = screen.size()?;
    let mut queue = VecDeque::from([Msg::Resize {
        width: w,
        height: h,
    }]);
    let mut dirty = true;
    let mut live_read = clock.instant();
    // The cancel flag of each credential request in flight.
    let mut cancels: HashMap<u64, Arc<AtomicBool>> = HashMap::new();
    loop {
        // Everything already queued is applied before the next frame: a
        // paste of thousands of keys is one redraw, not thousands.
        let next = match queue.pop_front() {
            Some(m) => Ok(m),
            None => rx.try_recv(),
        };
        let msg = match next {
            Ok(m) => m,
            Err(TryRecvError::Disconnected) => return Ok(exit),
            Err(TryRecvError::Empty) => {
                let noted = crate::diag::take_captured();
                if !noted.is_empty() {
                    queue.push_back(Msg::Diag(noted));
                    continue;
                }
                if dirty {
                    screen.draw(state)?;
                    dirty = false;
                }
                match rx.recv_timeout(until_tick(clock.now(), state.pending().is_some())) {
                    Ok(m) => m,
                    Err(RecvTimeoutError::Timeout) => {
                        // Shells opened elsewhere come and go: look every few seconds.
                        if clock.instant().duration_since(live_read) >= LIVE_SHELLS_EVERY {
                            live_read = clock.instant();
                            let _ = tx.send(Msg::LiveShells(svc.live_shells()));
                        }
                        Msg::Tick { now: clock.now() }
                    }
                    Err(RecvTimeoutError::Disconnected) => return Ok(exit),
                }
            }
        };
        if let Msg::Terminate { signal } = msg {
            exit = Exit::Signal(signal);
        }
        if msg == Msg::Suspend {
            // Job control (SIGTSTP): the shell gets a sane terminal while
            // we are stopped; `fg` brings raw mode and a full redraw back.
            screen.suspend()?;
            screen.stop();
            queue.extend(back(screen, svc, clock)?);
            dirty = true;
            continue;
        }
        dirty |= match &msg {
            // Idle ticks redraw only when a countdown or the spinner is on screen.
            Msg::Tick { .. } => state.has_live_countdowns(),
            // Mouse capture reports every motion; only the wheel changes anything.
            Msg::Mouse(m) => matches!(
                m.kind,
                MouseEventKind::ScrollUp | MouseEventKind::ScrollDown
            ),
            _ => true,
        };
        if let Msg::CredsDone { req_id, .. } = &msg {
            cancels.remove(req_id);
        }
        for effect in update(state, msg) {
            match effect {
                Effect::Quit => {
                    // No sign-in keeps polling for a picker that is gone.
                    for flag in cancels.values() {
                        flag.store(true, Ordering::SeqCst);
                    }
                    return Ok(exit);
                }
                Effect::Discover => spawn_discover(Arc::clone(svc), tx.clone(), true)?,
                Effect::CancelRequest { req_id } => {
                    if let Some(flag) = cancels.remove(&req_id) {
                        flag.store(true, Ordering::SeqCst);
                    }
                }
                Effect::FetchCredentials {
                    req_id,
                    profile,
                    mfa_code,
                    passphrase,
                    refresh,
                } => {
                    let svc = Arc::clone(svc);
                    let tx = tx.clone();
                    let cancel = Arc::new(AtomicBool::new(false));
                    cancels.insert(req_id, Arc::clone(&cancel));
                    let shown_tx = Mutex::new(tx.clone());
                    let hooks = RequestHooks {
                        on_sign_in: Arc::new(move |s: SignInShown| {
                            let tx = shown_tx.lock().unwrap_or_else(PoisonError::into_inner);
                            let _ = tx.send(Msg::SignInStarted {
                                req_id,
                                user_code: s.user_code,
                                uri: s.uri,
                                expires_at: s.expires_at,
                            });
                        }),
                        cancel,
                    };
                    thread::Builder::new()
                        .name("rolepick-sts".into())
                        .spawn(move || {
                            let result =
                                svc.fetch_with(&profile, mfa_code, passphrase, refresh, &hooks);
                            let _ = tx.send(Msg::CredsDone {
                                req_id,
                                profile,
                                result,
                            });
                        })?;
                }
                Effect::OpenConsole { req_id, profile } => {
                    let svc = Arc::clone(svc);
                    let tx = tx.clone();
                    thread::Builder::new()
                        .name("rolepick-console".into())
                        .spawn(move || {
                            let result = svc.open_console(&profile);
                            let _ = tx.send(Msg::ConsoleOpened {
                                req_id,
                                profile,
                                result,
                            });
                        })?;
                }
                Effect::CheckPassphrase { req_id, passphrase } => {
                    let svc = Arc::clone(svc);
                    let tx = tx.clone();
                    thread::Builder::new()
                        .name("rolepick-vault".into())
                        .spawn(move || {
                            let result = svc.check_passphrase(&passphrase);
                            drop(passphrase);
                            let _ = tx.send(Msg::PassphraseChecked { req_id, result });
                        })?;
                }
                Effect::OpenShell { profile } => {
                    screen.suspend()?;
                    let result = svc.open_shell(&profile);
                    queue.extend(back(screen, svc, clock)?);
                    // Through the channel, so that what the notice starts
                    // (a request, for a source whose code comes by command)
                    // is run like any key's effects.
                    let notice = svc.take_notice();
                    let _ = tx.send(Msg::ShellExited {
                        profile: profile.clone(),
                        result,
                    });
                    if let Some(text) = notice {
                        let _ = tx.send(Msg::Notice {
                            profile: Some(profile),
                            text,
                        });
                    }
                    dirty = true;
                }
                Effect::RotateKey { source } => {
                    screen.suspend()?;
                    let result = svc.rotate(&source);
                    queue.extend(back(screen, svc, clock)?);
                    queue.push_back(Msg::Rotated { source, result });
                    dirty = true;
                }
            }
        }
    }
}

/// After a child had the terminal: takes it back; returns the messages
/// that tell `update` what the child may have changed (size, time,
/// expiries, key ages, live shells).
fn back(
    screen: &mut dyn Screen,
    svc: &Arc<dyn CredentialService>,
    clock: &dyn Clock,
) -> anyhow::Result<[Msg; 4]> {
    screen.resume()?;
    let (w, h) = screen.size()?;
    Ok([
        Msg::Resize {
            width: w,
            height: h,
        },
        Msg::Tick { now: clock.now() },
        Msg::Expiries(expiries(svc.as_ref())),
        Msg::LiveShells(svc.live_shells()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::fixture::{self, at, T0};
    use crate::app::msg::FailureKind;
    use crate::clock::FixedClock;
    use crate::clock::SystemClock;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    use std::sync::Mutex;

    /// Profile, MFA code, passphrase (exposed, to check what was sent), refresh.
    type Call = (String, Option<String>, Option<String>, Refresh);

    struct Fake {
        model: Model,
        roles: Mutex<HashMap<String, SystemTime>>,
        session: Mutex<Option<SystemTime>>,
        shells: Mutex<Vec<(String, Option<SystemTime>)>>,
        calls: Mutex<Vec<Call>>,
        /// The vault the key is in, and its passphrase; `None`: no vault.
        vault: Option<(PathBuf, &'static str)>,
        checks: Mutex<Vec<String>>,
        /// The key's age in days, as the vault index would say.
        key_age: Mutex<Option<i64>>,
        rotated: Mutex<Vec<String>>,
        /// Profiles the console was opened for, with their cached expiry then.
        consoles: Mutex<Vec<(String, Option<SystemTime>)>>,
    }

    impl CredentialService for Fake {
        fn model(&self) -> &Model {
            &self.model
        }
        fn cached_expiry(&self, profile: &str) -> Option<SystemTime> {
            self.roles.lock().unwrap().get(profile).copied()
        }
        fn session_expiry(&self, _: &str) -> Option<SystemTime> {
            *self.session.lock().unwrap()
        }
        fn vault_to_unlock(&self, _: &str) -> Option<PathBuf> {
            self.vault.as_ref().map(|(v, _)| v.clone())
        }
        fn check_passphrase(&self, passphrase: &SecretString) -> Result<(), Failure> {
            self.checks
                .lock()
                .unwrap()
                .push(passphrase.expose().to_string());
            match &self.vault {
                Some((_, p)) if passphrase.expose() == *p => Ok(()),
                _ => Err(Failure {
                    kind: FailureKind::PassphraseRejected,
                    message: "wrong passphrase for the vault".into(),
                }),
            }
        }
        fn fetch(
            &self,
            profile: &str,
            mfa_code: Option<String>,
            passphrase: Option<SecretString>,
            refresh: Refresh,
        ) -> Result<Fetched, Failure> {
            self.calls.lock().unwrap().push((
                profile.into(),
                mfa_code.clone(),
                passphrase.as_ref().map(|p| p.expose().to_string()),
                refresh,
            ));
            if let Some((_, good)) = &self.vault {
                if passphrase.as_ref().is_none_or(|p| p.expose() != *good) {
                    return Err(Failure {
                        kind: FailureKind::PassphraseRejected,
                        message: "wrong passphrase for the vault".into(),
                    });
                }
            }
            if mfa_code.as_deref() == Some("000000") {
                return Err(Failure {
                    kind: FailureKind::MfaRejected,
                    message: "MFA code rejected".into(),
                });
            }
            let f = Fetched {
                expires: at(T0 + 3600),
                session_expires: Some(at(T0 + 43200)),
            };
            self.roles.lock().unwrap().insert(profile.into(), f.expires);
            *self.session.lock().unwrap() = f.session_expires;
            Ok(f)
        }
        fn key_age_days(&self, _: &str) -> Option<i64> {
            *self.key_age.lock().unwrap()
        }
        fn rotate(&self, source: &str) -> Result<u8, String> {
            self.rotated.lock().unwrap().push(source.into());
            *self.key_age.lock().unwrap() = Some(0);
            Ok(0)
        }
        fn open_console(&self, profile: &str) -> Result<String, String> {
            let e = self.cached_expiry(profile);
            self.consoles.lock().unwrap().push((profile.into(), e));
            Ok(format!("Opened the AWS console for {profile}"))
        }
        fn open_shell(&self, profile: &str) -> Result<u8, String> {
            let e = self.cached_expiry(profile);
            self.shells.lock().unwrap().push((profile.into(), e));
            Ok(0)
        }
    }

    struct TestScreen {
        term: Terminal<TestBackend>,
        suspended: Vec<bool>,
        draws: usize,
    }

    impl Screen for TestScreen {
        fn draw(&mut self, state: &State) -> io::Result<()> {
            self.draws += 1;
            self.term
                .draw(|f| crate::ui::render(state, f))
                .map(|_| ())
                .map_err(|e| match e {})
        }
        fn size(&self) -> io::Result<(u16, u16)> {
            Ok((80, 20))
        }
        fn suspend(&mut self) -> io::Result<()> {
            self.suspended.push(true);
            Ok(())
        }
        fn resume(&mut self) -> io::Result<()> {
            self.suspended.push(false);
            Ok(())
        }
    }

    fn fake() -> Arc<Fake> {
        fake_with(None)
    }

    fn fake_with(vault: Option<(PathBuf, &'static str)>) -> Arc<Fake> {
        // One role of the shared test model's source `alice`.
        let mut model = Model::default();
        model
            .sources
            .insert("alice".into(), fixture::source("alice", false));
        model.profiles.push(fixture::role(
            "dev",
            "alice",
            "111111111111",
            "dev",
            "Admin",
        ));
        Arc::new(Fake {
            model,
            roles: Mutex::default(),
            session: Mutex::default(),
            shells: Mutex::default(),
            calls: Mutex::default(),
            vault,
            checks: Mutex::default(),
            key_age: Mutex::default(),
            rotated: Mutex::default(),
            consoles: Mutex::default(),
        })
    }

    fn key(c: KeyCode) -> Msg {
        Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
    }

    #[test]
    fn enter_code_fetch_then_shell_then_quit() {
        let fake = fake();
        let svc: Arc<dyn CredentialService> = fake.clone();
        let clock = FixedClock::new(at(T0));
        let mut state = fresh_state(&fake);
        let mut screen = screen();
        let (tx, rx) = mpsc::channel();
        tx.send(key(KeyCode::Enter)).unwrap();
        send_text(&tx, "000000");
        tx.send(key(KeyCode::Enter)).unwrap();
        // The rejected code comes back while we wait; then retry.
        let tx2 = tx.clone();
        let feeder = thread::spawn(move || {
            thread::sleep(Duration::from_millis(300));
            send_text(&tx2, "123456");
            tx2.send(key(KeyCode::Enter)).unwrap();
            thread::sleep(Duration::from_millis(300));
            tx2.send(key(KeyCode::Char('q'))).unwrap();
        });
        let exit = run_loop(&mut screen, &svc, &clock, &mut state, &tx, &rx).unwrap();
        assert_eq!(exit, Exit::Quit);
        feeder.join().unwrap();
        let calls = fake.calls.lock().unwrap().clone();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[1].1.as_deref(), Some("123456"));
        assert_eq!(calls[1].2, None, "no vault, no passphrase");
        assert_eq!(
            *fake.shells.lock().unwrap(),
            vec![("dev".to_string(), Some(at(T0 + 3600)))]
        );
        assert_eq!(screen.suspended, vec![true, false]);
        assert_eq!(state.role_expiry["dev"], at(T0 + 3600));
        // Queued messages are applied before a frame, so how many frames
        // depends on timing; the feeder's pauses leave at least two.
        assert!(screen.draws >= 2, "{} frames", screen.draws);
    }

    /// The picker's state at T0 for the fake's model, nothing cached.
    fn fresh_state(fake: &Fake) -> State {
        State::new(&fake.model, HashMap::new(), HashMap::new(), at(T0))
    }

    fn screen() -> TestScreen {
        TestScreen {
            term: Terminal::new(TestBackend::new(80, 20)).unwrap(),
            suspended: vec![],
            draws: 0,
        }
    }

    fn send_text(tx: &Sender<Msg>, text: &str) {
        for c in text.chars() {
            tx.send(key(KeyCode::Char(c))).unwrap();
        }
    }

    #[test]
    fn locked_vault_passphrase_is_tried_then_code_then_one_fetch_with_both() {
        let fake = fake_with(Some(("/v/vault.age".into(), "correct horse")));
        let svc: Arc<dyn CredentialService> = fake.clone();
        let clock = FixedClock::new(at(T0));
        let mut state = fresh_state(&fake);
        state.sources[0].vault = Some("/v/vault.age".into());
        let mut screen = screen();
        let (tx, rx) = mpsc::channel();
        tx.send(key(KeyCode::Enter)).unwrap();
        send_text(&tx, "wrong");
        tx.send(key(KeyCode::Enter)).unwrap();
        let tx2 = tx.clone();
        let feeder = thread::spawn(move || {
            // The wrong passphrase is refused in its modal; type it again.
            thread::sleep(Duration::from_millis(300));
            send_text(&tx2, "correct horse");
            tx2.send(key(KeyCode::Enter)).unwrap();
            thread::sleep(Duration::from_millis(300));
            send_text(&tx2, "123456");
            tx2.send(key(KeyCode::Enter)).unwrap();
            thread::sleep(Duration::from_millis(300));
            tx2.send(key(KeyCode::Char('q'))).unwrap();
        });
        let exit = run_loop(&mut screen, &svc, &clock, &mut state, &tx, &rx).unwrap();
        assert_eq!(exit, Exit::Quit);
        feeder.join().unwrap();
        assert_eq!(*fake.checks.lock().unwrap(), vec!["wrong", "correct horse"]);
        let calls = fake.calls.lock().unwrap().clone();
        assert_eq!(
            calls,
            vec![(
                "dev".to_string(),
                Some("123456".to_string()),
                Some("correct horse".to_string()),
                Refresh::IfNeeded
            )]
        );
        assert_eq!(fake.shells.lock().unwrap().len(), 1);
        assert!(
            state.modal().is_none(),
            "the passphrase is gone with the modal"
        );
    }

    #[test]
    fn r_then_y_rotates_with_the_terminal_handed_over_and_rereads_the_age() {
        let fake = fake();
        *fake.key_age.lock().unwrap() = Some(95);
        let svc: Arc<dyn CredentialService> = fake.clone();
        let clock = FixedClock::new(at(T0));
        let mut state = fresh_state(&fake);
        state.sources[0].key_age = Some(95);
        let mut screen = screen();
        let (tx, rx) = mpsc::channel();
        send_text(&tx, "Ryq");
        let exit = run_loop(&mut screen, &svc, &clock, &mut state, &tx, &rx).unwrap();
        assert_eq!(exit, Exit::Quit);
        assert_eq!(*fake.rotated.lock().unwrap(), vec!["alice"]);
        assert_eq!(screen.suspended, vec![true, false]);
        assert_eq!(state.sources[0].key_age, Some(0), "ages re-read after");
        assert!(state.status.unwrap().text.contains("Rotated"));
    }

    #[test]
    fn o_code_fetch_then_console_off_the_ui_thread_and_the_picker_stays() {
        let fake = fake();
        let svc: Arc<dyn CredentialService> = fake.clone();
        let clock = FixedClock::new(at(T0));
        let mut state = fresh_state(&fake);
        let mut screen = screen();
        let (tx, rx) = mpsc::channel();
        send_text(&tx, "o123456");
        tx.send(key(KeyCode::Enter)).unwrap();
        let (tx2, fake2) = (tx.clone(), Arc::clone(&fake));
        let feeder = thread::spawn(move || {
            let deadline = SystemClock.instant() + Duration::from_secs(30);
            while fake2.consoles.lock().unwrap().is_empty() && SystemClock.instant() < deadline {
                thread::sleep(Duration::from_millis(20));
            }
            // Its answer is sent right after; let the loop take it.
            thread::sleep(Duration::from_millis(300));
            tx2.send(key(KeyCode::Char('q'))).unwrap();
        });
        let exit = run_loop(&mut screen, &svc, &clock, &mut state, &tx, &rx).unwrap();
        assert_eq!(exit, Exit::Quit);
        feeder.join().unwrap();
        assert_eq!(fake.calls.lock().unwrap()[0].1.as_deref(), Some("123456"));
        assert_eq!(
            *fake.consoles.lock().unwrap(),
            vec![("dev".to_string(), Some(at(T0 + 3600)))],
            "the console is opened once the credentials are cached"
        );
        assert!(fake.shells.lock().unwrap().is_empty(), "no shell");
        assert!(
            screen.suspended.is_empty(),
            "the terminal stays the picker's"
        );
        assert_eq!(state.status.unwrap().text, "Opened the AWS console for dev");
    }

    #[test]
    fn a_burst_of_keys_is_one_redraw_not_one_per_key() {
        let fake = fake();
        let svc: Arc<dyn CredentialService> = fake.clone();
        let clock = FixedClock::new(at(T0));
        let mut state = fresh_state(&fake);
        let mut screen = screen();
        let (tx, rx) = mpsc::channel();
        send_text(&tx, &format!("/{}", "x".repeat(2000)));
        let tx2 = tx.clone();
        let feeder = thread::spawn(move || {
            thread::sleep(Duration::from_millis(300));
            tx2.send(key(KeyCode::Esc)).unwrap();
            tx2.send(key(KeyCode::Char('q'))).unwrap();
        });
        let exit = run_loop(&mut screen, &svc, &clock, &mut state, &tx, &rx).unwrap();
        feeder.join().unwrap();
        assert_eq!(exit, Exit::Quit);
        assert!(screen.draws <= 3, "{} redraws for one burst", screen.draws);
    }

    #[test]
    fn a_stop_hands_the_terminal_over_and_takes_it_back() {
        let fake = fake();
        let svc: Arc<dyn CredentialService> = fake.clone();
        let clock = FixedClock::new(at(T0));
        let mut state = fresh_state(&fake);
        let mut screen = screen();
        let (tx, rx) = mpsc::channel();
        tx.send(Msg::Suspend).unwrap();
        let tx2 = tx.clone();
        let feeder = thread::spawn(move || {
            thread::sleep(Duration::from_millis(200));
            tx2.send(key(KeyCode::Char('q'))).unwrap();
        });
        let exit = run_loop(&mut screen, &svc, &clock, &mut state, &tx, &rx).unwrap();
        feeder.join().unwrap();
        assert_eq!(exit, Exit::Quit, "a stop is not an exit");
        assert_eq!(screen.suspended, vec![true, false]);
        assert!(screen.draws >= 1, "redrawn after the stop");
    }

    #[test]
    fn a_signal_quits_with_128_plus_its_number() {
        let fake = fake();
        let svc: Arc<dyn CredentialService> = fake.clone();
        let clock = FixedClock::new(at(T0));
        let mut state = fresh_state(&fake);
        let mut screen = screen();
        let (tx, rx) = mpsc::channel();
        tx.send(Msg::Terminate { signal: 15 }).unwrap();
        let exit = run_loop(&mut screen, &svc, &clock, &mut state, &tx, &rx).unwrap();
        assert_eq!(exit, Exit::Signal(15));
        assert_eq!(exit.status(), 143);
    }

    /// An Identity Center role whose request starts a sign-in and waits
    /// for approval until cancelled; records whether the cancel came.
    struct SignInFake {
        model: Model,
        started: AtomicBool,
        cancelled: AtomicBool,
        shells: Mutex<Vec<String>>,
    }

    impl CredentialService for SignInFake {
        fn model(&self) -> &Model {
            &self.model
        }
        fn cached_expiry(&self, _: &str) -> Option<SystemTime> {
            None
        }
        fn session_expiry(&self, _: &str) -> Option<SystemTime> {
            None
        }
        fn vault_to_unlock(&self, _: &str) -> Option<PathBuf> {
            None
        }
        fn check_passphrase(&self, _: &SecretString) -> Result<(), Failure> {
            Ok(())
        }
        fn fetch(
            &self,
            _: &str,
            _: Option<String>,
            _: Option<SecretString>,
            _: Refresh,
        ) -> Result<Fetched, Failure> {
            panic!("the runtime must call fetch_with, which can be cancelled")
        }
        fn fetch_with(
            &self,
            _: &str,
            _: Option<String>,
            _: Option<SecretString>,
            _: Refresh,
            hooks: &RequestHooks,
        ) -> Result<Fetched, Failure> {
            (hooks.on_sign_in)(SignInShown {
                user_code: "ABCD-EFGH".into(),
                uri: "https://device.example/?user_code=ABCD-EFGH".into(),
                expires_at: at(T0 + 600),
            });
            self.started.store(true, Ordering::SeqCst);
            let deadline = SystemClock.instant() + Duration::from_secs(20);
            while !hooks.cancel.load(Ordering::SeqCst) && SystemClock.instant() < deadline {
                thread::sleep(Duration::from_millis(10));
            }
            self.cancelled
                .store(hooks.cancel.load(Ordering::SeqCst), Ordering::SeqCst);
            // A late answer, as if the approval had come anyway.
            Ok(Fetched {
                expires: at(T0 + 3600),
                session_expires: None,
            })
        }
        fn open_shell(&self, profile: &str) -> Result<u8, String> {
            self.shells.lock().unwrap().push(profile.into());
            Ok(0)
        }
    }

    #[test]
    fn esc_in_the_sign_in_modal_cancels_the_request_and_its_late_answer_opens_nothing() {
        let mut model = Model::default();
        model
            .sources
            .insert("corp".into(), fixture::sso_source("corp"));
        model.profiles.push(fixture::sso_role(
            "sso-dev",
            "corp",
            "444444444444",
            "sandbox",
            "AdministratorAccess",
        ));
        let fake = Arc::new(SignInFake {
            model,
            started: AtomicBool::new(false),
            cancelled: AtomicBool::new(false),
            shells: Mutex::default(),
        });
        let svc: Arc<dyn CredentialService> = fake.clone();
        let clock = FixedClock::new(at(T0));
        let mut state = State::new(&fake.model, HashMap::new(), HashMap::new(), at(T0));
        let mut screen = screen();
        let (tx, rx) = mpsc::channel();
        tx.send(key(KeyCode::Enter)).unwrap();
        let (tx2, fake2) = (tx.clone(), Arc::clone(&fake));
        let feeder = thread::spawn(move || {
            let deadline = SystemClock.instant() + Duration::from_secs(20);
            while !fake2.started.load(Ordering::SeqCst) && SystemClock.instant() < deadline {
                thread::sleep(Duration::from_millis(10));
            }
            thread::sleep(Duration::from_millis(200)); // the modal is up
            tx2.send(key(KeyCode::Esc)).unwrap();
            while !fake2.cancelled.load(Ordering::SeqCst) && SystemClock.instant() < deadline {
                thread::sleep(Duration::from_millis(10));
            }
            thread::sleep(Duration::from_millis(200)); // the late answer arrives
            tx2.send(key(KeyCode::Char('q'))).unwrap();
        });
        let exit = run_loop(&mut screen, &svc, &clock, &mut state, &tx, &rx).unwrap();
        feeder.join().unwrap();
        assert_eq!(exit, Exit::Quit);
        assert!(
            fake.cancelled.load(Ordering::SeqCst),
            "the request saw the cancel"
        );
        assert!(fake.shells.lock().unwrap().is_empty(), "no shell");
        assert_eq!(state.status.unwrap().text, "Sign-in cancelled");
    }

    #[test]
    fn ticks_align_to_the_second_and_speed_up_while_busy() {
        let t = UNIX_EPOCH + Duration::from_millis(1_000_250);
        assert_eq!(until_tick(t, false), Duration::from_millis(750));
        assert_eq!(until_tick(t, true), Duration::from_millis(50));
    }
}
