//! The credential engine: from a profile name to temporary credentials.
//!
//! Warm path (cached role credentials still fresh): read the config, read
//! the cache, done. No async runtime, no SDK, no key lookup. Cold path,
//! under the source's lock: MFA session from the cache or
//! `GetSessionToken` (asking for a code), then `AssumeRole`, each result
//! cached. An IAM Identity Center role takes the same path: its cached
//! role credentials when fresh (no network, no SDK), else the session's
//! token (cache, refresh, or a browser sign-in: [`crate::sso::token`]) and
//! GetRoleCredentials, cached like any role's; roles chained from it are
//! assumed from those.

pub mod prompt;

use crate::aws::sts::{self, AssumeParams, Signer, StsError};
use crate::aws::Credentials;
use crate::cache::Cache;
use crate::clock::{secs_until, Clock, SystemClock};
use crate::config::{self, Paths};
use crate::diag;
use crate::error::Error;
use crate::model::{Model, Parent, Profile, ProfileKind, Settings, Source, SsoSession};
use crate::shell;
use crate::sso::token::SignInUi;
use crate::vault::keys::{find_key, KeyStore};
use crate::vault::SettingsExt as _;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

/// Longest role session AWS allows (12 h); longest `GetSessionToken` (36 h).
const MAX_ROLE_SECS: u32 = 43_200;
const MAX_SESSION_SECS: u64 = 129_600;
const MIN_SECS: u64 = 900;

#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub config_path: Option<PathBuf>,
    pub verbose: bool,
}

impl From<&crate::cli::Global> for LoadOptions {
    fn from(global: &crate::cli::Global) -> Self {
        LoadOptions {
            config_path: global.config.clone(),
            verbose: global.verbose,
        }
    }
}

/// How much to renew.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// Use cached credentials while fresh.
    IfNeeded,
    /// New MFA session (asks for a code) and new role credentials.
    Session,
}

pub use crate::engine::prompt::{Given, GivenCode, MfaPrompt};

/// [`crate::aws::runtime`], or why it cannot start.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    crate::aws::runtime().map_err(|e| Error::Other(format!("cannot start the async runtime: {e}")))
}

/// Resolves once `flag` is set (checked every 50 ms).
async fn cancelled(flag: &std::sync::atomic::AtomicBool) {
    while !flag.load(std::sync::atomic::Ordering::SeqCst) {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Refuses anything that is not exactly six digits.
pub fn validate_mfa_code(code: &str) -> Result<&str, Error> {
    let c = code.trim();
    if c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()) {
        Ok(c)
    } else {
        Err(Error::Usage(format!(
            "MFA code {} is not 6 digits. Type the 6-digit code your MFA device shows now.",
            crate::error::quote_short(c)
        )))
    }
}

/// Refuses an STS endpoint override that is not a URL (usage error, the
/// value quoted), before any call is made.
pub fn check_endpoint() -> Result<(), Error> {
    check_endpoint_vars(&sts::ENDPOINT_VARS)
}

/// [`check_endpoint`] for the IAM endpoint too (rotation, setup).
pub fn check_iam_endpoint() -> Result<(), Error> {
    check_endpoint()?;
    check_endpoint_vars(&crate::aws::iam::ENDPOINT_VARS)
}

fn check_endpoint_vars(vars: &[&'static str]) -> Result<(), Error> {
    match crate::aws::bad_endpoint_var(vars) {
        None => Ok(()),
        Some((var, value)) => Err(Error::Usage(format!(
            "{var} = {} is not a URL. Set it to an endpoint such as https://sts.eu-west-1.amazonaws.com or http://127.0.0.1:5000, or unset it to use AWS.",
            crate::error::quote_short(&value)
        ))),
    }
}

/// The model from a valid snapshot of the configuration in the cache
/// directory (whole, or only what `name` needs), with the warnings and
/// notes its full parse said, for the caller to say again
/// ([`diag::Note::replay`]) once it goes on with this model. None when
/// there is no valid snapshot.
pub fn snapshot_model(
    paths: &Paths,
    cache: &Cache,
    name: Option<&str>,
) -> Option<(Model, Vec<diag::Note>)> {
    use config::snapshot::{self, Snapshot};
    let file_name = snapshot::file_name(paths);
    let snap = cache
        .open_private(&file_name)
        .and_then(|f| Snapshot::open(f, paths))?;
    let model = name
        .and_then(|n| snap.model_for(n))
        .or_else(|| snap.model())?;
    diag::debug(&format!(
        "configuration read from its snapshot {}",
        cache.dir().join(&file_name).display()
    ));
    Some((model, snap.notes().to_vec()))
}

/// The merged configuration: from its snapshot in the cache directory when
/// that is still valid ([`snapshot_model`]), else by a full parse, whose
/// result then becomes the snapshot. Either way the same model, errors and
/// warnings.
fn load_model(
    paths: &Paths,
    cache: &Cache,
    now: SystemTime,
    name: Option<&str>,
) -> Result<Model, Error> {
    use config::snapshot;
    if let Some((model, notes)) = snapshot_model(paths, cache, name) {
        for n in &notes {
            n.replay();
        }
        return Ok(model);
    }
    let file_name = snapshot::file_name(paths);
    let (loaded, notes) = diag::record(|| config::load_full(paths));
    let (model, read) = loaded?;
    if let Some(bytes) = read
        .as_ref()
        .and_then(|read| snapshot::encode(paths, read, &notes, &model, now))
    {
        let unwritable = format!("{file_name}.unwritable");
        match cache.write_private(&file_name, &bytes) {
            Ok(()) => cache.unstamp(&unwritable),
            Err(e) => snapshot_unwritable(cache, &file_name, &unwritable, &e, now),
        }
    }
    Ok(model)
}

/// A snapshot could not be written (a directory in its place, a full
/// disk): every run parses the configuration in full, and a warm `exec`
/// goes through the full program. Said once (the stamp `unwritable`
/// remembers it, until a snapshot is written again); a cache that cannot
/// hold even the stamp is said elsewhere, so this stays a `-v` note.
fn snapshot_unwritable(cache: &Cache, name: &str, unwritable: &str, e: &Error, now: SystemTime) {
    let path = cache.dir().join(name);
    diag::debug(&format!(
        "cannot write the configuration snapshot {}: {e}",
        path.display()
    ));
    if cache.stamped(unwritable).is_some() || cache.stamp(unwritable, now).is_err() {
        return;
    }
    diag::warn(&format!(
        "cannot write the configuration snapshot {}: {e}. Until it can be written, every run reads the whole configuration and no exec is warm; remove what is in its way (said once)",
        path.display()
    ));
}

/// The cached credentials of `p` (its role's, or its source's MFA
/// session's), fresh or not.
pub fn cached_credentials(cache: &Cache, p: &Profile) -> Option<Credentials> {
    match &p.kind {
        ProfileKind::Role(_) | ProfileKind::Sso { .. } => cache.read_role(p),
        ProfileKind::Session => cache.read_session(&p.source, p.mfa_serial.as_deref()),
    }
}

/// Whether `c` is good at `now` for longer than `settings.refresh_before`
/// (else rolepick renews it before use).
pub fn is_fresh_at(settings: &Settings, now: SystemTime, c: &Credentials) -> bool {
    let left = secs_until(now, c.expiration);
    left > i64::try_from(settings.refresh_before.as_secs()).unwrap_or(i64::MAX)
}

pub struct Engine {
    model: Model,
    paths: Paths,
    cache: Cache,
    keys: Vec<Box<dyn KeyStore>>,
    clock: Arc<dyn Clock>,
    /// Shows an Identity Center sign-in when one is needed; None: no
    /// sign-in, only a cached or refreshed token.
    sign_in: Option<Arc<dyn SignInUi + Send>>,
    /// What the command line asks of one profile's credentials beyond its
    /// configuration (`exec --duration`, `--no-session`).
    ask: Option<Ask>,
}

/// What `rolepick clear` removes from the credential cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clear {
    /// A profile's cached role credentials; with `session` (or when the
    /// profile is an MFA session itself) its source's MFA session too,
    /// which every role of that source shares.
    Profile { name: String, session: bool },
    /// Every cached role credential and MFA session.
    All,
}

/// What [`Engine::clear`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cleared {
    /// Role credentials removed.
    pub roles: usize,
    /// MFA sessions removed.
    pub sessions: usize,
    /// The source whose session was removed (for one profile).
    pub session_of: Option<String>,
}

/// `exec --duration D` and `exec --no-session` for one profile: every
/// request for that profile's credentials (the first, and the credential
/// endpoint's refreshes) follows them; the profiles of its chain do not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub profile: String,
    /// The role session's length in seconds ([`config::ROLE_SECS`]),
    /// over the profile's `duration_seconds`. Cached credentials are used
    /// only while they have that long left, less `refresh_before`.
    pub duration: Option<u32>,
    /// AssumeRole straight from the long-lived key with the MFA device and
    /// a code: no `GetSessionToken`, no MFA session made or used.
    pub no_session: bool,
}

/// The Identity Center endpoint variables, checked like the STS ones.
const SSO_ENDPOINT_VARS: [&str; 3] = [
    "AWS_ENDPOINT_URL_SSO",
    "AWS_ENDPOINT_URL_SSO_OIDC",
    "AWS_ENDPOINT_URL",
];

/// What `rolepick sso sync` (or a stale `list`) found for one session.
#[derive(Debug, Clone)]
pub struct SyncReport {
    pub session: String,
    pub accounts: usize,
    pub roles: usize,
    /// Listed from the cache, no portal call.
    pub cached: bool,
}

/// How [`Engine::discover`] treats the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discover {
    /// Only sessions whose listing is older than `sso_discovery_ttl`, with
    /// a token that needs no sign-in; failures are warnings (`list`).
    IfStale,
    /// Every session now, signing in when needed (`rolepick sso sync`).
    Now,
}

impl Engine {
    /// Reads the configuration. Touches neither AWS nor any key.
    pub fn load(opts: &LoadOptions) -> Result<Engine, Error> {
        Self::load_inner(opts, None)
    }

    /// [`Engine::load`] for work on the one profile `name` (and the
    /// profiles its role chain goes through): from a valid snapshot of the
    /// configuration it reads only those, so its cost does not grow with
    /// the configuration. The answer is the same as [`Engine::load`]'s.
    pub fn load_for(opts: &LoadOptions, name: &str) -> Result<Engine, Error> {
        Self::load_inner(opts, Some(name))
    }

    fn load_inner(opts: &LoadOptions, name: Option<&str>) -> Result<Engine, Error> {
        diag::set_verbose(opts.verbose);
        let paths = Paths::discover(opts.config_path.as_deref());
        let cache = Cache::discover();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let mut model = load_model(&paths, &cache, clock.now(), name)?;
        crate::sso::discovery::merge_or_warn(&mut model, &cache);
        let keys = crate::vault::keys::stores(&model.settings.vault, &paths.aws_credentials);
        Ok(Engine {
            model,
            cache,
            paths,
            keys,
            clock,
            sign_in: Some(Arc::new(
                crate::sso::cli_signin::TerminalSignIn::unattended(),
            )),
            ask: None,
        })
    }

    pub fn from_parts(
        model: Model,
        paths: Paths,
        cache: Cache,
        keys: Vec<Box<dyn KeyStore>>,
    ) -> Engine {
        Engine {
            model,
            paths,
            cache,
            keys,
            clock: Arc::new(SystemClock),
            sign_in: Some(Arc::new(
                crate::sso::cli_signin::TerminalSignIn::unattended(),
            )),
            ask: None,
        }
    }

    /// How an Identity Center sign-in is shown (None: never sign in, only
    /// use or refresh a token).
    #[must_use]
    pub fn with_sign_in(mut self, ui: Option<Arc<dyn SignInUi + Send>>) -> Self {
        self.sign_in = ui;
        self
    }

    /// Follows `ask` for its profile's credentials; refuses, as a usage
    /// error naming the option, what the profile cannot do.
    pub fn with_ask(mut self, ask: Ask) -> Result<Self, Error> {
        if ask.duration.is_none() && !ask.no_session {
            return Ok(self);
        }
        let p = self.profile(&ask.profile)?;
        let src = self.source(p)?;
        let role = match &p.kind {
            ProfileKind::Role(r) => r,
            ProfileKind::Session => {
                return Err(Error::Usage(format!(
                    "profile {:?} ({}) is an MFA session, not a role: --duration and --no-session apply to roles. Its session's length is session_duration in config.toml.",
                    p.name, p.origin
                )))
            }
            ProfileKind::Sso { .. } => {
                return Err(Error::Usage(format!(
                    "profile {:?} ({}) is an IAM Identity Center role: its credentials' length is the permission set's, and it has no MFA session. --duration and --no-session apply to roles assumed with sts:AssumeRole.",
                    p.name, p.origin
                )))
            }
        };
        if ask.no_session {
            if let Parent::Profile(parent) = &role.parent {
                return Err(Error::Usage(format!(
                    "profile {:?} ({}) is assumed from profile {parent:?}, not from a long-lived key: --no-session applies to a role whose source_profile holds the key.",
                    p.name, p.origin
                )));
            }
            if src.iam_user().is_none() {
                return Err(Error::Usage(format!(
                    "profile {:?} ({}) has no long-lived key to assume its role from: --no-session needs an IAM user's key.",
                    p.name, p.origin
                )));
            }
        }
        self.ask = Some(ask);
        Ok(self)
    }

    /// The [`Ask`] for profile `p`, if any.
    fn ask_for(&self, p: &Profile) -> Option<&Ask> {
        self.ask.as_ref().filter(|a| a.profile == p.name)
    }

    /// Whether cached `c` may serve `p`: fresh, and as long-lived as
    /// `--duration` asks (less `refresh_before`).
    fn serves(&self, p: &Profile, c: &Credentials) -> bool {
        if !self.is_fresh(c) {
            return false;
        }
        let Some(d) = self.ask_for(p).and_then(|a| a.duration) else {
            return true;
        };
        let want = i64::from(d)
            - i64::try_from(self.model.settings.refresh_before.as_secs()).unwrap_or(i64::MAX);
        let ok = secs_until(self.clock.now(), c.expiration) >= want;
        if !ok {
            diag::debug(&format!(
                "the cached credentials of {:?} end sooner than --duration {d}s asks: getting new ones",
                p.name
            ));
        }
        ok
    }

    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The engine's clock, for what must date things as the engine does.
    pub fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.clock)
    }

    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// Monotonic time, for timeouts (through the engine's clock).
    pub fn instant(&self) -> std::time::Instant {
        self.clock.instant()
    }

    /// The profile, or a clear error: unknown (with suggestions) or broken.
    pub fn profile(&self, name: &str) -> Result<&Profile, Error> {
        if let Some(p) = self.model.profile(name) {
            return Ok(p);
        }
        if let Some(why) = self.model.broken.get(name) {
            return Err(Error::Config(why.clone()));
        }
        let close = self.model.closest_names(name);
        let hint = match close.as_slice() {
            [] => String::new(),
            [one] => format!(" Did you mean {one:?}?"),
            many => format!(
                " Did you mean one of: {}?",
                many.iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        Err(Error::Usage(format!(
            "unknown profile {name:?}.{hint} Profiles come from {}, {} and {}; `rolepick list` shows them all.",
            self.paths.aws_config.display(),
            self.paths.aws_credentials.display(),
            self.paths.rolepick.display()
        )))
    }

    fn source(&self, p: &Profile) -> Result<&Source, Error> {
        self.model.source(&p.source).ok_or_else(|| {
            Error::Config(format!(
                "profile {:?} ({}) uses source {:?}, which is not configured.",
                p.name, p.origin, p.source
            ))
        })
    }

    fn is_fresh(&self, c: &Credentials) -> bool {
        is_fresh_at(&self.model.settings, self.clock.now(), c)
    }

    fn cached_any(&self, p: &Profile) -> Option<Credentials> {
        cached_credentials(&self.cache, p)
    }

    /// Cached credentials for `name` that are not about to expire.
    pub fn cached_fresh(&self, name: &str) -> Option<Credentials> {
        let p = self.model.profile(name)?;
        self.cached_any(p).filter(|c| self.is_fresh(c))
    }

    /// Expiry of cached credentials for `name` (even stale ones); None if none.
    pub fn cached_expiry(&self, name: &str) -> Option<SystemTime> {
        let p = self.model.profile(name)?;
        self.cached_any(p).map(|c| c.expiration)
    }

    /// Expiries of every cached credential, by profile name (one directory
    /// read, then only the files that exist).
    pub fn cached_expiries(&self) -> std::collections::HashMap<String, SystemTime> {
        let files = self.cache.role_files();
        self.model
            .profiles
            .iter()
            .filter(|p| match p.kind {
                ProfileKind::Role(_) | ProfileKind::Sso { .. } => files.has(&p.name),
                ProfileKind::Session => true,
            })
            .filter_map(|p| self.cached_any(p).map(|c| (p.name.clone(), c.expiration)))
            .collect()
    }

    /// When the source's session runs out: its cached MFA session, or an
    /// Identity Center session's token (the AWS CLI cache); None if none.
    pub fn session_expiry(&self, source: &str) -> Option<SystemTime> {
        if self.model.source(source).is_some_and(|s| s.sso().is_some()) {
            return self.sso_token_expiry(source);
        }
        self.cache.read_session(source, None).map(|c| c.expiration)
    }

    /// When a shell on the endpoint stops getting credentials without the
    /// user: the MFA session's end, an Identity Center source's token's
    /// (then the browser sign-in), or the credentials' own without either.
    pub fn session_end(&self, profile: &Profile, creds: &Credentials) -> SystemTime {
        let sso = self
            .model
            .source(&profile.source)
            .is_some_and(|s| s.sso().is_some());
        (profile.mfa_serial.is_some() || sso)
            .then(|| self.session_expiry(&profile.source))
            .flatten()
            .map_or(creds.expiration, |s| s.max(creds.expiration))
    }

    /// Whether getting credentials for `name` now would need a code typed
    /// by the user.
    pub fn needs_mfa_code(&self, name: &str) -> bool {
        let Some(p) = self.model.profile(name) else {
            return false;
        };
        if self.cached_fresh(name).is_some() {
            return false;
        }
        if let ProfileKind::Role(r) = &p.kind {
            if let Parent::Profile(parent) = &r.parent {
                return self.needs_mfa_code(parent);
            }
        }
        let Some(serial) = p.mfa_serial.as_deref() else {
            return false;
        };
        let has_process = self
            .model
            .source(&p.source)
            .is_some_and(|s| s.mfa_process().is_some());
        !has_process
            && self
                .cache
                .read_session(&p.source, Some(serial))
                .is_none_or(|c| !self.is_fresh(&c))
    }

    /// The vault file that must be unlocked with a passphrase typed by the
    /// user before `source`'s long-lived key can be used: the key is in the
    /// file vault (or there is no index to say otherwise), and neither
    /// `passphrase_command` nor the environment gives the passphrase.
    pub fn vault_to_unlock(&self, source: &str) -> Option<PathBuf> {
        if self
            .model
            .source(source)
            .is_some_and(|s| s.iam_user().is_none())
        {
            // An Identity Center session holds no key.
            return None;
        }
        let vault = &self.model.settings.vault;
        if vault.passphrase_is_automatic()
            || vault.backend == crate::vault::store::Backend::CredentialsFile
        {
            return None;
        }
        let loc = vault.location();
        if !loc.exists() {
            return None;
        }
        let index = loc.read_index();
        let in_file = match index.sources.get(source) {
            Some(e) => e.backend == crate::vault::store::Backend::File.name(),
            None => index.sources.is_empty(),
        };
        in_file.then_some(loc.file)
    }

    /// Checks what can be checked before calling AWS.
    fn validate(&self, p: &Profile) -> Result<(), Error> {
        if let ProfileKind::Role(r) = &p.kind {
            if let Some(d) = r.duration_seconds {
                if !(MIN_SECS..=u64::from(MAX_ROLE_SECS)).contains(&u64::from(d)) {
                    return Err(Error::Config(format!(
                        "profile {:?} ({}): duration_seconds = {d} is outside what AWS allows for a role session (900 to 43200). Lower it; the role's own maximum may be lower still.",
                        p.name, p.origin
                    )));
                }
            }
        }
        let src = self.source(p)?;
        let Some(user) = src.iam_user() else {
            return Ok(());
        };
        let s = user.session_duration.as_secs();
        if !(MIN_SECS..=MAX_SESSION_SECS).contains(&s) {
            return Err(Error::Config(format!(
                "source {:?} ({}): session duration {s}s is outside what AWS allows for GetSessionToken (900 to 129600 seconds).",
                src.name, src.origin
            )));
        }
        Ok(())
    }

    /// Cached-or-fresh credentials for profile `name`.
    pub fn credentials(
        &self,
        name: &str,
        mfa: &dyn MfaPrompt,
        refresh: Refresh,
    ) -> Result<Credentials, Error> {
        self.credentials_inner(name, mfa, refresh, None)
    }

    /// [`Engine::credentials`] that gives up as soon as `cancel` is set (the
    /// picker's sign-in modal was closed with Esc): the request is dropped,
    /// so a device-flow sign-in stops polling and its lock is released; the
    /// answer (an error nobody waits for) is dropped by the picker as stale.
    pub fn credentials_until(
        &self,
        name: &str,
        mfa: &dyn MfaPrompt,
        refresh: Refresh,
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<Credentials, Error> {
        self.credentials_inner(name, mfa, refresh, Some(cancel))
    }

    fn credentials_inner(
        &self,
        name: &str,
        mfa: &dyn MfaPrompt,
        refresh: Refresh,
        cancel: Option<&std::sync::atomic::AtomicBool>,
    ) -> Result<Credentials, Error> {
        let p = self.profile(name)?;
        if refresh == Refresh::IfNeeded {
            if let Some(c) = self.cached_any(p).filter(|c| self.serves(p, c)) {
                diag::debug(&format!("using cached credentials for {name:?}"));
                return Ok(c);
            }
        }
        self.validate(p)?;
        check_endpoint()?;
        let _lock = self.cache.lock(&p.source)?;
        // Another rolepick may have done the work while we waited.
        if refresh == Refresh::IfNeeded {
            if let Some(c) = self.cached_any(p).filter(|c| self.serves(p, c)) {
                return Ok(c);
            }
        }
        let rt = runtime()?;
        let Some(cancel) = cancel else {
            return rt.block_on(self.fetch(p, mfa, refresh));
        };
        rt.block_on(async {
            tokio::select! {
                r = self.fetch(p, mfa, refresh) => r,
                () = cancelled(cancel) => Err(Error::Other(format!("the request for {name:?} was cancelled"))),
            }
        })
    }

    /// The Identity Center session `profile` (or the role it is chained
    /// from) signs in with, if any.
    fn sso_session_of(&self, profile: &str) -> Option<&SsoSession> {
        let p = self.model.profile(profile)?;
        self.model.source(&p.source)?.sso()
    }

    /// `r` in the picker on an Identity Center role: forgets the session's
    /// token (the shared AWS CLI cache entry) so that the next request
    /// signs in afresh. True when the profile is an Identity Center one.
    pub fn sso_forget_token(&self, profile: &str) -> Result<bool, Error> {
        let Some(session) = self.sso_session_of(profile) else {
            return Ok(false);
        };
        crate::sso::cache::TokenCache::discover()?.remove(&session.cache_id)?;
        Ok(true)
    }

    /// When the token of Identity Center source `source` runs out, as the
    /// AWS CLI token cache says (`expiresAt`); None when not signed in.
    pub fn sso_token_expiry(&self, source: &str) -> Option<SystemTime> {
        let session = self.model.source(source)?.sso()?;
        let token = crate::sso::cache::TokenCache::discover()
            .ok()?
            .read(&session.cache_id)
            .ok()??;
        token
            .start_url
            .as_deref()
            .is_none_or(|u| u == session.start_url)
            .then_some(token.expires_at)
    }

    fn fetch<'a>(
        &'a self,
        p: &'a Profile,
        mfa: &'a dyn MfaPrompt,
        refresh: Refresh,
    ) -> Pin<Box<dyn Future<Output = Result<Credentials, Error>> + 'a>> {
        Box::pin(async move {
            let src = self.source(p)?;
            let region = p
                .region
                .clone()
                .or_else(|| src.region.clone())
                .unwrap_or_else(|| "us-east-1".to_string());
            if let ProfileKind::Sso {
                account_id,
                role_name,
            } = &p.kind
            {
                return self.sso_role(p, src, account_id, role_name).await;
            }
            let ProfileKind::Role(role) = &p.kind else {
                return self
                    .session(
                        src,
                        p.mfa_serial.as_deref(),
                        mfa,
                        refresh == Refresh::Session,
                        &region,
                    )
                    .await;
            };
            let session_name = role
                .session_name
                .clone()
                .unwrap_or_else(|| default_session_name(src, p.mfa_serial.as_deref()));
            let ask = self.ask_for(p);
            let no_session = ask.is_some_and(|a| a.no_session);
            let duration_seconds = ask.and_then(|a| a.duration).or(role.duration_seconds);
            let params = AssumeParams {
                role_arn: &role.role_arn,
                session_name: &session_name,
                external_id: role.external_id.as_deref(),
                duration_seconds,
                mfa: None,
            };
            let endpoint = sts::endpoint_name(&region);
            let mut retried = false;
            loop {
                let force_session = refresh == Refresh::Session || retried;
                let result = match &role.parent {
                    Parent::Profile(parent) => {
                        let pp = self.profile(parent)?;
                        let sub = if force_session {
                            Refresh::Session
                        } else {
                            Refresh::IfNeeded
                        };
                        let pc = match self.cached_any(pp).filter(|c| self.is_fresh(c)) {
                            Some(c) if sub == Refresh::IfNeeded => c,
                            _ => self.fetch(pp, mfa, sub).await?,
                        };
                        self.assume(
                            &pc.access_key_id,
                            &pc.secret_access_key,
                            Some(&pc.session_token),
                            &region,
                            &endpoint,
                            &params,
                        )
                        .await
                    }
                    Parent::Source if no_session || p.mfa_serial.is_none() => {
                        // No MFA session: a source without an MFA device, or
                        // `exec --no-session` (the key and the code, no
                        // MFA session made or used).
                        let key = find_key(&self.keys, src, mfa)?;
                        let code = match p.mfa_serial.as_deref() {
                            Some(serial) => Some((serial, self.mfa_code(src, serial, mfa)?)),
                            None => None,
                        };
                        let params = AssumeParams {
                            mfa: code.as_ref().map(|(s, c)| (*s, c.as_str())),
                            ..params
                        };
                        diag::debug(&format!(
                            "assuming {} straight from the long-lived key",
                            role.role_arn
                        ));
                        self.assume(
                            &key.access_key_id,
                            &key.secret_access_key,
                            None,
                            &region,
                            &endpoint,
                            &params,
                        )
                        .await
                    }
                    Parent::Source => {
                        let s = self
                            .session(src, p.mfa_serial.as_deref(), mfa, force_session, &region)
                            .await?;
                        self.assume(
                            &s.access_key_id,
                            &s.secret_access_key,
                            Some(&s.session_token),
                            &region,
                            &endpoint,
                            &params,
                        )
                        .await
                    }
                };
                match result {
                    Ok(c) => {
                        self.keep(
                            &format!("of profile {:?}", p.name),
                            self.cache.write_role(p, &c),
                        );
                        return Ok(c);
                    }
                    Err(StsError::Service { code, .. })
                        if !retried
                            && !no_session
                            && !matches!(role.parent, Parent::Source if p.mfa_serial.is_none())
                            && matches!(code.as_str(), "ExpiredToken" | "InvalidClientTokenId") =>
                    {
                        // The cached session died early (key rotated, clock
                        // skew): sign in again once.
                        diag::warn(&format!(
                            "the cached MFA session of source {:?} was rejected ({code}); signing in again",
                            src.name
                        ));
                        self.cache.remove_session(&src.name);
                        retried = true;
                    }
                    Err(e) => {
                        return Err(self.assume_error(
                            p,
                            &role.role_arn,
                            duration_seconds,
                            ask.is_some_and(|a| a.duration.is_some()),
                            e,
                        ))
                    }
                }
            }
        })
    }

    /// Credentials just obtained serve the run even when they cannot be
    /// cached (a full disk, a read-only directory): one warning says why
    /// the next run will fetch them again.
    fn keep(&self, whose: &str, written: Result<(), Error>) {
        if let Err(e) = written {
            diag::warn(&format!(
                "the temporary credentials {whose} could not be saved in the cache: {e}. This run uses them; the next one will fetch them again."
            ));
        }
    }

    /// The session of an Identity Center source, or a clear error.
    fn sso_session<'s>(&self, src: &'s Source) -> Result<&'s SsoSession, Error> {
        src.sso().ok_or_else(|| {
            Error::Config(format!(
                "source {:?} ({}) is not an IAM Identity Center session.",
                src.name, src.origin
            ))
        })
    }

    fn sign_in(&self) -> crate::sso::token::SignIn<'_> {
        match &self.sign_in {
            Some(ui) => crate::sso::token::SignIn::Allowed(ui.as_ref()),
            None => crate::sso::token::SignIn::Never,
        }
    }

    /// Where an Identity Center token's locks live and which clock dates it.
    fn sso_stores<'a>(
        &'a self,
        endpoints: &'a crate::aws::sso::Endpoints,
        tokens: &'a crate::sso::cache::TokenCache,
    ) -> crate::sso::token::Stores<'a> {
        crate::sso::token::Stores {
            endpoints,
            tokens,
            locks: &self.cache,
            clock: &*self.clock,
        }
    }

    /// `call` on the portal with the session's token (refreshed, or a new
    /// sign-in when `sign_in` allows and nothing can be refreshed); a 401
    /// gets one new token and one more try. The outer error is the token's,
    /// the inner result the portal's last answer.
    async fn with_portal<T>(
        &self,
        src: &Source,
        session: &SsoSession,
        sign_in: crate::sso::token::SignIn<'_>,
        what: &str,
        call: impl AsyncFn(&crate::aws::sso::Portal<'_>) -> Result<T, crate::aws::sso::SsoError>,
    ) -> Result<Result<T, crate::aws::sso::SsoError>, Error> {
        use crate::aws::sso::{Portal, PortalOptions, SsoError};
        let (endpoints, tokens) = sso_places()?;
        let stores = self.sso_stores(&endpoints, &tokens);
        let mut token = crate::sso::token::token(session, stores, sign_in)
            .await
            .map_err(|e| token_error(&src.name, e))?;
        let mut retried = false;
        loop {
            let portal = Portal::new(
                &endpoints,
                &session.region,
                &token,
                PortalOptions::default(),
            );
            diag::debug(&format!("{what} at {}", portal.endpoint()));
            match call(&portal).await {
                Err(SsoError::TokenInvalid) if !retried => {
                    diag::warn(&format!(
                        "IAM Identity Center refused the token of session {:?} (401); getting a new one",
                        src.name
                    ));
                    retried = true;
                    token = crate::sso::token::token_after_unauthorized(
                        session, stores, sign_in, &token,
                    )
                    .await
                    .map_err(|e| token_error(&src.name, e))?;
                }
                answer => return Ok(answer),
            }
        }
    }

    /// GetRoleCredentials with the session's token (see
    /// [`Engine::with_portal`]).
    async fn sso_role(
        &self,
        p: &Profile,
        src: &Source,
        account_id: &str,
        role_name: &str,
    ) -> Result<Credentials, Error> {
        use crate::aws::sso::SsoError;
        let session = self.sso_session(src)?;
        let answer = self
            .with_portal(
                src,
                session,
                self.sign_in(),
                &format!(
                    "calling sso:GetRoleCredentials for account {account_id} role {role_name}"
                ),
                async |portal| portal.role_credentials(account_id, role_name).await,
            )
            .await?;
        match answer {
            Ok(c) => {
                self.keep(&format!("of profile {:?}", p.name), self.cache.write_role(p, &c));
                Ok(c)
            }
            Err(SsoError::NoAccess { code, .. }) => Err(Error::Refused {
                call: "sso:GetRoleCredentials".into(),
                message: format!(
                    "IAM Identity Center session {:?} cannot reach account {account_id} with role {role_name:?} (profile {:?}, {}): {code}. Check sso_account_id and sso_role_name (`rolepick sso sync` then `rolepick list` shows every account and role you can reach), or ask your administrator for that assignment.",
                    src.name, p.name, p.origin
                ),
                code,
            }),
            Err(e) => Err(sso_error(&src.name, e)),
        }
    }

    /// The Identity Center sources named by `which` (all when None).
    fn sso_sources(&self, which: Option<&str>) -> Result<Vec<&Source>, Error> {
        let all: Vec<&Source> = self
            .model
            .sources
            .values()
            .filter(|s| s.sso().is_some())
            .collect();
        match which {
            None if all.is_empty() => Err(Error::Usage(format!(
                "no IAM Identity Center session is configured. Add an [sso-session NAME] section (sso_start_url, sso_region) to {} or an Identity Center [[source]] to {} (see config.example.toml).",
                self.paths.aws_config.display(),
                self.paths.rolepick.display()
            ))),
            None => Ok(all),
            Some(n) => match all.iter().find(|s| s.name == n) {
                Some(s) => Ok(vec![*s]),
                None => Err(Error::Usage(format!(
                    "no IAM Identity Center session named {}. Configured: {}.",
                    crate::error::quote_short(n),
                    if all.is_empty() {
                        "none".to_string()
                    } else {
                        all.iter()
                            .map(|s| format!("{:?}", s.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ))),
            },
        }
    }

    /// The one session `which` names, or the only one configured.
    fn one_sso_source(&self, which: Option<&str>) -> Result<&Source, Error> {
        let all = self.sso_sources(which)?;
        match all.as_slice() {
            [one] => Ok(one),
            many => Err(Error::Usage(format!(
                "several IAM Identity Center sessions are configured; name one: {}.",
                many.iter()
                    .map(|s| format!("{:?}", s.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// `rolepick clear`: forgets cached credentials (never a key, never
    /// an Identity Center token: that is `sso logout`'s).
    pub fn clear(&self, what: &Clear) -> Result<Cleared, Error> {
        let mut done = Cleared::default();
        let (name, session) = match what {
            Clear::All => {
                (done.roles, done.sessions) = self.cache.clear_credentials()?;
                return Ok(done);
            }
            Clear::Profile { name, session } => (name, *session),
        };
        let p = self.profile(name)?;
        let src = self.source(p)?;
        let wants_session = session || p.kind == ProfileKind::Session;
        if wants_session && src.iam_user().is_none() {
            return Err(Error::Usage(format!(
                "profile {:?} signs in with IAM Identity Center session {:?}, whose token is shared with the AWS CLI: `rolepick sso logout {}` ends it. `rolepick clear {}` alone removes the role's cached credentials.",
                p.name, src.name, src.name, p.name
            )));
        }
        if p.kind != ProfileKind::Session && self.cache.clear_role(&p.name)? {
            done.roles = 1;
        }
        if wants_session && self.cache.clear_session(&src.name)? {
            done.sessions = 1;
            done.session_of = Some(src.name.clone());
        }
        Ok(done)
    }

    /// `rolepick sso login [SESSION]`: a usable token for the session, by a
    /// browser sign-in unless one can be used or refreshed. Returns the
    /// session's name and whether a sign-in happened.
    pub fn sso_login(&self, which: Option<&str>) -> Result<(String, bool), Error> {
        let src = self.one_sso_source(which)?;
        let session = self.sso_session(src)?;
        let (endpoints, tokens) = sso_places()?;
        let stores = self.sso_stores(&endpoints, &tokens);
        let rt = runtime()?;
        let signed_in = rt.block_on(async {
            if crate::sso::token::token(session, stores, crate::sso::token::SignIn::Never)
                .await
                .is_ok()
            {
                return Ok(false);
            }
            crate::sso::token::token(session, stores, self.sign_in())
                .await
                .map(|_| true)
                .map_err(|e| token_error(&src.name, e))
        })?;
        Ok((src.name.clone(), signed_in))
    }

    /// `rolepick sso logout [SESSION]`: portal Logout, then the token and
    /// the session's cached role credentials removed. Returns the session
    /// name and how many cached role credentials were removed.
    pub fn sso_logout(&self, which: Option<&str>) -> Result<(String, usize), Error> {
        let src = self.one_sso_source(which)?;
        let session = self.sso_session(src)?;
        let (endpoints, tokens) = sso_places()?;
        let stores = self.sso_stores(&endpoints, &tokens);
        runtime()?
            .block_on(crate::sso::token::logout(session, stores))
            .map_err(|e| token_error(&src.name, e))?;
        let mut removed = 0;
        for p in self.model.profiles.iter().filter(|p| p.source == src.name) {
            if self.cache.remove_role(&p.name) {
                removed += 1;
            }
        }
        Ok((src.name.clone(), removed))
    }

    /// The accounts and roles of every Identity Center session (or the one
    /// `which` names) from its portal, cached for `sso_discovery_ttl`, and
    /// added to the model as profiles.
    pub fn discover(
        &mut self,
        which: Option<&str>,
        mode: Discover,
    ) -> Result<Vec<SyncReport>, Error> {
        let sources: Vec<Source> = match (mode, self.sso_sources(which)) {
            (Discover::IfStale, Err(_)) => return Ok(Vec::new()),
            (_, r) => r?.into_iter().cloned().collect(),
        };
        let now = self.clock.now();
        let ttl = self.model.settings.sso_discovery_ttl;
        let mut reports = Vec::new();
        let mut changed = false;
        for src in &sources {
            let session = self.sso_session(src)?;
            // Quietly: loading the model said it if the listing is damaged,
            // and this rebuilds it.
            let cached = crate::sso::discovery::read(&self.cache, session);
            if mode == Discover::IfStale {
                if let Some(d) = cached.as_ref().filter(|d| d.is_fresh(now, ttl)) {
                    reports.push(SyncReport {
                        session: src.name.clone(),
                        accounts: d.accounts.len(),
                        roles: d.roles(),
                        cached: true,
                    });
                    continue;
                }
            }
            match self.list_portal(src, session, mode) {
                Ok(d) => {
                    crate::sso::discovery::write(&self.cache, session, &d)?;
                    reports.push(SyncReport {
                        session: src.name.clone(),
                        accounts: d.accounts.len(),
                        roles: d.roles(),
                        cached: false,
                    });
                    changed = true;
                }
                Err(e) if mode == Discover::IfStale => {
                    diag::warn(&format!(
                        "the accounts of IAM Identity Center session {:?} were not listed afresh: {e}{}",
                        src.name,
                        if cached.is_some() {
                            " (listing the last ones found)"
                        } else {
                            ""
                        }
                    ));
                }
                Err(e) => return Err(e),
            }
        }
        if changed {
            let dir = self.cache.dir().to_path_buf();
            self.model
                .profiles
                .retain(|p| p.origin.file.parent() != Some(dir.as_path()));
            crate::sso::discovery::merge(&mut self.model, &self.cache);
        }
        Ok(reports)
    }

    /// ListAccounts + ListAccountRoles with the session's token (see
    /// [`Engine::with_portal`]); a sign-in only when asked for (`Now`).
    fn list_portal(
        &self,
        src: &Source,
        session: &SsoSession,
        mode: Discover,
    ) -> Result<crate::sso::discovery::Discovered, Error> {
        let sign_in = match mode {
            Discover::Now => self.sign_in(),
            Discover::IfStale => crate::sso::token::SignIn::Never,
        };
        let found = runtime()?
            .block_on(self.with_portal(
                src,
                session,
                sign_in,
                &format!("listing the accounts and roles of session {:?}", src.name),
                async |portal| portal.discover(&|_| {}).await,
            ))?
            .map_err(|e| sso_error(&src.name, e))?;
        let accounts = found
            .into_iter()
            .map(|a| crate::sso::discovery::DiscoveredAccount {
                account_id: a.account.account_id,
                account_name: a.account.account_name,
                roles: a.roles,
            })
            .collect();
        Ok(crate::sso::discovery::Discovered::new(
            &session.start_url,
            self.clock.now(),
            accounts,
        ))
    }

    async fn assume(
        &self,
        id: &str,
        secret: &crate::secret::SecretString,
        token: Option<&crate::secret::SecretString>,
        region: &str,
        endpoint: &str,
        params: &AssumeParams<'_>,
    ) -> Result<Credentials, StsError> {
        let signer = Signer {
            access_key_id: id,
            secret_access_key: secret,
            session_token: token,
        };
        let client = sts::client(&signer, region);
        diag::debug(&format!(
            "calling sts:AssumeRole {} at {endpoint}",
            params.role_arn
        ));
        sts::assume_role(&client, endpoint, params).await
    }

    /// The source's session: cached, or a new `GetSessionToken`.
    async fn session(
        &self,
        src: &Source,
        serial: Option<&str>,
        mfa: &dyn MfaPrompt,
        force: bool,
        region: &str,
    ) -> Result<Credentials, Error> {
        if !force {
            if let Some(c) = self
                .cache
                .read_session(&src.name, serial)
                .filter(|c| self.is_fresh(c))
            {
                diag::debug(&format!(
                    "using the cached MFA session of source {:?}",
                    src.name
                ));
                return Ok(c);
            }
        }
        let Some(user) = src.iam_user() else {
            return Err(Error::Config(format!(
                "source {:?} ({}) is an IAM Identity Center session: it has no MFA session of its own. Use one of its role profiles.",
                src.name, src.origin
            )));
        };
        let key = find_key(&self.keys, src, mfa)?;
        let code = match serial {
            Some(serial) => Some((serial, self.mfa_code(src, serial, mfa)?)),
            None => None,
        };
        let endpoint = sts::endpoint_name(region);
        let signer = Signer::key(&key);
        let client = sts::client(&signer, region);
        diag::debug(&format!(
            "calling sts:GetSessionToken for source {:?} at {endpoint}",
            src.name
        ));
        let c = sts::get_session_token(
            &client,
            &endpoint,
            code.as_ref().map(|(s, c)| (*s, c.as_str())),
            user.session_duration,
        )
        .await
        .map_err(|e| session_error(src, serial, &key.access_key_id, e))?;
        self.keep(
            &format!("of the MFA session of source {:?}", src.name),
            self.cache.write_session(&src.name, serial, &c),
        );
        Ok(c)
    }

    pub fn mfa_code(
        &self,
        src: &Source,
        serial: &str,
        mfa: &dyn MfaPrompt,
    ) -> Result<String, Error> {
        let code = match src.mfa_process() {
            Some(cmd) => shell::capture(cmd).map_err(|e| {
                Error::Usage(format!(
                    "mfa_process of source {:?} ({}) failed: {e}",
                    src.name, src.origin
                ))
            })?,
            None => mfa.code(src, serial)?,
        };
        validate_mfa_code(&code).map(str::to_string)
    }

    fn assume_error(
        &self,
        p: &Profile,
        arn: &str,
        duration: Option<u32>,
        from_flag: bool,
        e: StsError,
    ) -> Error {
        const CALL: &str = "sts:AssumeRole";
        let StsError::Service { code, message } = e else {
            return Error::aws(CALL, e);
        };
        let message = if code == "ValidationError"
            && message.contains("DurationSeconds")
            && from_flag
        {
            format!(
                "--duration {}s is more than role {arn} (profile {:?}) allows: {message} Ask for less, or raise the role's maximum session duration.",
                duration.unwrap_or(3600),
                p.name
            )
        } else if code == "ValidationError" && message.contains("DurationSeconds") {
            format!(
                "duration_seconds = {} of profile {:?} ({}) is more than role {arn} allows: {message} Lower duration_seconds, or raise the role's maximum session duration.",
                duration.unwrap_or(3600),
                p.name,
                p.origin
            )
        } else {
            format!(
                "cannot assume role {arn} (profile {:?}): {code}: {message} Check that the role exists, that its trust policy allows your IAM user (with MFA if it requires aws:MultiFactorAuth), and that your user may call sts:AssumeRole on it.",
                p.name
            )
        };
        Error::Refused {
            call: CALL.into(),
            code,
            message,
        }
    }
}

/// An Identity Center failure as the user should read it: denied or
/// expired sign-in, refused token, no access → 3; unreachable or still
/// throttled → 4.
fn sso_error(session: &str, e: crate::aws::sso::SsoError) -> Error {
    use crate::aws::sso::SsoError;
    let whose = format!("IAM Identity Center session {session:?}");
    let refused = |call: &str, code: &str, message: String| Error::Refused {
        call: call.to_string(),
        code: code.to_string(),
        message,
    };
    let unreachable = |message: String| Error::Unreachable {
        call: "IAM Identity Center".into(),
        message,
    };
    match e {
        SsoError::SignInRequired { .. } => Error::Auth(format!(
            "{whose} has no usable token. Sign in with `rolepick sso login {session}`."
        )),
        SsoError::NobodyToSignIn { .. } => Error::Auth(format!(
            "{whose} has no usable token, and no sign-in can be done here: no browser could be opened and there is no terminal to show the sign-in code on. Run `rolepick sso login {session}` (it prints the URL and code), then try again."
        )),
        SsoError::Denied => refused(
            "sso-oidc:CreateToken",
            "AccessDeniedException",
            format!(
                "{whose}: the sign-in was denied in the browser; no token was saved. Run `rolepick sso login {session}` and approve it."
            ),
        ),
        SsoError::DeviceCodeExpired => refused(
            "sso-oidc:CreateToken",
            "ExpiredTokenException",
            format!(
                "{whose}: the sign-in code expired before it was approved; no token was saved. Run `rolepick sso login {session}` and approve it within its time."
            ),
        ),
        SsoError::TokenInvalid => refused(
            "IAM Identity Center",
            "UnauthorizedException",
            format!("{whose}: {e}. Run `rolepick sso login {session}`."),
        ),
        SsoError::RefreshRefused { ref code } => refused(
            "sso-oidc:CreateToken",
            &code.clone(),
            format!("{whose}: {e}. Run `rolepick sso login {session}`."),
        ),
        SsoError::Unreachable { .. } => unreachable(format!(
            "{whose}: {e}. Check your network connection (and AWS_ENDPOINT_URL_SSO / AWS_ENDPOINT_URL_SSO_OIDC if you set them), then try again."
        )),
        SsoError::Throttled { .. } => {
            unreachable(format!("{whose}: {e}. Wait a minute and try again."))
        }
        SsoError::Other { .. } => unreachable(format!("{whose}: {e}. Try again.")),
        SsoError::NoAccess { op, ref code, .. } | SsoError::Service { op, ref code, .. } => {
            refused(op, &code.clone(), format!("{whose}: {e}."))
        }
    }
}

/// Where Identity Center calls go (after checking the endpoint variables)
/// and the AWS CLI's token cache.
fn sso_places() -> Result<(crate::aws::sso::Endpoints, crate::sso::cache::TokenCache), Error> {
    check_endpoint_vars(&SSO_ENDPOINT_VARS)?;
    Ok((
        crate::aws::sso::Endpoints::from_env(),
        crate::sso::cache::TokenCache::discover()?,
    ))
}

fn token_error(session: &str, e: crate::sso::token::TokenError) -> Error {
    match e {
        crate::sso::token::TokenError::Sso(e) => sso_error(session, e),
        crate::sso::token::TokenError::Files(e) => e,
    }
}

fn session_error(src: &Source, serial: Option<&str>, key_id: &str, e: StsError) -> Error {
    const CALL: &str = "sts:GetSessionToken";
    let StsError::Service { code, message } = e else {
        return Error::aws(CALL, e);
    };
    let name = &src.name;
    if let Some(serial) = serial.filter(|_| {
        code == "AccessDenied" && (message.contains("MultiFactor") || message.contains("MFA"))
    }) {
        return Error::MfaRejected {
            serial: serial.to_string(),
            message: format!(
                "AWS rejected the MFA code for {serial} (source {name:?}): {message} Wait for the next code and try again; check the device is the one registered for your user."
            ),
        };
    }
    let message = match code.as_str() {
        "InvalidClientTokenId" => format!(
            "the access key {key_id} of source {name:?} is not valid (InvalidClientTokenId): it was deleted, deactivated or mistyped. Store your current key and try again."
        ),
        "SignatureDoesNotMatch" => format!(
            "the secret key stored for access key {key_id} (source {name:?}) does not match it (SignatureDoesNotMatch). Store the right secret and try again."
        ),
        "ExpiredToken" | "ExpiredTokenException" => format!(
            "the credentials of source {name:?} (access key {key_id}) have expired ({code}: {message}). Store a current access key and try again."
        ),
        _ => format!(
            "AWS refused sts:GetSessionToken for source {name:?} (access key {key_id}): {code}: {message} Check that your user may call sts:GetSessionToken and that mfa_serial is your MFA device."
        ),
    };
    Error::Refused {
        call: CALL.into(),
        code,
        message,
    }
}

/// `sts:GetCallerIdentity` with a long-lived key: who it belongs to.
pub fn caller_identity(
    key: &crate::secret::LongLivedKey,
    region: &str,
) -> Result<sts::Identity, Error> {
    check_endpoint()?;
    let rt = runtime()?;
    let signer = Signer::key(key);
    let endpoint = sts::endpoint_name(region);
    let client = sts::client(&signer, region);
    rt.block_on(sts::get_caller_identity(&client, &endpoint))
        .map_err(|e| match e {
            StsError::Service { code, message } => Error::Refused {
                call: "sts:GetCallerIdentity".into(),
                message: format!(
                    "AWS does not accept the access key {} ({code}: {message}). Check that you copied the current key of your IAM user.",
                    key.access_key_id
                ),
                code,
            },
            other => Error::aws("sts:GetCallerIdentity", other),
        })
}

/// `rolepick-<user>`: the MFA device's name (usually the IAM user name),
/// else the source name; limited to what AWS accepts.
pub fn default_session_name(src: &Source, serial: Option<&str>) -> String {
    let user = serial
        .or(src.mfa_serial())
        .and_then(|s| s.rsplit_once('/').map(|(_, n)| n))
        .unwrap_or(&src.name);
    let mut name: String = format!("rolepick-{user}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    name.truncate(64);
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::secret::SecretString;
    use std::time::Duration;

    const CONFIG: &str = "\
[profile primary]
region = us-east-1
[profile admin]
role_arn = arn:aws:iam::111122223333:role/primary-role
source_profile = primary
mfa_serial = arn:aws:iam::111122223333:mfa/primary
";
    const CREDS: &str = "[primary]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = s\n";

    fn engine(dir: &std::path::Path, clock: Arc<FixedClock>) -> Engine {
        let paths = Paths {
            aws_config: dir.join("config"),
            aws_credentials: dir.join("credentials"),
            rolepick: dir.join("config.toml"),
            rolepick_explicit: false,
        };
        let model = config::from_texts(&paths, Some(CONFIG), Some(CREDS), None).unwrap();
        Engine::from_parts(model, paths, Cache::at(dir.join("cache")), Vec::new()).with_clock(clock)
    }

    fn creds(exp: SystemTime) -> Credentials {
        Credentials {
            access_key_id: "ASIA".into(),
            secret_access_key: SecretString::new("x".into()),
            session_token: SecretString::new("y".into()),
            expiration: exp,
        }
    }

    #[test]
    fn cached_role_is_used_until_five_minutes_before_expiry() {
        let tmp = tempfile::tempdir().unwrap();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let clock = Arc::new(FixedClock::new(t0));
        let e = engine(tmp.path(), clock.clone());
        let admin = e.profile("admin").unwrap().clone();
        e.cache
            .write_role(&admin, &creds(t0 + Duration::from_secs(3600)))
            .unwrap();
        assert!(e.cached_fresh("admin").is_some());
        clock.advance(Duration::from_secs(3600 - 301));
        assert!(e.cached_fresh("admin").is_some());
        clock.advance(Duration::from_secs(2));
        assert!(
            e.cached_fresh("admin").is_none(),
            "inside the refresh window"
        );
        assert_eq!(
            e.cached_expiry("admin"),
            Some(t0 + Duration::from_secs(3600))
        );
    }

    #[test]
    fn mfa_code_is_needed_only_without_a_fresh_session() {
        let tmp = tempfile::tempdir().unwrap();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let e = engine(tmp.path(), Arc::new(FixedClock::new(t0)));
        assert!(e.needs_mfa_code("admin"));
        e.cache
            .write_session(
                "primary",
                Some("arn:aws:iam::111122223333:mfa/primary"),
                &creds(t0 + Duration::from_secs(12 * 3600)),
            )
            .unwrap();
        assert!(!e.needs_mfa_code("admin"));
        assert_eq!(
            e.session_expiry("primary"),
            Some(t0 + Duration::from_secs(12 * 3600))
        );
        // `primary` itself has no mfa_serial: a plain session, no code.
        assert!(!e.needs_mfa_code("primary"));
    }

    #[test]
    fn unknown_profile_suggests_the_closest_name() {
        let tmp = tempfile::tempdir().unwrap();
        let e = engine(
            tmp.path(),
            Arc::new(FixedClock::new(SystemTime::UNIX_EPOCH)),
        );
        let err = e.profile("admn").unwrap_err();
        assert!(err.to_string().contains("\"admn\""), "{err}");
        assert!(err.to_string().contains("Did you mean \"admin\"?"), "{err}");
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn mfa_code_must_be_six_digits() {
        assert_eq!(validate_mfa_code(" 123456\n").unwrap(), "123456");
        for bad in ["12345", "1234567", "12ab56", ""] {
            let err = validate_mfa_code(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn default_session_name_comes_from_the_mfa_device() {
        let src = Source::iam(
            "work",
            crate::model::IamUser {
                mfa_serial: None,
                mfa_process: None,
                session_duration: Duration::from_secs(3600),
                credentials_profile: "work".into(),
            },
            None,
            crate::model::Origin {
                file: "x".into(),
                line: 1,
            },
        );
        assert_eq!(
            default_session_name(&src, Some("arn:aws:iam::1:mfa/jane.doe")),
            "rolepick-jane.doe"
        );
        assert_eq!(default_session_name(&src, None), "rolepick-work");
    }

    #[test]
    fn cached_sso_role_credentials_are_used_without_a_token_or_a_call() {
        let tmp = tempfile::tempdir().unwrap();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let paths = Paths {
            aws_config: tmp.path().join("config"),
            aws_credentials: tmp.path().join("credentials"),
            rolepick: tmp.path().join("config.toml"),
            rolepick_explicit: false,
        };
        let config = "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = ReadOnly\n[sso-session corp]\nsso_start_url = https://d-1.awsapps.com/start\nsso_region = eu-west-1\n";
        let model = config::from_texts(&paths, Some(config), None, None).unwrap();
        let e = Engine::from_parts(
            model,
            paths,
            Cache::at(tmp.path().join("cache")),
            Vec::new(),
        )
        .with_clock(Arc::new(FixedClock::new(t0)))
        .with_sign_in(None);
        let dev = e.profile("dev").unwrap().clone();
        // Nothing cached, no sign-in allowed: neither a code nor a vault is asked for.
        assert!(!e.needs_mfa_code("dev"));
        assert_eq!(e.vault_to_unlock("corp"), None);
        e.cache
            .write_role(&dev, &creds(t0 + Duration::from_secs(3600)))
            .unwrap();
        let c = e
            .credentials("dev", &Given::default(), Refresh::IfNeeded)
            .unwrap();
        assert_eq!(c.access_key_id, "ASIA");
        assert_eq!(e.cached_expiry("dev"), Some(t0 + Duration::from_secs(3600)));
    }
}
