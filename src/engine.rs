//! The credential engine: from a profile name to temporary credentials.
//!
//! Warm path (cached role credentials still fresh): read the config, read
//! the cache, done. No async runtime, no SDK, no key lookup. Cold path,
//! under the source's lock: MFA session from the cache or
//! `GetSessionToken` (asking for a code), then `AssumeRole`, each result
//! cached.

use crate::aws::sts::{self, AssumeParams, Signer, StsError};
use crate::aws::Credentials;
use crate::cache::Cache;
use crate::clock::{secs_until, Clock, SystemClock};
use crate::config::{self, Paths};
use crate::diag;
use crate::error::Error;
use crate::model::{Model, Parent, Profile, ProfileKind, Source};
use crate::shell;
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

pub use crate::prompt::{Given, GivenCode, MfaPrompt};

/// [`crate::aws::runtime`], or why it cannot start.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    crate::aws::runtime().map_err(|e| Error::Other(format!("cannot start the async runtime: {e}")))
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

/// The merged configuration: from its snapshot in the cache directory when
/// that is still valid (whole, or only what `name` needs), else by a full
/// parse, whose result then becomes the snapshot. Either way the same
/// model, errors and warnings.
fn load_model(
    paths: &Paths,
    cache: &Cache,
    now: SystemTime,
    name: Option<&str>,
) -> Result<Model, Error> {
    use config::snapshot::{self, Snapshot};
    let file_name = snapshot::file_name(paths);
    if let Some(snap) = cache
        .open_private(&file_name)
        .and_then(|f| Snapshot::open(f, paths))
    {
        let model = name
            .and_then(|n| snap.model_for(n))
            .or_else(|| snap.model());
        if let Some(model) = model {
            diag::debug(&format!(
                "configuration read from its snapshot {}",
                cache.dir().join(&file_name).display()
            ));
            for n in snap.notes() {
                n.replay();
            }
            return Ok(model);
        }
    }
    let (loaded, notes) = diag::record(|| config::load_full(paths));
    let (model, read) = loaded?;
    if let Some(bytes) = read
        .as_ref()
        .and_then(|read| snapshot::encode(paths, read, &notes, &model, now))
    {
        if let Err(e) = cache.write_private(&file_name, &bytes) {
            diag::debug(&format!("cannot write the configuration snapshot: {e}"));
        }
    }
    Ok(model)
}

pub struct Engine {
    model: Model,
    paths: Paths,
    cache: Cache,
    keys: Vec<Box<dyn KeyStore>>,
    clock: Arc<dyn Clock>,
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
        let model = load_model(&paths, &cache, clock.now(), name)?;
        let keys = crate::vault::keys::stores(&model.settings.vault, &paths.aws_credentials);
        Ok(Engine {
            model,
            cache,
            paths,
            keys,
            clock,
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
        }
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
        let left = secs_until(self.clock.now(), c.expiration);
        left > i64::try_from(self.model.settings.refresh_before.as_secs()).unwrap_or(i64::MAX)
    }

    fn cached_any(&self, p: &Profile) -> Option<Credentials> {
        match &p.kind {
            ProfileKind::Role(_) => self.cache.read_role(p),
            ProfileKind::Session => self.cache.read_session(&p.source, p.mfa_serial.as_deref()),
        }
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
        let files = self.cache.file_names();
        self.model
            .profiles
            .iter()
            .filter(|p| match p.kind {
                ProfileKind::Role(_) => files.contains(&self.cache.role_file_name(&p.name)),
                ProfileKind::Session => true,
            })
            .filter_map(|p| self.cached_any(p).map(|c| (p.name.clone(), c.expiration)))
            .collect()
    }

    /// Expiry of the source's cached MFA session; None if none.
    pub fn session_expiry(&self, source: &str) -> Option<SystemTime> {
        self.cache.read_session(source, None).map(|c| c.expiration)
    }

    /// When a shell on the endpoint stops getting credentials without a new
    /// code: the MFA session's end (or the credentials' own, without one).
    pub fn session_end(&self, profile: &Profile, creds: &Credentials) -> SystemTime {
        profile
            .mfa_serial
            .as_ref()
            .and_then(|_| self.session_expiry(&profile.source))
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
            .is_some_and(|s| s.mfa_process.is_some());
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
        let s = src.session_duration.as_secs();
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
        let p = self.profile(name)?;
        if refresh == Refresh::IfNeeded {
            if let Some(c) = self.cached_any(p).filter(|c| self.is_fresh(c)) {
                diag::debug(&format!("using cached credentials for {name:?}"));
                return Ok(c);
            }
        }
        self.validate(p)?;
        check_endpoint()?;
        let _lock = self.cache.lock(&p.source)?;
        // Another rolepick may have done the work while we waited.
        if refresh == Refresh::IfNeeded {
            if let Some(c) = self.cached_any(p).filter(|c| self.is_fresh(c)) {
                return Ok(c);
            }
        }
        let rt = runtime()?;
        rt.block_on(self.fetch(p, mfa, refresh))
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
            let params = AssumeParams {
                role_arn: &role.role_arn,
                session_name: &session_name,
                external_id: role.external_id.as_deref(),
                duration_seconds: role.duration_seconds,
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
                    Parent::Source if p.mfa_serial.is_some() => {
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
                    Parent::Source => {
                        let key = find_key(&self.keys, src, mfa)?;
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
                };
                match result {
                    Ok(c) => {
                        self.cache.write_role(p, &c)?;
                        return Ok(c);
                    }
                    Err(StsError::Service { code, .. })
                        if !retried
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
                        return Err(self.assume_error(p, &role.role_arn, role.duration_seconds, e))
                    }
                }
            }
        })
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
            src.session_duration,
        )
        .await
        .map_err(|e| session_error(src, serial, &key.access_key_id, e))?;
        self.cache.write_session(&src.name, serial, &c)?;
        Ok(c)
    }

    pub fn mfa_code(
        &self,
        src: &Source,
        serial: &str,
        mfa: &dyn MfaPrompt,
    ) -> Result<String, Error> {
        let code = match &src.mfa_process {
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

    fn assume_error(&self, p: &Profile, arn: &str, duration: Option<u32>, e: StsError) -> Error {
        const CALL: &str = "sts:AssumeRole";
        let StsError::Service { code, message } = e else {
            return Error::aws(CALL, e);
        };
        let message = if code == "ValidationError" && message.contains("DurationSeconds") {
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
        .or(src.mfa_serial.as_deref())
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
        let src = Source {
            name: "work".into(),
            mfa_serial: None,
            mfa_process: None,
            region: None,
            session_duration: Duration::from_secs(3600),
            credentials_profile: "work".into(),
            origin: crate::model::Origin {
                file: "x".into(),
                line: 1,
            },
        };
        assert_eq!(
            default_session_name(&src, Some("arn:aws:iam::1:mfa/jane.doe")),
            "rolepick-jane.doe"
        );
        assert_eq!(default_session_name(&src, None), "rolepick-work");
    }
}
