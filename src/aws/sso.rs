//! IAM Identity Center through aws-sdk-ssooidc and aws-sdk-sso: the OAuth
//! device flow (RegisterClient, StartDeviceAuthorization, CreateToken
//! polling), the refresh_token grant, and the portal calls (ListAccounts,
//! ListAccountRoles, GetRoleCredentials, Logout), with failures classified
//! into [`SsoError`] so callers `match` instead of reading messages.
//!
//! Clients are built from a bare SDK config like [`super::sts`] does (no
//! profile loading); [`Endpoints`] takes `AWS_ENDPOINT_URL_SSO_OIDC` /
//! `AWS_ENDPOINT_URL_SSO`, else `AWS_ENDPOINT_URL`, as the SDKs do. Portal calls are paced
//! ([`Pacer`], 20 per second by default) and back off on 429 by themselves;
//! a 429 is never reported as an invalid token, a 401 always is.

use super::sts::root_cause;
use super::Credentials;
use crate::clock::Clock;
use crate::secret::SecretString;
use aws_sdk_sso::error::{ProvideErrorMetadata, SdkError};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The scope that makes Identity Center issue a refresh token.
pub const ACCOUNT_ACCESS_SCOPE: &str = "sso:account:access";
/// Refresh when the token has less than this left, as botocore does.
pub const REFRESH_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Added to the polling interval on every SlowDown (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// The portal's documented pace.
pub const PORTAL_CALLS_PER_SECOND: f64 = 20.0;
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Why an Identity Center call failed, without SDK internals.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsoError {
    /// The user denied the request in the browser.
    #[error("the sign-in was denied in the browser; no token was saved")]
    Denied,
    /// The device code ran out before the user approved it.
    #[error("the sign-in code expired before it was approved; sign in again")]
    DeviceCodeExpired,
    /// The portal answered 401: the token is expired, revoked or unknown.
    /// The caller drops the token and signs in again.
    #[error("the IAM Identity Center token is no longer valid; sign in again")]
    TokenInvalid,
    /// The refresh token was refused (used, expired, revoked); sign in again.
    #[error("the IAM Identity Center token could not be refreshed ({code}); sign in again")]
    RefreshRefused { code: String },
    /// No usable token and the caller did not allow a sign-in.
    #[error("no IAM Identity Center token for session {session:?}; sign in first")]
    SignInRequired { session: String },
    /// A sign-in was needed, but no browser opened and there is no terminal
    /// to show its code on: nobody could approve it.
    #[error("no IAM Identity Center token for session {session:?}, and no browser could be opened nor a terminal found to show the sign-in code")]
    NobodyToSignIn { session: String },
    /// Still throttled (429) after every retry with backoff.
    #[error("{op}: still throttled (TooManyRequestsException) after {attempts} attempts")]
    Throttled { op: &'static str, attempts: u32 },
    /// The account or role is not reachable with this sign-in.
    #[error("{op}: no access to account {account_id:?} role {role_name:?} ({code})")]
    NoAccess {
        op: &'static str,
        account_id: String,
        role_name: String,
        code: String,
    },
    /// Identity Center answered with another error code (OIDC errors often
    /// carry no message: then the code alone).
    #[error("{op}: {code}{}", if message.is_empty() { String::new() } else { format!(": {message}") })]
    Service {
        op: &'static str,
        code: String,
        message: String,
    },
    /// No answer: connection refused, DNS, timeout.
    #[error("cannot reach {endpoint}: {detail}")]
    Unreachable { endpoint: String, detail: String },
    /// An answer rolepick could not understand.
    #[error("unexpected reply from {endpoint}: {detail}")]
    Other { endpoint: String, detail: String },
}

/// Where the OIDC and portal calls go: the AWS endpoints for the region
/// unless overridden, as the SDKs do, by `AWS_ENDPOINT_URL_SSO_OIDC` /
/// `AWS_ENDPOINT_URL_SSO`, else `AWS_ENDPOINT_URL`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    pub oidc: Option<String>,
    pub portal: Option<String>,
}

impl Endpoints {
    /// From the process environment.
    pub fn from_env() -> Endpoints {
        Endpoints::from_lookup(|v| std::env::var(v).ok())
    }

    /// From any variable lookup (the environment of a child, a test).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Endpoints {
        let pick = |specific: &str| {
            [specific, "AWS_ENDPOINT_URL"]
                .iter()
                .find_map(|v| get(v).filter(|s| !s.is_empty()))
        };
        Endpoints {
            oidc: pick("AWS_ENDPOINT_URL_SSO_OIDC"),
            portal: pick("AWS_ENDPOINT_URL_SSO"),
        }
    }

    /// Both services at one URL (the stand-in in tests and the demo).
    pub fn at(url: &str) -> Endpoints {
        Endpoints {
            oidc: Some(url.to_string()),
            portal: Some(url.to_string()),
        }
    }

    /// Human-readable OIDC endpoint for `region`.
    pub fn oidc_name(&self, region: &str) -> String {
        self.oidc
            .clone()
            .unwrap_or_else(|| format!("https://oidc.{region}.amazonaws.com"))
    }

    /// Human-readable portal endpoint for `region`.
    pub fn portal_name(&self, region: &str) -> String {
        self.portal
            .clone()
            .unwrap_or_else(|| format!("https://portal.sso.{region}.amazonaws.com"))
    }

    /// An OIDC client for `region` (these calls are unsigned).
    pub fn oidc_client(&self, region: &str) -> aws_sdk_ssooidc::Client {
        let mut b = aws_sdk_ssooidc::Config::builder()
            .behavior_version(aws_sdk_ssooidc::config::BehaviorVersion::latest())
            .region(aws_sdk_ssooidc::config::Region::new(region.to_string()))
            .retry_config(super::sts::retry_config())
            .timeout_config(super::sts::timeout_config());
        if let Some(url) = &self.oidc {
            if let Some(http) = super::http_client(url) {
                b = b.http_client(http);
            }
            b = b.endpoint_url(url);
        }
        aws_sdk_ssooidc::Client::from_conf(b.build())
    }

    /// A portal client for `region`. SDK retries are off: [`Portal`] paces
    /// and backs off itself so that retries also keep to the pace.
    pub fn portal_client(&self, region: &str) -> aws_sdk_sso::Client {
        let mut b = aws_sdk_sso::Config::builder()
            .behavior_version(aws_sdk_sso::config::BehaviorVersion::latest())
            .region(aws_sdk_sso::config::Region::new(region.to_string()))
            .retry_config(aws_sdk_sso::config::retry::RetryConfig::disabled())
            .timeout_config(super::sts::timeout_config());
        if let Some(url) = &self.portal {
            if let Some(http) = super::http_client(url) {
                b = b.http_client(http);
            }
            b = b.endpoint_url(url);
        }
        aws_sdk_sso::Client::from_conf(b.build())
    }
}

/// What an SDK error was, before it becomes an [`SsoError`].
enum Failure {
    Code { code: String, message: String },
    Unreachable(String),
    Other(String),
}

fn failure<E, R>(e: SdkError<E, R>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match &e {
        SdkError::ServiceError(se) => Failure::Code {
            code: se.err().code().unwrap_or("Unknown").to_string(),
            message: se.err().message().unwrap_or("").trim().to_string(),
        },
        SdkError::TimeoutError(_) => Failure::Unreachable("timed out".into()),
        SdkError::DispatchFailure(_) => {
            Failure::Unreachable(root_cause(&e).unwrap_or_else(|| "connection failed".into()))
        }
        _ => Failure::Other(root_cause(&e).unwrap_or_else(|| "malformed response".into())),
    }
}

fn to_error(op: &'static str, f: Failure, endpoint: &str) -> SsoError {
    match f {
        Failure::Code { code, message } => SsoError::Service { op, code, message },
        Failure::Unreachable(detail) => SsoError::Unreachable {
            endpoint: endpoint.to_string(),
            detail,
        },
        Failure::Other(detail) => SsoError::Other {
            endpoint: endpoint.to_string(),
            detail,
        },
    }
}

fn missing(endpoint: &str, what: &str) -> SsoError {
    SsoError::Other {
        endpoint: endpoint.to_string(),
        detail: format!("no {what} in the response"),
    }
}

fn epoch(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

fn secs(n: i32) -> Duration {
    Duration::from_secs(u64::try_from(n).unwrap_or(0))
}

// ---------------------------------------------------------------------------
// OIDC
// ---------------------------------------------------------------------------

/// A registered OIDC client (kept in the token cache for refreshes).
#[derive(Debug, Clone)]
pub struct Registration {
    pub client_id: String,
    pub client_secret: SecretString,
    pub expires_at: SystemTime,
}

/// `RegisterClient` as a public client with `scopes` (include
/// [`ACCOUNT_ACCESS_SCOPE`] to be given refresh tokens).
pub async fn register_client(
    client: &aws_sdk_ssooidc::Client,
    endpoint: &str,
    client_name: &str,
    scopes: &[String],
) -> Result<Registration, SsoError> {
    let out = client
        .register_client()
        .client_name(client_name)
        .client_type("public")
        .set_scopes(Some(scopes.to_vec()))
        .send()
        .await
        .map_err(|e| to_error("RegisterClient", failure(e), endpoint))?;
    Ok(Registration {
        client_id: out
            .client_id()
            .ok_or_else(|| missing(endpoint, "clientId"))?
            .to_string(),
        client_secret: SecretString::new(
            out.client_secret()
                .ok_or_else(|| missing(endpoint, "clientSecret"))?
                .to_string(),
        ),
        expires_at: epoch(out.client_secret_expires_at()),
    })
}

/// A started device authorization: what to show the user and how to poll.
#[derive(Debug, Clone)]
pub struct DeviceAuthorization {
    pub device_code: SecretString,
    /// The code the user compares in the browser.
    pub user_code: String,
    pub verification_uri: String,
    /// The URL with the code filled in: the one to open.
    pub verification_uri_complete: String,
    /// When the device code runs out.
    pub expires_at: Instant,
    pub interval: Duration,
}

/// `StartDeviceAuthorization` for `start_url`; `clock` dates the code's expiry.
pub async fn start_device_authorization(
    client: &aws_sdk_ssooidc::Client,
    endpoint: &str,
    reg: &Registration,
    start_url: &str,
    clock: &dyn Clock,
) -> Result<DeviceAuthorization, SsoError> {
    let out = client
        .start_device_authorization()
        .client_id(&reg.client_id)
        .client_secret(reg.client_secret.expose())
        .start_url(start_url)
        .send()
        .await
        .map_err(|e| to_error("StartDeviceAuthorization", failure(e), endpoint))?;
    let uri = out
        .verification_uri()
        .ok_or_else(|| missing(endpoint, "verificationUri"))?
        .to_string();
    Ok(DeviceAuthorization {
        device_code: SecretString::new(
            out.device_code()
                .ok_or_else(|| missing(endpoint, "deviceCode"))?
                .to_string(),
        ),
        user_code: out
            .user_code()
            .ok_or_else(|| missing(endpoint, "userCode"))?
            .to_string(),
        verification_uri_complete: out
            .verification_uri_complete()
            .map_or_else(|| uri.clone(), str::to_string),
        verification_uri: uri,
        expires_at: clock.instant() + secs(out.expires_in()),
        // RFC 8628: 5 s when the server names none.
        interval: if out.interval() > 0 {
            secs(out.interval())
        } else {
            Duration::from_secs(5)
        },
    })
}

/// A token from `CreateToken`.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub access_token: SecretString,
    pub expires_at: SystemTime,
    /// Present when the client registered with [`ACCOUNT_ACCESS_SCOPE`].
    pub refresh_token: Option<SecretString>,
}

fn grant(
    out: &aws_sdk_ssooidc::operation::create_token::CreateTokenOutput,
    now: SystemTime,
    endpoint: &str,
) -> Result<TokenGrant, SsoError> {
    Ok(TokenGrant {
        access_token: SecretString::new(
            out.access_token()
                .ok_or_else(|| missing(endpoint, "accessToken"))?
                .to_string(),
        ),
        expires_at: now + secs(out.expires_in()),
        refresh_token: out
            .refresh_token()
            .map(|t| SecretString::new(t.to_string())),
    })
}

/// Polls `CreateToken` with the device code until the user approves
/// (AuthorizationPending: wait; SlowDown: wait 5 s longer from then on;
/// AccessDenied → [`SsoError::Denied`]; ExpiredToken or the code running
/// out → [`SsoError::DeviceCodeExpired`]). `clock` stamps the expiry.
pub async fn poll_for_token(
    client: &aws_sdk_ssooidc::Client,
    endpoint: &str,
    reg: &Registration,
    auth: &DeviceAuthorization,
    clock: &dyn Clock,
) -> Result<TokenGrant, SsoError> {
    let mut interval = auth.interval;
    loop {
        if clock.instant() + interval > auth.expires_at + Duration::from_secs(1) {
            return Err(SsoError::DeviceCodeExpired);
        }
        tokio::time::sleep(interval).await;
        let res = client
            .create_token()
            .client_id(&reg.client_id)
            .client_secret(reg.client_secret.expose())
            .grant_type(DEVICE_CODE_GRANT)
            .device_code(auth.device_code.expose())
            .send()
            .await;
        match res {
            Ok(out) => return grant(&out, clock.now(), endpoint),
            Err(e) => match failure(e) {
                Failure::Code { code, .. } if code == "AuthorizationPendingException" => {}
                Failure::Code { code, .. } if code == "SlowDownException" => {
                    interval += SLOW_DOWN_STEP;
                }
                Failure::Code { code, .. } if code == "AccessDeniedException" => {
                    return Err(SsoError::Denied)
                }
                Failure::Code { code, .. } if code == "ExpiredTokenException" => {
                    return Err(SsoError::DeviceCodeExpired)
                }
                f => return Err(to_error("CreateToken", f, endpoint)),
            },
        }
    }
}

/// `CreateToken` with the refresh_token grant. The answer carries a new
/// refresh token that replaces the old one (single use): store it.
pub async fn refresh_token(
    client: &aws_sdk_ssooidc::Client,
    endpoint: &str,
    client_id: &str,
    client_secret: &SecretString,
    refresh_token: &SecretString,
    now: SystemTime,
) -> Result<TokenGrant, SsoError> {
    let out = client
        .create_token()
        .client_id(client_id)
        .client_secret(client_secret.expose())
        .grant_type("refresh_token")
        .refresh_token(refresh_token.expose())
        .send()
        .await
        .map_err(|e| match failure(e) {
            Failure::Code { code, .. }
                if matches!(
                    code.as_str(),
                    "InvalidGrantException"
                        | "InvalidClientException"
                        | "UnauthorizedClientException"
                        | "ExpiredTokenException"
                        | "AccessDeniedException"
                ) =>
            {
                SsoError::RefreshRefused { code }
            }
            f => to_error("CreateToken", f, endpoint),
        })?;
    grant(&out, now, endpoint)
}

// ---------------------------------------------------------------------------
// portal
// ---------------------------------------------------------------------------

/// Keeps calls at or under a rate, across tasks and threads sharing it.
#[derive(Debug)]
pub struct Pacer {
    gap: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    pub fn per_second(rate: f64) -> Pacer {
        Pacer {
            gap: Duration::from_secs_f64(1.0 / rate.max(0.001)),
            next: Mutex::new(None),
        }
    }

    /// Waits for this call's slot.
    pub async fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.gap);
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
    }
}

/// How portal calls are paced and retried.
#[derive(Debug, Clone)]
pub struct PortalOptions {
    pub calls_per_second: f64,
    /// Attempts per call when throttled (429).
    pub max_attempts: u32,
    /// First backoff after a 429; doubles each time.
    pub initial_backoff: Duration,
    /// `maxResults` asked for per page.
    pub page_size: i32,
    /// ListAccountRoles calls in flight at once (the pacer still rules).
    pub concurrency: usize,
}

impl Default for PortalOptions {
    fn default() -> Self {
        PortalOptions {
            calls_per_second: PORTAL_CALLS_PER_SECOND,
            max_attempts: 6,
            initial_backoff: Duration::from_millis(500),
            page_size: 100,
            concurrency: 8,
        }
    }
}

/// An account the user can reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub account_id: String,
    pub account_name: String,
    pub email: Option<String>,
}

/// An account with its roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRoles {
    pub account: Account,
    pub roles: Vec<String>,
}

/// The portal API for one token: paced, with backoff on 429.
pub struct Portal<'a> {
    client: aws_sdk_sso::Client,
    endpoint: String,
    token: &'a SecretString,
    opts: PortalOptions,
    pacer: Pacer,
}

impl<'a> Portal<'a> {
    pub fn new(
        endpoints: &Endpoints,
        region: &str,
        token: &'a SecretString,
        opts: PortalOptions,
    ) -> Portal<'a> {
        Portal {
            client: endpoints.portal_client(region),
            endpoint: endpoints.portal_name(region),
            token,
            pacer: Pacer::per_second(opts.calls_per_second),
            opts,
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Runs `call` at the pace, retrying 429 with exponential backoff;
    /// 401 becomes [`SsoError::TokenInvalid`].
    async fn call<T, F, Fut, E, R>(&self, op: &'static str, call: F) -> Result<T, SsoError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, SdkError<E, R>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let mut backoff = self.opts.initial_backoff;
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.pacer.wait().await;
            match call().await {
                Ok(v) => return Ok(v),
                Err(e) => match failure(e) {
                    Failure::Code { code, .. } if code == "UnauthorizedException" => {
                        return Err(SsoError::TokenInvalid)
                    }
                    Failure::Code { code, .. } if code == "TooManyRequestsException" => {
                        if attempt >= self.opts.max_attempts {
                            return Err(SsoError::Throttled {
                                op,
                                attempts: attempt,
                            });
                        }
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(20));
                    }
                    f => return Err(to_error(op, f, &self.endpoint)),
                },
            }
        }
    }

    /// Every account (ListAccounts, all pages).
    pub async fn list_accounts(&self) -> Result<Vec<Account>, SsoError> {
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .call("ListAccounts", || {
                    self.client
                        .list_accounts()
                        .access_token(self.token.expose())
                        .max_results(self.opts.page_size)
                        .set_next_token(next.clone())
                        .send()
                })
                .await?;
            out.extend(page.account_list().iter().map(|a| Account {
                account_id: a.account_id().unwrap_or_default().to_string(),
                account_name: a.account_name().unwrap_or_default().to_string(),
                email: a.email_address().map(str::to_string),
            }));
            next = page
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if next.is_none() {
                return Ok(out);
            }
        }
    }

    /// Every role of `account_id` (ListAccountRoles, all pages).
    pub async fn list_account_roles(&self, account_id: &str) -> Result<Vec<String>, SsoError> {
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .call("ListAccountRoles", || {
                    self.client
                        .list_account_roles()
                        .access_token(self.token.expose())
                        .account_id(account_id)
                        .max_results(self.opts.page_size)
                        .set_next_token(next.clone())
                        .send()
                })
                .await?;
            out.extend(
                page.role_list()
                    .iter()
                    .filter_map(|r| r.role_name().map(str::to_string)),
            );
            next = page
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if next.is_none() {
                return Ok(out);
            }
        }
    }

    /// Every account with its roles, in ListAccounts order. `progress` is
    /// called after each account's roles arrive (for partial results).
    pub async fn discover(
        &self,
        progress: &(dyn Fn(&AccountRoles) + Sync),
    ) -> Result<Vec<AccountRoles>, SsoError> {
        use futures::stream::{self, StreamExt, TryStreamExt};
        let accounts = self.list_accounts().await?;
        stream::iter(accounts)
            .map(|account| async move {
                let roles = self.list_account_roles(&account.account_id).await?;
                let ar = AccountRoles { account, roles };
                progress(&ar);
                Ok::<_, SsoError>(ar)
            })
            .buffered(self.opts.concurrency.max(1))
            .try_collect()
            .await
    }

    /// Role credentials (GetRoleCredentials).
    pub async fn role_credentials(
        &self,
        account_id: &str,
        role_name: &str,
    ) -> Result<Credentials, SsoError> {
        let res = self
            .call("GetRoleCredentials", || {
                self.client
                    .get_role_credentials()
                    .access_token(self.token.expose())
                    .account_id(account_id)
                    .role_name(role_name)
                    .send()
            })
            .await;
        let out = match res {
            Err(SsoError::Service { op, code, .. })
                if matches!(
                    code.as_str(),
                    "ForbiddenException" | "ResourceNotFoundException"
                ) =>
            {
                return Err(SsoError::NoAccess {
                    op,
                    account_id: account_id.to_string(),
                    role_name: role_name.to_string(),
                    code,
                })
            }
            r => r?,
        };
        let c = out
            .role_credentials()
            .ok_or_else(|| missing(&self.endpoint, "roleCredentials"))?;
        let field = |v: Option<&str>, what| {
            v.map(str::to_string)
                .ok_or_else(|| missing(&self.endpoint, what))
        };
        Ok(Credentials {
            access_key_id: field(c.access_key_id(), "accessKeyId")?,
            secret_access_key: SecretString::new(field(c.secret_access_key(), "secretAccessKey")?),
            session_token: SecretString::new(field(c.session_token(), "sessionToken")?),
            // Milliseconds since the epoch.
            expiration: UNIX_EPOCH
                + Duration::from_millis(u64::try_from(c.expiration()).unwrap_or(0)),
        })
    }

    /// Ends the sign-in on the server side (Logout).
    pub async fn logout(&self) -> Result<(), SsoError> {
        self.call("Logout", || {
            self.client
                .logout()
                .access_token(self.token.expose())
                .send()
        })
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_prefer_the_service_variable_then_the_global_one() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let e = Endpoints::from_lookup(env(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
            ("AWS_ENDPOINT_URL_SSO_OIDC", "http://127.0.0.1:2"),
        ]));
        assert_eq!(e.oidc.as_deref(), Some("http://127.0.0.1:2"));
        assert_eq!(e.portal.as_deref(), Some("http://127.0.0.1:1"));
        let e = Endpoints::from_lookup(env(&[("AWS_ENDPOINT_URL_SSO", "http://127.0.0.1:3")]));
        assert_eq!(e.oidc, None);
        assert_eq!(e.portal_name("eu-west-1"), "http://127.0.0.1:3");
        assert_eq!(
            e.oidc_name("eu-west-1"),
            "https://oidc.eu-west-1.amazonaws.com"
        );
        let e = Endpoints::from_lookup(env(&[("AWS_ENDPOINT_URL_SSO", "")]));
        assert_eq!(
            e.portal_name("us-east-1"),
            "https://portal.sso.us-east-1.amazonaws.com"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn pacer_keeps_calls_at_or_under_the_rate() {
        let pacer = Pacer::per_second(100.0);
        let start = Instant::now();
        for _ in 0..11 {
            pacer.wait().await;
        }
        // 11 calls at 100/s: the first at once, the last 100 ms later.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(100), "{took:?}");
        assert!(took < Duration::from_millis(400), "{took:?}");
    }

    #[test]
    fn errors_never_carry_secrets_and_say_what_to_do() {
        assert!(SsoError::TokenInvalid.to_string().contains("sign in again"));
        assert!(SsoError::Denied.to_string().contains("denied"));
        let e = SsoError::NoAccess {
            op: "GetRoleCredentials",
            account_id: "111122223333".into(),
            role_name: "Admin".into(),
            code: "ForbiddenException".into(),
        };
        assert!(e.to_string().contains("111122223333") && e.to_string().contains("Admin"));
    }
}
