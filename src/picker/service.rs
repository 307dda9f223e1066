//! The picker's engine service: plugs the credential engine
//! ([`crate::engine::Engine`]) into the picker's runtime through
//! [`crate::picker::runtime::CredentialService`] (the picker itself never sees
//! the engine or the vault), and decides colour (`NO_COLOR`) at the edge.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::admin::console;
use crate::app::msg::{Failure, FailureKind, Fetched};
use crate::app::state::Refresh;
use crate::aws::sso::DeviceAuthorization;
use crate::clock::secs_until;
use crate::clock::SystemClock;
use crate::engine::{self, Engine, Given, MfaPrompt};
use crate::error::Error;
use crate::model::{Model, Source, SubshellCredentials};
use crate::picker::runtime::{self, CredentialService, Options, RequestHooks, SignInShown};
use crate::run::child::{self, ChildSpec, FromPicker};
use crate::run::live::{self, LiveShell};
use crate::secret::SecretString;
use crate::shell;
use crate::sso::cli_signin::TerminalSignIn;
use crate::sso::token::SignInUi;
use crate::timefmt;
use crate::vault::store::{self, Document};
use crate::vault::SettingsExt as _;
use crate::vault::Unlock;

/// Runs the picker over `engine` until the user leaves; the exit status.
/// `config` (`--config`) is passed on to the `rolepick rotate` child;
/// `env_creds` (`--env-creds`) gives shells static variables whatever
/// config.toml says.
pub fn run(engine: Engine, config: Option<PathBuf>, env_creds: bool) -> Result<u8, Error> {
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    // Console pages a killed sign-in left behind.
    crate::admin::console::sweep_pages(engine.cache());
    // An Identity Center sign-in opens the browser and the picker's modal.
    let engine = engine.with_sign_in(Some(Arc::new(PickerSignIn)));
    let exit = runtime::run(
        Arc::new(EngineService {
            config,
            ..EngineService::new(engine, env_creds)
        }),
        Arc::new(SystemClock),
        Options { color, mouse: true },
    )
    .map_err(|e| Error::Other(format!("the picker failed: {e:#}")))?;
    Ok(exit.status())
}

thread_local! {
    /// The request this thread runs for: where its sign-in is reported.
    /// The engine's async runtime runs on the calling thread, so the
    /// engine's [`SignInUi`] call lands on the request's own thread.
    static SIGN_IN_HOOK: std::cell::RefCell<Option<SignInHook>> =
        const { std::cell::RefCell::new(None) };
}

/// What [`PickerSignIn`] needs to report a sign-in for the current request.
struct SignInHook {
    report: Box<dyn Fn(&DeviceAuthorization)>,
}

/// The engine's [`SignInUi`] in the picker: opens the browser (as the
/// command line does, through [`crate::shell`]) and tells the picker, which
/// shows the code, the URL and a QR code in its modal. Nothing is written
/// to the terminal the picker owns.
struct PickerSignIn;

impl SignInUi for PickerSignIn {
    fn show(&self, auth: &DeviceAuthorization) {
        TerminalSignIn::quiet().show(auth);
        SIGN_IN_HOOK.with_borrow(|hook| {
            if let Some(h) = hook {
                (h.report)(auth);
            }
        });
    }
}

/// The engine, as the picker sees it.
pub struct EngineService {
    pub engine: Engine,
    /// `--env-creds`: shells get static variables whatever config.toml says.
    pub env_creds: bool,
    /// Said by the credential endpoint while the last shell ran (the MFA
    /// session ran out); shown when the picker is back.
    notice: std::sync::Mutex<Option<String>>,
    /// `--config`, passed on to the `rolepick rotate` child.
    pub config: Option<PathBuf>,
    unlocked: Mutex<Option<Unlocked>>,
    /// Threads that remove the console's one-time pages when their time
    /// is up, or at once when `closing` is set; joined by `close`.
    pages: Mutex<Vec<std::thread::JoinHandle<()>>>,
    closing: Arc<AtomicBool>,
    /// The engine loaded again after the picker listed the Identity Center
    /// accounts afresh: it knows the roles found since `engine` was loaded,
    /// and serves every request from then on.
    fresh: Mutex<Option<Arc<Engine>>>,
}

impl EngineService {
    pub fn new(engine: Engine, env_creds: bool) -> EngineService {
        EngineService {
            engine,
            env_creds,
            notice: std::sync::Mutex::new(None),
            config: None,
            unlocked: Mutex::new(None),
            pages: Mutex::new(Vec::new()),
            closing: Arc::new(AtomicBool::new(false)),
            fresh: Mutex::new(None),
        }
    }
}

/// A vault the passphrase modal has just opened, for the request that
/// follows it. Taken by the next request of any kind, and used only with the
/// same passphrase, an unchanged vault file, and within [`UNLOCKED_FOR`].
struct Unlocked {
    passphrase: SecretString,
    file: PathBuf,
    stamp: Option<FileStamp>,
    doc: Document,
    at: Instant,
}

/// How long an opened vault waits for the MFA code to be typed.
const UNLOCKED_FOR: Duration = Duration::from_secs(120);

/// Enough of a file's metadata to tell that it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
}

impl FileStamp {
    fn of(path: &Path) -> Option<FileStamp> {
        std::fs::metadata(path).ok().map(|m| FileStamp {
            len: m.len(),
            modified: m.modified().ok(),
        })
    }
}

impl Unlocked {
    /// The document, if it may stand in for decrypting the vault again with
    /// `passphrase` now.
    fn usable_for(
        self,
        passphrase: Option<&SecretString>,
        now: Instant,
    ) -> Option<(PathBuf, Document)> {
        let fresh = now.saturating_duration_since(self.at) < UNLOCKED_FOR
            && passphrase == Some(&self.passphrase)
            && self.stamp.is_some()
            && FileStamp::of(&self.file) == self.stamp;
        fresh.then_some((self.file, self.doc))
    }
}

impl EngineService {
    fn forget_stale_unlocked(&self) {
        let mut slot = self
            .unlocked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slot
            .as_ref()
            .is_some_and(|u| self.engine.instant().saturating_duration_since(u.at) >= UNLOCKED_FOR)
        {
            *slot = None;
        }
    }

    fn take_unlocked(&self, passphrase: Option<&SecretString>) -> Option<(PathBuf, Document)> {
        self.unlocked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .and_then(|u| u.usable_for(passphrase, self.engine.instant()))
    }
}

/// What was typed in the modals (MFA code, vault passphrase), if anything.
/// What the engine asked for and did not get comes back as a typed error
/// ([`Error::MfaCodeNeeded`], [`Error::PassphraseNeeded`]), which [`kind`]
/// turns into the modal to open.
struct PickerPrompt {
    given: Given,
    /// The vault the passphrase modal opened just before (see [`Unlocked`]).
    unlocked: Option<(PathBuf, Document)>,
}

/// What kind of failure `e` is, for the picker. A wrong passphrase is the
/// user's to retype only when they typed one (`typed_passphrase`); one from
/// `passphrase_command` or the environment is not asked for in a modal.
fn kind(e: &Error, typed_passphrase: bool) -> FailureKind {
    match e.root() {
        Error::PassphraseNeeded { vault } => FailureKind::PassphraseRequired {
            vault: vault.clone(),
        },
        Error::WrongPassphrase { .. } if typed_passphrase => FailureKind::PassphraseRejected,
        Error::MfaRejected { .. } => FailureKind::MfaRejected,
        Error::MfaCodeNeeded { .. } => FailureKind::MfaRequired,
        _ => FailureKind::Other,
    }
}

impl MfaPrompt for PickerPrompt {
    fn code(&self, source: &Source, serial: &str) -> Result<String, Error> {
        self.given.code(source, serial)
    }
}

impl Unlock for PickerPrompt {
    fn unlocked_vault(&self, vault: &Path) -> Option<&Document> {
        self.unlocked
            .as_ref()
            .filter(|(file, _)| file == vault)
            .map(|(_, doc)| doc)
    }

    fn passphrase(&self, vault: &Path) -> Result<SecretString, Error> {
        self.given.passphrase(vault)
    }
}

fn engine_refresh(r: Refresh) -> engine::Refresh {
    match r {
        Refresh::IfNeeded => engine::Refresh::IfNeeded,
        Refresh::Session => engine::Refresh::Session,
    }
}

impl EngineService {
    /// The engine loaded after the last listing, if any (see `fresh`).
    fn fresh(&self) -> Option<Arc<Engine>> {
        self.fresh
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The engine's credentials for `profile`, given up when `cancel` is set.
    fn fetch_inner(
        &self,
        profile: &str,
        mfa_code: Option<String>,
        passphrase: Option<SecretString>,
        refresh: Refresh,
        cancel: Option<&AtomicBool>,
    ) -> Result<Fetched, Failure> {
        let unlocked = self.take_unlocked(passphrase.as_ref());
        let prompt = PickerPrompt {
            given: Given {
                code: mfa_code,
                passphrase,
            },
            unlocked,
        };
        let refresh = engine_refresh(refresh);
        let fresh = self.fresh();
        let engine = fresh.as_deref().unwrap_or(&self.engine);
        let got = match cancel {
            Some(c) => engine.credentials_until(profile, &prompt, refresh, c),
            None => engine.credentials(profile, &prompt, refresh),
        };
        match got {
            Ok(c) => {
                let session_expires = engine
                    .model()
                    .profile(profile)
                    .and_then(|p| self.session_expiry(&p.source));
                Ok(Fetched {
                    expires: c.expiration,
                    session_expires,
                })
            }
            Err(e) => Err(Failure {
                kind: kind(&e, prompt.given.passphrase.is_some()),
                message: e.to_string(),
            }),
        }
    }
}

impl CredentialService for EngineService {
    fn model(&self) -> &Model {
        self.engine.model()
    }

    fn cached_expiry(&self, profile: &str) -> Option<SystemTime> {
        let fresh = self.fresh();
        fresh
            .as_deref()
            .unwrap_or(&self.engine)
            .cached_expiry(profile)
    }
    fn cached_expiries(&self) -> std::collections::HashMap<String, SystemTime> {
        let fresh = self.fresh();
        fresh.as_deref().unwrap_or(&self.engine).cached_expiries()
    }

    fn discover(&self, now: bool) -> Result<Option<Model>, String> {
        if !self
            .engine
            .model()
            .sources
            .values()
            .any(|s| s.sso().is_some())
        {
            return Ok(None);
        }
        // A new engine, with no sign-in: listing never opens a browser.
        let opts = engine::LoadOptions {
            config_path: self.config.clone(),
            verbose: crate::diag::verbose(),
        };
        let mut fresh = Engine::load(&opts)
            .map_err(|e| e.to_string())?
            .with_sign_in(None);
        let mode = if now {
            engine::Discover::Now
        } else {
            engine::Discover::IfStale
        };
        let reports = fresh.discover(None, mode).map_err(|e| e.to_string())?;
        if reports.iter().all(|r| r.cached) {
            return Ok(None);
        }
        let model = fresh.model().clone();
        let fresh = fresh.with_sign_in(Some(Arc::new(PickerSignIn)));
        *self
            .fresh
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(fresh));
        Ok(Some(model))
    }

    fn session_expiry(&self, source: &str) -> Option<SystemTime> {
        self.engine.session_expiry(source)
    }

    fn vault_to_unlock(&self, source: &str) -> Option<PathBuf> {
        self.engine.vault_to_unlock(source)
    }

    fn check_passphrase(&self, passphrase: &SecretString) -> Result<(), Failure> {
        let loc = self.engine.model().settings.vault.location();
        // Decrypting is the only test of a passphrase. The document is kept
        // for the request that follows (the MFA code is typed next), so the
        // vault is decrypted once; anything else drops (and wipes) it.
        let stamp = FileStamp::of(&loc.file);
        let opened = store::open(&loc, passphrase);
        let mut slot = self
            .unlocked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match opened {
            Ok(doc) => {
                *slot = Some(Unlocked {
                    passphrase: passphrase.clone(),
                    file: loc.file.clone(),
                    stamp,
                    doc,
                    at: self.engine.instant(),
                });
                Ok(())
            }
            Err(e) => {
                *slot = None;
                Err(Failure {
                    kind: kind(&e, true),
                    message: e.to_string(),
                })
            }
        }
    }

    fn fetch(
        &self,
        profile: &str,
        mfa_code: Option<String>,
        passphrase: Option<SecretString>,
        refresh: Refresh,
    ) -> Result<Fetched, Failure> {
        self.fetch_inner(profile, mfa_code, passphrase, refresh, None)
    }

    fn fetch_with(
        &self,
        profile: &str,
        mfa_code: Option<String>,
        passphrase: Option<SecretString>,
        refresh: Refresh,
        hooks: &RequestHooks,
    ) -> Result<Fetched, Failure> {
        let failure = |e: Error| Failure {
            kind: FailureKind::Other,
            message: e.to_string(),
        };
        // `r` on an Identity Center role: a new sign-in, not the old token.
        if refresh == Refresh::Session {
            let fresh = self.fresh();
            let engine = fresh.as_deref().unwrap_or(&self.engine);
            engine.sso_forget_token(profile).map_err(failure)?;
        }
        let (clock, on_sign_in) = (self.engine.clock(), Arc::clone(&hooks.on_sign_in));
        let report = Box::new(move |auth: &DeviceAuthorization| {
            let left = auth.expires_at.saturating_duration_since(clock.instant());
            on_sign_in(SignInShown {
                user_code: auth.user_code.clone(),
                uri: auth.verification_uri_complete.clone(),
                expires_at: clock.now() + left,
            });
        });
        SIGN_IN_HOOK.with_borrow_mut(|h| *h = Some(SignInHook { report }));
        let result = self.fetch_inner(profile, mfa_code, passphrase, refresh, Some(&hooks.cancel));
        SIGN_IN_HOOK.with_borrow_mut(|h| *h = None);
        result
    }

    fn open_shell(&self, profile: &str) -> Result<u8, String> {
        let fresh = self.fresh();
        let engine = fresh.as_deref().unwrap_or(&self.engine);
        // `credentials` never returns credentials within `refresh_before` of
        // expiry, so a shell never starts with expired ones. No code here: the
        // picker only opens a shell once credentials are cached and fresh.
        let prompt = PickerPrompt {
            given: Given::default(),
            unlocked: None,
        };
        let creds = engine
            .credentials(profile, &prompt, engine::Refresh::IfNeeded)
            .map_err(|e| e.to_string())?;
        let p = engine.profile(profile).map_err(|e| e.to_string())?;
        let want_server = !self.env_creds
            && engine.model().settings.subshell_credentials == SubshellCredentials::Server;
        let plan = child::plan(engine, want_server);
        let shown = if plan.server {
            engine.session_end(p, &creds)
        } else {
            creds.expiration
        };
        let left = timefmt::countdown(secs_until(engine.now(), shown));
        let what = child::what(p);
        let banner = child::banner(
            profile,
            child::Renewal::of(engine, p),
            plan.server,
            shown,
            Some(&FromPicker {
                what: &what,
                left: &left,
            }),
        );
        let hint = child::Renewal::of(engine, p).hint(profile, true);
        // A need rolepick could not ask about on the terminal: the picker
        // shows what happened (not how to get back to it) on return.
        let unanswered = |need: &str| {
            let said = need.strip_prefix("rolepick: ").unwrap_or(need);
            *self
                .notice
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(said.to_string());
        };
        let live = LiveShell::register(engine.cache(), profile);
        let status = child::run_child(
            engine,
            ChildSpec {
                profile: p,
                creds,
                plan: &plan,
                command: &[],
                banner: Some(&banner),
                hint,
                unanswered: Some(&unanswered),
                live: live.as_ref(),
            },
        )
        .map_err(|e| e.to_string());
        // A code typed later (in the shell, with a nested rolepick) answered
        // it: nothing left to ask on return.
        if !engine.needs_mfa_code(profile) {
            self.take_notice();
        }
        status
    }

    fn live_shells(&self) -> std::collections::HashMap<String, usize> {
        // Asked every few seconds: a good moment to wipe an opened vault
        // whose code never came.
        self.forget_stale_unlocked();
        live::live_shells(self.engine.cache().dir())
    }

    fn key_age_days(&self, source: &str) -> Option<i64> {
        let index = self.engine.model().settings.vault.location().read_index();
        index
            .sources
            .get(source)
            .and_then(|e| e.age_days(self.engine.now()))
    }

    fn key_age_unknown(&self, source: &str) -> bool {
        let index = self.engine.model().settings.vault.location().read_index();
        index.sources.get(source).is_some_and(|e| !e.age_known())
    }

    fn rotate(&self, source: &str) -> Result<u8, String> {
        // The same binary, so the rotation is the one `rolepick rotate` does
        // (its prompts, its resumable stages), on the terminal.
        let exe = std::env::current_exe()
            .map_err(|e| format!("cannot find rolepick's own binary to rotate {source}: {e}"))?;
        let mut cmd: Vec<std::ffi::OsString> = vec![exe.into_os_string()];
        if let Some(c) = &self.config {
            cmd.extend(["--config".into(), c.clone().into_os_string()]);
        }
        cmd.extend(["rotate".into(), source.into()]);
        let env: Vec<_> = std::env::vars_os().collect();
        let banner = format!(
            "rolepick: rotating the access key of source {source} (`rolepick rotate {source}`)"
        );
        shell::run(&cmd, &env, Some(&banner)).map_err(|e| e.to_string())
    }

    fn open_console(&self, profile: &str) -> Result<String, String> {
        let fresh = self.fresh();
        let engine = fresh.as_deref().unwrap_or(&self.engine);
        // No code here: the picker asks for the console once the role's
        // credentials are cached and fresh, as for a shell.
        let prompt = PickerPrompt {
            given: Given::default(),
            unlocked: None,
        };
        let target = console::Target {
            profile,
            browser: true,
            ..console::Target::default()
        };
        let url = console::sign_in_url(engine, &target, &prompt).map_err(|e| e.to_string())?;
        let dir = engine.cache().private_dir().map_err(|e| e.to_string())?;
        let mut opened =
            console::open_in_browser(&dir, &url, true, profile).map_err(|e| e.to_string())?;
        drop(url);
        opened.settle().map_err(|e| e.to_string())?;
        if self.closing.load(Ordering::SeqCst) {
            return Ok(String::new()); // the picker is gone; the page goes now
        }
        let closing = Arc::clone(&self.closing);
        let cleanup = std::thread::Builder::new()
            .name("rolepick-page".into())
            .spawn(move || opened.finish(&|| closing.load(Ordering::SeqCst)))
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        self.pages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(cleanup);
        Ok(format!(
            "Opened the AWS console for {profile} in your browser"
        ))
    }

    fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        let pages = std::mem::take(
            &mut *self
                .pages
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for p in pages {
            let _ = p.join();
        }
    }

    fn take_notice(&self) -> Option<String> {
        self.notice
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_picker_opens_the_modal_the_engine_error_asks_for() {
        let vault = PathBuf::from("/v/vault.age");
        let cases = [
            (
                Error::PassphraseNeeded {
                    vault: vault.clone(),
                },
                FailureKind::PassphraseRequired {
                    vault: vault.clone(),
                },
            ),
            (
                Error::MfaCodeNeeded {
                    source_name: "work".into(),
                    serial: "GAHT12345678".into(),
                },
                FailureKind::MfaRequired,
            ),
            (
                Error::MfaRejected {
                    serial: "GAHT12345678".into(),
                    message: "rejected".into(),
                }
                .noted("note"),
                FailureKind::MfaRejected,
            ),
            (
                Error::WrongPassphrase {
                    vault: vault.clone(),
                },
                FailureKind::PassphraseRejected,
            ),
            (Error::Other("disk full".into()), FailureKind::Other),
        ];
        for (e, want) in cases {
            assert_eq!(kind(&e, true), want, "{e:?}");
        }
    }

    #[test]
    fn a_wrong_passphrase_nobody_typed_does_not_reopen_the_passphrase_modal() {
        // From passphrase_command or ROLEPICK_VAULT_PASSPHRASE: retyping in
        // a modal would not help.
        let e = Error::WrongPassphrase {
            vault: "/v/vault.age".into(),
        };
        assert_eq!(kind(&e, false), FailureKind::Other);
    }

    fn unlocked(dir: &Path, pass: &str, age: Duration) -> Unlocked {
        let file = dir.join("vault.age");
        Unlocked {
            passphrase: SecretString::new(pass.into()),
            stamp: FileStamp::of(&file),
            file,
            doc: Document::default(),
            at: Instant::now().checked_sub(age).expect("a clock this old"),
        }
    }

    #[test]
    fn an_opened_vault_is_reused_only_with_the_same_passphrase_file_and_soon() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vault.age");
        std::fs::write(&file, b"v1").unwrap();
        let pass = SecretString::new("open sesame".into());
        let soon = Duration::from_secs(1);
        assert!(unlocked(dir.path(), "open sesame", soon)
            .usable_for(Some(&pass), Instant::now())
            .is_some());
        assert!(unlocked(dir.path(), "open sesame", soon)
            .usable_for(None, Instant::now())
            .is_none());
        let other = SecretString::new("other".into());
        assert!(unlocked(dir.path(), "open sesame", soon)
            .usable_for(Some(&other), Instant::now())
            .is_none());
        let late = UNLOCKED_FOR + Duration::from_secs(1);
        assert!(unlocked(dir.path(), "open sesame", late)
            .usable_for(Some(&pass), Instant::now())
            .is_none());
        // The file changed since (another rolepick rotated the key, say).
        let u = unlocked(dir.path(), "open sesame", soon);
        std::fs::write(&file, b"v2, longer").unwrap();
        assert!(u.usable_for(Some(&pass), Instant::now()).is_none());
    }
}
