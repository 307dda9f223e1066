//! `sts:GetSessionToken`, `sts:AssumeRole`, `sts:GetCallerIdentity` through
//! aws-sdk-sts, and the classification of their failures into [`StsError`].
//!
//! The client is built directly from a `aws_sdk_sts::Config` (no
//! `aws-config` profile loading: rolepick has already read the files, and
//! skipping that saves milliseconds on every cold call). The endpoint comes
//! from `AWS_ENDPOINT_URL_STS` / `AWS_ENDPOINT_URL` when set.

use super::Credentials;
use crate::secret::{LongLivedKey, SecretString};
use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::config::timeout::TimeoutConfig;
use aws_sdk_sts::config::{BehaviorVersion, Region};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use std::time::{Duration, SystemTime};

/// Attempts per call (first try + retries) for throttling and transient errors.
pub const MAX_ATTEMPTS: u32 = 4;

/// Why an STS call failed, without SDK internals.
#[derive(Debug, thiserror::Error)]
pub enum StsError {
    /// AWS answered with an error code (`AccessDenied`, `InvalidClientTokenId`, ...).
    #[error("{code}: {message}")]
    Service { code: String, message: String },
    /// Still throttled after [`MAX_ATTEMPTS`] attempts with backoff.
    #[error("throttled ({code}) after {MAX_ATTEMPTS} attempts: {message}")]
    Throttled { code: String, message: String },
    /// No answer: connection refused, DNS, timeout.
    #[error("cannot reach {endpoint}: {detail}")]
    Unreachable { endpoint: String, detail: String },
    /// An answer rolepick could not understand.
    #[error("unexpected reply from {endpoint}: {detail}")]
    Other { endpoint: String, detail: String },
}

/// Credentials to sign the call with: a long-lived key (no token) or
/// temporary credentials.
pub struct Signer<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a SecretString,
    pub session_token: Option<&'a SecretString>,
}

impl<'a> Signer<'a> {
    /// A long-lived key (no session token).
    pub fn key(key: &'a LongLivedKey) -> Self {
        Signer {
            access_key_id: &key.access_key_id,
            secret_access_key: &key.secret_access_key,
            session_token: None,
        }
    }

    /// Temporary credentials (an MFA session or a role).
    pub fn temporary(creds: &'a Credentials) -> Self {
        Signer {
            access_key_id: &creds.access_key_id,
            secret_access_key: &creds.secret_access_key,
            session_token: Some(&creds.session_token),
        }
    }

    /// The same key with `token` (temporary admin credentials of `setup`).
    #[must_use]
    pub fn with_token(self, token: Option<&'a SecretString>) -> Self {
        Signer {
            session_token: token,
            ..self
        }
    }
}

/// Where the STS endpoint can be overridden, first one wins.
pub const ENDPOINT_VARS: [&str; 2] = ["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"];

/// The STS endpoint override from the environment, if any.
pub fn endpoint_override() -> Option<String> {
    ENDPOINT_VARS
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
}

/// Human-readable name of the endpoint calls go to.
pub fn endpoint_name(region: &str) -> String {
    endpoint_override().unwrap_or_else(|| format!("https://sts.{region}.amazonaws.com"))
}

/// Static SDK credentials from `signer` (shared by the STS and IAM clients).
pub(super) fn sdk_credentials(signer: &Signer<'_>) -> aws_credential_types::Credentials {
    aws_credential_types::Credentials::new(
        signer.access_key_id,
        signer.secret_access_key.expose(),
        signer.session_token.map(|t| t.expose().to_string()),
        None,
        "rolepick",
    )
}

/// Retries with backoff for throttling and transient errors.
pub(super) fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(200))
}

pub(super) fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_timeout(Duration::from_secs(60))
        .build()
}

pub fn client(signer: &Signer<'_>, region: &str) -> aws_sdk_sts::Client {
    let mut b = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .credentials_provider(sdk_credentials(signer))
        .retry_config(retry_config())
        .timeout_config(timeout_config());
    if let Some(url) = endpoint_override() {
        if let Some(http) = super::http_client(&url) {
            b = b.http_client(http);
        }
        b = b.endpoint_url(url);
    }
    aws_sdk_sts::Client::from_conf(b.build())
}

pub(super) fn classify<E, R>(e: SdkError<E, R>, endpoint: &str) -> StsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match &e {
        SdkError::ServiceError(se) => {
            let err = se.err();
            let code = err.code().unwrap_or("Unknown").to_string();
            let message = err.message().unwrap_or("").trim().to_string();
            if matches!(
                code.as_str(),
                "Throttling"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
                    | "TooManyRequestsException"
            ) {
                StsError::Throttled { code, message }
            } else {
                StsError::Service { code, message }
            }
        }
        SdkError::TimeoutError(_) => StsError::Unreachable {
            endpoint: endpoint.to_string(),
            detail: "timed out".into(),
        },
        SdkError::DispatchFailure(d) => StsError::Unreachable {
            endpoint: endpoint.to_string(),
            detail: root_cause(&e).unwrap_or_else(|| {
                if d.is_timeout() {
                    "timed out".into()
                } else {
                    "connection failed".into()
                }
            }),
        },
        _ => StsError::Other {
            endpoint: endpoint.to_string(),
            detail: root_cause(&e).unwrap_or_else(|| "malformed response".into()),
        },
    }
}

/// The innermost error's message: "Connection refused (os error 111)".
pub(super) fn root_cause(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: &dyn std::error::Error = e.source()?;
    while let Some(next) = cur.source() {
        cur = next;
    }
    Some(cur.to_string())
}

fn convert(
    c: Option<&aws_sdk_sts::types::Credentials>,
    endpoint: &str,
) -> Result<Credentials, StsError> {
    let c = c.ok_or_else(|| StsError::Other {
        endpoint: endpoint.to_string(),
        detail: "no credentials in the response".into(),
    })?;
    let expiration = SystemTime::try_from(*c.expiration()).map_err(|_| StsError::Other {
        endpoint: endpoint.to_string(),
        detail: "invalid expiration in the response".into(),
    })?;
    Ok(Credentials {
        access_key_id: c.access_key_id().to_string(),
        secret_access_key: SecretString::new(c.secret_access_key().to_string()),
        session_token: SecretString::new(c.session_token().to_string()),
        expiration,
    })
}

/// `sts:GetSessionToken`, with an MFA code when `mfa` is given.
pub async fn get_session_token(
    client: &aws_sdk_sts::Client,
    endpoint: &str,
    mfa: Option<(&str, &str)>,
    duration: Duration,
) -> Result<Credentials, StsError> {
    let mut req = client
        .get_session_token()
        .duration_seconds(i32::try_from(duration.as_secs()).unwrap_or(i32::MAX));
    if let Some((serial, code)) = mfa {
        req = req.serial_number(serial).token_code(code);
    }
    let out = req.send().await.map_err(|e| classify(e, endpoint))?;
    convert(out.credentials(), endpoint)
}

pub struct AssumeParams<'a> {
    pub role_arn: &'a str,
    pub session_name: &'a str,
    pub external_id: Option<&'a str>,
    pub duration_seconds: Option<u32>,
    /// The MFA device and its code, for a role assumed straight from the
    /// long-lived key (`exec --no-session`).
    pub mfa: Option<(&'a str, &'a str)>,
}

/// `sts:AssumeRole`.
pub async fn assume_role(
    client: &aws_sdk_sts::Client,
    endpoint: &str,
    p: &AssumeParams<'_>,
) -> Result<Credentials, StsError> {
    let mut req = client
        .assume_role()
        .role_arn(p.role_arn)
        .role_session_name(p.session_name);
    if let Some(x) = p.external_id {
        req = req.external_id(x);
    }
    if let Some(d) = p.duration_seconds {
        req = req.duration_seconds(i32::try_from(d).unwrap_or(i32::MAX));
    }
    if let Some((serial, code)) = p.mfa {
        req = req.serial_number(serial).token_code(code);
    }
    let out = req.send().await.map_err(|e| classify(e, endpoint))?;
    convert(out.credentials(), endpoint)
}

/// Who the signing credentials belong to.
#[derive(Debug, Clone)]
pub struct Identity {
    pub arn: String,
    pub account: String,
    pub user_id: String,
}

/// `sts:GetCallerIdentity`.
pub async fn get_caller_identity(
    client: &aws_sdk_sts::Client,
    endpoint: &str,
) -> Result<Identity, StsError> {
    let out = client
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| classify(e, endpoint))?;
    Ok(Identity {
        arn: out.arn().unwrap_or_default().to_string(),
        account: out.account().unwrap_or_default().to_string(),
        user_id: out.user_id().unwrap_or_default().to_string(),
    })
}
