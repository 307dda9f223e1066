//! A usable IAM Identity Center access token for one `sso-session`: from
//! the cache shared with the AWS CLI ([`crate::sso::cache`]), refreshed with
//! the refresh_token grant within 15 minutes of expiry (the new refresh
//! token written back, since refresh tokens are single use), or obtained by
//! a device-flow sign-in when nothing can be refreshed and the caller allows
//! one.
//!
//! One sign-in or refresh at a time across processes: the slow path holds
//! an exclusive lock (`sso-<sha1>.lock` in rolepick's private cache dir) and
//! reads the cache again once it has it, so six processes that need a token
//! at once start one device authorization and open one browser tab. The
//! AWS CLI and the SDKs take no such lock: a refresh they won is found by
//! reading the cache again after ours is refused (`written_meanwhile`).
//! A token obtained here that cannot be written back still serves the run.
//!
//! This sits where the engine sits (above `aws/` and the caches); the engine
//! will call [`token`](crate::sso::token::token) for an Identity Center source.

use crate::aws::sso::{
    self, DeviceAuthorization, Endpoints, Registration, SsoError, ACCOUNT_ACCESS_SCOPE,
    REFRESH_WINDOW,
};
use crate::cache::Cache;
use crate::clock::Clock;
use crate::error::Error;
use crate::secret::SecretString;
use crate::sso::cache::{cache_key, CachedToken, TokenCache};
use std::time::{Duration, SystemTime};

/// A token closer than this to its expiry is not handed out.
const MIN_LEFT: Duration = Duration::from_secs(30);
/// OIDC client name rolepick registers as.
pub const CLIENT_NAME: &str = "rolepick";

/// An Identity Center session, as configured (plain data in the model).
pub use crate::model::SsoSession;

/// Shows a started sign-in to the user: opens the browser on
/// `verification_uri_complete`, prints the URL and the code. Called once per
/// device authorization, with the lock held.
pub trait SignInUi: Sync {
    fn show(&self, auth: &DeviceAuthorization);

    /// [`SignInUi::show`], saying whether anyone can act on it. The
    /// default shows it and waits.
    fn present(&self, auth: &DeviceAuthorization) -> Shown {
        self.show(auth);
        Shown::Waiting
    }
}

/// What became of a shown sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// A browser opened or the code is on a terminal: poll for approval.
    Waiting,
    /// No browser opened and nobody can see the code: give up now rather
    /// than wait out the device code.
    Nobody,
}

/// Whether [`token`] may start a browser sign-in.
#[derive(Clone, Copy)]
pub enum SignIn<'a> {
    /// Only the cache and refresh; otherwise [`SsoError::SignInRequired`].
    Never,
    Allowed(&'a dyn SignInUi),
}

/// Where tokens and locks live, where calls go, and the clock.
#[derive(Clone, Copy)]
pub struct Stores<'a> {
    /// [`Endpoints::from_env`] outside tests.
    pub endpoints: &'a Endpoints,
    pub tokens: &'a TokenCache,
    /// rolepick's private cache dir, for the lock files.
    pub locks: &'a Cache,
    pub clock: &'a dyn Clock,
}

/// Why no token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Sso(#[from] SsoError),
    /// The token cache or the lock could not be used.
    #[error(transparent)]
    Files(#[from] Error),
}

impl From<TokenError> for Error {
    fn from(e: TokenError) -> Error {
        match e {
            TokenError::Sso(e) => e.into(),
            TokenError::Files(e) => e,
        }
    }
}

impl From<SsoError> for Error {
    fn from(e: SsoError) -> Error {
        let message = e.to_string();
        let refused = |call: &str, code: &str| Error::Refused {
            call: call.to_string(),
            code: code.to_string(),
            message: message.clone(),
        };
        match &e {
            SsoError::Throttled { op, .. } => Error::Unreachable {
                call: (*op).to_string(),
                message,
            },
            SsoError::Unreachable { .. } => Error::Unreachable {
                call: "IAM Identity Center".into(),
                message,
            },
            SsoError::Other { .. } => Error::Other(message),
            SsoError::NoAccess { op, code, .. } | SsoError::Service { op, code, .. } => {
                refused(op, code)
            }
            SsoError::Denied => refused("sso-oidc:CreateToken", "AccessDeniedException"),
            SsoError::DeviceCodeExpired => refused("sso-oidc:CreateToken", "ExpiredTokenException"),
            SsoError::RefreshRefused { code } => refused("sso-oidc:CreateToken", code),
            SsoError::TokenInvalid => refused("IAM Identity Center", "UnauthorizedException"),
            SsoError::SignInRequired { .. } | SsoError::NobodyToSignIn { .. } => {
                Error::Auth(message)
            }
        }
    }
}

fn scopes(s: &SsoSession) -> Vec<String> {
    if s.scopes.is_empty() {
        vec![ACCOUNT_ACCESS_SCOPE.to_string()]
    } else {
        s.scopes.clone()
    }
}

/// The cached token of `s`, if it was made for this start URL.
fn read(s: &SsoSession, st: &Stores<'_>) -> Result<Option<CachedToken>, Error> {
    Ok(st
        .tokens
        .read(&s.cache_id)?
        .filter(|t| t.start_url.as_deref().is_none_or(|u| u == s.start_url)))
}

enum Verdict {
    Use(SecretString),
    Refresh(CachedToken),
    SignIn(Option<CachedToken>),
}

fn judge(t: Option<CachedToken>, now: SystemTime, rejected: Option<&SecretString>) -> Verdict {
    let Some(t) = t else {
        return Verdict::SignIn(None);
    };
    if rejected.is_some_and(|r| r == &t.access_token) {
        // The portal said 401 to this very token: only a new one will do.
        return if t.refreshable(now) {
            Verdict::Refresh(t)
        } else {
            Verdict::SignIn(Some(t))
        };
    }
    let usable = t.expires_at > now + MIN_LEFT;
    let due = t.expires_at <= now + REFRESH_WINDOW;
    match (usable, due, t.refreshable(now)) {
        (true, false, _) | (true, true, false) => Verdict::Use(t.access_token.clone()),
        (_, _, true) => Verdict::Refresh(t),
        (false, _, false) => Verdict::SignIn(Some(t)),
    }
}

/// A usable access token for `s` (see the module doc).
pub async fn token(
    s: &SsoSession,
    st: Stores<'_>,
    sign_in: SignIn<'_>,
) -> Result<SecretString, TokenError> {
    obtain(s, st, sign_in, None).await
}

/// After the portal answered 401 to `rejected`: a new token (refreshed, or
/// from another process, or by a new sign-in when allowed).
pub async fn token_after_unauthorized(
    s: &SsoSession,
    st: Stores<'_>,
    sign_in: SignIn<'_>,
    rejected: &SecretString,
) -> Result<SecretString, TokenError> {
    obtain(s, st, sign_in, Some(rejected)).await
}

/// Takes the cross-process lock of `s` without blocking the runtime.
async fn lock(s: &SsoSession, st: &Stores<'_>) -> Result<std::fs::File, Error> {
    let locks = st.locks.clone();
    let name = format!("sso-{}", cache_key(&s.cache_id));
    tokio::task::spawn_blocking(move || locks.lock(&name))
        .await
        .map_err(|e| Error::Other(format!("lock task failed: {e}")))?
}

async fn obtain(
    s: &SsoSession,
    st: Stores<'_>,
    sign_in: SignIn<'_>,
    rejected: Option<&SecretString>,
) -> Result<SecretString, TokenError> {
    if let Verdict::Use(t) = judge(read(s, &st)?, st.clock.now(), rejected) {
        return Ok(t);
    }
    let _lock = lock(s, &st).await?;
    // Another process may have refreshed or signed in while we waited.
    let old = match judge(read(s, &st)?, st.clock.now(), rejected) {
        Verdict::Use(t) => return Ok(t),
        Verdict::Refresh(t) => match refresh(s, &st, &t).await {
            Ok(new) => return Ok(new),
            Err(SsoError::RefreshRefused { code }) => {
                if let Some(new) = written_meanwhile(s, &st, &t, rejected).await? {
                    return Ok(new);
                }
                if code == "InvalidClientException" {
                    // Identity Center no longer knows this registration:
                    // the sign-in registers a new one.
                    Some(CachedToken {
                        client_id: None,
                        client_secret: None,
                        registration_expires_at: None,
                        ..t
                    })
                } else {
                    Some(t)
                }
            }
            // Not reachable now: a token that still works is good enough.
            Err(e) => {
                let now = st.clock.now();
                if t.expires_at > now + MIN_LEFT && rejected.is_none() {
                    return Ok(t.access_token.clone());
                }
                return Err(e.into());
            }
        },
        Verdict::SignIn(old) => old,
    };
    match sign_in {
        SignIn::Never => Err(SsoError::SignInRequired {
            session: s.cache_id.clone(),
        }
        .into()),
        SignIn::Allowed(ui) => Ok(device_sign_in(s, &st, ui, old).await?),
    }
}

/// How long a refused refresh waits for the token of whoever spent the
/// refresh token first to reach the cache, and how often it looks.
const RACE_WAIT: Duration = Duration::from_millis(1500);
const RACE_LOOK: Duration = Duration::from_millis(50);

/// After the refresh of `tried` was refused: the token another program
/// wrote meanwhile, if one did. botocore's `SSOTokenProvider` (the AWS CLI,
/// boto3) takes no lock of ours: it may have spent the single-use refresh
/// token a moment before us and be writing the new token now. Only when
/// nothing new arrives does the caller start a browser sign-in.
async fn written_meanwhile(
    s: &SsoSession,
    st: &Stores<'_>,
    tried: &CachedToken,
    rejected: Option<&SecretString>,
) -> Result<Option<SecretString>, Error> {
    let mut waited = Duration::ZERO;
    loop {
        let now = st.clock.now();
        if let Some(t) = read(s, st)?.filter(|t| {
            t.access_token != tried.access_token || t.refresh_token != tried.refresh_token
        }) {
            return Ok(match judge(Some(t), now, rejected) {
                Verdict::Use(a) => Some(a),
                // Written, but already due: usable as it is for this run.
                Verdict::Refresh(t) if t.expires_at > now + MIN_LEFT => {
                    Some(t.access_token.clone())
                }
                Verdict::Refresh(t) => refresh(s, st, &t).await.ok(),
                Verdict::SignIn(_) => None,
            });
        }
        if waited >= RACE_WAIT {
            return Ok(None);
        }
        tokio::time::sleep(RACE_LOOK).await;
        waited += RACE_LOOK;
    }
}

/// The refresh_token grant; the new token and refresh token are written back.
async fn refresh(
    s: &SsoSession,
    st: &Stores<'_>,
    t: &CachedToken,
) -> Result<SecretString, SsoError> {
    let (Some(id), Some(secret), Some(rt)) = (&t.client_id, &t.client_secret, &t.refresh_token)
    else {
        return Err(SsoError::RefreshRefused {
            code: "not refreshable".into(),
        });
    };
    let client = st.endpoints.oidc_client(&s.region);
    let endpoint = st.endpoints.oidc_name(&s.region);
    let g = sso::refresh_token(&client, &endpoint, id, secret, rt, st.clock.now()).await?;
    let new = CachedToken {
        start_url: Some(s.start_url.clone()),
        region: Some(s.region.clone()),
        access_token: g.access_token.clone(),
        expires_at: g.expires_at,
        // Keep the old one only if none came back (it stays valid then).
        refresh_token: g.refresh_token.or_else(|| t.refresh_token.clone()),
        ..t.clone()
    };
    // The old refresh token is spent now: this token is the only one.
    save(s, st, &new, "refreshed");
    Ok(g.access_token)
}

/// Writes a token just obtained back to the cache. When it cannot be
/// written (a full disk, a read-only directory) the token still serves the
/// run that got it, and the user is told why the next run will ask for a
/// sign-in.
fn save(s: &SsoSession, st: &Stores<'_>, t: &CachedToken, what: &str) {
    if let Err(e) = st.tokens.write(&s.cache_id, t) {
        crate::diag::warn(&format!(
            "the {what} IAM Identity Center token of session {:?} could not be saved: {e}. This run uses it; the next one will need `rolepick sso login {}` unless the token cache can be written again.",
            s.cache_id, s.cache_id
        ));
    }
}

async fn device_sign_in(
    s: &SsoSession,
    st: &Stores<'_>,
    ui: &dyn SignInUi,
    old: Option<CachedToken>,
) -> Result<SecretString, TokenError> {
    let client = st.endpoints.oidc_client(&s.region);
    let endpoint = st.endpoints.oidc_name(&s.region);
    let now = st.clock.now();
    // A registration from an earlier sign-in that was given refresh tokens
    // can be used again until it expires.
    let reuse = old
        .as_ref()
        .and_then(|t| match (&t.client_id, &t.client_secret) {
            (Some(id), Some(secret))
                if t.refresh_token.is_some()
                    && t.registration_expires_at
                        .is_some_and(|e| e > now + Duration::from_secs(3600)) =>
            {
                Some(Registration {
                    client_id: id.clone(),
                    client_secret: secret.clone(),
                    expires_at: t.registration_expires_at.unwrap_or(now),
                })
            }
            _ => None,
        });
    let register = async || sso::register_client(&client, &endpoint, CLIENT_NAME, &scopes(s)).await;
    let (reg, auth) = match reuse {
        Some(r) => {
            match sso::start_device_authorization(&client, &endpoint, &r, &s.start_url, st.clock)
                .await
            {
                Ok(auth) => (r, auth),
                // A registration Identity Center no longer knows (deleted,
                // or the service's state reset): register anew, once.
                Err(SsoError::Service { code, .. }) if code == "InvalidClientException" => {
                    let reg = register().await?;
                    let auth = sso::start_device_authorization(
                        &client,
                        &endpoint,
                        &reg,
                        &s.start_url,
                        st.clock,
                    )
                    .await?;
                    (reg, auth)
                }
                Err(e) => return Err(e.into()),
            }
        }
        None => {
            let reg = register().await?;
            let auth =
                sso::start_device_authorization(&client, &endpoint, &reg, &s.start_url, st.clock)
                    .await?;
            (reg, auth)
        }
    };
    if ui.present(&auth) == Shown::Nobody {
        return Err(SsoError::NobodyToSignIn {
            session: s.cache_id.clone(),
        }
        .into());
    }
    let g = sso::poll_for_token(&client, &endpoint, &reg, &auth, st.clock).await?;
    let token = CachedToken {
        start_url: Some(s.start_url.clone()),
        region: Some(s.region.clone()),
        access_token: g.access_token.clone(),
        expires_at: g.expires_at,
        client_id: Some(reg.client_id),
        client_secret: Some(reg.client_secret),
        registration_expires_at: Some(reg.expires_at),
        refresh_token: g.refresh_token,
        extra: old.map(|t| t.extra.clone()).unwrap_or_default(),
    };
    save(s, st, &token, "new");
    Ok(g.access_token)
}

/// Signs out: portal Logout with the cached token (a token the portal no
/// longer knows is fine), then the cached token is removed.
pub async fn logout(s: &SsoSession, st: Stores<'_>) -> Result<(), TokenError> {
    let _lock = lock(s, &st).await?;
    if let Some(t) = st.tokens.read(&s.cache_id)? {
        let portal = sso::Portal::new(
            st.endpoints,
            &s.region,
            &t.access_token,
            sso::PortalOptions::default(),
        );
        match portal.logout().await {
            Ok(()) | Err(SsoError::TokenInvalid) => {}
            Err(e) => return Err(e.into()),
        }
    }
    st.tokens.remove(&s.cache_id)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn tok(expires_in: u64, refreshable: bool) -> CachedToken {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        CachedToken {
            start_url: Some("https://x/start".into()),
            region: Some("eu-west-1".into()),
            access_token: SecretString::new("aoa".into()),
            expires_at: now + Duration::from_secs(expires_in),
            client_id: refreshable.then(|| "cid".into()),
            client_secret: refreshable.then(|| SecretString::new("cs".into())),
            registration_expires_at: refreshable.then(|| now + Duration::from_secs(86400)),
            refresh_token: refreshable.then(|| SecretString::new("aor".into())),
            extra: Default::default(),
        }
    }

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_000_000)
    }

    #[test]
    fn a_token_with_more_than_15_minutes_left_is_used_as_is() {
        assert!(matches!(
            judge(Some(tok(16 * 60, true)), now(), None),
            Verdict::Use(_)
        ));
    }

    #[test]
    fn a_token_within_15_minutes_of_expiry_is_refreshed_when_it_can_be() {
        assert!(matches!(
            judge(Some(tok(14 * 60, true)), now(), None),
            Verdict::Refresh(_)
        ));
        // Without a refresh token it still serves until it expires.
        assert!(matches!(
            judge(Some(tok(14 * 60, false)), now(), None),
            Verdict::Use(_)
        ));
        assert!(matches!(
            judge(Some(tok(10, false)), now(), None),
            Verdict::SignIn(Some(_))
        ));
        assert!(matches!(judge(None, now(), None), Verdict::SignIn(None)));
    }

    #[test]
    fn a_token_the_portal_rejected_is_never_handed_out_again() {
        let t = tok(8 * 3600, false);
        let rejected = t.access_token.clone();
        assert!(matches!(
            judge(Some(t), now(), Some(&rejected)),
            Verdict::SignIn(Some(_))
        ));
        let t = tok(8 * 3600, true);
        assert!(matches!(
            judge(Some(t), now(), Some(&rejected)),
            Verdict::Refresh(_)
        ));
        let other = SecretString::new("older".into());
        assert!(matches!(
            judge(Some(tok(8 * 3600, false)), now(), Some(&other)),
            Verdict::Use(_)
        ));
    }

    #[test]
    fn portal_failures_map_to_the_documented_exit_codes() {
        use crate::error::exit;
        let code = |e: SsoError| Error::from(e).exit_code();
        assert_eq!(code(SsoError::Denied), exit::AUTH);
        assert_eq!(code(SsoError::DeviceCodeExpired), exit::AUTH);
        assert_eq!(code(SsoError::TokenInvalid), exit::AUTH);
        assert_eq!(
            code(SsoError::NobodyToSignIn {
                session: "corp".into()
            }),
            exit::AUTH
        );
        assert_eq!(
            code(SsoError::Unreachable {
                endpoint: "e".into(),
                detail: "d".into()
            }),
            exit::NETWORK
        );
        assert_eq!(
            code(SsoError::Throttled {
                op: "ListAccounts",
                attempts: 6
            }),
            exit::NETWORK
        );
    }
}
