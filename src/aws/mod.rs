//! Talking to AWS. `sts` wraps the three STS calls rolepick makes, `iam`
//! the access-key calls of rotation, `federation` the console sign-in,
//! `sso` the IAM Identity Center OIDC device flow and portal calls, with
//! typed errors; nothing here knows about the UI, the cache or the vault.

pub mod federation;
pub mod iam;
pub mod sso;
pub mod sts;

use crate::secret::SecretString;
use std::time::SystemTime;

/// Temporary credentials (an MFA session or an assumed role).
#[derive(Clone, Debug)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub session_token: SecretString,
    pub expiration: SystemTime,
}

/// The HTTP client for calls to `endpoint` (an `AWS_ENDPOINT_URL*`
/// override), when the SDK's default would do needless work: for a plain
/// `http://` endpoint (a local stand-in such as moto) TLS is never used, so
/// the platform's root certificates (hundreds of files under
/// /etc/ssl/certs, read when a client is built) are not loaded. None: the
/// SDK's default client, which trusts the platform's roots (corporate CAs
/// included) for AWS itself and any `https://` endpoint.
pub fn http_client(
    endpoint: &str,
) -> Option<aws_smithy_runtime_api::client::http::SharedHttpClient> {
    use aws_smithy_http_client::tls;
    let plain = endpoint
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("http://"));
    if !plain {
        return None;
    }
    let no_roots = tls::TlsContext::builder()
        .with_trust_store(tls::TrustStore::empty())
        .build()
        .ok()?;
    Some(
        aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .tls_context(no_roots)
            .build_https(),
    )
}

/// The runtime rolepick blocks on for SDK calls and serves the credential
/// endpoint with: one thread (the caller's), I/O and timers.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// RFC 3339 (UTC, seconds) as AWS and `credential_process` use it.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// The first of `vars` that is set (and not empty), with its value, when
/// that value is not an http(s) URL with a host: the SDK would otherwise
/// fail at the first call with a misleading "cannot reach".
pub fn bad_endpoint_var(vars: &[&'static str]) -> Option<(&'static str, String)> {
    let (var, value) = vars.iter().find_map(|v| {
        std::env::var_os(v)
            .filter(|s| !s.is_empty())
            .map(|s| (*v, s.to_string_lossy().into_owned()))
    })?;
    let host = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""));
    let ok = host.is_some_and(|h| {
        !h.is_empty()
            && !h.starts_with(':')
            && !h.chars().any(|c| c.is_whitespace() || c.is_control())
    }) && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    (!ok).then_some((var, value))
}

// The one conversion from a failed AWS call to the library's error; here,
// so that `error` (a leaf) knows nothing of AWS.
impl crate::error::Error {
    /// The one conversion from a failed AWS call (`call`, such as
    /// `sts:AssumeRole`) to an error: refused (exit 3) or no usable answer
    /// (exit 4). Callers that know more (an MFA code, a bad key) say so first.
    pub fn aws(call: &str, e: self::sts::StsError) -> Self {
        use crate::aws::sts::{StsError, MAX_ATTEMPTS};
        let call = call.to_string();
        match e {
            StsError::Service { code, message } => Self::Refused {
                message: format!("AWS refused {call}: {code}: {message}"),
                call,
                code,
            },
            StsError::Throttled { code, message } => Self::Unreachable {
                message: format!(
                    "AWS kept throttling {call} ({code}: {message}) after {MAX_ATTEMPTS} attempts with backoff. Wait a minute and try again."
                ),
                call,
            },
            StsError::Unreachable { endpoint, detail } => Self::Unreachable {
                message: format!(
                    "{call}: cannot reach {endpoint}: {detail}. Check your network connection (and AWS_ENDPOINT_URL if you set it), then try again."
                ),
                call,
            },
            StsError::Other { endpoint, detail } => Self::Unreachable {
                message: format!(
                    "{call}: unexpected reply from {endpoint}: {detail}. Try again; if it persists, check AWS_ENDPOINT_URL."
                ),
                call,
            },
        }
    }
}

#[cfg(test)]
mod http_client_tests {
    use super::http_client;

    #[test]
    fn only_a_plain_http_endpoint_gets_a_client_without_the_platform_roots() {
        assert!(http_client("http://127.0.0.1:5000").is_some());
        assert!(http_client("HTTP://localhost:5000/").is_some());
        assert!(http_client("https://sts.eu-west-1.amazonaws.com").is_none());
        assert!(http_client("https://127.0.0.1:5000").is_none());
        assert!(http_client("http").is_none());
    }
}
